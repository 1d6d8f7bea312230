"""Fixed points and slow points of whole populations of RNNs, searched in one batched run.

For each network k and each start h₀ (paired with its own static input x*), minimise

    q(h) = ½ ‖F(h, x*) − h‖²   (summed over the S state dimensions, not averaged)

as FixedPointFinder (Golub & Sussillo 2018) does. The computation-through-dynamics code base
uses the mean over units instead, i.e. q_ctd = (2/S)·q: divide our tolerances by S/2 to compare.

Pipeline: per-point Adam with the reference's adaptive learning rate, each point stopping on
its own and leaving the compute batch → distance outliers dropped → duplicates merged →
float64 Newton polish → duplicates merged again → slow points labelled (optionally dropped).
All of it is batched over networks and starts; networks never interact.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Callable

import torch

from ._dedup import condition_ids, merge_duplicates
from .linearize import step_jacobians

StepFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
# (h, x) -> ∂F/∂h [K, P, S, S] (e.g. RNNPopulation.jacobians(...)[0]); autograd when absent.
JacobianFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

# Newton works on blocks of points holding at most this many Jacobian entries at once.
_JACOBIAN_BUDGET = 1 << 25


# --------------------------------------------------------------------------- result
@dataclass
class NetworkFixedPoints:
    """One network's points (a view of :class:`FixedPointResult` for network k)."""

    h: torch.Tensor  # [n, S] float64
    x: torch.Tensor  # [n, I]
    q: torch.Tensor  # [n] float64
    is_slow: torch.Tensor  # [n] bool
    n_iters: torch.Tensor  # [n] Adam iterations of the start that produced the point
    n_newton: torch.Tensor  # [n] accepted Newton steps
    start: torch.Tensor  # [n] index of that start in initial_states[k]
    n_duplicates: int
    n_outliers: int
    n_slow_dropped: int
    best_q: float
    found: bool


@dataclass
class FixedPointResult:
    """Points of all K networks as flat arrays plus a ``network`` index (ragged across k).

    Points are ordered by network, then by increasing q. Per-start arrays ``[K, M]`` say where
    every start went; per-network arrays ``[K]`` carry the counts and the best q reached.
    """

    h: torch.Tensor  # [n, S] float64, after polish
    x: torch.Tensor  # [n, I] float64, the static input x* of each point
    q: torch.Tensor  # [n] float64
    network: torch.Tensor  # [n] int64
    is_slow: torch.Tensor  # [n] bool: q > q_threshold (kept unless drop_slow)
    n_iters: torch.Tensor  # [n] int64 Adam iterations of the start that produced the point
    n_newton: torch.Tensor  # [n] int64 accepted Newton steps
    start: torch.Tensor  # [n] int64 index of that start within its network
    start_q: torch.Tensor  # [K, M] q where each start's Adam search stopped (search dtype)
    start_iters: torch.Tensor  # [K, M] Adam iterations of each start
    start_point: torch.Tensor  # [K, M] flat index of the point each start ended at, -1 if dropped
    n_duplicates: torch.Tensor  # [K] starts merged into another point
    n_outliers: torch.Tensor  # [K] starts dropped as distance outliers (or non-finite)
    n_slow_dropped: torch.Tensor  # [K] slow points dropped (drop_slow=True only)
    best_q: torch.Tensor  # [K] lowest q reached by any non-outlier start after polish (inf if none)
    found: torch.Tensor  # [K] bool: some point reached q ≤ tol_q
    options: dict = field(default_factory=dict)

    @property
    def n_networks(self) -> int:
        return int(self.best_q.shape[0])

    def counts(self) -> torch.Tensor:
        """Number of points kept per network ``[K]``."""
        return torch.bincount(self.network, minlength=self.n_networks)

    def for_network(self, k: int) -> NetworkFixedPoints:
        sel = self.network == k
        return NetworkFixedPoints(
            self.h[sel], self.x[sel], self.q[sel], self.is_slow[sel], self.n_iters[sel], self.n_newton[sel],
            self.start[sel], int(self.n_duplicates[k]), int(self.n_outliers[k]), int(self.n_slow_dropped[k]),
            float(self.best_q[k]), bool(self.found[k]),
        )

    def padded(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Points as ``[K, P, S]`` states, ``[K, P, I]`` inputs and a ``[K, P]`` mask (P = most
        points of any network; padding is zeros), the layout a population's ``step`` and
        :func:`rnnatlas.dynamics.linearize.linearize_points` take."""
        k, counts = self.n_networks, self.counts()
        p = int(counts.max()) if k else 0
        col = torch.arange(len(self.network), device=self.network.device)
        col = col - torch.cumsum(counts, 0).sub(counts)[self.network]  # rank within its network
        h = self.h.new_zeros(k, p, self.h.shape[-1])
        x = self.x.new_zeros(k, p, self.x.shape[-1])
        mask = torch.zeros(k, p, dtype=torch.bool, device=self.h.device)
        h[self.network, col], x[self.network, col], mask[self.network, col] = self.h, self.x, True
        return h, x, mask

    def summary(self, k: int) -> str:
        """One line for logs, e.g. 'nothing found below tol, best q = 3.1e-05'."""
        tol = self.options.get("tol_q", float("nan"))
        sel = self.network == k
        n_fixed = int((sel & ~self.is_slow).sum())
        n_slow = int((sel & self.is_slow).sum())
        tail = (f"{int(self.n_duplicates[k])} duplicates merged, {int(self.n_outliers[k])} outliers dropped"
                + (f", {int(self.n_slow_dropped[k])} slow dropped" if int(self.n_slow_dropped[k]) else ""))
        if not bool(self.found[k]):
            return f"nothing found below tol ({tol:.0e}), best q = {float(self.best_q[k]):.3g}; {tail}"
        return f"{n_fixed} fixed points, {n_slow} slow points; {tail}"


# --------------------------------------------------------------------------- sampling
def sample_initial_states(
    trajectories: torch.Tensor, n: int = 1024, noise_scale: float = 0.5,
    generator: torch.Generator | None = None, valid: torch.Tensor | None = None,
    return_indices: bool = False,
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Starts for the search: n (trial, time) states per network from its own trajectories.

    trajectories ``[K, B, T, S]`` → ``[K, n, S]``; draws are uniform with replacement (as the
    reference) over the entries allowed by ``valid`` (``[B, T]`` or ``[K, B, T]``, default
    all), and i.i.d. N(0, noise_scale²) noise is added to every coordinate (defaults 1,024
    states, noise 0.5 as in FixedPointFinder's examples). With ``return_indices`` also returns
    the sampled trial and time indices ``[K, n]`` (to pair starts with the inputs of that time).
    """
    k, b, t, s = trajectories.shape
    if valid is None:
        weights = torch.ones(k, b * t)
    else:
        weights = torch.as_tensor(valid).float().cpu().expand(k, b, t).reshape(k, b * t)
    if bool((weights.sum(1) == 0).any()):
        raise ValueError("a network has no valid (trial, time) entry to sample from")
    flat = torch.multinomial(weights, n, replacement=True, generator=generator)
    noise = torch.randn((k, n, s), generator=generator, dtype=torch.float64)
    flat_dev = flat.to(trajectories.device)
    states = torch.gather(trajectories.reshape(k, b * t, s), 1, flat_dev.unsqueeze(-1).expand(k, n, s))
    states = states + (noise_scale * noise).to(states.dtype).to(states.device)
    if return_indices:
        return states, flat_dev // t, flat_dev % t
    return states


# --------------------------------------------------------------------------- search
def find_fixed_points(
    step: StepFn,
    x_star: torch.Tensor,
    initial_states: torch.Tensor,
    *,
    lr: float = 0.1,
    adam_betas: tuple[float, float] = (0.9, 0.999),
    adam_eps: float = 1e-2,
    lr_decrease: float = 0.95,
    lr_increase: float = 1 / 0.95,
    lr_patience: int = 5,
    tol_q: float = 1e-12,
    tol_dq: float = 1e-20,
    max_iters: int = 5000,
    newton_steps: int = 6,
    polish_step: StepFn | None = None,
    polish_jacobian: JacobianFn | None = None,
    unique_tol: float = 1e-3,
    exclude_distance_outliers: bool = True,
    outlier_distance_scale: float = 10.0,
    q_threshold: float | None = None,
    drop_slow: bool = False,
    compact_fraction: float = 0.9,
    stall_iters: int = 0,
    stall_ratio: float = 0.5,
) -> FixedPointResult:
    """Find fixed points (and slow points) of every network of a population in one call.

    Minimises q(h) = ½‖F(h, x*) − h‖², summed over the S state dimensions (not averaged over
    units: computation-through-dynamics' mean-squared q equals (2/S)·ours, so its tolerances
    are S/2 times smaller than the same criterion here).

    step: ``F(h, x)`` with h ``[K, M, S]``, x ``[K, M, I]``, batched and differentiable, rows
    independent. x_star: static inputs, ``[K, M, I]`` or broadcastable (``[K, 1, I]``, ``[I]``);
    start m of network k searches under x_star[k, m]. initial_states: ``[K, M, S]``; its dtype
    is the Adam search dtype (float32 is fine: the Newton polish runs in float64).

    Adam (defaults from FixedPointFinder unless stated): ``lr`` 0.1, ``adam_eps`` 0.01, betas
    (0.9, 0.999), and a per-point adaptive rate: ×``lr_decrease`` (0.95) when a point's q is
    worse than all of its last ``lr_patience`` (5) values, ×``lr_increase`` (1/0.95) after 5
    monotone decreases, at most one change per 5 steps. Why lr 0.1, not the reference's 1.0:
    the reference applies lr 1.0 to the *mean* q over its 1,024 starts, so with eps 0.01 its
    early steps are ~0.1 per coordinate; on each point's own q, lr 1.0 takes steps ~1 that
    throw starts out of narrow basins (measured: it missed 2 of 3 fixed points of a network
    near a pitchfork, and 1 of 5 of a random tanh network, that lr 0.1 finds, at equal
    iteration counts; eps 1e-8 was no faster and stalled more on flat directions).
    A point stops on its own when q < ``tol_q`` (1e-12), |Δq| <
    ``tol_dq`` (1e-20) or after ``max_iters`` (5,000) iterations, or, with ``stall_iters`` > 0,
    when its q fell by less than a factor ``stall_ratio`` over the last ``stall_iters`` iterations
    (a point creeping along a slow manifold: it ends as a slow point, or the Newton polish takes
    it the rest of the way); stopped points are frozen
    and, once the largest per-network count of running points drops below
    ``compact_fraction`` (0.9) of the batch, removed from it.

    Then: points farther from the centroid of network k's starts than
    ``outlier_distance_scale`` (10) × the starts' mean distance to it (or non-finite) are
    dropped (``exclude_distance_outliers``); points of one network with the same x* within
    ``unique_tol`` (1e-3, 2-norm) merge, keeping the lowest q (greedy by q, vectorised);
    survivors get up to ``newton_steps`` (6) damped Newton steps (J − I)δ = −(F(h) − h) in
    float64, each kept only if it lowers q (and stays inside the outlier radius); merging is
    repeated. Points with q > ``q_threshold`` (default: tol_q) are labelled slow and kept
    unless ``drop_slow``. ``polish_step`` is a float64-capable version of step (e.g. a
    population converted with ``.double()``); without one, step itself is used in float64
    if it accepts float64 inputs, else (with a warning) in its own dtype. ``polish_jacobian``
    gives ∂F/∂h in closed form for the Newton steps (autograd row by row otherwise). In float32, q cannot
    fall much below ½·S·(rounding of a state entry)², which for large or large-valued states
    (e.g. LSTM cell states) may exceed tol_q: such points then stop on |Δq| or max_iters, so
    search those in float64 (float64 starts and step) or raise tol_q.
    """
    h0 = initial_states.detach()
    if h0.dim() != 3:
        raise ValueError(f"initial_states must be [K, M, S], got shape {tuple(h0.shape)}")
    if not h0.is_floating_point():
        h0 = h0.to(torch.get_default_dtype())
    k, m, s = h0.shape
    x = _broadcast_inputs(x_star, k, m, h0.dtype, h0.device)
    q_thr = tol_q if q_threshold is None else q_threshold

    h_a, q_a, it_a = _adam_search(
        step, x, h0, lr=lr, betas=adam_betas, eps=adam_eps, lr_decrease=lr_decrease, lr_increase=lr_increase,
        patience=lr_patience, tol_q=tol_q, tol_dq=tol_dq, max_iters=max_iters, compact_fraction=compact_fraction,
        stall_iters=stall_iters, stall_ratio=stall_ratio,
    )

    # Distance outliers, relative to the centroid of each network's starts.
    h0_64 = h0.to(torch.float64)
    centre = h0_64.mean(1, keepdim=True)
    radius = outlier_distance_scale * (h0_64 - centre).norm(dim=-1).mean(1)
    if not exclude_distance_outliers:
        radius = torch.full_like(radius, math.inf)
    radius = torch.where(radius > 0, radius, math.inf)  # all starts identical: no scale to judge by
    dist = (h_a.to(torch.float64) - centre).norm(dim=-1)
    outlier = ~torch.isfinite(q_a) | ~torch.isfinite(dist) | (dist > radius.unsqueeze(1))
    valid = ~outlier

    cond = condition_ids(x)
    keep1, rep1 = merge_duplicates(h_a, cond, q_a, valid, unique_tol)

    # Survivors of the first merge, packed per network into [K, P] (padding marked invalid).
    p = max(1, int(keep1.sum(1).max()))
    sel = torch.argsort((~keep1).to(torch.int8), dim=1, stable=True)[:, :p]
    sel_valid = torch.gather(keep1, 1, sel)
    step_p, dtype_p = _polish_setup(step, polish_step, h_a, x, newton_steps)
    hp = _take(h_a, sel).to(dtype_p)
    xp = _take(x, sel).to(dtype_p)
    hp, qp, n_newton = _newton_polish(step_p, xp, hp, sel_valid, newton_steps, centre.to(dtype_p),
                                      radius.to(dtype_p), polish_jacobian)
    cond_p = torch.gather(cond, 1, sel)
    keep2, rep2 = merge_duplicates(hp, cond_p, qp, sel_valid, unique_tol)

    is_slow = qp > q_thr
    best_q = torch.where(sel_valid, qp.to(torch.float64), math.inf).amin(1)
    found = (sel_valid & (qp <= tol_q)).any(1)
    final = keep2 & ~is_slow if drop_slow else keep2
    n_slow_dropped = (keep2 & is_slow).sum(1) if drop_slow else torch.zeros(k, dtype=torch.long, device=h0.device)

    # Flatten: by network, then by increasing q.
    kk, jj = final.nonzero(as_tuple=True)
    order = torch.argsort(qp[kk, jj].to(torch.float64), stable=True)
    order = order[torch.argsort(kk[order], stable=True)]
    kk, jj = kk[order], jj[order]
    flat_of = torch.full((k, p), -1, dtype=torch.long, device=h0.device)
    flat_of[kk, jj] = torch.arange(kk.numel(), device=h0.device)

    # Where each start ended: start → first-merge survivor (column of sel) → second merge → flat.
    col_of = torch.full((k, m), -1, dtype=torch.long, device=h0.device)
    col_of.scatter_(1, sel, torch.arange(p, device=h0.device).expand(k, p).clone())
    col_of = torch.where(keep1, col_of, -1)
    col1 = torch.gather(col_of, 1, rep1.clamp(min=0))
    col2 = torch.gather(rep2, 1, col1.clamp(min=0))
    start_point = torch.gather(flat_of, 1, col2.clamp(min=0))
    start_point = torch.where(valid & (col1 >= 0) & (col2 >= 0), start_point, -1)

    starts = sel[kk, jj]
    return FixedPointResult(
        h=hp[kk, jj].to(torch.float64),
        x=xp[kk, jj].to(torch.float64),
        q=qp[kk, jj].to(torch.float64),
        network=kk,
        is_slow=is_slow[kk, jj],
        n_iters=it_a[kk, starts],
        n_newton=n_newton[kk, jj],
        start=starts,
        start_q=q_a,
        start_iters=it_a,
        start_point=start_point,
        n_duplicates=valid.sum(1) - keep2.sum(1),
        n_outliers=outlier.sum(1),
        n_slow_dropped=n_slow_dropped,
        best_q=best_q,
        found=found,
        options=dict(
            lr=lr, adam_betas=adam_betas, adam_eps=adam_eps, lr_decrease=lr_decrease, lr_increase=lr_increase,
            lr_patience=lr_patience, tol_q=tol_q, tol_dq=tol_dq, max_iters=max_iters, newton_steps=newton_steps,
            polish_dtype=str(dtype_p), unique_tol=unique_tol, exclude_distance_outliers=exclude_distance_outliers,
            outlier_distance_scale=outlier_distance_scale, q_threshold=q_thr, drop_slow=drop_slow,
            stall_iters=stall_iters, stall_ratio=stall_ratio,
        ),
    )


def _broadcast_inputs(x_star, k: int, m: int, dtype, device) -> torch.Tensor:
    x = torch.as_tensor(x_star, device=device)
    if x.dim() == 1:
        x = x.view(1, 1, -1)
    if x.dim() != 3:
        raise ValueError(f"x_star must be [K, M, I] or broadcastable to it, got shape {tuple(x.shape)}")
    return x.to(dtype).expand(k, m, x.shape[-1]).contiguous()


def _take(t: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """t[k, idx[k, j], :] for a ``[K, M, D]`` tensor and ``[K, P]`` indices."""
    return torch.gather(t, 1, idx.unsqueeze(-1).expand(*idx.shape, t.shape[-1]))


def _residual_q(step: StepFn, h: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return 0.5 * (step(h, x) - h).pow(2).sum(-1)


# --------------------------------------------------------------------------- Adam
def _adam_search(step, x, h0, *, lr, betas, eps, lr_decrease, lr_increase, patience, tol_q, tol_dq,
                 max_iters, compact_fraction, stall_iters=0, stall_ratio=0.5):
    """Per-point Adam with per-point adaptive rates and stopping; returns final h, q, iterations.

    The loop is dispatch-bound once few points are left, so its bookkeeping is kept to a few
    in-place ops: a ring buffer of each point's last ``patience`` q values (rate down when q is
    worse than all of them), a count of consecutive decreases (rate up after ``patience``), and
    stopped points get rate 0 instead of a masked update.
    """
    if eps <= 0:
        raise ValueError("adam_eps must be > 0")
    k, m, s = h0.shape
    dev, dt = h0.device, h0.dtype
    out_h = h0.clone()
    out_q = torch.full((k, m), math.inf, dtype=dt, device=dev)
    out_it = torch.zeros((k, m), dtype=torch.long, device=dev)
    b1, b2 = betas
    w = max(1, patience)
    # Working set (compacted as points stop); `pos` maps working rows to original starts.
    pos = torch.arange(m, device=dev).expand(k, m).clone()
    h, xw = h0.clone(), x
    m1, m2 = torch.zeros_like(h), torch.zeros_like(h)
    rate = torch.full((k, m), lr, dtype=dt, device=dev)
    ring = torch.full((k, m, w), math.nan, dtype=dt, device=dev)
    n_dec = torch.zeros((k, m), dtype=torch.long, device=dev)
    since = torch.zeros((k, m), dtype=torch.long, device=dev)
    q_prev = torch.full((k, m), math.inf, dtype=dt, device=dev)
    q_mark = torch.full((k, m), math.inf, dtype=dt, device=dev)  # q at the start of the stall window
    alive = torch.ones((k, m), dtype=torch.bool, device=dev)
    it = 0
    while True:
        with torch.enable_grad():
            hh = h.detach().requires_grad_(True)
            q = 0.5 * (step(hh, xw) - hh).pow(2).sum(-1)
            (g,) = torch.autograd.grad(q.sum(), hh)
        q = q.detach()
        if it >= max_iters:
            done = alive
        else:  # NaN/inf q fail every comparison below, so they stop too
            going = (q >= tol_q) & ((q - q_prev).abs() >= tol_dq) & (q < math.inf)
            if stall_iters > 0 and it % stall_iters == 0:
                if it > 0:
                    going &= q <= stall_ratio * q_mark
                q_mark = q.clone()
            done = alive & ~going
        if bool(done.any()):
            dk, dj = done.nonzero(as_tuple=True)
            out_h[dk, pos[dk, dj]] = h[dk, dj]
            out_q[dk, pos[dk, dj]] = q[dk, dj]
            out_it[dk, pos[dk, dj]] = it
            alive &= ~done
            rate.masked_fill_(done, 0.0)  # frozen: no further updates
            n_alive = int(alive.sum(1).max())
            if n_alive == 0:
                break
            if n_alive <= compact_fraction * alive.shape[1]:
                keep = torch.argsort((~alive).to(torch.int8), dim=1, stable=True)[:, :n_alive]
                h, xw, m1, m2, ring, g = (_take(t, keep) for t in (h, xw, m1, m2, ring, g))
                rate, n_dec, since, q_prev, q_mark, alive, pos, q = (
                    torch.gather(t, 1, keep) for t in (rate, n_dec, since, q_prev, q_mark, alive, pos, q))
        # Adaptive rate per point: FixedPointFinder's schedule applied to each point's own q.
        ready = since >= patience
        worse = ready & (q > ring.amax(-1))  # NaN (unfilled) entries make this False
        n_dec = torch.where(q < q_prev, n_dec + 1, 0)
        better = ready & ~worse & (n_dec >= patience)
        rate *= torch.where(worse, lr_decrease, torch.where(better, lr_increase, 1.0))
        since.add_(1).masked_fill_(worse | better, 0)
        ring[..., it % w] = q
        # Adam step (elementwise, hence per point), bias-corrected.
        t = it + 1
        m1.mul_(b1).add_(g, alpha=1 - b1)
        m2.mul_(b2).addcmul_(g, g, value=1 - b2)
        denom = (m2 / (1 - b2**t)).sqrt_().add_(eps)
        h = h.addcmul(rate.unsqueeze(-1) * (-1 / (1 - b1**t)), m1 / denom)
        q_prev = q
        it += 1
    return out_h, out_q, out_it


# --------------------------------------------------------------------------- Newton
def _polish_setup(step, polish_step, h, x, newton_steps):
    """Pick the step and dtype for the Newton polish: float64 whenever the step accepts it."""
    cand = polish_step if polish_step is not None else step
    try:
        with torch.no_grad():
            out = cand(h[:, :1].to(torch.float64), x[:, :1].to(torch.float64))
        if out.dtype == torch.float64:
            return cand, torch.float64
    except (RuntimeError, TypeError):
        pass
    if newton_steps > 0 and h.dtype != torch.float64:
        warnings.warn("step rejects float64 inputs: Newton polish runs in "
                      f"{h.dtype}; pass polish_step (e.g. the population in float64)", stacklevel=3)
    return step, h.dtype


def _newton_polish(step, x, h, valid, n_steps, centre, radius, jacobian_fn=None):
    """Damped Newton on F(h) − h = 0, per point, accepted only when q drops; blocks bound memory."""
    k, p, s = h.shape
    q = _residual_q(step, h, x)
    n_acc = torch.zeros((k, p), dtype=torch.long, device=h.device)
    if n_steps <= 0 or p == 0:
        return h, q, n_acc
    block = max(1, _JACOBIAN_BUDGET // max(1, k * s * s))
    hs, qs, ns = [], [], []
    for a in range(0, p, block):
        b = min(p, a + block)
        hb, qb, nb = _newton_block(step, x[:, a:b], h[:, a:b], q[:, a:b], valid[:, a:b], n_steps, centre, radius,
                                   jacobian_fn)
        hs.append(hb), qs.append(qb), ns.append(nb)
    return torch.cat(hs, 1), torch.cat(qs, 1), torch.cat(ns, 1)


_ALPHAS = (1.0, 0.5, 0.25, 0.125, 0.0625)


def _newton_block(step, x, h, q, valid, n_steps, centre, radius, jacobian_fn=None):
    k, p, s = h.shape
    eye = torch.eye(s, dtype=h.dtype, device=h.device)
    alphas = torch.tensor(_ALPHAS, dtype=h.dtype, device=h.device).view(1, -1, 1, 1)
    n_acc = torch.zeros((k, p), dtype=torch.long, device=h.device)
    active = valid & torch.isfinite(q) & (q > 0)
    for _ in range(n_steps):
        if not bool(active.any()):
            break
        if jacobian_fn is None:
            f, j, _ = step_jacobians(step, h, x)
        else:
            with torch.no_grad():
                f, j = step(h, x), jacobian_fn(h, x)
        a_mat = j - eye
        r = f - h
        delta, info = torch.linalg.solve_ex(a_mat, -r)
        bad = (info != 0) | ~torch.isfinite(delta).all(-1)
        if bool(bad.any()):  # singular J − I: Levenberg–Marquardt step instead
            at = a_mat.transpose(-1, -2)
            ata = at @ a_mat
            mu = 1e-8 * ata.diagonal(dim1=-2, dim2=-1).mean(-1).clamp(min=1e-30)
            lm = torch.linalg.solve_ex(ata + mu[..., None, None] * eye, -(at @ r.unsqueeze(-1)))[0].squeeze(-1)
            delta = torch.where(bad.unsqueeze(-1), lm, delta)
        delta = torch.nan_to_num(delta, nan=0.0, posinf=0.0, neginf=0.0)
        cand = (h.unsqueeze(1) + alphas * delta.unsqueeze(1))  # [K, A, P, S]
        n_a = cand.shape[1]
        qc = _residual_q(step, cand.reshape(k, n_a * p, s), x.repeat(1, n_a, 1)).reshape(k, n_a, p)
        far = (cand - centre.unsqueeze(1)).norm(dim=-1) > radius.view(k, 1, 1)
        qc = torch.where(far | ~torch.isfinite(qc), math.inf, qc)
        q_best, a_best = qc.min(1)
        accept = active & (q_best < q)
        h_best = torch.gather(cand, 1, a_best.view(k, 1, p, 1).expand(k, 1, p, s)).squeeze(1)
        h = torch.where(accept.unsqueeze(-1), h_best, h)
        q = torch.where(accept, q_best, q)
        n_acc += accept.long()
        active = accept & (q > 0)
    return h, q, n_acc
