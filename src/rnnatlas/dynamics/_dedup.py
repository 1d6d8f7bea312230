"""Vectorised duplicate merging for candidate fixed points, per network and per input x*.

The rule is the greedy one ("visit points by increasing q; keep a point unless an already kept
point lies within ``tol``"), computed without a Python loop over points: a point is kept as
soon as it has the lowest q among its still-undecided neighbours, and its undecided
neighbours are then marked as its duplicates. Each round settles at least the globally best
undecided point, and in practice a handful of rounds settle everything. Unlike merging whole
connected components, this never chains a row of points spaced < tol (e.g. along a line
attractor) into one: kept points are always more than ``tol`` apart.
"""

from __future__ import annotations

import torch

# Pairwise work is done for a block of networks at a time: at most this many (i, j) pairs.
_PAIR_BUDGET = 1 << 23
# Vectorised rounds before the remaining points are settled one by one (see _finish_in_order).
_MAX_ROUNDS = 16


def condition_ids(x: torch.Tensor) -> torch.Tensor:
    """Integer id per point of its exact input vector, per network: ``[K, M]`` from ``[K, M, I]``."""
    ids = torch.empty(x.shape[:2], dtype=torch.long, device=x.device)
    for k in range(x.shape[0]):  # a loop over networks, not over points
        ids[k] = torch.unique(x[k], dim=0, return_inverse=True)[1] if x.shape[-1] else 0
    return ids


def merge_duplicates(
    h: torch.Tensor, cond: torch.Tensor, q: torch.Tensor, valid: torch.Tensor, tol: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Greedy merge of points closer than ``tol`` (2-norm) within one network and one condition.

    h ``[K, M, S]``, cond ``[K, M]`` (condition ids), q ``[K, M]``, valid ``[K, M]`` (points
    to consider). Returns ``keep`` ``[K, M]`` (valid points kept) and ``rep`` ``[K, M]``:
    the index (within the network) of the kept point each valid point was merged into, itself
    for kept points, -1 for invalid points.
    """
    k_all, m, _ = h.shape
    keep = torch.zeros(k_all, m, dtype=torch.bool, device=h.device)
    rep = torch.full((k_all, m), -1, dtype=torch.long, device=h.device)
    if m == 0:
        return keep, rep
    block = max(1, _PAIR_BUDGET // (m * m))
    for a in range(0, k_all, block):
        b = min(k_all, a + block)
        keep[a:b], rep[a:b] = _merge_block(h[a:b], cond[a:b], q[a:b], valid[a:b], tol)
    return keep, rep


def _merge_block(h, cond, q, valid, tol):
    kb, m, _ = h.shape
    h64 = h.to(torch.float64)
    close = torch.cdist(h64, h64) <= tol
    close &= cond.unsqueeze(2) == cond.unsqueeze(1)
    close &= valid.unsqueeze(2) & valid.unsqueeze(1)
    # rank 0 = lowest q (ties broken by index); invalid points rank last and never matter.
    q_key = torch.where(valid, q.to(torch.float64), torch.full_like(q, float("inf"), dtype=torch.float64))
    order = torch.argsort(q_key, dim=1, stable=True)
    rank = torch.empty_like(order)
    rank.scatter_(1, order, torch.arange(m, device=h.device).expand(kb, m))
    big = torch.iinfo(torch.long).max
    keep = torch.zeros(kb, m, dtype=torch.bool, device=h.device)
    rep = torch.full((kb, m), -1, dtype=torch.long, device=h.device)
    undecided = valid.clone()
    for _ in range(_MAX_ROUNDS):
        if not bool(undecided.any()):
            break
        link = close & undecided.unsqueeze(1) & undecided.unsqueeze(2)
        nbr_rank = torch.where(link, rank.unsqueeze(1), big).amin(dim=2)
        new_keep = undecided & (nbr_rank == rank)
        keep |= new_keep
        # Undecided neighbours of a newly kept point join the lowest-ranked such point.
        to_kept = close & new_keep.unsqueeze(1) & undecided.unsqueeze(2)
        best = torch.where(to_kept, rank.unsqueeze(1), big).amin(dim=2)
        joined = undecided & (best < big)
        rep_idx = torch.gather(order, 1, torch.where(joined, best, 0))
        rep = torch.where(joined, rep_idx, rep)
        undecided &= ~joined
    if bool(undecided.any()):  # long chains of points ordered by q settle one per round: finish in order
        _finish_in_order(close, order, undecided, keep, rep)
    return keep, rep


def _finish_in_order(close, order, undecided, keep, rep) -> None:
    """The greedy rule applied point by point (by increasing q) to the still undecided points,
    in place. O(M) cheap steps per network instead of O(M) rounds of O(M²) work."""
    close_np, order_np = close.cpu().numpy(), order.cpu().numpy()
    und = undecided.cpu().numpy()
    keep_np, rep_np = keep.cpu().numpy(), rep.cpu().numpy()
    for k in range(und.shape[0]):
        for i in order_np[k]:
            if not und[k, i]:
                continue
            keep_np[k, i], rep_np[k, i], und[k, i] = True, i, False
            joined = close_np[k, i] & und[k]
            rep_np[k, joined], und[k, joined] = i, False
    keep.copy_(torch.from_numpy(keep_np))
    rep.copy_(torch.from_numpy(rep_np))
