"""Option checks of the Procrustes and DSA metrics, without heavy imports (the config check and
the merge job read them without torch)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

DEFAULT_DSA: dict[str, Any] = {"n_delays": 5, "rank": 10, "ridge": 0.0, "iterations": 300, "starts": 16,
                               "seed": 0}


def check_dsa_options(options: dict[str, Any] | None) -> dict[str, Any]:
    """DEFAULT_DSA completed by ``options``, with every value checked (names the key and what is allowed)."""
    unknown = sorted(set(options or {}) - set(DEFAULT_DSA))
    if unknown:
        raise ValueError(f"unknown DSA option(s) {unknown}; allowed: {sorted(DEFAULT_DSA)}")
    out = {**DEFAULT_DSA, **(options or {})}
    for key in ("n_delays", "rank", "iterations", "starts", "seed"):
        v, lo = out[key], 0 if key in ("iterations", "seed") else 1
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
            raise ValueError(f"DSA option {key}={v!r}: must be an integer >= {lo}")
        out[key] = int(v)
    ridge = out["ridge"]
    if isinstance(ridge, bool) or not isinstance(ridge, (int, float, np.floating)) or not math.isfinite(ridge) \
            or ridge < 0:
        raise ValueError(f"DSA option ridge={ridge!r}: must be a finite number >= 0")
    out["ridge"] = float(ridge)
    return out


def check_alpha(alpha: float) -> float:
    """Procrustes' partial-whitening parameter as a float in [0, 1] (NaN is refused)."""
    a = float(alpha)
    if not 0.0 <= a <= 1.0:
        raise ValueError(f"procrustes alpha must be in [0, 1] (0: full whitening, 1: none); got {alpha!r}")
    return a
