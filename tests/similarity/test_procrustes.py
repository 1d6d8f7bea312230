"""Procrustes shape distance: against the textbook formulas (orthogonal Procrustes via SVD, CCA),
the metric axioms, the invariances, and the batched engine against the per-pair function."""

import numpy as np
import pytest
import torch
from scipy.linalg import orthogonal_procrustes
from scipy.stats import ortho_group

from rnnatlas.similarity import canonical_correlations, pairwise, procrustes_distance

ALPHAS = [0.0, 0.3, 1.0]


def _population(n, seed=0, m=150, widths=(6, 9, 12)):
    rng = np.random.default_rng(seed)
    Z = rng.standard_normal((m, 4))
    reps = []
    for i in range(n):
        w = widths[i % len(widths)]
        reps.append(np.tanh(Z @ rng.standard_normal((4, w))) + 0.4 * rng.standard_normal((m, w)))
    return reps


def _textbook(X, Y, alpha):
    """phi = Xc (alpha I + (1 - alpha) C^{-1/2}) with C the covariance of the unit-RMS centred data
    (by eigh, on its range), zero-padded to one width; the angle after scipy's orthogonal Procrustes."""
    def phi(A):
        Ac = A - A.mean(0)
        Ac = Ac / np.sqrt(np.mean(Ac**2))
        lam, V = np.linalg.eigh(Ac.T @ Ac / Ac.shape[0])
        keep = lam > lam.max() * 1e-12
        inv_sqrt = (V[:, keep] / np.sqrt(lam[keep])) @ V[:, keep].T
        return Ac @ (alpha * np.eye(A.shape[1]) + (1 - alpha) * inv_sqrt)

    a, b = phi(X), phi(Y)
    w = max(a.shape[1], b.shape[1])
    a = np.pad(a, ((0, 0), (0, w - a.shape[1])))
    b = np.pad(b, ((0, 0), (0, w - b.shape[1])))
    R, _ = orthogonal_procrustes(a, b)
    cos = np.sum((a @ R) * b) / (np.linalg.norm(a) * np.linalg.norm(b))
    return float(np.arccos(np.clip(cos, -1, 1)))


@pytest.mark.parametrize("alpha", ALPHAS)
def test_per_pair_matches_orthogonal_procrustes(alpha):
    X, Y, W = _population(3, seed=1)
    for a, b in ((X, Y), (Y, W), (X, W)):
        assert procrustes_distance(a, b, alpha) == pytest.approx(_textbook(a, b, alpha), abs=1e-9)


def test_full_whitening_is_the_mean_canonical_correlation_form():
    """alpha = 0: cos theta = sum(rho) / sqrt(k_x k_y), rho the canonical correlations at full rank."""
    X, Y, _ = _population(3, seed=2)
    rho = canonical_correlations(X, Y, variance=1.0)
    expected = np.arccos(rho.sum() / np.sqrt(X.shape[1] * Y.shape[1]))
    assert procrustes_distance(X, Y, 0.0) == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("alpha", ALPHAS)
def test_triangle_inequality_on_random_triples(alpha):
    D = pairwise(_population(12, seed=3), "procrustes", alpha=alpha, dtype=torch.float64)
    n = len(D)
    slack = D[:, None, :] + D[None, :, :] - D[:, :, None]  # d(i,k) + d(k,j) - d(i,j) at [i, k, j]
    assert slack.min() >= -1e-9
    assert np.all(D[~np.eye(n, dtype=bool)] > 0.05) and np.array_equal(D, D.T)


@pytest.mark.parametrize("alpha", ALPHAS)
@pytest.mark.parametrize("n_others", [0, 40])
def test_rotated_rescaled_shifted_copy_is_at_zero_in_float32(alpha, n_others):
    """Invariances, in float32 (the default) and whatever the size of the call: the copy's
    distance is taken from the alignment residual, not from arccos near 1."""
    X = _population(1, seed=4, widths=(12,))[0]
    Q = ortho_group.rvs(12, random_state=5)
    copies = [X @ Q, 3.5 * X + 2.0, -X, 0.1 * (X @ Q) - 7.0]
    D = pairwise([X, *copies, *_population(n_others, seed=6)], "procrustes", alpha=alpha)
    assert D[0, 1:5].max() < 1e-5 and D[1:5, 0].max() < 1e-5


@pytest.mark.parametrize("alpha", ALPHAS)
def test_batched_engine_matches_per_pair_function(alpha):
    reps = _population(9, seed=7)
    reps.append(reps[0] + 1e-4 * np.random.default_rng(8).standard_normal(reps[0].shape))  # a near-copy
    expected = np.array([[procrustes_distance(a, b, alpha) for b in reps] for a in reps])
    assert np.abs(pairwise(reps, "procrustes", alpha=alpha, dtype=torch.float64) - expected).max() < 1e-9
    assert np.abs(pairwise(reps, "procrustes", alpha=alpha, block_size=3) - expected).max() < 2e-5
    assert 1e-5 < expected[0, -1] < 1e-2  # the near-copy: small and resolved


def test_constant_network_and_bad_alpha():
    X, Y, _ = _population(3, seed=9)
    C = np.ones_like(X)
    assert procrustes_distance(X, C) == pytest.approx(np.pi / 2)
    assert procrustes_distance(C, 2 * C) == 0.0
    D = pairwise([X, Y, C], "procrustes")
    assert D[0, 2] == pytest.approx(np.pi / 2) and D[1, 2] == pytest.approx(np.pi / 2)
    for bad in (-0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match="alpha must be in"):
            procrustes_distance(X, Y, bad)
