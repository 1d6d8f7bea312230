"""Non-normality, eigenvalue ordering and matched eigenvalue shifts."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import ortho_group, unitary_group

from rnnatlas.connectivity import (
    eigenvalues,
    henrici_departure,
    matched_eigenvalue_shifts,
    schur_form,
    schur_upper_norm,
)


def _random_w(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    w = rng.normal(0.0, 1.0 / np.sqrt(n), (n, n))
    np.fill_diagonal(w, 0.0)
    return w


@pytest.mark.parametrize("kind", ["symmetric", "orthogonal", "skew"])
def test_normal_matrices_have_zero_non_normality(kind: str) -> None:
    rng = np.random.default_rng(1)
    a = rng.normal(size=(20, 20))
    w = {"symmetric": a + a.T, "orthogonal": ortho_group.rvs(20, random_state=2),
         "skew": a - a.T}[kind]
    scale = np.linalg.norm(w)
    assert schur_upper_norm(w) < 1e-10 * scale
    assert schur_upper_norm(w, order="lapack") < 1e-10 * scale
    # sqrt of a difference of squares: rounding ~sqrt(eps)·‖W‖_F.
    assert henrici_departure(w) < 1e-6 * scale


@pytest.mark.parametrize("a,b,d", [(1.0, 3.0, -2.0), (0.5, -0.7, 0.5), (2.0, 1e-3, 0.1)])
def test_two_by_two_upper_triangular_closed_form(a: float, b: float, d: float) -> None:
    w = np.array([[a, b], [0.0, d]])
    assert schur_upper_norm(w) == pytest.approx(abs(b), rel=1e-10)
    assert henrici_departure(w) == pytest.approx(abs(b), rel=1e-6)


def test_schur_norm_invariant_under_unitary_similarity() -> None:
    w = _random_w(30, 3)
    ref = schur_upper_norm(w)
    for seed in range(3):
        u = unitary_group.rvs(30, random_state=seed)
        w2 = u @ w @ u.conj().T
        assert schur_upper_norm(w2) == pytest.approx(ref, rel=1e-8)
        assert henrici_departure(w2) == pytest.approx(henrici_departure(w), rel=1e-8)


def test_henrici_equals_frobenius_of_schur_upper_part() -> None:
    w = _random_w(25, 4)
    for order in ("modulus", "lapack"):
        t, q = schur_form(w, order=order)
        np.testing.assert_allclose(q @ t @ q.conj().T, w, atol=1e-12)
        np.testing.assert_allclose(np.tril(t, -1), 0.0, atol=1e-14)
        assert np.linalg.norm(np.triu(t, 1)) == pytest.approx(henrici_departure(w), rel=1e-8)
    t, _ = schur_form(w)
    np.testing.assert_allclose(np.diag(t), eigenvalues(w), atol=1e-10)


def test_stack_matches_single() -> None:
    ws = np.stack([_random_w(12, s) for s in range(3)])
    np.testing.assert_allclose(schur_upper_norm(ws), [schur_upper_norm(w) for w in ws])
    np.testing.assert_allclose(henrici_departure(ws), [henrici_departure(w) for w in ws])
    lam = eigenvalues(ws)
    assert lam.shape == (3, 12)
    np.testing.assert_allclose(lam[1], eigenvalues(ws[1]))


def test_eigenvalues_sorted_by_modulus() -> None:
    lam = eigenvalues(_random_w(40, 5))
    mod = np.abs(lam)
    assert np.all(np.diff(mod) <= 1e-12)
    np.testing.assert_allclose(eigenvalues(np.diag([1.0, -3.0, 2.0])), [-3.0, 2.0, 1.0])


def test_matched_shifts_zero_for_identical() -> None:
    w = _random_w(30, 6)
    out = matched_eigenvalue_shifts(w, w.copy())
    np.testing.assert_allclose(out["shift"], 0.0, atol=1e-12)
    assert out["total"] == pytest.approx(0.0, abs=1e-10)


def test_matched_shifts_diagonal_one_entry_changed() -> None:
    w0 = np.diag([3.0, 1.0, -2.0, 0.5])
    w1 = w0.copy()
    w1[3, 3] = 0.7  # 0.5 -> 0.7; sorting by modulus would misalign it, matching must not
    out = matched_eigenvalue_shifts(w0, w1)
    np.testing.assert_allclose(out["lambda0"], [3.0, -2.0, 1.0, 0.5])
    np.testing.assert_allclose(out["lambda1"], [3.0, -2.0, 1.0, 0.7])
    np.testing.assert_allclose(out["shift"], [0.0, 0.0, 0.0, 0.2], atol=1e-12)


def test_matched_shifts_not_fooled_by_modulus_order() -> None:
    # W0 eigenvalues {1, ±0.9i}; W1 {0.8, ±0.9i}: by modulus 0.8 now sorts last, but the
    # matching still pairs 1 -> 0.8 and leaves the rotation pair unmoved.
    rot = np.array([[0.0, -0.9], [0.9, 0.0]])
    w0 = np.zeros((3, 3))
    w0[0, 0], w0[1:, 1:] = 1.0, rot
    w1 = w0.copy()
    w1[0, 0] = 0.8
    out = matched_eigenvalue_shifts(w0, w1)
    np.testing.assert_allclose(out["lambda0"], [1.0, 0.9j, -0.9j], atol=1e-12)
    np.testing.assert_allclose(out["shift"], [0.2, 0.0, 0.0], atol=1e-12)
    assert out["total"] == pytest.approx(0.2)


def test_bad_shapes() -> None:
    with pytest.raises(ValueError):
        schur_upper_norm(np.zeros((3, 4)))
    with pytest.raises(ValueError):
        matched_eigenvalue_shifts(np.eye(3), np.eye(4))
    with pytest.raises(ValueError):
        schur_form(np.eye(3), order="bogus")  # type: ignore[arg-type]
