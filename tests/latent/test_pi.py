"""Gaussian predictive information against the dca package's estimator (the oracle)."""

from __future__ import annotations

import numpy as np
import pytest

from rnnatlas.latent import (
    block_toeplitz,
    gaussian_predictive_information,
    lagged_cross_covariances,
    pi_from_cross_covs,
)

dca_cov = pytest.importorskip("dca.cov_util")


def _data(seed: int = 0, trials: int = 5, length: int = 80, dims: int = 4) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(trials, length, dims)).cumsum(axis=1) * 0.1 + rng.normal(
        size=(trials, length, dims)
    )


@pytest.mark.parametrize("window", [1, 3, 6])
def test_cross_covs_and_pi_match_dca(window: int) -> None:
    x = _data()
    ours = lagged_cross_covariances(x, 2 * window)
    ref = dca_cov.calc_cross_cov_mats_from_data(list(x), 2 * window)
    np.testing.assert_allclose(ours, ref, atol=1e-12)
    pi = gaussian_predictive_information(x, window)
    assert pi == pytest.approx(float(dca_cov.calc_pi_from_cross_cov_mats(ref)), abs=1e-8)
    proj = np.linalg.qr(np.random.default_rng(1).normal(size=(4, 2)))[0]
    assert gaussian_predictive_information(x, window, proj=proj) == pytest.approx(
        float(dca_cov.calc_pi_from_cross_cov_mats(ref, proj)), abs=1e-8
    )


def test_unequal_trial_lengths_match_dca() -> None:
    rng = np.random.default_rng(2)
    xs = [rng.normal(size=(n, 3)).cumsum(axis=0) * 0.05 + rng.normal(size=(n, 3))
          for n in (20, 37, 55)]
    ref = dca_cov.calc_cross_cov_mats_from_data(xs, 8)
    np.testing.assert_allclose(lagged_cross_covariances(xs, 8), ref, atol=1e-12)
    assert gaussian_predictive_information(xs, 4) == pytest.approx(
        float(dca_cov.calc_pi_from_cross_cov_mats(ref)), abs=1e-8
    )


def test_rank_deficient_data_rectified_like_dca() -> None:
    x = _data(3)
    x = np.concatenate([x, np.zeros(x.shape[:2] + (1,))], axis=2)  # a silent unit
    ref = dca_cov.calc_cross_cov_mats_from_data(list(x), 4)
    np.testing.assert_allclose(lagged_cross_covariances(x, 4), ref, atol=1e-12)


def test_lags_do_not_cross_trials() -> None:
    # Each trial is constant, alternating sign between trials: concatenated, x(t+1)
    # anti-correlates at the boundaries; per trial the lag-1 covariance equals lag 0.
    x = np.concatenate([np.full((1, 10, 1), s) for s in (1.0, -1.0, 1.0, -1.0)])
    c = lagged_cross_covariances(x, 2)
    assert c[1, 0, 0] == pytest.approx(c[0, 0, 0])


def test_pi_of_white_noise_is_near_zero_and_ar1_closed_form() -> None:
    rng = np.random.default_rng(4)
    assert abs(gaussian_predictive_information(rng.normal(size=(4, 5000, 2)), 2)) < 5e-3
    # AR(1) x(t) = a x(t-1) + e: PI = −½ log(1 − a²) for any window (Markov).
    a = 0.8
    cov = np.array([[[1.0]], [[a]], [[a * a]], [[a**3]]])
    assert pi_from_cross_covs(cov) == pytest.approx(-0.5 * np.log(1 - a * a), rel=1e-12)


def test_block_toeplitz_layout() -> None:
    c = np.array([[[1.0, 0.0], [0.0, 2.0]], [[0.1, 0.2], [0.3, 0.4]]])
    big = block_toeplitz(c)
    np.testing.assert_allclose(big[2:, :2], c[1])
    np.testing.assert_allclose(big[:2, 2:], c[1].T)
    np.testing.assert_allclose(big, big.T)


def test_too_short_trials_rejected() -> None:
    with pytest.raises(ValueError, match="longer"):
        gaussian_predictive_information(np.zeros((2, 6, 2)), 3)
