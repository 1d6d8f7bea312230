"""Distances between fixed-point graphs (SPEC §5, Maheswaranathan et al. 2019).

Each network's fixed-point graph is an adjacency (connectivity) matrix over its
fixed points, in a canonical node order (``graph.h5``: dataset ``adjacency``,
shape (n_nodes, n_nodes)). Graphs are only comparable when they have the same
number of nodes, so the networks whose node count is the *modal* one are
compared by the Euclidean (Frobenius) distance ||A_i - A_j||_F; every other
network is set aside with its reason, and counted, not silently dropped.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
from scipy.spatial.distance import pdist, squareform


@dataclass
class GraphDistances:
    """Result of :func:`graph_distance`.

    distance: (k, k) float64, exactly symmetric with zero diagonal, over ``ids``
    (the kept networks, in input order). n_nodes: the modal node count (0 when
    no network could be kept). set_aside: id -> reason for every other network.
    """

    distance: np.ndarray
    ids: list[str]
    n_nodes: int
    set_aside: dict[str, str] = field(default_factory=dict)


def _check(adj: object, net_id: str) -> tuple[np.ndarray | None, str]:
    """(matrix, "") for a usable adjacency, (None, reason) otherwise; malformed input raises."""
    a = np.asarray(adj)
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise ValueError(f"{net_id}: adjacency must be a square 2-D matrix; got shape {a.shape}")
    if not (np.issubdtype(a.dtype, np.number) or a.dtype == np.bool_):
        raise TypeError(f"{net_id}: adjacency must be numeric; got dtype {a.dtype}")
    a = a.astype(np.float64)
    if a.shape[0] == 0:
        return None, "no fixed points (empty graph)"
    if not np.isfinite(a).all():
        return None, "adjacency contains NaN or infinite values"
    return a, ""


def graph_distance(adjacencies: Sequence[object], ids: Sequence[str]) -> GraphDistances:
    """Euclidean distances between the adjacency matrices of networks with the modal node count.

    adjacencies: one (n_nodes, n_nodes) matrix per network, nodes in the same
    canonical order for every network (the graph stage orders fixed points by
    their readout). ids: the network ids, same length.

    Networks with an empty graph or non-finite entries are set aside first;
    the modal node count is taken over the rest (ties go to the smaller count),
    and networks with another count are set aside with reason
    ``"n_nodes=<m>, modal n_nodes=<mode>"``. Malformed matrices (not square,
    not numeric) raise ValueError / TypeError naming the network.
    """
    if len(adjacencies) != len(ids):
        raise ValueError(f"{len(adjacencies)} adjacency matrices but {len(ids)} ids")
    if len(set(ids)) != len(ids):
        raise ValueError("network ids must be unique")
    set_aside: dict[str, str] = {}
    usable: list[tuple[str, np.ndarray]] = []
    for net_id, adj in zip(ids, adjacencies):
        a, reason = _check(adj, net_id)
        if a is None:
            set_aside[net_id] = reason
        else:
            usable.append((net_id, a))
    if not usable:
        return GraphDistances(np.zeros((0, 0)), [], 0, set_aside)
    counts = Counter(a.shape[0] for _, a in usable)
    top = max(counts.values())
    mode = min(n for n, c in counts.items() if c == top)
    kept = []
    for net_id, a in usable:
        if a.shape[0] == mode:
            kept.append((net_id, a))
        else:
            set_aside[net_id] = f"n_nodes={a.shape[0]}, modal n_nodes={mode}"
    flat = np.stack([a.reshape(-1) for _, a in kept])
    dist = squareform(pdist(flat, metric="euclidean")) if len(kept) > 1 else np.zeros((1, 1))
    dist = np.triu(dist, k=1)
    return GraphDistances(dist + dist.T, [i for i, _ in kept], mode, set_aside)
