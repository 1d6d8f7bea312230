"""Fig. 2: sine-wave generation."""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib import cm, colors

from rnnatlas.figures import palette as pal
from rnnatlas.figures.common import base_counts, graph_example, mds_pair, trajectories_and_nodes
from rnnatlas.figures.curves import group_curves
from rnnatlas.figures.io import (FigureCounts, PathLike, dynamics_summary, node_count_set_aside, read_networks,
                                 read_task_data_safe, save_figure)
from rnnatlas.figures.panels import empty, group_legend, note, panel_label, pca_grid


def _frequencies(td, n_trials: int) -> np.ndarray:
    if td is not None and "frequency" in td.probe.labels:
        return np.asarray(td.probe.labels["frequency"], dtype=float)
    return np.linspace(0, 1, n_trials)


def figure_sine(task_dir: PathLike, out_stem: PathLike) -> FigureCounts:
    """Fig. 2 from ``results/sine``: trajectories by command frequency, SVCCA MDS, one network's
    fixed points per command and their eigenvalues, graph MDS, linearised vs command frequency."""
    task_dir = Path(task_dir)
    pal.style()
    nets = read_networks(task_dir)
    counts = base_counts("fig2_sine", nets)
    td = read_task_data_safe(task_dir)
    freq = _frequencies(td, 11)
    norm = colors.Normalize(freq.min(), freq.max())
    cmap = plt.get_cmap(pal.FREQ_CMAP)
    fig = plt.figure(figsize=(13, 12.5))
    gs = fig.add_gridspec(3, 3, hspace=0.42, wspace=0.32, left=0.06, right=0.97, top=0.95, bottom=0.07)
    shown = pca_grid(fig, gs[0, :2], task_dir, nets,
                     lambda k, n: cmap(norm(freq[k])) if k < len(freq) else "0.5",
                     "a  probe trajectories coloured by command frequency (top-2 PCs)")
    counts.shown["pca_trajectories"] = len(shown)
    net, graph = graph_example(nets, task_dir, ("vanilla", "tanh"))
    ax = fig.add_subplot(gs[0, 2])
    _fixed_points(ax, task_dir, net, graph, freq, norm, cmap)
    panel_label(ax, "b")
    axes = [fig.add_subplot(gs[1, 0]), fig.add_subplot(gs[1, 1])]
    mds_pair(axes, task_dir, nets, "svcca", "SVCCA", counts, "svcca")
    panel_label(axes[0], "c"), panel_label(axes[1], "d")
    ax = fig.add_subplot(gs[1, 2])
    _eigenvalues(ax, net, graph, norm, cmap)
    panel_label(ax, "e")
    for i, r in node_count_set_aside(task_dir).items():
        counts.set_aside.setdefault(i, "graph panels: " + r)
    axes = [fig.add_subplot(gs[2, 0]), fig.add_subplot(gs[2, 1])]
    mds_pair(axes, task_dir, nets, "graph", "graph", counts, "graph")
    panel_label(axes[0], "f"), panel_label(axes[1], "g")
    ds = dynamics_summary(task_dir) or {}
    x = ds.get("command_frequency", freq)
    sub = gs[2, 2].subgridspec(2, 1, hspace=0.55)
    a1, a2 = fig.add_subplot(sub[0]), fig.add_subplot(sub[1])
    n1 = group_curves(a1, ds.get("linearized_frequency_by_arch"), x, "arch",
                      "linearised vs command frequency", "", "|arg λ|/2π", diagonal=True)
    group_curves(a2, ds.get("linearized_frequency_by_activation"), x, "activation", "",
                 "command frequency (cycles / step)", "|arg λ|/2π", diagonal=True)
    panel_label(a1, "h")
    counts.shown["frequency_curves"] = n1
    err = ds.get("median_relative_frequency_error")
    if err is not None:
        note(a2, f"median relative error {err:.2f}", "lower right")
    cax = fig.add_axes([0.40, 0.015, 0.2, 0.008])
    cb = fig.colorbar(cm.ScalarMappable(norm=norm, cmap=cmap), cax=cax, orientation="horizontal")
    cb.set_label("command frequency (cycles / step)", fontsize=7)
    cb.ax.tick_params(labelsize=6)
    group_legend(fig, 0.03)
    counts.files = save_figure(fig, out_stem)
    return counts


def _fixed_points(ax, task_dir: Path, net, graph, freq, norm, cmap) -> None:
    title = "fixed point per command"
    if net is None:
        empty(ax, "no accepted network with the modal node count", title)
        return
    _, arrays, _ = graph
    h = np.asarray(arrays["node_h"], dtype=float)
    z = trajectories_and_nodes(ax, task_dir, net.net_id, h,
                               lambda k: cmap(norm(freq[k])) if k < len(freq) else "0.5", lw=0.5, alpha=0.5)
    cond = np.asarray(arrays["node_condition"]).astype(int)
    f = np.array([freq[c] if 0 <= c < len(freq) else np.nan for c in cond])
    ax.plot(z[:, 0], z[:, 1], color="0.3", lw=0.6, zorder=2)
    ax.scatter(z[:, 0], z[:, 1], c=cmap(norm(f)), s=30, edgecolor="k", lw=0.5, zorder=3)
    ax.set_title(title), ax.set_xlabel("PC 1"), ax.set_ylabel("PC 2")
    ax.set_xticks([]), ax.set_yticks([])
    note(ax, net.net_id, "lower right")


def _eigenvalues(ax, net, graph, norm, cmap) -> None:
    title = "eigenvalues of the linearisations"
    if net is None:
        empty(ax, "no accepted network with the modal node count", title)
        return
    _, arrays, _ = graph
    ev = np.asarray(arrays["node_eigenvalues"])
    cond = np.asarray(arrays["node_condition"]).astype(int)
    freq = np.asarray(arrays.get("condition_frequency", np.arange(len(cond))), dtype=float)
    t = np.linspace(0, 2 * np.pi, 200)
    ax.plot(np.cos(t), np.sin(t), color="0.5", lw=0.8, ls="--")
    for i in range(len(ev)):
        fi = freq[cond[i]] if 0 <= cond[i] < len(freq) else np.nan
        ax.scatter(ev[i].real, ev[i].imag, s=6, color=cmap(norm(fi)), alpha=0.8, lw=0)
    ax.set_aspect("equal")
    ax.set_xlabel("Re λ"), ax.set_ylabel("Im λ"), ax.set_title(title)
    lim = max(1.15, float(np.nanmax(np.abs(ev))) * 1.05) if ev.size else 1.15
    ax.set_xlim(-lim, lim), ax.set_ylim(-lim, lim)
    note(ax, f"{net.net_id}, all {len(ev)} nodes", "lower right")
