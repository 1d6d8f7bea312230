"""DCA vs PCA on a synthetic linear system, and subspace angles."""

from __future__ import annotations

import numpy as np
import pytest

from rnnatlas.latent import (
    angle_to_vector,
    block_toeplitz,
    dca_subspace,
    gaussian_predictive_information,
    lagged_cross_covariances,
    pca_subspace,
    subspace_angles,
)

pytest.importorskip("dca")


@pytest.fixture(scope="module")
def slow_fast_system() -> tuple[np.ndarray, np.ndarray]:
    """10-D AR(1): two slow dims (eigenvalue 0.95, variance ~0.9) rotated among eight
    white fast dims of larger variance (2.25). Returns (x [20, 200, 10], slow basis)."""
    rng = np.random.default_rng(0)
    dims, trials, length = 10, 20, 200
    a = np.diag([0.95, 0.95] + [0.0] * 8)
    sd = np.array([0.3, 0.3] + [1.5] * 8)
    q = np.linalg.qr(rng.normal(size=(dims, dims)))[0]
    z = np.zeros((trials, length, dims))
    for t in range(1, length):
        z[:, t] = z[:, t - 1] @ a.T + rng.normal(size=(trials, dims)) * sd
    return z @ q.T, q[:, :2]


def test_dca_recovers_slow_subspace_and_beats_pca(slow_fast_system) -> None:
    x, slow = slow_fast_system
    v, pi = dca_subspace(x, 2, window=5)
    np.testing.assert_allclose(v.T @ v, np.eye(2), atol=1e-10)
    assert subspace_angles(v, slow).max() < 0.3
    p, frac = pca_subspace(x, 2)
    pi_pca = gaussian_predictive_information(x, 5, proj=p)
    assert subspace_angles(p, slow).min() > 1.0  # PCA picks the fast, high-variance dims
    assert pi > pi_pca + 1.0
    assert pi == pytest.approx(gaussian_predictive_information(x, 5, proj=v), abs=1e-10)
    assert 0 < frac < 1


def test_dca_pi_nonnegative_and_increasing_in_d(slow_fast_system) -> None:
    x, _ = slow_fast_system
    pis = [dca_subspace(x, d, window=3, seed=1)[1] for d in (1, 2, 3)]
    assert pis[0] >= 0
    assert pis[0] < pis[1] <= pis[2] + 1e-6


def test_dca_with_pre_projection(slow_fast_system) -> None:
    x, slow = slow_fast_system
    _, pi = dca_subspace(x, 2, window=5, max_dim=10)  # max_dim = N: no-op
    _, pi_full = dca_subspace(x, 2, window=5)
    assert pi == pytest.approx(pi_full, abs=1e-4)
    # The documented caveat: the slow plane has lower variance than the fast dims, so the
    # top-8 PCs exclude it and DCA inside them cannot find it.
    v8, pi8 = dca_subspace(x, 2, window=5, max_dim=8)
    assert v8.shape == (10, 2)
    assert subspace_angles(v8, slow).min() > 1.0 and pi8 < pi_full - 1.0
    # When the PCs do hold the slow plane (scaled up here), pre-projection loses nothing.
    z = x + 3.0 * (x @ slow) @ slow.T
    v4, pi4 = dca_subspace(z, 2, window=5, max_dim=4)
    assert subspace_angles(v4, slow).max() < 0.3
    assert pi4 == pytest.approx(dca_subspace(z, 2, window=5)[1], rel=0.01)
    with pytest.raises(ValueError):
        dca_subspace(x, 3, window=5, max_dim=2)


def test_pca_subspace_known() -> None:
    rng = np.random.default_rng(5)
    x = rng.normal(size=(3, 400, 4)) * np.array([5.0, 0.1, 2.0, 0.1])
    v, frac = pca_subspace(x, 2)
    assert subspace_angles(v, np.eye(4)[:, [0, 2]]).max() < 0.05
    assert frac == pytest.approx(29 / 29.02, abs=0.01)


def test_subspace_angles_cases() -> None:
    rng = np.random.default_rng(6)
    a = rng.normal(size=(8, 3))
    np.testing.assert_allclose(subspace_angles(a, a @ rng.normal(size=(3, 3))), 0, atol=1e-7)
    e = np.eye(6)
    np.testing.assert_allclose(subspace_angles(e[:, :2], e[:, 2:5]), np.pi / 2)
    ang = subspace_angles(e[:, :2], np.stack([e[:, 0], np.cos(0.3) * e[:, 1] + np.sin(0.3)
                                              * e[:, 2]], axis=1))
    np.testing.assert_allclose(ang, [0.0, 0.3], atol=1e-12)
    assert np.all(np.diff(ang) >= 0)


def test_angle_to_vector_cases() -> None:
    e = np.eye(4)
    basis = e[:, :2]
    assert angle_to_vector(basis, e[:, 0] + 2 * e[:, 1]) == pytest.approx(0.0, abs=1e-12)
    assert angle_to_vector(basis, e[:, 3]) == pytest.approx(np.pi / 2)
    assert angle_to_vector(basis, e[:, 0] + e[:, 2]) == pytest.approx(np.pi / 4)
    np.testing.assert_allclose(angle_to_vector(basis, np.stack([e[:, 1], e[:, 2]])),
                               [0.0, np.pi / 2], atol=1e-12)
    with pytest.raises(ValueError):
        angle_to_vector(basis, np.zeros(4))


def test_dca_pi_matches_rectified_pi_on_transients() -> None:
    # Decaying transients from random states: non-stationary, so the block-Toeplitz
    # estimate is indefinite and rectification (as in DCA) kicks in; PI stays consistent.
    rng = np.random.default_rng(7)
    a = 0.8 * np.linalg.qr(rng.normal(size=(6, 6)))[0]
    x = np.zeros((30, 25, 6))
    x[:, 0] = 5.0 * rng.normal(size=(30, 6))
    for t in range(1, 25):
        x[:, t] = x[:, t - 1] @ a.T + 0.05 * rng.normal(size=(30, 6))
    raw = lagged_cross_covariances(x, 6, rectify=False)
    assert np.linalg.eigvalsh(block_toeplitz(raw))[0] < 0  # rectification is exercised
    v, pi = dca_subspace(x, 2, window=3)
    assert pi == pytest.approx(gaussian_predictive_information(x, 3, proj=v), abs=1e-8)
    assert pi < gaussian_predictive_information(x, 3, proj=v, rectify=False)
