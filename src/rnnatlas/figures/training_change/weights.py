"""Figs. 4, 7, 8 of study H: the recurrent weights over training (mean weight), their change and
the spectrum of W_rec before and after training, and node centrality before against after."""
from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from rnnatlas.figures import palette as pal
from rnnatlas.figures.io import FigureCounts
from rnnatlas.figures.panels import empty
from rnnatlas.figures.training_change._common import (
    PLAIN_COLOR,
    STATE_COLORS,
    NetResult,
    _band,
    _finish,
    _mean_attr,
    _no_tasks,
    _panels,
    _safe,
    load_results,
    with_arrays,
)
from rnnatlas.figures.training_change._curves import _curve_figure

CENTRALITY_KINDS: tuple[str, ...] = ("eigenvector", "in_strength", "pagerank")


# --------------------------------------------------------------------------- Fig. 4
def figure_h_fig4_mean_weight(root: Path, out_stem: str) -> FigureCounts:
    """Mean recurrent weight over training: every network thin, the population mean with its 95 % CI."""
    return _curve_figure(root, out_stem, "h_fig4_mean_weight", "snapshot_iterations",
                         {"mean weight": "mean_weight"}, "training iteration", "mean off-diagonal W_rec",
                         style_ax=lambda ax: ax.axhline(0, color="0.7", lw=0.5))


# --------------------------------------------------------------------------- Fig. 7
def _finite(a: Any) -> np.ndarray | None:
    """A real float array, or None when the stored value is not numeric."""
    a = np.asarray(a)
    if a.dtype.kind not in "biuf":
        return None
    return a.astype(np.float64)


def matched_shift(n: NetResult) -> tuple[np.ndarray | None, bool]:
    """(|Δλ| per eigenvalue, recomputed): the stored ``eigenvalue_shift`` if numeric, else the
    minimum-total-distance matching of the stored spectra."""
    stored = n.arrays.get("eigenvalue_shift")
    if stored is not None:
        s = np.asarray(stored)
        if s.dtype.kind == "c":
            return np.abs(s), False
        f = _finite(s)
        if f is not None:
            return np.abs(f.ravel()), False
    if "eigenvalues_initial" in n.arrays and "eigenvalues_final" in n.arrays:
        from scipy.optimize import linear_sum_assignment
        a = np.asarray(n.arrays["eigenvalues_initial"]).astype(complex).ravel()
        b = np.asarray(n.arrays["eigenvalues_final"]).astype(complex).ravel()
        if len(a) == len(b) and len(a):
            cost = np.abs(a[:, None] - b[None])
            r, c = linear_sum_assignment(cost)
            return cost[r, c], True
    return None, False


def figure_h_fig7_weights_eigenvalues(root: Path, out_stem: str) -> FigureCounts:
    """Per task: histogram of weight changes pooled over networks (log count); the spectrum of
    W_rec before and after training of one network; the matched eigenvalue shifts, sorted."""
    pal.style()
    counts = FigureCounts("h_fig7_weights_eigenvalues")
    results = load_results(root, counts)
    if not results:
        return _no_tasks("weights and eigenvalues", counts, out_stem)
    fig, axes = plt.subplots(len(results), 3, figsize=(9.6, 2.8 * len(results)), squeeze=False)
    for i, (task, all_nets) in enumerate(results.items()):
        nets = with_arrays(all_nets, ("weight_change",), counts)
        counts.shown[task] = len(nets)
        row, t, some, every = axes[i], task, nets, all_nets
        _safe(counts, row[0], f"{t} weight change", lambda row=row, t=t, some=some: _weight_hist(row[0], t, some))
        _safe(counts, row[1], f"{t} spectrum", lambda row=row, t=t, every=every: _spectrum(row[1], t, every, counts))
        _safe(counts, row[2], f"{t} shifts", lambda row=row, t=t, every=every: _shifts(row[2], t, every, counts))
    return _finish(fig, counts, out_stem)


def _weight_hist(ax, task: str, nets: list[NetResult]) -> None:
    vals = [_finite(n.arrays["weight_change"]) for n in nets]
    vals = [v.ravel() for v in vals if v is not None]
    pooled = np.concatenate(vals) if vals else np.zeros(0)
    pooled = pooled[np.isfinite(pooled)]
    if not len(pooled):
        empty(ax, "no weight changes", f"{task}: ΔW")
        return
    ax.hist(pooled, bins=60, color=PLAIN_COLOR, log=True)
    ax.set_title(f"{task}: ΔW pooled over {len(vals)} networks")
    ax.set_xlabel("weight change W_final − W_initial")
    ax.set_ylabel("count (log)")


def _spectrum(ax, task: str, nets: list[NetResult], counts: FigureCounts) -> None:
    net = next((n for n in nets if "eigenvalues_initial" in n.arrays and "eigenvalues_final" in n.arrays), None)
    if net is None:
        empty(ax, "no stored spectra", f"{task}: eigenvalues")
        return
    t = np.linspace(0, 2 * np.pi, 200)
    ax.plot(np.cos(t), np.sin(t), color="0.75", lw=0.6)
    for key, label, kw in (("eigenvalues_initial", "initial", {"facecolors": "none", "edgecolors": STATE_COLORS["untrained"]}),
                           ("eigenvalues_final", "trained", {"color": STATE_COLORS["trained"], "marker": "x"})):
        ev = np.asarray(net.arrays[key]).astype(complex)
        ax.scatter(ev.real, ev.imag, s=12, lw=0.7, label=label, **kw)
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_title(f"{task}: spectrum of {net.net_id}", fontsize=6)
    ax.set_xlabel("Re λ"), ax.set_ylabel("Im λ")
    ax.legend(frameon=False, fontsize=6)
    counts.notes.append(f"{task}: spectrum shown for {net.net_id}")


def _shifts(ax, task: str, nets: list[NetResult], counts: FigureCounts) -> None:
    rows, recomputed = [], 0
    for n in nets:
        s, again = matched_shift(n)
        if s is not None:
            rows.append(np.sort(s)[::-1])
            recomputed += again
    if not rows:
        empty(ax, "no eigenvalue shifts", f"{task}: matched shifts")
        return
    if recomputed:
        counts.notes.append(f"{task}: eigenvalue_shift not numeric for {recomputed} networks; matched from the spectra")
    k = min(len(r) for r in rows)
    y = np.vstack([r[:k] for r in rows])
    _band(ax, np.arange(1, k + 1), y, PLAIN_COLOR, "mean, 95 % CI")
    ax.set_title(f"{task}: matched |Δλ|, sorted (n={len(rows)})")
    ax.set_xlabel("eigenvalue rank")
    ax.set_ylabel("|λ_final − λ_initial|")
    ax.legend(frameon=False, fontsize=6)


# --------------------------------------------------------------------------- Fig. 8
def centrality_kind(nets: Sequence[NetResult]) -> str:
    """The centrality named by most networks' ``centrality`` attribute (eigenvector if none)."""
    kinds = Counter(str(n.attrs["centrality"]) for n in nets if n.attrs.get("centrality"))
    return kinds.most_common(1)[0][0] if kinds else "eigenvector"


def figure_h_fig8_centrality(root: Path, out_stem: str) -> FigureCounts:
    """Initial against final node centrality, pooled over networks, per task; the mean Spearman
    correlation and fraction of top nodes leaving the top in the title."""
    pal.style()
    counts = FigureCounts("h_fig8_centrality")
    results = load_results(root, counts)
    if not results:
        return _no_tasks("centrality", counts, out_stem)
    fig, axes = _panels(len(results), w=3.2, h=3.2)
    for j, (task, all_nets) in enumerate(results.items()):
        ax = axes[0, j]
        kind = centrality_kind(all_nets)
        nets = with_arrays(all_nets, (f"centrality_{kind}_initial", f"centrality_{kind}_final"), counts)
        counts.shown[task] = 0

        def draw(ax=ax, task=task, kind=kind, nets=nets) -> None:
            if not nets:
                empty(ax, f"no {kind} centralities", task)
                return
            x = np.concatenate([np.asarray(n.arrays[f"centrality_{kind}_initial"], dtype=np.float64).ravel() for n in nets])
            y = np.concatenate([np.asarray(n.arrays[f"centrality_{kind}_final"], dtype=np.float64).ravel() for n in nets])
            ax.scatter(x, y, s=6, alpha=0.5, color=PLAIN_COLOR, lw=0)
            ok = np.isfinite(x) & np.isfinite(y)
            if ok.any():
                lo, hi = min(x[ok].min(), y[ok].min()), max(x[ok].max(), y[ok].max())
                ax.plot([lo, hi], [lo, hi], color="0.6", lw=0.6, ls="--")
            rho, n_rho = _mean_attr(nets, f"centrality_{kind}_spearman")
            top, n_top = _mean_attr(nets, f"centrality_{kind}_top_leaving")
            ax.set_title(f"{task} (n={len(nets)}): {kind.replace('_', ' ')}\n"
                         f"mean Spearman ρ = {rho:.2f} ({n_rho}), top leaving = {top:.2f} ({n_top})")
            ax.set_xlabel("initial centrality")
            ax.set_ylabel("final centrality")
            counts.shown[task] = len(nets)
        _safe(counts, ax, task, draw)
    return _finish(fig, counts, out_stem)
