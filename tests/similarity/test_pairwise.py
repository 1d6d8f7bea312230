"""Batched ``pairwise`` against the per-pair functions, plus its block API."""

import numpy as np
import pytest
import torch

from rnnatlas.similarity import (
    Prepared,
    assemble_blocks,
    block_ranges,
    cka,
    pairwise,
    pairwise_block,
    prepare,
    similarity_block,
    svcca,
)

M = 90


def population(n=7, seed=0):
    """Networks with different unit counts sharing a latent; some dead units."""
    rng = np.random.default_rng(seed)
    Z = np.cumsum(rng.standard_normal((M, 3)), axis=0)
    reps = []
    for i in range(n):
        p = int(rng.integers(3, 16))
        X = np.tanh(0.2 * Z @ rng.standard_normal((3, p))) + 0.3 * rng.standard_normal((M, p))
        if i % 3 == 0:
            X[:, : max(1, p // 4)] = 0.0
        reps.append(X.astype(np.float32) if i % 2 else X)
    return reps


PER_PAIR = {
    ("svcca", False): lambda X, Y: svcca(X, Y, variance=0.99),
    ("cka_linear", False): lambda X, Y: cka(X, Y, kernel="linear"),
    ("cka_linear", True): lambda X, Y: cka(X, Y, kernel="linear", debiased=True),
    ("cka_rbf", False): lambda X, Y: cka(X, Y, kernel="rbf"),
    ("cka_rbf", True): lambda X, Y: cka(X, Y, kernel="rbf", debiased=True),
}
CASES = [
    ("svcca", False, "auto"),
    ("cka_linear", False, "factor"),
    ("cka_linear", False, "gram"),
    ("cka_linear", True, "auto"),
    ("cka_rbf", False, "auto"),
    ("cka_rbf", True, "auto"),
]


def reference(reps, metric, debiased):
    n = len(reps)
    S = np.eye(n)
    for i in range(n):
        for j in range(i + 1, n):
            S[i, j] = S[j, i] = PER_PAIR[(metric, debiased)](reps[i], reps[j])
    return 1.0 - S


@pytest.fixture(scope="module")
def reps():
    return population()


@pytest.fixture(scope="module")
def references(reps):
    return {key: reference(reps, *key) for key in PER_PAIR}


@pytest.mark.parametrize("metric,debiased,method", CASES)
@pytest.mark.parametrize("dtype,tol", [(torch.float64, 1e-10), (torch.float32, 1e-5)])
@pytest.mark.parametrize("block_size", [None, 3, 1])
def test_pairwise_matches_per_pair(reps, references, metric, debiased, method, dtype, tol, block_size):
    D = pairwise(reps, metric, debiased=debiased, dtype=dtype, block_size=block_size, method=method)
    assert D.shape == (len(reps), len(reps)) and D.dtype == np.float64
    assert np.array_equal(D, D.T)
    assert np.all(np.diag(D) == 0.0)
    np.testing.assert_allclose(D, references[(metric, debiased)], atol=tol, rtol=0)


def test_angular_distances(reps, references):
    D = pairwise(reps, "cka_linear", angular=True, dtype=torch.float64)
    np.testing.assert_allclose(D, np.arccos(1.0 - references[("cka_linear", False)]), atol=1e-8)
    assert np.array_equal(D, D.T) and np.all(np.diag(D) == 0.0)


def test_stacked_and_torch_inputs_agree():
    rng = np.random.default_rng(1)
    stacked = rng.standard_normal((5, 60, 8))
    D_list = pairwise(list(stacked), "svcca", dtype=torch.float64)
    np.testing.assert_array_equal(pairwise(stacked, "svcca", dtype=torch.float64), D_list)
    np.testing.assert_array_equal(pairwise(torch.from_numpy(stacked), "svcca", dtype=torch.float64), D_list)


@pytest.mark.parametrize("metric", ["svcca", "cka_linear", "cka_rbf"])
def test_blocks_assemble_to_full_matrix(reps, metric):
    full = pairwise(reps, metric, dtype=torch.float64)
    n = len(reps)
    tasks = block_ranges(n, 3)
    assert tasks[0] == (0, 3, 0, 3) and all(i0 <= j0 for i0, _, j0, _ in tasks)
    pieces = []
    for i0, i1, j0, j1 in tasks:
        pa = prepare(reps[i0:i1], metric, dtype=torch.float64)
        pb = pa if (i0, i1) == (j0, j1) else prepare(reps[j0:j1], metric, dtype=torch.float64)
        pieces.append(((i0, j0), pairwise_block(pa, pb)))
    D = assemble_blocks(n, pieces)
    assert np.array_equal(D, D.T) and np.all(np.diag(D) == 0.0)
    np.testing.assert_allclose(D, full, atol=1e-12, rtol=0)


def test_assemble_blocks_reports_missing_entries():
    with pytest.raises(ValueError, match="do not cover"):
        assemble_blocks(4, [((0, 0), np.zeros((2, 2)))])


def test_rectangular_block_matches_full(reps):
    full = pairwise(reps, "svcca", dtype=torch.float64)
    prep = prepare(reps, "svcca", dtype=torch.float64)
    D = pairwise_block(prep.select([0, 1, 2]), prep.select(slice(2, 7)), block_size=2)
    np.testing.assert_allclose(D, full[:3, 2:], atol=1e-12, rtol=0)
    assert D[2, 0] == 0.0  # the same network in both blocks: exactly zero


@pytest.mark.parametrize("metric,debiased", [("svcca", False), ("cka_rbf", True), ("cka_linear", False)])
def test_prepared_save_load_roundtrip(tmp_path, reps, metric, debiased):
    prep = prepare(reps, metric, debiased=debiased)
    path = tmp_path / "prep.npz"
    prep.save(path)
    loaded = Prepared.load(path)
    assert loaded.metric == metric and loaded.params == prep.params and loaded.digests == prep.digests
    np.testing.assert_array_equal(pairwise_block(loaded, loaded), pairwise_block(prep, prep))


def test_incompatible_prepared_sets_raise(reps):
    a = prepare(reps, "svcca")
    with pytest.raises(ValueError, match="differ"):
        similarity_block(a, prepare(reps, "svcca", variance=0.9))
    with pytest.raises(ValueError, match="differ"):
        similarity_block(a, prepare(reps, "cka_linear"))
    with pytest.raises(ValueError, match="sample counts"):
        similarity_block(a, prepare([r[:50] for r in reps], "svcca"))


def test_small_and_empty_populations():
    assert pairwise([], "svcca").shape == (0, 0)
    X = np.random.default_rng(0).standard_normal((20, 3))
    np.testing.assert_array_equal(pairwise([X], "cka_rbf"), np.zeros((1, 1)))


def test_float32_gram_products_stay_close_to_float64_for_few_long_networks():
    """Few networks of many samples: each float32 Gram product sums at most
    MAX_LOW_PRECISION_TERMS terms, so float32 RBF CKA stays within 1e-6 of float64 (summing all
    1,600 × 1,600 Gram entries in one float32 product lost 6e-5 relative)."""
    rng = np.random.default_rng(3)
    latent = np.cumsum(rng.standard_normal((1600, 4)), axis=0) / 20
    reps = [np.tanh(latent @ rng.standard_normal((4, 24)) + 0.05 * rng.standard_normal((1600, 24)))
            for _ in range(4)]
    d64 = pairwise(reps, "cka_rbf", dtype=torch.float64)
    d32 = pairwise(reps, "cka_rbf", dtype=torch.float32)
    off = ~np.eye(4, dtype=bool)
    np.testing.assert_allclose(1 - d32[off], 1 - d64[off], rtol=1e-6)


@pytest.mark.parametrize("metric", ["cka_linear", "cka_rbf"])
def test_float32_twins_are_near_zero_for_few_networks_and_any_block_size(metric):
    """A network against a rotated and a rescaled copy of itself, five networks in the call:
    float32 distances stay at float32's resolution (< 5e-7; once 8e-5 to 3e-4, before the
    bounded float32 sums), and ``block_size`` moves them only at that resolution (BLAS sums in an
    order that depends on the product's shape and the CPU: up to 4e-8 on one machine, 1.7e-7 on an
    AVX-512 EPYC; exact invariance would need float64 products)."""
    rng = np.random.default_rng(0)
    base = [np.tanh(rng.standard_normal((1600, 32)) @ rng.standard_normal((32, 32)) / 4) for _ in range(3)]
    q, _ = np.linalg.qr(rng.standard_normal((32, 32)))
    reps = [base[0], base[0] @ q, 3.7 * base[0], base[1], base[2]]
    by_block = [pairwise(reps, metric, dtype=torch.float32, block_size=b) for b in (None, 1, 2, 3)]
    for d in by_block:
        assert d[0, 1] < 5e-7 and d[0, 2] < 5e-7 and d[1, 2] < 5e-7
        np.testing.assert_allclose(d, by_block[0], rtol=0, atol=3e-7)
    d64 = pairwise(reps, metric, dtype=torch.float64)
    np.testing.assert_allclose(by_block[0], d64, atol=5e-7)
