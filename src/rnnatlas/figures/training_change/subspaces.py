"""Figs. 6, 9, 10, 11 of study H: predictive information against the leaky-ReLU angle, principal
angles between DCA subspaces (before/after training, between input conditions) and the angles
of the DCA / PCA subspaces to the readout."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from rnnatlas.figures import palette as pal
from rnnatlas.figures.io import FigureCounts
from rnnatlas.figures.panels import empty
from rnnatlas.figures.training_change._common import (
    STATE_COLORS,
    NetResult,
    _finish,
    _no_tasks,
    _panels,
    _safe,
    load_results,
    mean_ci_columns,
    with_arrays,
)
from rnnatlas.figures.training_change._curves import _curve_figure

THETA_TICKS = (np.arange(5) * np.pi / 16, ["0", "π/16", "π/8", "3π/16", "π/4"])


# --------------------------------------------------------------------------- Figs. 6, 9, 10
def _theta_ticks(ax) -> None:
    ax.set_xticks(THETA_TICKS[0])
    ax.set_xticklabels(THETA_TICKS[1])


def figure_h_fig6_pi_theta(root: Path, out_stem: str) -> FigureCounts:
    """Predictive information against the leaky-ReLU angle θ, trained vs untrained, mean and 95 % CI."""
    return _curve_figure(root, out_stem, "h_fig6_pi_theta", "thetas",
                         {"trained": "pi_theta_trained", "untrained": "pi_theta_untrained"},
                         "leaky-ReLU angle θ (0: ReLU, π/4: linear)", "predictive information (nats)",
                         style_ax=_theta_ticks)


def _degrees_axis(ax) -> None:
    ax.set_ylim(0, 92)
    ax.axhline(90, color="0.7", lw=0.5)


def figure_h_fig9_dca_pre_post(root: Path, out_stem: str) -> FigureCounts:
    """Principal angles between the DCA subspaces before and after training, mean and 95 % CI."""
    return _curve_figure(root, out_stem, "h_fig9_dca_pre_post", None, {"pre vs post": "angles_pre_post"},
                         "principal angle index (dimension)", "angle (deg)", scale=180 / np.pi,
                         style_ax=_degrees_axis)


def figure_h_fig10_condition_angles(root: Path, out_stem: str) -> FigureCounts:
    """Principal angles between the two input conditions' DCA subspaces, trained vs untrained."""
    return _curve_figure(root, out_stem, "h_fig10_condition_angles", None,
                         {"trained": "condition_angles_trained", "untrained": "condition_angles_untrained"},
                         "principal angle index (dimension)", "angle between conditions (deg)", scale=180 / np.pi,
                         style_ax=_degrees_axis)


# --------------------------------------------------------------------------- Fig. 11
READOUT_ATTRS: dict[str, str] = {"DCA trained": "readout_angle_dca_trained", "DCA untrained": "readout_angle_dca_untrained",
                                 "PCA trained": "readout_angle_pca_trained", "PCA untrained": "readout_angle_pca_untrained"}


def readout_table(nets: Sequence[NetResult]) -> pd.DataFrame:
    """Long table (net_id, subspace, state, angle_deg) of the readout angles present and finite."""
    rows = []
    for n in nets:
        for label, key in READOUT_ATTRS.items():
            v = n.attrs.get(key)
            if isinstance(v, (int, float, np.floating, np.integer)) and np.isfinite(v):
                rows.append({"net_id": n.net_id, "subspace": label, "state": label.split()[1],
                             "angle_deg": float(v) * 180 / np.pi})
    return pd.DataFrame(rows, columns=["net_id", "subspace", "state", "angle_deg"])


def figure_h_fig11_readout_angles(root: Path, out_stem: str) -> FigureCounts:
    """Angle between each network's DCA / PCA subspace and the readout vector, trained and
    untrained: networks as points (pairs joined), mean and 95 % CI."""
    import seaborn as sns
    pal.style()
    counts = FigureCounts("h_fig11_readout_angles")
    results = load_results(root, counts)
    if not results:
        return _no_tasks("readout angles", counts, out_stem)
    fig, axes = _panels(len(results), w=3.4, h=2.8)
    order = list(READOUT_ATTRS)
    for j, (task, all_nets) in enumerate(results.items()):
        ax = axes[0, j]
        nets = with_arrays(all_nets, (), counts, attrs=tuple(READOUT_ATTRS.values()))
        counts.shown[task] = 0

        def draw(ax=ax, task=task, nets=nets) -> None:
            df = readout_table(nets)
            if df.empty:
                empty(ax, "no readout angles", task)
                return
            for net_id, g in df.groupby("net_id"):
                for m in ("DCA", "PCA"):
                    pair = g[g.subspace.str.startswith(m)].set_index("subspace").reindex([f"{m} trained", f"{m} untrained"])
                    ax.plot([order.index(f"{m} trained"), order.index(f"{m} untrained")], pair.angle_deg,
                            color="0.75", lw=0.4, zorder=1)
            sns.stripplot(data=df, x="subspace", y="angle_deg", hue="state", order=order, palette=STATE_COLORS,
                          ax=ax, size=3, jitter=False, legend=False, zorder=2)
            for k, label in enumerate(order):
                v = df.angle_deg[df.subspace == label].to_numpy()
                if len(v):
                    m, lo, hi, _ = mean_ci_columns(v[:, None])
                    err = np.array([[m[0] - lo[0]], [hi[0] - m[0]]]) if np.isfinite(lo[0]) else None
                    ax.errorbar(k + 0.25, m[0], yerr=err, color="k", marker="D", ms=3.5, capsize=2, lw=1, zorder=3)
            ax.set_xticks(range(len(order)))
            ax.set_xticklabels([o.replace(" ", "\n") for o in order])
            ax.set_xlabel("")
            ax.set_ylabel("angle to readout (deg)")
            ax.set_title(f"{task} (n={df.net_id.nunique()}): mean, 95 % CI (◆)")
            counts.shown[task] = int(df.net_id.nunique())
        _safe(counts, ax, task, draw)
    return _finish(fig, counts, out_stem)
