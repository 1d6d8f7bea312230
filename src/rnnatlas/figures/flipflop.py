"""Fig. 1: the 3-bit flip-flop."""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt

from rnnatlas.figures import palette as pal
from rnnatlas.figures.common import (accepted_ids, base_counts, example_io, fixed_point_graph_panel,
                                     graph_example, mds_pair)
from rnnatlas.figures.io import (FigureCounts, PathLike, load_pairwise, node_count_set_aside,
                                 read_networks, read_task_data_safe, save_figure)
from rnnatlas.figures.panels import distance_matrix_panel, group_legend, panel_label, pca_grid


def figure_flipflop(task_dir: PathLike, out_stem: PathLike) -> FigureCounts:
    """Fig. 1 from ``results/flipflop``: example I/O, PCA trajectories, SVCCA matrix and MDS,
    one network's fixed points with its transition graph, graph-distance MDS."""
    task_dir = Path(task_dir)
    pal.style()
    nets = read_networks(task_dir)
    counts = base_counts("fig1_flipflop", nets)
    fig = plt.figure(figsize=(12, 12.5))
    gs = fig.add_gridspec(3, 3, height_ratios=[1.0, 1.0, 1.0], hspace=0.38, wspace=0.3,
                          left=0.06, right=0.98, top=0.96, bottom=0.06)
    td = read_task_data_safe(task_dir)
    example_io(fig, gs[0, 0], task_dir, td, nets, "a  example inputs / outputs")
    shown = pca_grid(fig, gs[0, 1:], task_dir, nets, lambda k, n: pal.arch_color(n.arch),
                     "b  probe trajectories (top-2 PCs of each network)")
    counts.shown["pca_trajectories"] = len(shown)
    ax = fig.add_subplot(gs[1, 0])
    drawn = distance_matrix_panel(fig, ax, load_pairwise(task_dir, "svcca"), accepted_ids(nets),
                                  "SVCCA distance (ordered by configuration)")
    panel_label(ax, "c")
    counts.shown["svcca_matrix"] = len(drawn)
    axes = [fig.add_subplot(gs[1, 1]), fig.add_subplot(gs[1, 2])]
    mds_pair(axes, task_dir, nets, "svcca", "SVCCA", counts, "svcca")
    panel_label(axes[0], "d"), panel_label(axes[1], "e")
    ax = fig.add_subplot(gs[2, 0])
    net, graph = graph_example(nets, task_dir)
    fixed_point_graph_panel(ax, task_dir, net, graph, "fixed points and transition graph")
    panel_label(ax, "f")
    axes = [fig.add_subplot(gs[2, 1]), fig.add_subplot(gs[2, 2])]
    for i, r in node_count_set_aside(task_dir).items():
        counts.set_aside.setdefault(i, "graph panels: " + r)
    mds_pair(axes, task_dir, nets, "graph", "graph", counts, "graph")
    panel_label(axes[0], "g"), panel_label(axes[1], "h")
    group_legend(fig, 0.0)
    counts.files = save_figure(fig, out_stem)
    return counts
