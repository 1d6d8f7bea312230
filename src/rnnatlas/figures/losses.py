"""Loss histograms of all networks per task (the paper's appendix C)."""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from rnnatlas.figures import palette as pal
from rnnatlas.figures.io import FigureCounts, PathLike, read_networks, read_json, save_figure
from rnnatlas.figures.panels import empty, note


def figure_losses(task_dirs: Mapping[str, PathLike], out_stem: PathLike) -> FigureCounts:
    """One panel per task: stacked histogram (log x) of final validation loss of trained networks,
    by architecture, with the acceptance threshold; networks with non-finite loss are counted."""
    pal.style()
    counts = FigureCounts("loss_histograms")
    tasks = list(task_dirs)
    fig, axes = plt.subplots(1, max(len(tasks), 1), figsize=(4.2 * max(len(tasks), 1), 3.4), squeeze=False)
    for ax, task in zip(axes[0], tasks):
        task_dir = Path(task_dirs[task])
        nets = [n for n in read_networks(task_dir) if n.trained]
        loss = np.array([n.final_val_loss for n in nets], dtype=float)
        ok = np.isfinite(loss) & (loss > 0)
        counts.shown[task] = int(ok.sum())
        for n, good in zip(nets, ok):
            if not good:
                counts.set_aside[n.net_id] = f"{task}: no finite final loss ({n.failure_reason or 'failed'})"
        if not ok.any():
            empty(ax, "no finite losses", task)
            continue
        lo, hi = np.log10(loss[ok].min()), np.log10(loss[ok].max())
        bins = np.logspace(lo - 0.05, hi + 0.05, 25)
        data = [loss[ok & np.array([n.arch == a for n in nets])] for a in pal.ARCH_ORDER]
        ax.hist(data, bins=bins, stacked=True, color=[pal.arch_color(a) for a in pal.ARCH_ORDER],
                label=[pal.ARCH_LABELS[a] for a in pal.ARCH_ORDER])
        ax.set_xscale("log")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        thr = _threshold(task_dir)
        if thr is not None:
            ax.axvline(thr, color="k", ls="--", lw=0.9)
        n_acc = sum(n.accepted for n in nets)
        ax.set_title(f"{task}: {n_acc} of {len(nets)} accepted")
        ax.set_xlabel("final validation loss"), ax.set_ylabel("networks")
        handles = [Line2D([], [], lw=6, color=pal.arch_color(a), label=pal.ARCH_LABELS[a]) for a in pal.ARCH_ORDER]
        if thr is not None:
            handles.append(Line2D([], [], color="k", ls="--", label=f"threshold {thr:g}"))
        ax.legend(handles=handles, frameon=False, loc="upper left", fontsize=6)
        if (~ok).any():
            note(ax, f"{int((~ok).sum())} without a finite loss", "upper right")
    fig.tight_layout()
    counts.files = save_figure(fig, out_stem)
    return counts


def _threshold(task_dir: Path) -> float | None:
    d = read_json(task_dir / "training_summary.json") or {}
    t = d.get("accept_threshold")
    return float(t) if t is not None else None
