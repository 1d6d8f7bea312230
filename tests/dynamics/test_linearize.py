"""Tests of Jacobians, eigendecomposition and stability classes (rnnatlas.dynamics.linearize)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnatlas.dynamics import find_fixed_points
from rnnatlas.dynamics.linearize import (
    count_unstable,
    eigendecompose,
    euler_to_continuous,
    jacobian,
    linearize_points,
    stability,
)

D = torch.float64



def test_jacobian_matches_analytic_vanilla_rnn():
    """F = tanh(W h + U x + b): ∂F/∂h = diag(1 − F²) W, ∂F/∂x = diag(1 − F²) U, per network."""
    k, p, s, i = 3, 5, 4, 2
    gen = torch.Generator().manual_seed(0)
    w, u = torch.randn(k, s, s, generator=gen, dtype=D), torch.randn(k, s, i, generator=gen, dtype=D)
    b = torch.randn(k, 1, s, generator=gen, dtype=D)
    step = lambda h, x: torch.tanh(h @ w.transpose(-1, -2) + x @ u.transpose(-1, -2) + b)  # noqa: E731
    h, x = torch.randn(k, p, s, generator=gen, dtype=D), torch.randn(k, p, i, generator=gen, dtype=D)
    j_h, j_x = jacobian(step, h, x)
    d = 1 - step(h, x) ** 2
    torch.testing.assert_close(j_h, d.unsqueeze(-1) * w.unsqueeze(1))
    torch.testing.assert_close(j_x, d.unsqueeze(-1) * u.unsqueeze(1))
    assert j_h.shape == (k, p, s, s) and j_x.shape == (k, p, s, i) and j_h.dtype == D
    # Broadcast inputs ([K, 1, I]) give the same result.
    j_h2, _ = jacobian(step, h, x[:, :1].expand(k, p, i).contiguous())
    j_h3, _ = jacobian(step, h, x[:, :1])
    torch.testing.assert_close(j_h2, j_h3)


def test_jacobian_of_float32_only_step_warns_and_returns_float64():
    w = torch.randn(2, 3, 3)
    step = lambda h, x: torch.tanh(torch.bmm(h, w.transpose(1, 2)))  # noqa: E731
    h = torch.randn(2, 4, 3)
    with pytest.warns(UserWarning):
        j_h, _ = jacobian(step, h, torch.zeros(1))
    assert j_h.dtype == D
    d = 1 - step(h, None) ** 2
    torch.testing.assert_close(j_h, (d.unsqueeze(-1) * w.unsqueeze(1)).double(), atol=1e-6, rtol=1e-5)


def test_left_right_eigenvectors_of_non_normal_matrices():
    gen = torch.Generator().manual_seed(1)
    j = torch.randn(4, 3, 6, 6, generator=gen, dtype=D)
    j = j + 3 * torch.triu(torch.randn(4, 3, 6, 6, generator=gen, dtype=D), 1)  # strongly non-normal
    assert not torch.allclose(j @ j.transpose(-1, -2), j.transpose(-1, -2) @ j)
    e = eigendecompose(j)
    lam = torch.diag_embed(e.eigenvalues)
    jc = j.to(torch.complex128)
    eye = torch.eye(6, dtype=torch.complex128)
    torch.testing.assert_close(jc @ e.right, e.right @ lam, atol=1e-9, rtol=0)  # J R = R Λ
    torch.testing.assert_close(e.left @ jc, lam @ e.left, atol=1e-9, rtol=0)  # L J = Λ L
    torch.testing.assert_close(e.left @ e.right, eye.expand_as(lam), atol=1e-9, rtol=0)  # L R = I
    torch.testing.assert_close(e.right @ lam @ e.left, jc, atol=1e-9, rtol=0)
    torch.testing.assert_close(e.right.abs().pow(2).sum(-2), torch.ones(4, 3, 6, dtype=D))  # unit columns
    mags = e.eigenvalues.abs()
    assert (mags[..., :-1] >= mags[..., 1:] - 1e-12).all()  # sorted by decreasing |λ|
    reals = eigendecompose(j, sort="real").eigenvalues.real
    assert (reals[..., :-1] >= reals[..., 1:] - 1e-12).all()


def test_discrete_stability_classes_and_margin():
    lam = torch.tensor([
        [0.5, 0.2, -0.9],  # stable
        [1.5, 0.5, 0.1],  # saddle, 1 unstable
        [1.5, -2.0, 0.1],  # saddle, 2 unstable (|−2| > 1)
        [1.0005, 0.5, 0.1],  # within the default margin: marginal
        [1.0, 1.0, 1.0],  # line/plane attractor directions: marginal
    ], dtype=D)
    n_unstable, classes = stability(lam)
    assert n_unstable.tolist() == [0, 1, 2, 0, 0]
    assert classes.tolist() == ["stable", "saddle", "saddle", "marginal", "marginal"]
    n_tight, classes_tight = stability(lam, margin=1e-4)
    assert n_tight.tolist() == [0, 1, 2, 1, 0] and classes_tight[3] == "saddle"
    # complex pairs on the unit circle count by modulus
    rot = torch.tensor([[np.exp(1j * 0.3), np.exp(-1j * 0.3)], [1.2j, -1.2j]], dtype=torch.complex128)
    assert count_unstable(rot).tolist() == [0, 2]
    assert stability(rot)[1].tolist() == ["marginal", "saddle"]


def test_continuous_time_classes_on_2d_examples():
    """Re λ decides in continuous time: stable node, saddle, centre; |λ| would say otherwise."""
    js = torch.tensor([
        [[-1.0, 5.0], [0.0, -0.5]],  # non-normal but stable
        [[1.0, 0.0], [0.0, -1.0]],  # saddle
        [[0.0, 1.0], [-1.0, 0.0]],  # centre: λ = ±i
    ], dtype=D)
    lam = eigendecompose(js, sort="real").eigenvalues
    n_unstable, classes = stability(lam, time="continuous")
    assert classes.tolist() == ["stable", "saddle", "marginal"] and n_unstable.tolist() == [0, 1, 0]
    assert stability(lam, time="discrete")[1].tolist() != classes.tolist()
    with pytest.raises(ValueError):
        stability(lam, time="sideways")


def test_continuous_rate_network_found_and_classified():
    """dh/dt = −h + W tanh(h), W = diag(2, 0.5), searched on its Euler map (dt = 0.1).

    Fixed points: h₂ = 0 and h₁ ∈ {0, ±a} with a = 2 tanh(a); the origin is a saddle (λ = 1, −0.5),
    ±a are stable (λ = −1 + 2(1 − tanh² a) < 0, −0.5).
    """
    dt = 0.1
    w = torch.diag(torch.tensor([2.0, 0.5], dtype=D))[None]
    step = lambda h, x: h + dt * (-h + torch.tanh(h) @ w.transpose(-1, -2))  # noqa: E731
    h0 = torch.tensor([[x, y] for x in (-3.0, -1.0, -0.2, 0.3, 1.2, 2.5) for y in (-1.0, 0.4)], dtype=D)[None]
    res = find_fixed_points(step, torch.zeros(1, dtype=D), h0)
    assert len(res.q) == 3 and (res.q < 1e-20).all()
    lin = linearize_points(step, res.h[None], res.x[None], time="continuous", dt=dt)
    a = torch.tensor(2.0, dtype=D)
    for _ in range(100):
        a = 2 * torch.tanh(a)
    for j in range(3):
        h1 = res.h[j, 0]
        if abs(h1) < 1e-9:
            assert lin.classes[0, j] == "saddle" and int(lin.n_unstable[0, j]) == 1
            torch.testing.assert_close(lin.eig.eigenvalues[0, j].real, torch.tensor([1.0, -0.5], dtype=D))
        else:
            assert abs(abs(h1) - a) < 1e-10 and lin.classes[0, j] == "stable"
    torch.testing.assert_close(lin.jacobian, euler_to_continuous(jacobian(step, res.h[None], res.x[None])[0], dt))
    with pytest.raises(ValueError):
        linearize_points(step, res.h[None], res.x[None], time="continuous")


def test_eigendecompose_records_bad_matrices_as_nan_instead_of_raising():
    j = torch.randn(4, 3, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    j[1, 0, 0] = float("nan")
    j[2] = float("inf")
    eig = eigendecompose(j)
    assert eig.eigenvalues[[1, 2]].isnan().all() and not eig.eigenvalues[[0, 3]].isnan().any()
    recon = eig.right[0] @ torch.diag_embed(eig.eigenvalues[0]) @ eig.left[0]
    torch.testing.assert_close(recon, j[0].to(torch.complex128))
