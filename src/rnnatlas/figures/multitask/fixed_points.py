"""Figure 7 of study M: fixed and slow points per task epoch, Go-only vs multitask networks."""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from rnnatlas.figures import palette as pal
from rnnatlas.figures.io import (
    FigureCounts,
    save_figure,
)
from rnnatlas.figures.multitask._common import (
    EPOCH_ORDER,
    GROUPS,
    NetAnalysis,
    _nothing,
    _rule_sort,
    _safe,
    group_color,
    group_label,
    network_ids,
    read_analyses,
    rule_label,
)
from rnnatlas.figures.panels import note

# --------------------------------------------------------------------------- Fig. 7
FIG7_MEASURES: tuple[tuple[str, str], ...] = (
    ("n_fixed", "fixed points found"),
    ("n_slow", "slow points found"),
    ("trajectory_min_q", "lowest speed q on the trajectories"),
    ("closest_relative", "closest approach to a fixed point\n(÷ activity spread)"),
)


def epoch_table(nets: dict[str, list[NetAnalysis]]) -> list[tuple[str, str]]:
    """Every (rule, epoch) of any network, in the Go family's rule order and epoch order."""
    rows = {(str(r), str(e)) for group in nets.values() for n in group
            for r, e in zip(n.arrays["epoch_rule"], n.arrays["epoch_name"])}
    rules = _rule_sort([r for r, _ in rows])
    rank = {e: i for i, e in enumerate(EPOCH_ORDER)}
    return sorted(rows, key=lambda x: (rules.index(x[0]), rank.get(x[1], len(rank)), x[1]))


def epoch_values(n: NetAnalysis, key: str) -> dict[tuple[str, str], float]:
    """{(rule, epoch): value} of one network; ``closest_relative`` = closest_fixed / activity_scale."""
    if key == "closest_relative":
        scale = float(n.attrs.get("activity_scale", np.nan))
        v = np.asarray(n.arrays["closest_fixed"], dtype=np.float64) / (scale if scale > 0 else np.nan)
    else:
        v = np.asarray(n.arrays[key], dtype=np.float64)
    return {(str(r), str(e)): float(x) for r, e, x in zip(n.arrays["epoch_rule"], n.arrays["epoch_name"], v)}


def figure_m_fig7_fixed_points(root: Path, out_stem: str) -> FigureCounts:
    """Per epoch of each task (rows), Go-only against multitask networks side by side, each point a
    network: fixed points and slow points found under the epoch's inputs, the lowest speed q along
    the trajectories, and their closest approach to a fixed point ÷ the activity's spread (log
    axes where the values span decades; NaN points skipped and counted).

    Counts: ``shown[group]`` networks, ``shown["epochs"]`` rows, and per measure ``shown["points_<m>"]``
    points drawn, ``shown["nan_<m>"]`` NaN values skipped, ``shown["nonpositive_<m>"]`` values ≤ 0 not
    drawable on a log axis."""
    pal.style()
    counts = FigureCounts("m_fig7_fixed_points")
    summary, ids = network_ids(root, counts)
    needs = ("epoch_rule", "epoch_name", "n_fixed", "n_slow", "trajectory_min_q", "closest_fixed")
    nets = {t: read_analyses(root, t, ids[t], counts, needs) for t in ids}
    for t, group in nets.items():
        counts.shown[t] = len(group)
    rows = epoch_table(nets)
    counts.shown["epochs"] = len(rows)
    for key, _ in FIG7_MEASURES:
        counts.shown[f"points_{key}"] = 0
        counts.shown[f"nan_{key}"] = 0
    if not rows:
        return _nothing(counts, out_stem, "no network with per-epoch fixed-point statistics",
                        "fixed points per task epoch")
    tasks = [t for t in nets if nets[t]]
    fig, axes = plt.subplots(1, len(FIG7_MEASURES), figsize=(3.0 * len(FIG7_MEASURES) + 1.2, 0.26 * len(rows) + 1.6),
                             sharey=True, squeeze=False)
    reached = (summary or {}).get("reached_threshold")
    for k, (key, title) in enumerate(FIG7_MEASURES):
        ax = axes[0, k]
        _safe(counts, ax, title, lambda ax=ax, key=key, title=title: _fig7_panel(
            ax, key, title, nets, tasks, rows, counts, reached if key == "closest_relative" else None))
    ax0 = axes[0, 0]
    ax0.set_yticks(range(len(rows)))
    ax0.set_yticklabels([f"{rule_label(r)} · {e}" for r, e in rows], fontsize=6)
    ax0.set_ylim(len(rows) - 0.5, -0.5)
    handles = [Line2D([], [], ls="", marker="o", color=group_color(t), label=f"{group_label(t)} (n={len(nets[t])})")
               for t in nets]
    fig.legend(handles=handles, loc="upper center", ncol=len(handles), frameon=False, bbox_to_anchor=(0.5, 1.0))
    missing = [group_label(t) for t in GROUPS if t in nets and not nets[t]]
    if missing:
        note(ax0, "no networks: " + ", ".join(missing), "lower left")
    skipped = {key: counts.shown[f"nan_{key}"] for key, _ in FIG7_MEASURES if counts.shown[f"nan_{key}"]}
    if skipped:
        counts.notes.append("NaN values skipped: " + ", ".join(f"{k} {v}" for k, v in skipped.items()))
    try:
        fig.tight_layout(rect=(0, 0, 1, 0.95))
    except Exception:  # noqa: BLE001, S110
        pass
    if counts.set_aside:
        counts.notes.append(f"{len(counts.set_aside)} networks set aside (see set_aside)")
    counts.files = save_figure(fig, out_stem)
    return counts


def _fig7_panel(ax, key: str, title: str, nets: dict[str, list[NetAnalysis]], tasks: list[str],
                rows: list[tuple[str, str]], counts: FigureCounts, reached: float | None) -> None:
    row_index = {r: i for i, r in enumerate(rows)}
    offsets = {t: (k - (len(tasks) - 1) / 2) * (0.5 / max(len(tasks), 1)) for k, t in enumerate(tasks)}
    rng = np.random.default_rng(0)
    pts: dict[str, tuple[list[float], list[float]]] = {t: ([], []) for t in tasks}
    n_nan = 0
    for t in tasks:
        for n in nets[t]:
            for r, v in epoch_values(n, key).items():
                if not np.isfinite(v):
                    n_nan += 1
                    continue
                pts[t][0].append(v)
                pts[t][1].append(row_index[r] + offsets[t] + rng.uniform(-0.05, 0.05))
    values = np.array([v for t in tasks for v in pts[t][0]], dtype=np.float64)
    counts.shown[f"nan_{key}"] = n_nan
    ax.set_title(title)
    for i in range(len(rows)):
        if i % 2:
            ax.axhspan(i - 0.5, i + 0.5, color="0.95", lw=0, zorder=0)
    if not len(values):
        ax.text(0.5, 0.5, "no finite values", transform=ax.transAxes, ha="center", va="center", fontsize=7,
                color="0.35")
        return
    counting = key.startswith("n_")
    positive = values[values > 0]
    scale = "linear"
    if counting:
        if values.max() >= 50:
            scale = "symlog"
    elif len(positive) and positive.max() / positive.min() >= 100:
        scale = "log"
    drawn, nonpositive = 0, 0
    for t in tasks:
        v, y = np.asarray(pts[t][0]), np.asarray(pts[t][1])
        if scale == "log":
            nonpositive += int((v <= 0).sum())
            v, y = v[v > 0], y[v > 0]
        ax.scatter(v, y, s=10, color=group_color(t), alpha=0.8, edgecolor="none", zorder=3)
        drawn += len(v)
    counts.shown[f"points_{key}"] = drawn
    if scale == "log":
        ax.set_xscale("log")
        if nonpositive:
            counts.shown[f"nonpositive_{key}"] = nonpositive
            note(ax, f"{nonpositive} values ≤ 0 not shown (log axis)", "upper right")
    elif scale == "symlog":
        ax.set_xscale("symlog", linthresh=1)
    if counting and scale == "linear":
        ax.set_xlim(-0.5, max(1.0, float(values.max())) + 0.5)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if reached is not None and isinstance(reached, (int, float)):
        ax.axvline(float(reached), color="0.4", ls="--", lw=0.8)
        note(ax, f"dashed: {reached:g} (counts as reaching the point)", "lower right")
    if n_nan:
        note(ax, f"{n_nan} NaN skipped", "lower left")
    ax.set_xlabel("count" if counting else ("q" if key == "trajectory_min_q" else "distance / spread"))
