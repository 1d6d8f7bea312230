"""Fig. 3: context-dependent integration (CDI)."""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D

from rnnatlas.figures import palette as pal
from rnnatlas.figures.common import base_counts, graph_example, mds_pair, trajectories_and_nodes
from rnnatlas.figures.curves import group_curves
from rnnatlas.figures.io import (FigureCounts, PathLike, dynamics_summary, node_count_set_aside, read_networks,
                                 read_task_data_safe, save_figure)
from rnnatlas.figures.panels import empty, group_legend, note, panel_label, pca_grid


def trial_colors(td, n_trials: int) -> list:
    """Colour per probe trial: context picks the colour map, the cued mean its shade."""
    labels = td.probe.labels if td is not None else {}
    ctx = np.asarray(labels.get("context", np.zeros(n_trials)), dtype=int)
    cued = np.asarray(labels.get("mean_cued", np.zeros(n_trials)), dtype=float)
    span = max(float(np.abs(cued).max()), 1e-12)
    out = []
    for k in range(min(n_trials, len(ctx))):
        cmap = plt.get_cmap(pal.CONTEXT_CMAPS[ctx[k] % len(pal.CONTEXT_CMAPS)])
        out.append(cmap(0.3 + 0.65 * (cued[k] / span + 1) / 2))
    return out


def figure_cdi(task_dir: PathLike, out_stem: PathLike) -> FigureCounts:
    """Fig. 3 from ``results/cdi``: trajectories, one network's line attractor, SVCCA and graph MDS,
    sorted eigenvalue moduli and the linear-system response vs modes kept, by architecture."""
    task_dir = Path(task_dir)
    pal.style()
    nets = read_networks(task_dir)
    counts = base_counts("fig3_cdi", nets)
    td = read_task_data_safe(task_dir)
    cols = trial_colors(td, 10_000)
    fig = plt.figure(figsize=(13, 12.5))
    gs = fig.add_gridspec(3, 3, hspace=0.42, wspace=0.32, left=0.06, right=0.97, top=0.95, bottom=0.06)
    shown = pca_grid(fig, gs[0, :2], task_dir, nets, lambda k, n: cols[k] if k < len(cols) else "0.5",
                     "a  probe trajectories (blue: context 1, orange: context 2; shade: cued mean)")
    counts.shown["pca_trajectories"] = len(shown)
    net, graph = graph_example(nets, task_dir, ("gru", "tanh"))
    ax = fig.add_subplot(gs[0, 2])
    _line_attractor(ax, task_dir, net, graph, cols)
    panel_label(ax, "b")
    axes = [fig.add_subplot(gs[1, 0]), fig.add_subplot(gs[1, 1])]
    mds_pair(axes, task_dir, nets, "svcca", "SVCCA", counts, "svcca")
    panel_label(axes[0], "c"), panel_label(axes[1], "d")
    for i, r in node_count_set_aside(task_dir).items():
        counts.set_aside.setdefault(i, "graph panels: " + r)
    axes = [fig.add_subplot(gs[2, 0]), fig.add_subplot(gs[2, 1])]
    mds_pair(axes, task_dir, nets, "graph", "graph", counts, "graph")
    panel_label(axes[0], "e"), panel_label(axes[1], "f")
    ds = dynamics_summary(task_dir) or {}
    ax = fig.add_subplot(gs[1, 2])
    spec = ds.get("sorted_eigenvalue_modulus_by_arch")
    k = len(next(iter(spec.values()))["mean"]) if spec else 0
    counts.shown["eigenvalues"] = group_curves(ax, spec, np.arange(1, k + 1), "arch",
                                               "sorted eigenvalue moduli at the attractor", "rank", "|λ|")
    ax.axhline(1.0, color="0.5", ls=":", lw=0.8)
    panel_label(ax, "g")
    ax = fig.add_subplot(gs[2, 2])
    resp = ds.get("mode_response_by_arch")
    modes = ds.get("modes_kept", np.arange(1, 11))
    big = resp and any(max(abs(v) for v in d["mean"] if v is not None) > 10 for d in resp.values() if d.get("n"))
    counts.shown["mode_response"] = group_curves(ax, resp, modes, "arch",
                                                 "linear-system response to a unit input", "modes kept",
                                                 "readout change", logy=bool(big))
    if big:
        note(ax, "log scale: some architectures respond far beyond 1", "lower right")
    panel_label(ax, "h")
    group_legend(fig, 0.0)
    counts.files = save_figure(fig, out_stem)
    return counts


def _line_attractor(ax, task_dir: Path, net, graph, cols) -> None:
    title = "trajectories and slow points (line attractor)"
    if net is None:
        empty(ax, "no accepted network with the modal node count", title)
        return
    _, arrays, _ = graph
    h = np.asarray(arrays["node_h"], dtype=float)
    z = trajectories_and_nodes(ax, task_dir, net.net_id, h, lambda k: cols[k] if k < len(cols) else "0.5",
                               lw=0.6, alpha=0.7)
    adj = np.asarray(arrays["adjacency"], dtype=float)
    for i, j in zip(*np.nonzero(adj)):
        if i != j:
            ax.plot(z[[i, j], 0], z[[i, j], 1], color="k", lw=0.8, zorder=2)
    ax.scatter(z[:, 0], z[:, 1], s=14, color="k", zorder=3)
    ax.set_title(title), ax.set_xlabel("PC 1"), ax.set_ylabel("PC 2")
    ax.set_xticks([]), ax.set_yticks([])
    ax.legend(handles=[Line2D([], [], color="k", marker="o", ms=3, label=f"graph nodes ({len(h)})")],
              frameon=False, loc="upper left")
    note(ax, net.net_id, "lower right")
