"""Null baselines: independent Gaussian data, random walks, identical inputs.

Linear CKA, independent iid Gaussian X (m, p), Y (m, q): with n = m - 1
degrees of freedom after centering, E||Xc^T Yc||^2 = n p q and
E||Xc^T Xc||^2 = p n (n + p + 1) (Wishart moments), so
CKA ~ sqrt(p q / ((n + p + 1)(n + q + 1))) (= p / (m + p) for p = q).

SVCCA with variance=1.0, independent iid Gaussian: the centered column spaces
are uniformly random p- and q-dimensional subspaces of the n-dimensional
centered sample space, so E[sum rho^2] = E||P_X P_Y||_F^2 = p q / n exactly.
Since 0 <= rho <= 1, mean(rho^2) <= mean(rho) <= sqrt(mean(rho^2)).
"""

import numpy as np
import pytest

from rnnatlas.similarity import canonical_correlations, cka, pairwise, svcca


def test_iid_linear_cka_near_theory():
    m, p, q = 400, 20, 30
    rng = np.random.default_rng(0)
    vals = [cka(rng.standard_normal((m, p)), rng.standard_normal((m, q))) for _ in range(20)]
    n = m - 1
    expected = np.sqrt(p * q / ((n + p + 1) * (n + q + 1)))
    assert np.mean(vals) == pytest.approx(expected, rel=0.05)
    # the debiased estimator removes this bias
    vals_u = [cka(rng.standard_normal((m, p)), rng.standard_normal((m, q)), debiased=True) for _ in range(20)]
    assert abs(np.mean(vals_u)) < 0.01


def test_iid_svcca_second_moment_and_bounds():
    m, p, q = 300, 10, 15
    rng = np.random.default_rng(1)
    sums, means = [], []
    for _ in range(40):
        X, Y = rng.standard_normal((m, p)), rng.standard_normal((m, q))
        rho = canonical_correlations(X, Y, variance=1.0)
        s = svcca(X, Y, variance=1.0)
        assert np.mean(rho**2) - 1e-12 <= s <= np.sqrt(np.mean(rho**2)) + 1e-12
        sums.append(np.sum(rho**2))
        means.append(s)
    expected = p * q / (m - 1)
    sem = np.std(sums) / np.sqrt(len(sums))
    assert abs(np.mean(sums) - expected) < 4 * sem + 0.02 * expected
    assert np.mean(means) < np.sqrt(q / (m - 1)) + 0.02


def test_random_walks_score_far_above_iid():
    """Time points are not independent: unrelated smooth trajectories look similar."""
    m, p = 500, 10
    rng = np.random.default_rng(2)
    walk = lambda: np.cumsum(rng.standard_normal((m, p)), axis=0)  # noqa: E731
    iid = np.mean([svcca(rng.standard_normal((m, p)), rng.standard_normal((m, p))) for _ in range(5)])
    rw = np.mean([svcca(walk(), walk()) for _ in range(5)])
    assert rw > 2.0 * iid
    assert rw > 0.4


def test_identical_inputs_are_exactly_one():
    rng = np.random.default_rng(3)
    X = np.tanh(rng.standard_normal((150, 12)) @ rng.standard_normal((12, 40)))
    assert svcca(X, X) == 1.0 and svcca(X, X.copy(), variance=1.0) == 1.0
    for kernel in ("linear", "rbf"):
        assert cka(X, X.copy(), kernel=kernel) == 1.0
        assert cka(X, X.copy(), kernel=kernel, debiased=True) == 1.0
    D = pairwise([X, X.astype(np.float32).astype(np.float64), X.copy()], "svcca")
    assert D[0, 2] == 0.0 and D[2, 0] == 0.0
