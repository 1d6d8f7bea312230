"""Degenerate inputs give finite, documented values or clear errors."""

import warnings

import numpy as np
import pytest
import torch

from rnnatlas.similarity import (
    FewSamplesWarning,
    canonical_correlations,
    cka,
    pairwise,
    svcca,
)

KERNELS = [dict(kernel="linear"), dict(kernel="rbf"), dict(kernel="linear", debiased=True), dict(kernel="rbf", debiased=True)]
METRICS = [("svcca", {}), ("cka_linear", {}), ("cka_linear", {"debiased": True}), ("cka_rbf", {}), ("cka_rbf", {"debiased": True})]


def _rng(seed=0):
    return np.random.default_rng(seed)


def _xy(m=80, p=6, q=9, seed=0):
    rng = _rng(seed)
    X = rng.standard_normal((m, p))
    return X, X @ rng.standard_normal((p, q)) + rng.standard_normal((m, q))


def test_dead_units_change_nothing():
    X, Y = _xy()
    Xd = np.concatenate([X, np.zeros((X.shape[0], 4))], axis=1)
    for v in (0.9, 0.99, 1.0):
        assert abs(svcca(Xd, Y, v) - svcca(X, Y, v)) < 1e-12
    for kw in KERNELS:
        assert abs(cka(Xd, Y, **kw) - cka(X, Y, **kw)) < 1e-12


def test_duplicated_units_and_low_rank():
    X, Y = _xy()
    Xdup = np.concatenate([X, X[:, :3], 2 * X[:, :2]], axis=1)  # rank still 6
    rho = canonical_correlations(Xdup, Y, variance=1.0)
    assert rho.size == 6 and np.all(np.isfinite(rho))
    assert abs(svcca(Xdup, Y, 1.0) - svcca(X, Y, 1.0)) < 1e-10  # same column space
    # rank 3 data in 20 units: nothing beyond the rank is ever kept
    rng = _rng(1)
    L = rng.standard_normal((80, 3)) @ rng.standard_normal((3, 20))
    assert canonical_correlations(L, Y, variance=1.0).size == 3
    assert svcca(L, L @ rng.standard_normal((20, 20)), variance=1.0) == pytest.approx(1.0, abs=1e-10)


@pytest.mark.parametrize("const", [0.0, 3.25, -1e6])
def test_constant_network_conventions(const):
    X, Y = _xy()
    C1 = np.full((80, 5), const)
    C2 = np.full((80, 3), 7.0) + np.arange(3)  # constant over samples, differs by unit
    assert svcca(C1, X) == 0.0 and svcca(X, C1) == 0.0
    assert svcca(C1, C2) == 1.0
    for kw in KERNELS:
        assert cka(C1, X, **kw) == 0.0
        assert cka(C2, C1, **kw) == 1.0


def test_nearly_constant_is_constant():
    X, _ = _xy()
    C = 5.0 + 1e-14 * _rng(2).standard_normal((80, 4))
    assert svcca(C, X) == 0.0 and cka(C, X) == 0.0 and cka(C, X, kernel="rbf") == 0.0


@pytest.mark.parametrize("metric,kw", METRICS)
@pytest.mark.parametrize("angular", [False, True])
def test_pairwise_degenerate_population_is_finite(metric, kw, angular):
    X, Y = _xy()
    reps = [
        X,
        np.zeros((80, 4)),  # dead network
        np.full((80, 2), 2.0),  # constant network
        np.concatenate([X, X], axis=1),  # duplicated units
        np.concatenate([Y, np.zeros((80, 3))], axis=1),  # dead units
        X.copy(),  # identical to reps[0]
        np.repeat(Y[:10], 8, axis=0),  # many repeated samples (RBF median 0)
    ]
    D = pairwise(reps, metric, angular=angular, block_size=2, **kw)
    assert np.all(np.isfinite(D)) and np.array_equal(D, D.T) and np.all(np.diag(D) == 0.0)
    far = np.pi / 2 if angular else 1.0
    assert D[1, 2] == 0.0  # two constant networks
    assert D[0, 1] == far and D[2, 4] == far  # constant vs anything else
    assert D[0, 5] == 0.0  # identical inputs


def test_all_constant_population():
    reps = [np.full((30, 3), c) for c in (0.0, 1.0, -2.0)]
    for metric in ("svcca", "cka_linear", "cka_rbf"):
        np.testing.assert_array_equal(pairwise(reps, metric), np.zeros((3, 3)))


def test_fewer_samples_than_units_warns_but_works():
    rng = _rng(3)
    X, Y = rng.standard_normal((10, 30)), rng.standard_normal((10, 25))
    with pytest.warns(FewSamplesWarning):
        s = svcca(X, Y, variance=1.0)
    assert s == pytest.approx(1.0)  # subspaces of the 9-dim centered sample space coincide
    with pytest.warns(FewSamplesWarning):
        D = pairwise([X, Y, rng.standard_normal((10, 4))], "cka_linear")
    assert np.all(np.isfinite(D))


def test_no_warning_for_tall_inputs():
    X, Y = _xy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        svcca(X, Y)
        pairwise([X, Y], "svcca")


def test_transposed_population_is_caught():
    rng = _rng(4)
    reps = [rng.standard_normal((p, 400)).astype(np.float32) for p in (64, 128, 96)]
    with pytest.raises(ValueError, match=r"transposed.*\(64, 400\).*\(128, 400\)"):
        pairwise(reps, "svcca")
    with pytest.raises(ValueError, match=r"transposed"):
        svcca(reps[0], reps[1])


def test_mismatched_samples_name_index_and_shapes():
    rng = _rng(5)
    reps = [rng.standard_normal((100, 5)), rng.standard_normal((100, 7)), rng.standard_normal((90, 5))]
    with pytest.raises(ValueError, match=r"reps\[2\] has shape \(90, 5\) but reps\[0\] has shape \(100, 5\)"):
        pairwise(reps, "cka_linear")
    with pytest.raises(ValueError, match=r"\(100, 5\).*\(90, 5\)"):
        cka(reps[0], reps[2])


@pytest.mark.parametrize(
    "bad,match",
    [
        (np.full((20, 3), np.nan), "NaN"),
        (np.ones(20), "2-D"),
        (np.ones((1, 3)), "at least 2 samples"),
        (np.ones((20, 0)), "no units"),
        (np.ones((20, 3)) * 1j, "real"),
    ],
)
def test_bad_arrays_raise(bad, match):
    with pytest.raises((ValueError, TypeError), match=match):
        svcca(bad, bad)
    with pytest.raises((ValueError, TypeError), match=match):
        cka(bad, bad, kernel="rbf")
    with pytest.raises((ValueError, TypeError), match=match):
        pairwise([bad, bad], "svcca")


def test_bad_parameters_raise():
    X, Y = _xy()
    with pytest.raises(ValueError, match="variance"):
        svcca(X, Y, variance=0.0)
    with pytest.raises(ValueError, match="variance"):
        pairwise([X, Y], "svcca", variance=1.5)
    with pytest.raises(ValueError, match="kernel"):
        cka(X, Y, kernel="poly")
    with pytest.raises(ValueError, match="metric"):
        pairwise([X, Y], "cca")
    with pytest.raises(ValueError, match="4 samples"):
        cka(X[:3, :2], Y[:3, :2], debiased=True)
    with pytest.raises(ValueError, match="4 samples"):
        pairwise([X[:3, :2], Y[:3, :2]], "cka_rbf", debiased=True)
    with pytest.raises(ValueError, match="dtype"):
        pairwise([X, Y], "svcca", dtype=torch.float16)
    with pytest.raises(ValueError, match="block_size"):
        pairwise([X, Y], "svcca", block_size=0)
    with pytest.raises(ValueError, match="3-D"):
        pairwise(np.ones((4, 5)), "svcca")
