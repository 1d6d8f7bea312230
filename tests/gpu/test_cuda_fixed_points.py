"""The fixed-point search on CUDA finds the CPU's points (same number, positions close).

Networks: vanilla tanh populations with a few designed attractors (a Hopfield-like recurrent
matrix over ±1 patterns plus a random part), so every start settles cleanly and the set of
points does not hinge on rounding. Two paths:

- ``find_fixed_points`` searched in float64 (the population's float64 step and closed-form
  Jacobians): identical counts (points, duplicates merged, outliers) and positions within 1e-9;
- ``search_population`` as the fixed-points stage runs it (float32 Adam, float64 Newton
  polish, linearisation): the same fixed points within 1e-6, with the same stability and
  unstable counts, eigenvalue moduli within 1e-6 and readouts within 1e-6.

Slow points (searches that stopped on max_iters) depend on where Adam happened to stop and
are not compared.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from gpu_helpers import assert_close, match_points, to_numpy

from rnnatlas.dynamics import find_fixed_points
from rnnatlas.dynamics.population_analysis import probe_states, search_population
from rnnatlas.models import RNNPopulation
from rnnatlas.tasks import make_task

pytestmark = pytest.mark.gpu

K, N, PATTERNS = 3, 12, 2
TASK = make_task("flipflop", {"n_steps": 40, "n_probe_trials": 8})
# The stage's own defaults (so options added to the stage are present), made smaller.
SMALL = {"n_initial_states": 128, "max_iters": 3000, "forward_steps": 200}


def _params(seed: int = 0) -> list[dict[str, torch.Tensor]]:
    """K networks' parameters (float64, CPU): W = (1.6/N) Σ ξξᵀ + 0.3 G/√N, small biases."""
    gen = torch.Generator().manual_seed(seed)
    d = torch.float64
    nets = []
    for _ in range(K):
        xi = torch.sign(torch.randn(PATTERNS, N, generator=gen, dtype=d))
        w = 1.6 * xi.T @ xi / N + 0.3 * torch.randn(N, N, generator=gen, dtype=d) / N**0.5
        nets.append({
            "weight_ih": 0.5 * torch.randn(N, TASK.n_inputs, generator=gen, dtype=d),
            "weight_hh": w,
            "bias_ih": 0.05 * torch.randn(N, generator=gen, dtype=d),
            "bias_hh": torch.zeros(N, dtype=d),
            "weight_out": torch.randn(TASK.n_outputs, N, generator=gen, dtype=d) / N**0.5,
            "bias_out": torch.zeros(TASK.n_outputs, dtype=d),
        })
    return nets


def _populations(device):
    params = _params()
    pop = RNNPopulation.from_network_params("vanilla", "tanh", params, dtype=torch.float32, device=device)
    pop64 = RNNPopulation.from_network_params("vanilla", "tanh", params, dtype=torch.float64, device=device)
    return pop, pop64


def _float64_search(device):
    _, pop64 = _populations(device)
    starts = torch.randn(K, 96, N, generator=torch.Generator().manual_seed(1), dtype=torch.float64).to(device)
    x = torch.zeros(1, TASK.n_inputs, dtype=torch.float64, device=device).expand(K, 1, -1)
    return find_fixed_points(pop64.step, x, starts, polish_jacobian=lambda h, x: pop64.jacobians(h, x)[0],
                             max_iters=3000)


def test_float64_search_finds_the_same_points(cuda):
    cpu, gpu = _float64_search(torch.device("cpu")), _float64_search(cuda)
    assert gpu.h.device.type == cuda.type
    for name in ("n_duplicates", "n_outliers", "found"):
        assert torch.equal(getattr(gpu, name).cpu(), getattr(cpu, name)), name
    assert torch.equal(gpu.counts().cpu(), cpu.counts()), (gpu.counts(), cpu.counts())
    assert bool(cpu.found.all()) and int(cpu.counts().min()) >= 2  # several points per network
    for k in range(K):
        a, b = cpu.for_network(k), gpu.for_network(k)
        order = match_points(to_numpy(b.h), to_numpy(a.h), 1e-9, f"network {k}")
        assert torch.equal(b.is_slow.cpu(), a.is_slow[order])
        assert (b.q[~b.is_slow] <= 1e-12).all() and (a.q[~a.is_slow] <= 1e-12).all()


def _options() -> dict:
    from rnnatlas.stages.fixed_points import DEFAULTS

    return {**DEFAULTS, **{key: value for key, value in SMALL.items() if key in DEFAULTS}}


def _stage_search(device, opts):
    """search_population as stages/fixed_points.py calls it (starts from a CPU generator):
    the per-network points and the search result."""
    pop, pop64 = _populations(device)
    probe = TASK.probe_set()
    conditions, _ = TASK.conditions()
    states = probe_states(pop, probe.batch.inputs)
    gen = torch.Generator().manual_seed(7)
    out = search_population(pop, pop64, TASK, probe.labels, conditions, states, opts, gen)
    return out[0], out[1]  # (points, result[, attractor checks])


def test_search_population_finds_the_same_linearised_points(cuda):
    opts = _options()
    (points_cpu, res_cpu), (points_gpu, res_gpu) = _stage_search(torch.device("cpu"), opts), _stage_search(cuda, opts)
    assert res_gpu.h.device.type == cuda.type
    assert tuple(res_gpu.start_q.shape) == tuple(res_cpu.start_q.shape)
    n_fixed = 0
    for k, (a, b) in enumerate(zip(points_cpu, points_gpu)):
        fa, fb = a.q <= opts["tol_q"], b.q <= opts["tol_q"]
        order = match_points(b.h[fb], a.h[fa], 1e-6, f"network {k} fixed points")
        n_fixed += int(fa.sum())
        sel_a = np.flatnonzero(fa)[order]
        sel_b = np.flatnonzero(fb)
        np.testing.assert_array_equal(b.n_unstable[sel_b], a.n_unstable[sel_a])
        np.testing.assert_array_equal(b.stability[sel_b], a.stability[sel_a])
        np.testing.assert_array_equal(b.condition[sel_b], a.condition[sel_a])
        assert_close(np.sort(np.abs(b.eigenvalues[sel_b]), -1), np.sort(np.abs(a.eigenvalues[sel_a]), -1),
                     rtol=1e-6, atol=1e-6, what=f"network {k}: eigenvalue moduli")
        assert_close(b.readout[sel_b], a.readout[sel_a], rtol=1e-6, atol=1e-6, what=f"network {k}: readouts")
        assert_close(b.input_jacobian[sel_b], a.input_jacobian[sel_a], rtol=1e-5, atol=1e-6,
                     what=f"network {k}: input Jacobians")
    assert n_fixed >= 2 * K  # the comparison covered several points per network
