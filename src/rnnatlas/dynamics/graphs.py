"""Fixed-point graphs (Maheswaranathan et al. 2019, Figs. 1e, 2e, 3d), batched over networks.

Nodes are fixed points in a canonical order so that graphs of different networks can be
compared entry by entry (the paper's footnote 5: order by the readout instead of solving
graph isomorphism). Two kinds of edges:

- **transitions** (flip-flop): start ``n_perturbations`` runs a small distance from node i
  and count where they end; edge i→j is the fraction that arrives at j. Stable points have a
  self-loop of weight 1, saddles point at the attractors their unstable manifold reaches.
- **nearest neighbours** (input-dependent points of sine and CDI): an undirected edge between
  each node and its nearest other node of the same group (same context).

Graph distance between two networks with the same number of nodes is the Euclidean
(Frobenius) distance between their adjacency matrices.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

StepFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def readout_order(readouts: np.ndarray) -> np.ndarray:
    """Canonical node order: lexicographic in the readout's symbolic code, then the readout.

    Each readout coordinate is first coded as −1, 0 or +1 (thresholds ±0.5): flip-flop memories
    read out ±1 and saddles between them read out ≈ 0 on the undecided bits, so the code names
    a point the same way in every network, while raw floats (−0.98 vs −1.02) would not. The
    first readout coordinate is the most significant key.
    """
    z = np.asarray(readouts, dtype=np.float64)
    if z.ndim != 2:
        raise ValueError(f"readouts must be [n_points, n_outputs], got shape {z.shape}")
    code = np.clip(np.rint(z), -1, 1)
    keys = [z[:, j] for j in reversed(range(z.shape[1]))] + [code[:, j] for j in reversed(range(z.shape[1]))]
    return np.lexsort(keys) if len(z) else np.zeros(0, dtype=np.int64)


@dataclass
class TransitionGraphs:
    """Transition graphs of K networks, padded to P nodes (``mask`` marks real nodes)."""

    adjacency: torch.Tensor  # [K, P, P] fraction of runs from node i that end at node j
    unsettled: torch.Tensor  # [K, P] fraction of runs from node i still moving at the end
    radius: torch.Tensor  # [K] perturbation size used for each network
    n_steps_run: int = 0  # steps simulated before every run had arrived (at most n_steps)


def transition_graphs(
    step: StepFn, h: torch.Tensor, x: torch.Tensor, mask: torch.Tensor, *, stable: torch.Tensor | None = None,
    n_perturbations: int = 100, radius_fraction: float = 0.1, n_steps: int = 1000, settle_speed: float = 5e-5,
    check_every: int = 10, compact_fraction: float = 0.75, generator: torch.Generator | None = None,
) -> TransitionGraphs:
    """Perturb every node of every network and simulate ``step`` under the node's input.

    h ``[K, P, S]``, x ``[K, P, I]``, mask ``[K, P]`` (padding rows are ignored). Perturbations
    are uniformly random directions of length ``radius_fraction`` × the smallest distance
    between two nodes of that network (so a run never starts in another node's neighbourhood;
    a network with one node uses ``radius_fraction`` × its norm, or ``radius_fraction``).
    Runs last at most ``n_steps`` (a slow saddle needs hundreds of steps to be left) and end at
    the nearest node; a run whose last step is still faster than ``settle_speed`` (root mean
    square over units, the criterion of Turner et al.) is counted as unsettled instead.

    All runs of all nodes of all networks are one batch. With ``stable`` (``[K, P]``, the nodes
    that attract), a run has *arrived* once it is settled and closer to a stable node than the
    perturbation radius; arrived runs are recorded and leave the batch (checked every
    ``check_every`` steps, the batch compacted once the largest per-network count of running
    runs falls below ``compact_fraction`` of its width), and the simulation stops when every
    run has arrived. Without ``stable`` every run lasts ``n_steps``.
    """
    k, p, s = h.shape
    mask = mask.to(torch.bool)
    dist = torch.cdist(h, h)
    big = torch.finfo(h.dtype).max
    pair_ok = mask.unsqueeze(1) & mask.unsqueeze(2) & ~torch.eye(p, dtype=torch.bool, device=h.device)
    min_sep = torch.where(pair_ok, dist, big).amin(dim=(1, 2))
    fallback = torch.where(mask.unsqueeze(-1), h, 0).norm(dim=-1).amax(1).clamp(min=1.0)
    radius = radius_fraction * torch.where(min_sep < big, min_sep, fallback)

    r = n_perturbations
    direction = torch.randn((k, p, r, s), generator=generator, dtype=torch.float64).to(h)
    direction = direction / direction.norm(dim=-1, keepdim=True)
    state = (h.unsqueeze(2) + radius.view(k, 1, 1, 1) * direction).reshape(k, p * r, s)
    inputs = x.unsqueeze(2).expand(k, p, r, x.shape[-1]).reshape(k, p * r, -1)
    end = torch.zeros((k, p * r), dtype=torch.long, device=h.device)
    settled = torch.zeros((k, p * r), dtype=torch.bool, device=h.device)
    runs = _Runs(state, inputs, p * r)
    attract = None if stable is None else (stable.to(torch.bool) & mask)
    i = 0
    with torch.no_grad():
        for i in range(1, n_steps + 1):
            new = step(runs.state, runs.inputs)
            speed = (new - runs.state).pow(2).mean(-1).sqrt()
            runs.state = new
            last = i == n_steps
            if not (last or (attract is not None and i % check_every == 0)):
                continue
            d = torch.cdist(runs.state, h)  # [K, W, P]
            nearest = torch.where(mask.unsqueeze(1), d, big).argmin(-1)
            calm = (speed <= settle_speed) & torch.isfinite(speed)
            if last:
                done = runs.alive
            else:
                near = torch.where(attract.unsqueeze(1), d, big).amin(-1) < radius.view(k, 1)
                done = runs.alive & calm & near
            dk, dj = done.nonzero(as_tuple=True)
            end[dk, runs.pos[dk, dj]] = nearest[dk, dj]
            settled[dk, runs.pos[dk, dj]] = calm[dk, dj]
            if not runs.retire(done, compact_fraction):
                break
    ends, settled = end.view(k, p, r), settled.view(k, p, r)
    counts = torch.zeros((k, p, p), dtype=torch.float64, device=h.device)
    counts.scatter_add_(2, ends, settled.to(torch.float64))
    adjacency = torch.where(mask.unsqueeze(-1) & mask.unsqueeze(1), counts / r, 0.0)
    unsettled = torch.where(mask, 1 - settled.to(torch.float64).mean(-1), 0.0)
    return TransitionGraphs(adjacency, unsettled, radius, i)


class _Runs:
    """The batch of runs still moving, ``[K, W, ·]``; ``pos`` maps a row to its original run."""

    def __init__(self, state: torch.Tensor, inputs: torch.Tensor, width: int):
        k = state.shape[0]
        self.state, self.inputs = state, inputs
        self.pos = torch.arange(width, device=state.device).expand(k, width).clone()
        self.alive = torch.ones((k, width), dtype=torch.bool, device=state.device)

    def retire(self, done: torch.Tensor, compact_fraction: float) -> bool:
        """Mark ``done`` rows finished; compact the batch when it pays; False when none is left."""
        self.alive &= ~done
        n_alive = int(self.alive.sum(1).max())
        if n_alive == 0:
            return False
        if n_alive <= compact_fraction * self.alive.shape[1]:
            keep = torch.argsort((~self.alive).to(torch.int8), dim=1, stable=True)[:, :n_alive]
            rows = keep.unsqueeze(-1)
            self.state = torch.gather(self.state, 1, rows.expand(-1, -1, self.state.shape[-1]))
            self.inputs = torch.gather(self.inputs, 1, rows.expand(-1, -1, self.inputs.shape[-1]))
            self.pos, self.alive = torch.gather(self.pos, 1, keep), torch.gather(self.alive, 1, keep)
        return True


def nearest_neighbour_graph(h: np.ndarray, groups: np.ndarray | None = None) -> np.ndarray:
    """Symmetric 0/1 adjacency linking each node to its nearest other node of its group."""
    h = np.asarray(h, dtype=np.float64)
    n = len(h)
    groups = np.zeros(n, dtype=np.int64) if groups is None else np.asarray(groups)
    adjacency = np.zeros((n, n))
    if n < 2:
        return adjacency
    dist = np.linalg.norm(h[:, None] - h[None], axis=-1)
    dist[groups[:, None] != groups[None]] = np.inf
    np.fill_diagonal(dist, np.inf)
    has = np.isfinite(dist).any(1)
    rows = np.flatnonzero(has)
    cols = dist[rows].argmin(1)
    adjacency[rows, cols] = adjacency[cols, rows] = 1.0
    return adjacency


def modal_count(counts: np.ndarray) -> int:
    """The most common node count (ties: the smallest), or 0 for no networks."""
    counts = np.asarray(counts, dtype=np.int64)
    if counts.size == 0:
        return 0
    values, freq = np.unique(counts, return_counts=True)
    return int(values[np.argmax(freq)])
