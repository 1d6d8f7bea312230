"""A textbook, one-network-at-a-time fixed-point finder: the reference of bench_fixed_points.py.

The method of Sussillo & Barak (2013) as FixedPointFinder (Golub & Sussillo 2018) runs it,
written from its description, not from its code:

- q(h) = ½‖F(h, x*) − h‖² for every start of ONE network, all starts in one batch;
- Adam (lr 1.0, eps 0.01, betas 0.9/0.999) on the MEAN of q over the starts, with the adaptive
  learning rate (×0.95 when the mean q is worse than all of its last 5 values, ×1/0.95 after 5
  consecutive decreases, at most one change per 5 iterations);
- ONE joint stopping rule for the whole batch: mean q < tol_q, |Δ mean q| < tol_dq, or max_iters;
- distance outliers dropped (farther from the starts' centroid than outlier_distance_scale × the
  starts' mean distance to it), duplicates (same x*, 2-norm < unique_tol) merged, lowest q kept;
- optionally a float64 Newton polish of the unique points (off by default: the textbook has none);
- Jacobians by autograd and an eigendecomposition at every unique point.

Everything in torch, float32 for the search (as the project's search), float64 for q
re-evaluation, Jacobians and eigenvalues, on the device of the starts ``h0`` (CPU or CUDA; the
network's step must live there too); the duplicate merge's greedy pass runs on the host. Not included: FixedPointFinder's adaptive gradient-norm
clipping (TF version) and its minimum learning rate; neither changes the joint stopping rule,
which is what sets the reference's iteration count.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

StepFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass
class TextbookResult:
    h: torch.Tensor  # [n, S] float64 unique points
    x: torch.Tensor  # [n, I] float64
    q_search: torch.Tensor  # [n] q where Adam left the point (search dtype)
    q: torch.Tensor  # [n] q re-evaluated in float64 (after the polish, if any)
    eigenvalues: torch.Tensor  # [n, S] complex128, by decreasing |λ|
    n_iters: int  # Adam iterations of the joint run
    stop_reason: str  # "tol_q" | "tol_dq" | "max_iters"
    n_outliers: int
    n_duplicates: int

    def counts(self, tol_q: float, margin: float) -> dict:
        """Unique points, fixed points (float64 q ≤ tol_q) and stable fixed points (all |λ| < 1 − margin)."""
        fixed = self.q <= tol_q
        stable = fixed & (self.eigenvalues.abs() < 1.0 - margin).all(-1)
        return {"unique": len(self.q), "fixed": int(fixed.sum()), "stable": int(stable.sum())}


def _q(step: StepFn, h: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return 0.5 * (step(h, x) - h).pow(2).sum(-1)


def adam_mean_q(step: StepFn, x: torch.Tensor, h0: torch.Tensor, *, tol_q: float, tol_dq: float, max_iters: int,
                lr: float = 1.0, eps: float = 1e-2, betas=(0.9, 0.999), decrease: float = 0.95,
                increase: float = 1 / 0.95, patience: int = 5):
    """Adam on mean q over all starts of one network (h0 ``[1, M, S]``); one joint stopping rule."""
    h = h0.detach().clone().requires_grad_(True)
    try:  # the fused kernel (torch ≥ 2.4 on CPU) is the fastest stock Adam: the strongest reference
        opt = torch.optim.Adam([h], lr=lr, betas=betas, eps=eps, fused=True)
    except (RuntimeError, TypeError, ValueError):
        opt = torch.optim.Adam([h], lr=lr, betas=betas, eps=eps)
    rate, history, n_dec, since = lr, [], 0, 0
    prev = math.inf
    it, reason = 0, "max_iters"
    while True:
        q = _q(step, h, x)
        mean_q = q.mean()
        (h.grad,) = torch.autograd.grad(mean_q, h)  # w.r.t. the states only, not the network's weights
        value = float(mean_q.detach())  # the stopping rule reads the scalar every iteration
        if value < tol_q:
            reason = "tol_q"
            break
        if abs(value - prev) < tol_dq:
            reason = "tol_dq"
            break
        if it >= max_iters or not math.isfinite(value):
            reason = "max_iters" if math.isfinite(value) else "non-finite"
            break
        # adaptive learning rate on the mean q
        since += 1
        n_dec = n_dec + 1 if value < prev else 0
        if since >= patience and len(history) == patience and value > max(history):
            rate *= decrease
            since = 0
        elif since >= patience and n_dec >= patience:
            rate *= increase
            since = 0
        history.append(value)
        if len(history) > patience:
            history.pop(0)
        for group in opt.param_groups:
            group["lr"] = rate
        opt.step()
        prev = value
        it += 1
    return h.detach(), q.detach(), it, reason


def _newton64(step64: StepFn, h: torch.Tensor, x: torch.Tensor, n_steps: int = 6) -> torch.Tensor:
    """Plain Newton on F(h) − h = 0 in float64, a step kept only where it lowers q."""
    q = _q(step64, h, x).detach()
    for _ in range(n_steps):
        j = jacobians(step64, h, x)
        with torch.no_grad():
            r = step64(h, x) - h
            eye = torch.eye(h.shape[-1], dtype=h.dtype, device=h.device)
            delta = torch.linalg.lstsq(j - eye, -r.unsqueeze(-1)).solution.squeeze(-1)
            cand = h + torch.nan_to_num(delta)
            qc = _q(step64, cand, x)
            better = qc < q
            h = torch.where(better.unsqueeze(-1), cand, h)
            q = torch.where(better, qc, q)
    return h


def jacobians(step: StepFn, h: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """∂F/∂h ``[1, P, S, S]`` at points ``[1, P, S]``: one batched reverse pass per output row."""
    s = h.shape[-1]
    hh = h.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        out = step(hh, x)
        eye = torch.eye(s, dtype=out.dtype, device=out.device).view(s, 1, 1, s).expand(s, *out.shape)
        (rows,) = torch.autograd.grad(out, hh, grad_outputs=eye, is_grads_batched=True)
    return rows.permute(1, 2, 0, 3)  # [1, P, S(out), S(in)]


def _unique(h: torch.Tensor, x: torch.Tensor, q: torch.Tensor, tol: float) -> torch.Tensor:
    """Greedy by increasing q: keep a point unless a kept point of the same x* is within tol.

    Returns the kept rows' indices as a long tensor on the device of ``h``."""
    order_t = torch.argsort(q)
    order = order_t.cpu().numpy()
    xn = x.cpu().numpy()
    hs = h[order_t].double()
    # exact, not via ‖a‖²+‖b‖²−2ab
    dist = torch.cdist(hs, hs, compute_mode="donot_use_mm_for_euclid_dist").cpu().numpy()
    same_x = (np.abs(xn[order][:, None, :] - xn[order][None, :, :]).max(-1) == 0)
    near = (dist < tol) & same_x
    removed = np.zeros(len(order), dtype=bool)
    keep = []
    for i in range(len(order)):
        if removed[i]:
            continue
        keep.append(order[i])
        removed |= near[i]
    return torch.as_tensor(np.asarray(keep, dtype=np.int64), device=h.device)


def find_one_network(step: StepFn, step64: StepFn, x: torch.Tensor, h0: torch.Tensor, *, tol_q: float = 1e-12,
                     tol_dq: float = 1e-20, max_iters: int = 5000, unique_tol: float = 1e-3,
                     outlier_distance_scale: float = 10.0, polish: bool = False) -> TextbookResult:
    """The textbook pipeline for one network: starts h0 ``[1, M, S]`` with inputs x ``[1, M, I]``.

    ``step``/``step64``: F(h, x) of this network in float32 / float64 (K = 1 populations).
    """
    h, q, n_iters, reason = adam_mean_q(step, x, h0, tol_q=tol_q, tol_dq=tol_dq, max_iters=max_iters)
    h, q, x1, h0_1 = h[0], q[0], x[0], h0[0]
    h0_64 = h0_1.double()
    centre = h0_64.mean(0)
    radius = outlier_distance_scale * (h0_64 - centre).norm(dim=-1).mean()
    dist = (h.double() - centre).norm(dim=-1)
    ok = torch.isfinite(q) & torch.isfinite(dist) & (dist <= radius)
    idx_ok = ok.nonzero().squeeze(-1)
    keep = idx_ok[_unique(h[idx_ok], x1[idx_ok], q[idx_ok], unique_tol)]
    hu, xu, qs = h[keep].double(), x1[keep].double(), q[keep]
    n_dup = int(ok.sum()) - len(keep)
    if polish and len(keep):
        hu = _newton64(step64, hu[None], xu[None])[0]
        with torch.no_grad():
            q_pol = _q(step64, hu[None], xu[None])[0]
        again = _unique(hu, xu, q_pol, unique_tol)  # polished duplicates now coincide: merge again
        n_dup += len(keep) - len(again)
        hu, xu, qs = hu[again], xu[again], qs[again]
    if len(keep):
        with torch.no_grad():
            q64 = _q(step64, hu[None], xu[None])[0]
        j = jacobians(step64, hu[None], xu[None])[0]
        lam, _right = torch.linalg.eig(j)  # eigenvalues and right eigenvectors, as the textbook keeps them
        lam = torch.gather(lam, -1, torch.argsort(lam.abs(), -1, descending=True))
    else:
        q64 = torch.zeros(0, dtype=torch.float64, device=h.device)
        lam = torch.zeros((0, h.shape[-1]), dtype=torch.complex128, device=h.device)
    return TextbookResult(h=hu, x=xu, q_search=qs, q=q64, eigenvalues=lam, n_iters=n_iters, stop_reason=reason,
                          n_outliers=int((~ok).sum()), n_duplicates=n_dup)
