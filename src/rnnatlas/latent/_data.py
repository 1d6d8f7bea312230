"""Normalise activity input to a list of float64 [time, dims] trials."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

Activity = np.ndarray | Sequence[np.ndarray]


def as_trials(x: Activity, name: str = "x") -> list[np.ndarray]:
    """[trials, time, dims] array, one [time, dims] array, or a list of [time_k, dims] arrays
    → list of float64 [time_k, dims] arrays (one per trial; lags never cross trials)."""
    if isinstance(x, np.ndarray):
        if x.ndim == 2:
            trials = [x]
        elif x.ndim == 3:
            trials = list(x)
        else:
            raise ValueError(f"{name} must be [trials, time, dims] or [time, dims], got {x.shape}")
    else:
        trials = list(x)
    if not trials:
        raise ValueError(f"{name} has no trials")
    out = [np.asarray(t, dtype=np.float64) for t in trials]
    dims = {t.shape[-1] if t.ndim == 2 else -1 for t in out}
    if len(dims) != 1 or -1 in dims:
        raise ValueError(f"every trial in {name} must be [time, dims] with the same dims")
    if not all(np.isfinite(t).all() for t in out):
        raise ValueError(f"{name} contains non-finite values")
    return out
