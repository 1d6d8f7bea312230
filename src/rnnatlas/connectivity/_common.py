"""Input checks shared by the weight-matrix measures."""

from __future__ import annotations

import numpy as np


def as_square_stack(w: np.ndarray, name: str = "w") -> tuple[np.ndarray, bool]:
    """Return ``w`` as a float64 [S, N, N] stack and whether it was a single matrix.

    Complex input is kept complex (unitary similarity tests use it).
    """
    a = np.asarray(w)
    a = a.astype(np.complex128 if np.iscomplexobj(a) else np.float64, copy=False)
    if a.ndim == 2:
        a, single = a[None], True
    elif a.ndim == 3:
        single = False
    else:
        raise ValueError(f"{name} must be [N, N] or [S, N, N], got shape {a.shape}")
    if a.shape[-1] != a.shape[-2]:
        raise ValueError(f"{name} must be square, got shape {a.shape}")
    if a.shape[-1] < 1:
        raise ValueError(f"{name} is empty")
    return a, single


def off_diagonal(a: np.ndarray) -> np.ndarray:
    """Off-diagonal entries of each matrix of a [S, N, N] stack, as [S, N(N-1)] (row-major)."""
    n = a.shape[-1]
    mask = ~np.eye(n, dtype=bool)
    return a[:, mask]
