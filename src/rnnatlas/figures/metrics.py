"""Every distance side by side: geometry (SVCCA, CKA, Procrustes), dynamics (DSA) and the
fixed-point graphs, as the paper's Fig. 1 colours them, with the summary's silhouettes."""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import matplotlib.pyplot as plt

from rnnatlas.figures import palette as pal
from rnnatlas.figures.common import accepted_ids
from rnnatlas.figures.io import FigureCounts, PathLike, load_embedding, read_json, read_networks, save_figure
from rnnatlas.figures.panels import empty, mds_panel, note
from rnnatlas.similarity.names import REGISTRY

ROWS = (("architecture_among_tanh", "arch", {"activation": "tanh"}, "tanh, by architecture"),
        ("nonlinearity_among_vanilla", "activation", {"arch": "vanilla"}, "Vanilla, by nonlinearity"))


def metric_label(metric: str) -> str:
    return REGISTRY[metric].label if metric in REGISTRY else "fixed-point graph" if metric == "graph" else metric


def _score_note(test: Mapping | None) -> str:
    if not test or test.get("silhouette") is None:
        return "silhouette undefined"
    p = test.get("p_value")
    return f"silhouette {test['silhouette']:.2f}" + (f", p = {p:.3f}" if p is not None else "")


def figure_metrics(task_dirs: Mapping[str, PathLike], summary_path: PathLike, out_stem: PathLike) -> FigureCounts:
    """Rows: each task × (architecture among tanh networks, nonlinearity among Vanilla networks);
    columns: every metric of ``results/universality/summary.json`` (the configured ones and the
    graph distance). Each panel is the metric's 2-D MDS of accepted trained networks, titled by
    the silhouette of the grouping on the distance matrix and its permutation p-value."""
    pal.style()
    counts = FigureCounts("metrics_comparison")
    summary = read_json(summary_path) or {"tasks": {}}
    tasks = [t for t in task_dirs if t in summary["tasks"]]
    order = [*REGISTRY, "graph"]  # the registry's order: geometry, then dynamics, then topology
    metrics = sorted(summary["tasks"][tasks[0]]["metrics"], key=lambda m: order.index(m) if m in order else len(order)) \
        if tasks else []
    n_rows, n_cols = max(1, 2 * len(tasks)), max(1, len(metrics))
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(2.5 * n_cols, 2.4 * n_rows), squeeze=False)
    if not tasks:
        empty(axes[0][0], "no task in the summary", "metrics")
    for t, task in enumerate(tasks):
        task_dir = Path(task_dirs[task])
        keep = accepted_ids(read_networks(task_dir))
        for m, metric in enumerate(metrics):
            emb = load_embedding(task_dir, metric)
            tests = summary["tasks"][task]["metrics"][metric].get("paper_subsets", {})
            for r, (subset, colour, restrict, what) in enumerate(ROWS):
                ax = axes[2 * t + r][m]
                shown = mds_panel(ax, emb, keep, colour, f"{task}: {metric_label(metric)}\n{what}", restrict)
                counts.shown[f"{task}_{metric}_{subset}"] = len(shown)
                note(ax, _score_note(tests.get(subset, {}).get("distance")), "lower right")
    fig.tight_layout()
    counts.files = save_figure(fig, out_stem)
    return counts
