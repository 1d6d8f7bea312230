"""Figs. 4, 6, 9, 10: per-network curves against a shared x (or index), with the population mean
and 95 % CI; one panel per task."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from rnnatlas.figures import palette as pal
from rnnatlas.figures.io import FigureCounts
from rnnatlas.figures.panels import empty
from rnnatlas.figures.training_change._common import (
    PLAIN_COLOR,
    STATE_COLORS,
    _band,
    _finish,
    _no_tasks,
    _panels,
    _safe,
    load_results,
    with_arrays,
)


def align_curves(xs: Sequence[np.ndarray], ys: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray, str]:
    """(x, Y [networks, K], note): curves on one grid; differing grids are interpolated onto the
    first network's grid within the common range (noted)."""
    xs = [np.asarray(x, dtype=np.float64).ravel() for x in xs]
    ys = [np.asarray(y, dtype=np.float64).ravel() for y in ys]
    pairs = [(x[: min(len(x), len(y))], y[: min(len(x), len(y))]) for x, y in zip(xs, ys)]
    x0 = pairs[0][0]
    if all(len(x) == len(x0) and np.allclose(x, x0) for x, _ in pairs):
        return x0, np.vstack([y for _, y in pairs]), ""
    lo, hi = max(x.min() for x, _ in pairs), min(x.max() for x, _ in pairs)
    grid = x0[(x0 >= lo) & (x0 <= hi)]
    y = np.vstack([np.interp(grid, x, v) for x, v in pairs])
    return grid, y, "grids differ between networks: interpolated onto a common grid"


def _curve_figure(root: Path, out_stem: str, name: str, x_key: str | None, y_keys: dict[str, str],
                  xlabel: str, ylabel: str, scale: float = 1.0, style_ax: Callable | None = None) -> FigureCounts:
    """One panel per task: per network curves of ``y_keys`` (label → array) against ``x_key``
    (or the index 1…K), with the mean and 95 % CI."""
    pal.style()
    counts = FigureCounts(name)
    results = load_results(root, counts)
    if not results:
        return _no_tasks(name, counts, out_stem)
    fig, axes = _panels(len(results))
    keys = list(y_keys.values()) + ([x_key] if x_key else [])
    for j, (task, all_nets) in enumerate(results.items()):
        ax = axes[0, j]
        nets = with_arrays(all_nets, keys, counts)
        counts.shown[task] = 0

        def draw(ax=ax, task=task, nets=nets) -> None:
            if not nets:
                empty(ax, "no network with these arrays", task)
                return
            for label, key in y_keys.items():
                xs = [n.arrays[x_key] if x_key else np.arange(1, len(n.arrays[key]) + 1) for n in nets]
                ys = [np.asarray(n.arrays[key], dtype=np.float64) * scale for n in nets]
                x, y, msg = align_curves(xs, ys)
                if msg:
                    counts.notes.append(f"{task} {label}: {msg}")
                color = STATE_COLORS.get(label, PLAIN_COLOR)
                _band(ax, x, y, color, label if len(y_keys) > 1 else "mean, 95 % CI")
            counts.shown[task] = len(nets)
            ax.set_title(f"{task} (n={len(nets)})")
            ax.set_xlabel(xlabel)
            ax.set_ylabel(ylabel)
            ax.legend(frameon=False, loc="best")
            if style_ax:
                style_ax(ax)
        _safe(counts, ax, task, draw)
    return _finish(fig, counts, out_stem)
