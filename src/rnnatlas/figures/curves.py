"""Mean ± s.e. curves read from ``dynamics_summary.json`` (grouped by architecture or nonlinearity)."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rnnatlas.figures import palette as pal
from rnnatlas.figures.panels import empty, note


def group_curves(ax, groups: dict | None, x: Sequence[float], by: str, title: str,
                 xlabel: str, ylabel: str, diagonal: bool = False, logy: bool = False) -> int:
    """Plot {group: {n, mean, se}} curves against x; returns the number of networks drawn."""
    if not groups:
        empty(ax, "not in dynamics_summary.json", title)
        return 0
    order = pal.ARCH_ORDER if by == "arch" else pal.ACT_ORDER
    colors = pal.ARCH_COLORS if by == "arch" else pal.ACT_COLORS
    labels = pal.ARCH_LABELS if by == "arch" else pal.ACT_LABELS
    x = np.asarray(x, dtype=float)
    total = 0
    for g in order:
        d = groups.get(g)
        if not d or not d.get("n"):
            continue
        m = np.array([np.nan if v is None else v for v in d["mean"]], dtype=float)
        se = np.array([np.nan if v is None else v for v in d.get("se", [None] * len(m))], dtype=float)
        xs = x[: len(m)] if len(x) >= len(m) else np.arange(1, len(m) + 1)
        ax.plot(xs, m, color=colors[g], lw=1.2, marker="o", ms=2.5, label=f"{labels[g]} (n={d['n']})")
        ok = np.isfinite(se)
        if ok.any():
            ax.fill_between(xs[ok], (m - se)[ok], (m + se)[ok], color=colors[g], alpha=0.25, lw=0)
        total += int(d["n"])
    missing = [labels[g] for g in order if not (groups.get(g) or {}).get("n")]
    if diagonal:
        lo, hi = float(np.nanmin(x)), float(np.nanmax(x))
        ax.plot([lo, hi], [lo, hi], color="0.5", ls=":", lw=0.8, label="identity")
    if logy:
        ax.set_yscale("log")
    ax.set_title(title), ax.set_xlabel(xlabel), ax.set_ylabel(ylabel)
    ax.legend(frameon=False, loc="best")
    if missing:
        note(ax, "no networks: " + ", ".join(missing), "lower right")
    return total
