"""Splitting an n x n matrix into upper-triangle tiles and putting the tiles back together.

Numpy only, so that the merge job (which only assembles tiles) does not load torch.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np


def block_ranges(n: int, block: int) -> list[tuple[int, int, int, int]]:
    """Upper-triangle block tasks (i0, i1, j0, j1) with i0 <= j0 covering an n x n matrix."""
    if block < 1:
        raise ValueError(f"block must be >= 1; got {block}")
    starts = list(range(0, n, block))
    return [(i, min(n, i + block), j, min(n, j + block)) for i in starts for j in starts if j >= i]


def assemble_blocks(n: int, blocks: Iterable[tuple[tuple[int, int], np.ndarray]]) -> np.ndarray:
    """Full (n, n) matrix from ((i0, j0), block) pieces covering the upper triangle.

    The strict upper triangle is mirrored and the diagonal set to 0, so the
    result is exactly symmetric; raises if some i < j entry is not covered.
    """
    out = np.zeros((n, n), dtype=np.float64)
    seen = np.zeros((n, n), dtype=bool)
    for (i0, j0), block in blocks:
        block = np.asarray(block, dtype=np.float64)
        out[i0 : i0 + block.shape[0], j0 : j0 + block.shape[1]] = block
        seen[i0 : i0 + block.shape[0], j0 : j0 + block.shape[1]] = True
    upper = np.triu(np.ones((n, n), dtype=bool), k=1)
    if not np.all(seen[upper]):
        i, j = np.argwhere(upper & ~seen)[0]
        raise ValueError(f"blocks do not cover entry ({i}, {j}) of the upper triangle")
    out = np.triu(out, k=1)
    return out + out.T
