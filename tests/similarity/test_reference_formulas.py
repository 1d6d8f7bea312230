"""SVCCA and CKA against independent textbook formulas (float64, 1e-10)."""

import numpy as np
import pytest

from rnnatlas.similarity import canonical_correlations, cka, svcca

TOL = 1e-10


def _pair(seed: int, m: int = 300, p: int = 8, q: int = 12):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, p)) + 2.0
    Y = X @ rng.standard_normal((p, q)) + 1.5 * rng.standard_normal((m, q)) - 1.0
    return X, Y


def _inv_sqrt(S):
    w, V = np.linalg.eigh(S)
    return (V / np.sqrt(w)) @ V.T


def textbook_cca(X, Y):
    """Singular values of Sxx^-1/2 Sxy Syy^-1/2 from sample covariances."""
    m = X.shape[0]
    Xc, Yc = X - X.mean(0), Y - Y.mean(0)
    Sxx, Syy, Sxy = Xc.T @ Xc / (m - 1), Yc.T @ Yc / (m - 1), Xc.T @ Yc / (m - 1)
    return np.linalg.svd(_inv_sqrt(Sxx) @ Sxy @ _inv_sqrt(Syy), compute_uv=False)


def hsic(K, L):
    m = K.shape[0]
    H = np.eye(m) - np.ones((m, m)) / m
    return np.trace(K @ H @ L @ H) / (m - 1) ** 2


def hsic_unbiased(K, L):
    """Song et al. (2012) unbiased HSIC estimator."""
    m = K.shape[0]
    Kt, Lt = K.copy(), L.copy()
    np.fill_diagonal(Kt, 0.0)
    np.fill_diagonal(Lt, 0.0)
    one = np.ones(m)
    t1 = np.trace(Kt @ Lt)
    t2 = (one @ Kt @ one) * (one @ Lt @ one) / ((m - 1) * (m - 2))
    t3 = 2.0 / (m - 2) * (one @ Kt @ Lt @ one)
    return (t1 + t2 - t3) / (m * (m - 3))


def cka_def(K, L, estimator=hsic):
    return estimator(K, L) / np.sqrt(estimator(K, K) * estimator(L, L))


def rbf_kernel(X, frac):
    D2 = ((X[:, None, :] - X[None, :, :]) ** 2).sum(-1)
    sigma2 = frac**2 * np.median(D2)  # median over all entries, zero diagonal included
    return np.exp(-D2 / (2 * sigma2))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_svcca_matches_textbook_cca(seed):
    X, Y = _pair(seed)
    rho = textbook_cca(X, Y)
    assert abs(svcca(X, Y, variance=1.0) - rho.mean()) < TOL
    np.testing.assert_allclose(canonical_correlations(X, Y, variance=1.0), rho, atol=TOL, rtol=0)


def test_svcca_uses_min_k_for_the_mean():
    X, Y = _pair(3, p=5, q=9)
    rho = textbook_cca(X, Y)
    assert rho.size == 5
    assert abs(svcca(X, Y, variance=1.0) - rho.sum() / 5) < TOL
    assert abs(svcca(Y, X, variance=1.0) - rho.sum() / 5) < TOL


@pytest.mark.parametrize("seed", [0, 1])
def test_linear_cka_matches_hsic_definition(seed):
    X, Y = _pair(seed, m=150)
    assert abs(cka(X, Y) - cka_def(X @ X.T, Y @ Y.T)) < TOL


@pytest.mark.parametrize("frac", [0.5, 0.8, 2.0])
def test_rbf_cka_matches_hsic_definition(frac):
    X, Y = _pair(4, m=121)  # odd sample count: plain median
    expected = cka_def(rbf_kernel(X, frac), rbf_kernel(Y, frac))
    assert abs(cka(X, Y, kernel="rbf", sigma_fraction=frac) - expected) < TOL
    X, Y = _pair(5, m=120)  # even: median averages the two middle values
    expected = cka_def(rbf_kernel(X, frac), rbf_kernel(Y, frac))
    assert abs(cka(X, Y, kernel="rbf", sigma_fraction=frac) - expected) < TOL


@pytest.mark.parametrize("kernel", ["linear", "rbf"])
def test_debiased_cka_matches_song_unbiased_hsic(kernel):
    X, Y = _pair(6, m=90)
    if kernel == "linear":
        K, L = X @ X.T, Y @ Y.T
    else:
        K, L = rbf_kernel(X, 0.8), rbf_kernel(Y, 0.8)
    expected = cka_def(K, L, hsic_unbiased)
    assert abs(cka(X, Y, kernel=kernel, debiased=True) - expected) < TOL


def test_debiased_cka_can_be_negative():
    rng = np.random.default_rng(7)
    values = [
        cka(rng.standard_normal((40, 3)), rng.standard_normal((40, 3)), debiased=True)
        for _ in range(20)
    ]
    assert min(values) < 0.0
    assert all(-1.0 <= v <= 1.0 for v in values)
