"""Fig. 1 of study H: task performance of every trained network (validation output against the
input, with the target; the accuracy of each network)."""
from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from rnnatlas.figures import palette as pal
from rnnatlas.figures.io import FigureCounts
from rnnatlas.figures.panels import empty
from rnnatlas.figures.training_change._common import (
    PLAIN_COLOR,
    NetResult,
    _finish,
    _mean_attr,
    _no_tasks,
    _safe,
    load_results,
    with_arrays,
)


def binned_output(x: np.ndarray, y: np.ndarray, edges: np.ndarray | None, levels: np.ndarray | None) -> np.ndarray:
    """Mean of ``y`` per level of ``x`` (levels rounded to 3 decimals) or per bin of ``edges``."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if levels is not None:
        idx = np.searchsorted(levels, np.round(x, 3))
        idx = np.where((idx < len(levels)) & np.isclose(levels[np.minimum(idx, len(levels) - 1)], np.round(x, 3)), idx, -1)
        k = len(levels)
    else:
        idx = np.clip(np.digitize(x, edges) - 1, 0, len(edges) - 2)
        k = len(edges) - 1
    out = np.full(k, np.nan)
    for j in range(k):
        m = (idx == j) & np.isfinite(y)
        if m.any():
            out[j] = y[m].mean()
    return out


def _fig1_x(task: str, inputs: np.ndarray) -> tuple[np.ndarray, str]:
    inputs = np.asarray(inputs, dtype=np.float64)
    if inputs.ndim == 1:
        inputs = inputs[:, None]
    if task != "perception" and inputs.shape[1] >= 2:
        return inputs[:, 0] - inputs[:, 1], "u1 − u2 (time-averaged input)"
    return inputs[:, 0], "input level (time-averaged)"


def figure_h_fig1_performance(root: Path, out_stem: str) -> FigureCounts:
    """Time-averaged output of every trained network on the validation trials against the input
    (perception: level; decision: u1 − u2, binned), mean ± s.d. over networks, with the target;
    below, the accuracy of each network."""
    pal.style()
    counts = FigureCounts("h_fig1_performance")
    results = load_results(root, counts)
    if not results:
        return _no_tasks("performance", counts, out_stem)
    fig, axes = plt.subplots(2, len(results), figsize=(3.4 * len(results), 4.6), squeeze=False,
                             gridspec_kw={"height_ratios": [3, 1.3]})
    for j, (task, all_nets) in enumerate(results.items()):
        nets = with_arrays(all_nets, ("val_mean_output", "val_mean_target", "val_mean_input"), counts)
        counts.shown[task] = 0
        _safe(counts, axes[0, j], f"{task} output",
              lambda ax=axes[0, j], task=task, nets=nets: _fig1_output(ax, task, nets, counts))
        _safe(counts, axes[1, j], f"{task} accuracy",
              lambda ax=axes[1, j], task=task, nets=all_nets: _fig1_accuracy(ax, task, nets))
    return _finish(fig, counts, out_stem)


def _fig1_output(ax, task: str, nets: list[NetResult], counts: FigureCounts) -> None:
    if not nets:
        empty(ax, "no network with validation outputs", task)
        return
    pairs = [(_fig1_x(task, n.arrays["val_mean_input"]), n) for n in nets]
    xlabel = pairs[0][0][1]
    if task == "decision" and "u1" not in xlabel:
        counts.notes.append(f"{task}: validation input has one channel; x is the input itself")
    pooled = np.concatenate([x for (x, _), _ in pairs])
    pooled = pooled[np.isfinite(pooled)]
    levels = np.unique(np.round(pooled, 3))
    if len(levels) <= 8:
        centres, edges, lv = levels, None, levels
    else:
        edges, lv = np.linspace(pooled.min(), pooled.max(), 12), None
        centres = 0.5 * (edges[1:] + edges[:-1])
    out = np.vstack([binned_output(x, n.arrays["val_mean_output"], edges, lv) for (x, _), n in pairs])
    tgt = np.vstack([binned_output(x, n.arrays["val_mean_target"], edges, lv) for (x, _), n in pairs])
    for row in out:
        ax.plot(centres, row, color=PLAIN_COLOR, lw=0.5, alpha=0.25)
    m, s = np.nanmean(out, 0), np.nanstd(out, 0)
    ax.errorbar(centres, m, yerr=s, color=PLAIN_COLOR, marker="o", ms=3, lw=1.4, capsize=2,
                label=f"output, mean ± s.d. (n={len(nets)})")
    ax.plot(centres, np.nanmean(tgt, 0), color="0.2", ls="--", lw=1.0, label="target")
    if lv is not None:
        ax.set_xticks(centres)
    acc, n_acc = _mean_attr(nets, "accuracy")
    ax.set_title(f"{task} (n={len(nets)}): accuracy {acc:.2f}" if n_acc else f"{task} (n={len(nets)})")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("time-averaged output")
    ax.legend(frameon=False, loc="best")
    counts.shown[task] = len(nets)


def short_ids(ids: Sequence[str]) -> list[str]:
    """Network ids without the prefix they share (e.g. only the seed part)."""
    if len(ids) < 2:
        return list(ids)
    cut = os.path.commonprefix(list(ids)).rfind("-") + 1
    return [i[cut:] or i for i in ids]


def _fig1_accuracy(ax, task: str, nets: list[NetResult]) -> None:
    vals = [(n.net_id, float(n.attrs["accuracy"])) for n in nets if "accuracy" in n.attrs]
    if not vals:
        empty(ax, "no accuracy recorded")
        return
    ax.scatter(range(len(vals)), [v for _, v in vals], s=12, color=PLAIN_COLOR)
    ax.set_ylim(min(0.0, min(v for _, v in vals)) - 0.02, 1.02)
    ax.set_ylabel("accuracy")
    if len(vals) <= 20:
        ax.set_xticks(range(len(vals)))
        ax.set_xticklabels(short_ids([i for i, _ in vals]), rotation=90, fontsize=5)
    else:
        ax.set_xlabel("network")
    ax.axhline(1.0, color="0.7", lw=0.5)
