"""Tests of the population fixed-point search (rnnatlas.dynamics.fixed_points)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from scipy.optimize import fsolve

from rnnatlas.dynamics import find_fixed_points, linearize_points, sample_initial_states
from rnnatlas.dynamics._dedup import merge_duplicates

D = torch.float64



# --------------------------------------------------------------------------- helpers
def reference_weights(n: int) -> np.ndarray:
    """FixedPointFinder's test network: row i of W is −roll(linspace(−1, 1, n), −i)."""
    row = np.linspace(-1.0, 1.0, n)
    return np.stack([-np.roll(row, -i) for i in range(n)])


def brute_force_fixed_points(w: np.ndarray, per_dim: int = 9) -> np.ndarray:
    """All solutions of h = tanh(W h), by fsolve from a dense grid on [−1, 1]ⁿ, deduplicated.

    Independent of the code under test: scipy's MINPACK hybrid method with the analytic Jacobian.
    """
    n = w.shape[0]
    f = lambda h: np.tanh(w @ h) - h  # noqa: E731
    fprime = lambda h: (1 - np.tanh(w @ h) ** 2)[:, None] * w - np.eye(n)  # noqa: E731
    found: list[np.ndarray] = []
    for h0 in itertools.product(*[np.linspace(-1, 1, per_dim)] * n):
        h, _, ier, _ = fsolve(f, np.array(h0), fprime=fprime, full_output=True, xtol=1e-13)
        if ier == 1 and np.linalg.norm(f(h)) < 1e-10 and not any(np.linalg.norm(h - u) < 1e-6 for u in found):
            found.append(h)
    return np.array(found)


def grid(n: int, per_dim: int = 3, lo: float = -1.0, hi: float = 1.0) -> torch.Tensor:
    return torch.tensor(list(itertools.product(*[np.linspace(lo, hi, per_dim)] * n)), dtype=D)


def assert_same_sets(found: np.ndarray, truth: np.ndarray, tol: float = 1e-6) -> None:
    """Every found point is a true one and every true one is found (both directions)."""
    assert len(found) == len(truth), (found, truth)
    d = np.linalg.norm(found[:, None, :] - truth[None, :, :], axis=-1)
    assert (d.min(1) < tol).all(), "a found point is not a true fixed point"
    assert (d.min(0) < tol).all(), "a true fixed point was missed"


def linear_step(a: torch.Tensor, b: torch.Tensor):
    """h_next = A h + B x, batched over networks (A [K, S, S], B [K, S, I])."""
    return lambda h, x: h @ a.transpose(-1, -2) + x @ b.transpose(-1, -2)


# --------------------------------------------------------------------------- reference fixture
@pytest.mark.parametrize("n", [2, 3, 4])
def test_reference_fixture_each_n(n):
    w = torch.tensor(reference_weights(n), dtype=D)[None]
    step = lambda h, x: torch.tanh(h @ w.transpose(-1, -2))  # noqa: E731
    res = find_fixed_points(step, torch.zeros(1, dtype=D), grid(n)[None])
    truth = brute_force_fixed_points(reference_weights(n))
    # Every point is verified by plugging it back in.
    q_check = 0.5 * (step(res.h[None], None)[0] - res.h).pow(2).sum(-1)
    assert (q_check < 1e-20).all() and (res.q < 1e-20).all() and not res.is_slow.any()
    assert bool(res.found[0]) and res.n_outliers.item() == 0
    assert_same_sets(res.h.numpy(), truth)
    assert res.n_duplicates.item() == 3**n - len(truth)
    assert res.h.dtype == torch.float64


def test_reference_fixture_all_n_in_one_population_call():
    """n = 2, 3, 4 embedded in S = 4 (extra units decoupled, h_next = 0) and searched at once."""
    s = 4
    w = torch.zeros(3, s, s, dtype=D)
    starts = torch.zeros(3, 3**s, s, dtype=D)
    for k, n in enumerate((2, 3, 4)):
        w[k, :n, :n] = torch.tensor(reference_weights(n))
        g = grid(n)
        starts[k, :, :n] = g.repeat(3 ** (s - n), 1)  # the 3ⁿ grid, repeated to fill M = 81
    step = lambda h, x: torch.tanh(h @ w.transpose(-1, -2))  # noqa: E731
    res = find_fixed_points(step, torch.zeros(3, 1, 1, dtype=D), starts)
    for k, n in enumerate((2, 3, 4)):
        pts = res.for_network(k)
        assert (pts.q < 1e-20).all() and pts.found
        assert torch.all(pts.h[:, n:] == 0)
        assert_same_sets(pts.h[:, :n].numpy(), brute_force_fixed_points(reference_weights(n)))
    assert res.counts().tolist() == [3, 3, 9]


# --------------------------------------------------------------------------- populations and inputs
def test_linear_population_unique_fixed_point_per_condition():
    """K different (A, B); two static inputs per network searched in one call."""
    k, s, i, m = 5, 6, 2, 16
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(k, s, s, generator=gen, dtype=D) / s**0.5
    a = 0.9 * a / torch.linalg.matrix_norm(a, ord=2)[:, None, None]
    b = torch.randn(k, s, i, generator=gen, dtype=D)
    conds = torch.randn(k, 2, i, generator=gen, dtype=D)
    x = conds.repeat_interleave(m // 2, dim=1)  # starts 0..7 under condition 0, 8..15 under 1
    h0 = torch.randn(k, m, s, generator=gen, dtype=D)
    res = find_fixed_points(linear_step(a, b), x, h0)
    assert res.counts().tolist() == [2] * k
    for kk in range(k):
        pts = res.for_network(kk)
        for c in range(2):
            want = torch.linalg.solve(torch.eye(s, dtype=D) - a[kk], b[kk] @ conds[kk, c])
            hit = (pts.x - conds[kk, c]).abs().sum(-1) == 0
            assert hit.sum() == 1
            torch.testing.assert_close(pts.h[hit][0], want, atol=1e-9, rtol=0)
        assert pts.n_duplicates == m - 2 and (pts.q < 1e-20).all()
    # start_point maps every start to the point of its own condition.
    sp = res.start_point
    assert (sp >= 0).all()
    torch.testing.assert_close(res.x[sp.flatten()].view(k, m, i), x)


def test_networks_do_not_interact():
    """A population call gives each network exactly the points it gets on its own."""
    k, s = 3, 5
    gen = torch.Generator().manual_seed(3)
    w = 2.0 * torch.randn(k, s, s, generator=gen, dtype=D) / s**0.5
    bias = 0.1 * torch.randn(k, 1, s, generator=gen, dtype=D)
    h0 = 1.5 * torch.randn(k, 64, s, generator=gen, dtype=D)
    together = find_fixed_points(lambda h, x: torch.tanh(h @ w.transpose(-1, -2) + bias), torch.zeros(1, dtype=D), h0)
    for kk in range(k):
        wk, bk = w[kk : kk + 1], bias[kk : kk + 1]
        alone = find_fixed_points(lambda h, x: torch.tanh(h @ wk.transpose(-1, -2) + bk), torch.zeros(1, dtype=D),
                                  h0[kk : kk + 1])
        mine = together.for_network(kk)
        assert len(mine.q) == len(alone.q) > 0
        torch.testing.assert_close(mine.h, alone.h, atol=1e-9, rtol=0)
        # Same work per point (identical here; a BLAS may round a row differently by position).
        assert ((mine.n_iters - alone.n_iters).abs() <= 2 + alone.n_iters // 50).all()


def test_each_point_stops_on_its_own():
    """An easy start (on the fixed point) stops at once while a hard one keeps iterating."""
    a = torch.diag(torch.tensor([0.5, 0.9], dtype=D))[None]
    b = torch.eye(2, dtype=D)[None]
    x = torch.tensor([1.0, 0.001], dtype=D)
    h_star = torch.linalg.solve(torch.eye(2, dtype=D) - a[0], x)
    h0 = torch.stack([h_star, h_star + 1e-7, h_star + torch.tensor([5.0, -5.0], dtype=D)])[None]
    res = find_fixed_points(linear_step(a, b), x, h0, newton_steps=0)
    it = res.start_iters[0]
    assert it[0] == 0 and it[1] < it[2] and it[2] > 20
    assert (res.start_q[0] < 1e-12).all()


# --------------------------------------------------------------------------- designed stable points and saddles
def test_hopfield_patterns_are_stable_fixed_points():
    """h_next = tanh(β W h), W = ξᵀξ/n with orthogonal ±1 patterns: ±m*ξ_p are stable points."""
    n, n_pat, beta = 16, 3, 3.0
    hadamard = torch.tensor([[1.0]], dtype=D)
    while hadamard.shape[0] < n:
        hadamard = torch.cat([torch.cat([hadamard, hadamard], 1), torch.cat([hadamard, -hadamard], 1)], 0)
    xi = hadamard[1 : 1 + n_pat]
    w = (beta * xi.T @ xi / n)[None]
    step = lambda h, x: torch.tanh(h @ w.transpose(-1, -2))  # noqa: E731
    gen = torch.Generator().manual_seed(1)
    targets = torch.cat([xi, -xi])
    h0 = torch.cat([targets.repeat(8, 1) * 0.7 + 0.3 * torch.randn(48, n, generator=gen, dtype=D),
                    0.05 * torch.randn(16, n, generator=gen, dtype=D)])[None]
    res = find_fixed_points(step, torch.zeros(1, dtype=D), h0)
    m_star = torch.tensor(1.0, dtype=D)
    for _ in range(200):  # m = tanh(β m), the pattern overlap at the fixed point
        m_star = torch.tanh(beta * m_star)
    lin = linearize_points(step, res.h[None], res.x[None])
    for t in targets:
        d = (res.h - m_star * t).norm(dim=-1)
        assert d.min() < 1e-8
        j = int(d.argmin())
        assert lin.classes[0, j] == "stable" and int(lin.n_unstable[0, j]) == 0
    origin = res.h.norm(dim=-1) < 1e-8
    assert origin.sum() == 1
    j0 = int(origin.nonzero()[0, 0])
    # At 0 the Jacobian is βW: eigenvalue β on the n_pat pattern directions, 0 elsewhere.
    assert lin.classes[0, j0] == "saddle" and int(lin.n_unstable[0, j0]) == n_pat


def test_designed_saddles_have_right_number_of_unstable_directions():
    """h_next = h + ε(h − h³) per unit: 3ⁿ points; unstable directions = number of zero coordinates."""
    n, eps = 3, 0.3
    step = lambda h, x: h + eps * (h - h**3)  # noqa: E731
    vals = [-1.3, -0.8, -0.3, 0.25, 0.9, 1.2]  # one or more starts in every coordinate's basin
    h0 = torch.tensor(list(itertools.product(vals, repeat=n)), dtype=D)[None]
    res = find_fixed_points(step, torch.zeros(1, dtype=D), h0)
    assert len(res.q) == 3**n and (res.q < 1e-20).all()
    assert torch.allclose(res.h, res.h.round(), atol=1e-9)
    lin = linearize_points(step, res.h[None], res.x[None])
    n_zero = (res.h.round() == 0).sum(-1)
    assert torch.equal(lin.n_unstable[0], n_zero)
    for j in range(len(res.q)):
        assert lin.classes[0, j] == ("stable" if n_zero[j] == 0 else "saddle")


# --------------------------------------------------------------------------- slow points, outliers, options
def test_no_fixed_point_reports_best_q_and_slow_point():
    """F(h) = h + ε(h² + a), a > 0, has no fixed point; q has its minimum ½ε²a² at h = 0."""
    eps, a = 0.1, 0.5
    step = lambda h, x: h + eps * (h**2 + a)  # noqa: E731
    h0 = torch.linspace(-1, 1, 9, dtype=D).view(1, 9, 1)
    res = find_fixed_points(step, torch.zeros(1, dtype=D), h0, max_iters=2000)
    assert not bool(res.found[0])
    assert res.best_q[0].item() == pytest.approx(0.5 * eps**2 * a**2, rel=1e-6)
    assert res.is_slow.all() and len(res.q) == 1 and abs(res.h[0, 0].item()) < 1e-3
    assert "nothing found below tol" in res.summary(0) and "best q = 0.00125" in res.summary(0)
    dropped = find_fixed_points(step, torch.zeros(1, dtype=D), h0, max_iters=2000, drop_slow=True)
    assert len(dropped.q) == 0 and dropped.n_slow_dropped.tolist() == [1]
    assert dropped.best_q[0].item() == pytest.approx(res.best_q[0].item())
    assert (dropped.start_point == -1).all()


def test_stall_rule_stops_creeping_starts_and_leaves_converging_ones_alone():
    """F(h) = h − c·h³: q = ½c²h⁶ is flat, Adam's progress slow; a start whose q did not fall
    by the asked factor over a window stops at the window's end as a slow point. The reference
    fixture (fast convergence) is unchanged by a 2× rule."""
    creep = lambda h, x: h - 1e-3 * h**3  # noqa: E731
    h0 = torch.linspace(0.5, 1.0, 6, dtype=D).view(1, 6, 1)
    opts = dict(max_iters=4000, newton_steps=0, tol_q=1e-20)
    plain = find_fixed_points(creep, torch.zeros(1, dtype=D), h0, **opts)
    stalled = find_fixed_points(creep, torch.zeros(1, dtype=D), h0, stall_iters=100, stall_ratio=1e-3, **opts)
    assert (plain.start_iters > 1000).all() and (stalled.start_iters < plain.start_iters).all()
    assert (stalled.start_iters % 100 == 0).all() and stalled.is_slow.all()
    assert stalled.options["stall_iters"] == 100 and plain.q.max() < stalled.q.min()
    w = torch.tensor(reference_weights(3), dtype=D)[None]
    step = lambda h, x: torch.tanh(h @ w.transpose(-1, -2))  # noqa: E731
    a = find_fixed_points(step, torch.zeros(1, dtype=D), grid(3)[None])
    b = find_fixed_points(step, torch.zeros(1, dtype=D), grid(3)[None], stall_iters=100)
    torch.testing.assert_close(a.h, b.h, rtol=0, atol=0)
    assert torch.equal(a.start_iters, b.start_iters)


def test_distance_outliers_are_dropped_and_counted():
    """Network 1's only fixed point lies far outside its starts' cloud; network 0's does not."""
    a = torch.zeros(2, 2, 2, dtype=D)
    b = torch.eye(2, dtype=D).expand(2, 2, 2)
    x = torch.tensor([[[0.5, 0.5]], [[100.0, 100.0]]], dtype=D)  # h* = x
    h0 = torch.randn(2, 8, 2, generator=torch.Generator().manual_seed(0), dtype=D)
    res = find_fixed_points(linear_step(a, b), x, h0)
    assert res.counts().tolist() == [1, 0] and res.n_outliers.tolist() == [0, 8]
    kept = find_fixed_points(linear_step(a, b), x, h0, exclude_distance_outliers=False)
    assert kept.counts().tolist() == [1, 1] and kept.n_outliers.tolist() == [0, 0]
    torch.testing.assert_close(kept.h[1], x[1, 0])


def test_q_threshold_labels_slow_points():
    step = lambda h, x: h + 0.1 * (h**2 + 0.5)  # noqa: E731  (best q = 1.25e-3)
    h0 = torch.zeros(1, 2, 1, dtype=D)
    res = find_fixed_points(step, torch.zeros(1, dtype=D), h0, q_threshold=1e-2)
    assert not res.is_slow.any() and not bool(res.found[0])


def test_float32_step_polished_in_float64():
    """A float32-only step (bmm refuses float64): Adam in float32, Newton via polish_step."""
    gen = torch.Generator().manual_seed(5)
    w32 = 2.5 * torch.randn(2, 8, 8, generator=gen) / 8**0.5
    w64 = w32.double()  # what converting a float32 population with .double() gives
    step32 = lambda h, x: torch.tanh(torch.bmm(h, w32.transpose(1, 2)))  # noqa: E731
    step64 = lambda h, x: torch.tanh(torch.bmm(h, w64.transpose(1, 2)))  # noqa: E731
    h0 = torch.randn(2, 32, 8, generator=gen)
    with pytest.warns(UserWarning, match="float64"):
        plain = find_fixed_points(step32, torch.zeros(1), h0)
    polished = find_fixed_points(step32, torch.zeros(1), h0, polish_step=step64)
    assert polished.h.dtype == torch.float64 and polished.options["polish_dtype"] == "torch.float64"
    assert plain.options["polish_dtype"] == "torch.float32"
    fixed = ~polished.is_slow
    assert fixed.sum() >= 2 and (polished.q[fixed] < 1e-24).all()


def test_sample_initial_states():
    k, b, t, s = 3, 4, 5, 2
    traj = torch.arange(k * b * t * s, dtype=D).view(k, b, t, s)
    gen = torch.Generator().manual_seed(0)
    states, trial, time = sample_initial_states(traj, 50, 0.0, gen, return_indices=True)
    assert states.shape == (k, 50, s)
    for kk in range(k):
        torch.testing.assert_close(states[kk], traj[kk, trial[kk], time[kk]])
    valid = torch.zeros(b, t, dtype=torch.bool)
    valid[1, 2] = True
    only = sample_initial_states(traj, 10, 0.0, gen, valid=valid)
    torch.testing.assert_close(only, traj[:, 1:2, 2].expand(k, 10, s))
    noisy = sample_initial_states(traj, 4000, 0.5, torch.Generator().manual_seed(1), valid=valid)
    assert abs((noisy - traj[:, 1:2, 2]).std().item() - 0.5) < 0.02
    again = sample_initial_states(traj, 4000, 0.5, torch.Generator().manual_seed(1), valid=valid)
    torch.testing.assert_close(noisy, again)


def test_merge_is_greedy_not_chained():
    """Points 0.4·tol apart on a line: greedy keeps points > tol apart; equal h with different x stay."""
    tol = 1e-3
    h = torch.zeros(1, 11, 2, dtype=D)
    h[0, :, 0] = 0.4 * tol * torch.arange(11)
    q = torch.arange(11, dtype=D).view(1, 11)  # lowest q first
    keep, rep = merge_duplicates(h, torch.zeros(1, 11, dtype=torch.long), q, torch.ones(1, 11, dtype=torch.bool), tol)
    assert keep[0].nonzero().flatten().tolist() == [0, 3, 6, 9]
    assert rep[0].tolist() == [0, 0, 0, 3, 3, 3, 6, 6, 6, 9, 9]
    cond = torch.tensor([[0, 1] + [0] * 9])
    keep2, _ = merge_duplicates(h[:, [0, 0] + list(range(2, 11))], cond, q, torch.ones(1, 11, dtype=torch.bool), tol)
    assert keep2[0, :2].all()


def test_merge_of_a_long_q_ordered_chain_equals_plain_greedy():
    """Points 0.6·tol apart along a line with q rising along it settle one per vectorised round;
    the in-order finish must give exactly the plain greedy answer."""
    from rnnatlas.dynamics._dedup import merge_duplicates

    m, tol = 600, 1e-3
    h = torch.zeros(2, m, 3, dtype=torch.float64)
    h[:, :, 0] = torch.arange(m, dtype=torch.float64) * 0.6 * tol
    q = torch.arange(m, dtype=torch.float64).expand(2, m).clone()
    q[1] = q[1].flip(0)
    cond = torch.zeros(2, m, dtype=torch.long)
    valid = torch.ones(2, m, dtype=torch.bool)
    keep, rep = merge_duplicates(h, cond, q, valid, tol)
    for k in range(2):  # plain greedy, written out
        kept = []
        expect_rep = torch.full((m,), -1)
        for i in torch.argsort(q[k]).tolist():
            near = [j for j in kept if (h[k, i] - h[k, j]).norm() <= tol]
            expect_rep[i] = near[0] if near else i
            if not near:
                kept.append(i)
        assert keep[k].nonzero().flatten().tolist() == sorted(kept)
        assert rep[k].tolist() == expect_rep.tolist()
