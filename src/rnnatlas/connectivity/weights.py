"""Element-wise weight statistics: mean weight and the distribution of training changes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ._common import as_square_stack
from ._common import off_diagonal as _offdiag

DEFAULT_QUANTILES: tuple[float, ...] = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)


def mean_weight(w: np.ndarray, off_diagonal: bool = True) -> float | np.ndarray:
    """Mean entry of W (off-diagonal only by default, since the RNN's diagonal is held at 0).

    Returns a float for one matrix [N, N], an array [S] for a stack [S, N, N].
    """
    a, single = as_square_stack(w)
    vals = _offdiag(a) if off_diagonal else a.reshape(a.shape[0], -1)
    out = vals.mean(axis=1)
    return float(out[0]) if single else out


def weight_changes(
    w0: np.ndarray,
    w1: np.ndarray,
    rel_threshold: float = 0.1,
    quantiles: Sequence[float] = DEFAULT_QUANTILES,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Training change ΔW = W1 − W0 over the off-diagonal entries, and a summary.

    Returns ``(delta, summary)``: ``delta`` is the flattened off-diagonal ΔW, [N(N-1)] for
    one pair or [S, N(N-1)] for stacks (row-major order, for the distribution figure).
    ``summary`` holds, per network (floats for one pair, arrays [S] for stacks):

    - ``std_w0``: std of the off-diagonal initial weights (the scale);
    - ``threshold``: ``rel_threshold * std_w0``;
    - ``frac_above``: fraction of entries with |ΔW| > threshold;
    - ``mean_abs`` / ``rms`` / ``max_abs``: of ΔW;
    - ``rel_frobenius``: ‖ΔW‖_F / ‖W0‖_F (off-diagonal);
    - ``quantiles``: the levels; ``delta_quantiles`` (signed ΔW) and ``abs_rel_quantiles``
      (|ΔW| / std_w0), each [Q] or [S, Q].
    """
    a0, single0 = as_square_stack(w0, "w0")
    a1, single1 = as_square_stack(w1, "w1")
    if a0.shape != a1.shape:
        raise ValueError(f"w0 and w1 differ in shape: {np.shape(w0)} vs {np.shape(w1)}")
    if rel_threshold < 0:
        raise ValueError("rel_threshold must be >= 0")
    qs = np.asarray(quantiles, dtype=np.float64)
    if np.any((qs < 0) | (qs > 1)):
        raise ValueError("quantiles must lie in [0, 1]")
    x0 = _offdiag(a0)
    delta = _offdiag(a1) - x0
    std0 = x0.std(axis=1)
    thr = rel_threshold * std0
    absd = np.abs(delta)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = absd / std0[:, None]
        rel_f = np.sqrt((delta**2).sum(axis=1)) / np.sqrt((x0**2).sum(axis=1))
    summary: dict[str, Any] = {
        "std_w0": std0,
        "threshold": thr,
        "frac_above": (absd > thr[:, None]).mean(axis=1),
        "mean_abs": absd.mean(axis=1),
        "rms": np.sqrt((delta**2).mean(axis=1)),
        "max_abs": absd.max(axis=1) if absd.shape[1] else np.zeros(len(absd)),
        "rel_frobenius": rel_f,
        "quantiles": qs,
        "delta_quantiles": np.quantile(delta, qs, axis=1).T if delta.shape[1] else
        np.full((len(delta), qs.size), np.nan),
        "abs_rel_quantiles": np.quantile(rel, qs, axis=1).T if rel.shape[1] else
        np.full((len(rel), qs.size), np.nan),
    }
    if single0 and single1:
        summary = {
            k: (v if k == "quantiles" else (v[0] if np.ndim(v) > 1 else float(v[0])))
            for k, v in summary.items()
        }
        delta = delta[0]
    return delta, summary
