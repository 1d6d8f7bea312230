"""How a task's n x n similarity matrix is cut into jobs (light: imported by the Snakefile).

The networks of a task (trained ones, then their untrained twins, each group sorted by arch,
activation, units, L2, seed) are cut into *chunks* of ``block_size`` consecutive networks.
One job prepares each chunk (per-network SVD / centering, once), one job computes each
*tile* (chunk i x chunk j, i <= j) of the upper block triangle, and one job merges the tiles.
With C chunks that is C + C(C+1)/2 + 1 jobs per (task, metric), never one per pair.
"""

from __future__ import annotations

from ..ids import NetworkSpec
from ..plan import packs


def matrix_networks(config: dict, task: str) -> list[NetworkSpec]:
    """All networks of a task (trained and untrained twins) in the order of the matrix."""
    nets = [n for p in packs(config, task) for n in p.all_networks]
    return sorted(nets, key=lambda n: (not n.trained, n.arch, n.activation, n.units, n.l2, n.seed))


def chunk_ranges(n: int, block_size: int) -> list[tuple[int, int]]:
    """Consecutive (start, stop) ranges of at most ``block_size`` networks covering 0..n."""
    if block_size < 1:
        raise ValueError(f"block_size must be >= 1; got {block_size}")
    return [(s, min(n, s + block_size)) for s in range(0, n, block_size)]


def tiles(n_chunks: int) -> list[tuple[int, int]]:
    """Tiles (i, j), i <= j, of the upper block triangle."""
    return [(i, j) for i in range(n_chunks) for j in range(i, n_chunks)]
