"""Pairwise SVCCA / CKA distance matrices computed on CUDA equal the CPU's.

The population mimics RNN activations (a shared latent through random mixing and a tanh, plus
noise), with different unit counts and some dead units. ``prepare`` does the per-network work
in float64 on the device and the products run in ``dtype``: in float64 the matrices agree
within 1e-10; in float32 each device is within 1e-5 of the exact value (the CPU test suite's
tolerance), so the two agree within 2e-5.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from gpu_helpers import assert_close

from rnnatlas.similarity import pairwise, pairwise_block, prepare

pytestmark = pytest.mark.gpu

CASES = [
    ("svcca", False, "auto"),
    ("cka_linear", False, "factor"),
    ("cka_linear", False, "gram"),
    ("cka_linear", True, "auto"),
    ("cka_rbf", False, "auto"),
    ("cka_rbf", True, "auto"),
]
TOL = {torch.float64: 1e-10, torch.float32: 2e-5}


def population(n: int = 10, samples: int = 240, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    z = np.cumsum(rng.standard_normal((samples, 4)), axis=0) / np.sqrt(samples)
    reps = []
    for i in range(n):
        p = int(rng.integers(6, 33))
        x = np.tanh(z @ rng.standard_normal((4, p))) + 0.2 * rng.standard_normal((samples, p))
        if i % 3 == 0:
            x[:, : max(1, p // 5)] = 0.0  # dead units
        reps.append(x.astype(np.float32) if i % 2 else x)
    return reps


@pytest.fixture(scope="module")
def reps():
    return population()


@pytest.mark.parametrize("metric,debiased,method", CASES)
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_pairwise_matrix_matches_cpu(cuda, reps, metric, debiased, method, dtype):
    kw = dict(debiased=debiased, dtype=dtype, method=method)
    on_cpu = pairwise(reps, metric, device="cpu", **kw)
    on_gpu = pairwise(reps, metric, device=cuda, **kw)
    assert on_gpu.shape == on_cpu.shape == (len(reps), len(reps))
    assert np.array_equal(on_gpu, on_gpu.T) and np.all(np.diag(on_gpu) == 0.0)
    assert np.isfinite(on_gpu).all()
    assert_close(on_gpu, on_cpu, rtol=0, atol=TOL[dtype], what=f"{metric} (debiased={debiased}, {method}, {dtype})")
    assert np.ptp(on_cpu[np.triu_indices(len(reps), 1)]) > 1e-3  # the networks do differ


def test_svcca_keeps_the_same_directions_per_network(cuda, reps):
    a = prepare(reps, "svcca", variance=0.99, device="cpu")
    b = prepare(reps, "svcca", variance=0.99, device=cuda)
    assert b.factors[0].device.type == cuda.type
    np.testing.assert_array_equal(b.widths, a.widths)
    np.testing.assert_array_equal(b.constant, a.constant)
    assert b.digests == a.digests


@pytest.mark.parametrize("metric", ["svcca", "cka_linear", "cka_rbf"])
def test_blocks_on_cuda_match_cpu(cuda, reps, metric):
    """Rectangular blocks and small block sizes (the similarity tile jobs' path)."""
    rows, cols = reps[:4], reps[3:]
    out = []
    for device in ("cpu", cuda):
        pa = prepare(rows, metric, device=device, dtype=torch.float64)
        pb = prepare(cols, metric, device=device, dtype=torch.float64)
        out.append(pairwise_block(pa, pb, block_size=2))
    assert out[0].shape == (4, len(cols))
    assert out[1][3, 0] == 0.0  # the same network in both blocks
    assert_close(out[1], out[0], rtol=0, atol=1e-10, what=f"{metric} rectangular block")
