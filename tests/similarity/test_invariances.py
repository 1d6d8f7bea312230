"""Invariances: CKA to rotation, isotropic scaling and shift; SVCCA to rotation,
scaling, and to any invertible linear map when nothing is truncated."""

import numpy as np
import pytest
from scipy.stats import ortho_group

from rnnatlas.similarity import cka, svcca

TOL = 1e-10


def _data(seed=0, m=200, p=10, q=14):
    rng = np.random.default_rng(seed)
    Z = rng.standard_normal((m, 4))
    X = np.tanh(Z @ rng.standard_normal((4, p))) + 0.3 * rng.standard_normal((m, p))
    Y = Z @ rng.standard_normal((4, q)) + 0.5 * rng.standard_normal((m, q))
    return X, Y, rng


CKA_VARIANTS = [
    dict(kernel="linear"),
    dict(kernel="rbf"),
    dict(kernel="linear", debiased=True),
    dict(kernel="rbf", debiased=True),
]


@pytest.mark.parametrize("kw", CKA_VARIANTS)
def test_cka_rotation_scale_shift(kw):
    X, Y, rng = _data(1)
    Q = ortho_group.rvs(X.shape[1], random_state=3)
    base = cka(X, Y, **kw)
    assert abs(cka(X @ Q, Y, **kw) - base) < TOL
    assert abs(cka(3.7 * X, Y, **kw) - base) < TOL
    assert abs(cka(X + rng.standard_normal(X.shape[1]) * 10, Y, **kw) - base) < TOL
    assert abs(cka(0.2 * (X @ Q) - 4.0, 5.0 * Y + 1.0, **kw) - base) < TOL


@pytest.mark.parametrize("variance", [0.9, 0.99, 1.0])
def test_svcca_rotation_and_scaling(variance):
    X, Y, rng = _data(2)
    Q = ortho_group.rvs(X.shape[1], random_state=4)
    base = svcca(X, Y, variance)
    assert abs(svcca(X @ Q, Y, variance) - base) < TOL
    assert abs(svcca(2.5 * X - 1.0, Y, variance) - base) < TOL


def test_svcca_invertible_map_without_truncation():
    X, Y, rng = _data(3)
    A = rng.standard_normal((X.shape[1], X.shape[1])) + 3.0 * np.eye(X.shape[1])
    B = rng.standard_normal((Y.shape[1], Y.shape[1])) + 3.0 * np.eye(Y.shape[1])
    base = svcca(X, Y, variance=1.0)
    assert abs(svcca(X @ A + 7.0, Y @ B, variance=1.0) - base) < TOL


def test_svcca_truncation_is_not_affine_invariant():
    # documents why the invertible-map invariance needs variance=1.0
    X, Y, rng = _data(4)
    A = np.diag(np.geomspace(1.0, 100.0, X.shape[1]))
    assert abs(svcca(X @ A, Y, 0.9) - svcca(X, Y, 0.9)) > 1e-3
