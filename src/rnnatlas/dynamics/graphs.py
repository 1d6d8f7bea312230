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


def transition_graphs(
    step: StepFn, h: torch.Tensor, x: torch.Tensor, mask: torch.Tensor, *, n_perturbations: int = 100,
    radius_fraction: float = 0.1, n_steps: int = 1000, settle_speed: float = 5e-5,
    generator: torch.Generator | None = None,
) -> TransitionGraphs:
    """Perturb every node of every network and simulate ``step`` under the node's input.

    h ``[K, P, S]``, x ``[K, P, I]``, mask ``[K, P]`` (padding rows are ignored). Perturbations
    are uniformly random directions of length ``radius_fraction`` × the smallest distance
    between two nodes of that network (so a run never starts in another node's neighbourhood;
    a network with one node uses ``radius_fraction`` × its norm, or ``radius_fraction``).
    Runs last ``n_steps`` (a slow saddle needs hundreds of steps to be left) and end at the
    nearest node; a run whose last step is still faster than ``settle_speed`` (root mean
    square over units, the criterion of Turner et al.) is counted as unsettled instead.
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
    with torch.no_grad():
        for _ in range(n_steps):
            new = step(state, inputs)
            speed = (new - state).pow(2).mean(-1).sqrt()
            state = new
    ends = torch.where(mask.unsqueeze(1), torch.cdist(state, h), big).argmin(-1).view(k, p, r)
    settled = (speed <= settle_speed).view(k, p, r) & torch.isfinite(speed).view(k, p, r)
    counts = torch.zeros((k, p, p), dtype=torch.float64, device=h.device)
    counts.scatter_add_(2, ends, settled.to(torch.float64))
    adjacency = torch.where(mask.unsqueeze(-1) & mask.unsqueeze(1), counts / r, 0.0)
    unsettled = torch.where(mask, 1 - settled.to(torch.float64).mean(-1), 0.0)
    return TransitionGraphs(adjacency, unsettled, radius)


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
