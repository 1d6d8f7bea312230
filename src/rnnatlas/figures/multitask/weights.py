"""Figures 3–4 of study M: the connectivity and biases; the recurrent units as a graph."""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize, TwoSlopeNorm
from matplotlib.lines import Line2D

from rnnatlas.figures import palette as pal
from rnnatlas.figures.io import (
    FigureCounts,
    save_figure,
)
from rnnatlas.figures.multitask._common import (
    INPUT_BLOCKS,
    TOP_SHARE,
    _finish,
    _key,
    _nothing,
    _safe,
    example_id,
    group_color,
    network_ids,
    read_params,
    read_probe_set,
    read_probe_states,
    rule_trials,
    trial_epochs,
)
from rnnatlas.figures.panels import empty, note


def figure_m_fig3_connectivity(root: Path, out_stem: str) -> FigureCounts:
    """W_in, W_rec and W_out of one Go-only network as one matrix, and the distributions of its
    recurrent (b_ih + b_hh) and output biases.

    Counts: ``shown["go_network"]``, ``shown["weights"]`` matrix entries drawn,
    ``shown["recurrent_biases"]``, ``shown["output_biases"]``."""
    pal.style()
    counts = FigureCounts("m_fig3_connectivity")
    zero = ("go_network", "weights", "recurrent_biases", "output_biases")
    _, ids = network_ids(root, counts)
    net_id = example_id(root, "go", ids.get("go", []), ("model.h5",), counts)
    params = read_params(root, "go", net_id) if net_id else None
    need = ("weight_ih", "weight_hh", "weight_out")
    if params is None or any(k not in params for k in need):
        if net_id:
            counts.set_aside[_key("go", net_id)] = "model.h5 unreadable or without weights"
        return _nothing(counts, out_stem, "no Go-only network with a model file", "connectivity", zero)
    counts.shown["go_network"] = 1
    counts.notes.append(f"network {net_id}")
    fig = plt.figure(figsize=(8.5, 6.0))
    gs = fig.add_gridspec(2, 2, width_ratios=[2.6, 1], hspace=0.45)
    ax_w = fig.add_subplot(gs[:, 0])
    ax_b, ax_o = fig.add_subplot(gs[0, 1]), fig.add_subplot(gs[1, 1])
    counts.shown["weights"] = int(_safe(counts, ax_w, "weights", lambda: _fig3_matrix(fig, ax_w, params)) or 0)
    rec_bias = params.get("bias_ih", 0.0) + params.get("bias_hh", 0.0) if ("bias_ih" in params or "bias_hh" in params) \
        else None
    counts.shown["recurrent_biases"] = int(_safe(counts, ax_b, "recurrent biases", lambda: _hist(
        ax_b, rec_bias, "recurrent bias b_ih + b_hh", group_color("go"))) or 0)
    counts.shown["output_biases"] = int(_safe(counts, ax_o, "output biases", lambda: _hist(
        ax_o, params.get("bias_out"), "output bias b_out", "#55A868")) or 0)
    fig.suptitle(f"Go-only network {net_id}", fontsize=9)
    return _finish(fig, counts, out_stem)


def _fig3_matrix(fig, ax, params: dict[str, np.ndarray]) -> int:
    w_in, w_rec, w_out = (np.atleast_2d(params[k]) for k in ("weight_ih", "weight_hh", "weight_out"))
    n, n_in = w_in.shape
    n_out = w_out.shape[0]
    m = np.full((n + n_out, n_in + n), np.nan)
    m[:n, :n_in], m[:n, n_in:], m[n:, n_in:] = w_in, w_rec, w_out
    finite = np.abs(m[np.isfinite(m)])
    vmax = float(np.percentile(finite, 99)) if len(finite) else 1.0
    vmax = vmax if vmax > 0 else 1.0
    cmap = plt.get_cmap(pal.DIVERGING_CMAP).with_extremes(bad="white")
    im = ax.imshow(np.ma.masked_invalid(m), cmap=cmap, norm=TwoSlopeNorm(0.0, -vmax, vmax), aspect="auto",
                   interpolation="nearest")
    for x in [n_in - 0.5] + ([b[1] - 0.5 for b in INPUT_BLOCKS[:-1]] if n_in == INPUT_BLOCKS[-1][2] else []):
        ax.plot([x, x], [-0.5, n - 0.5], color="0.3", lw=0.5 if x != n_in - 0.5 else 1.0)
    ax.axhline(n - 0.5, color="0.3", lw=1.0)
    xt = ([(b[1] + b[2] - 1) / 2 for b in INPUT_BLOCKS] if n_in == INPUT_BLOCKS[-1][2] else [(n_in - 1) / 2])
    xl = ([b[0] for b in INPUT_BLOCKS] if n_in == INPUT_BLOCKS[-1][2] else ["inputs"])
    ax.set_xticks(xt + [n_in + (n - 1) / 2])
    ax.set_xticklabels(xl + ["recurrent units (from)"], fontsize=7)
    ax.set_yticks([(n - 1) / 2, n + (n_out - 1) / 2])
    ax.set_yticklabels(["recurrent\nunits (to)", "outputs"], fontsize=7)
    ax.set_title(f"W_in [{n}×{n_in}] | W_rec [{n}×{n}] ; W_out [{n_out}×{n}]")
    cb = fig.colorbar(im, ax=ax, orientation="horizontal", fraction=0.04, pad=0.08, extend="both")
    cb.set_label("weight (colours clipped at the 99th percentile of |w|)", fontsize=7)
    cb.ax.tick_params(labelsize=6)
    return int(w_in.size + w_rec.size + w_out.size)


def _hist(ax, values, title: str, color: str) -> int:
    if values is None:
        empty(ax, "not in model.h5", title)
        return 0
    v = np.asarray(values, dtype=np.float64).ravel()
    v = v[np.isfinite(v)]
    if not len(v):
        empty(ax, "no finite values", title)
        return 0
    ax.hist(v, bins=min(30, max(5, len(v) // 2)), color=color, alpha=0.85)
    ax.axvline(0, color="0.5", lw=0.6)
    ax.set_title(f"{title} (n = {len(v)})")
    ax.set_xlabel("value")
    ax.set_ylabel("units")
    note(ax, f"mean {v.mean():.3g}, s.d. {v.std():.3g}", "upper right")
    return len(v)


# --------------------------------------------------------------------------- Fig. 4
def strongest_edges(w_rec: np.ndarray, share: float = TOP_SHARE) -> tuple[list[tuple[int, int, float]], float, int]:
    """(edges (from j, to i, w_ij) among the top ``share`` of the off-diagonal |W_rec|, the
    threshold, the number of self-connections at or above it, which are not edges)."""
    w = np.asarray(w_rec, dtype=np.float64)
    off = ~np.eye(w.shape[0], dtype=bool)
    mags = np.abs(w[off])
    if not len(mags) or not np.isfinite(mags).any() or np.nanmax(mags) == 0:
        return [], float("nan"), 0
    thr = float(np.nanquantile(mags, 1.0 - share))
    thr = thr if thr > 0 else float(np.nanmin(mags[mags > 0]))
    i, j = np.nonzero(off & (np.abs(w) >= thr))
    edges = [(int(b), int(a), float(w[a, b])) for a, b in zip(i, j)]
    n_self = int((np.abs(np.diag(w)) >= thr).sum())
    return edges, thr, n_self


def _window_activity(hidden: np.ndarray, labels: dict[str, np.ndarray], trials: np.ndarray) -> dict[str, np.ndarray]:
    """Per window (beginning = fixation, middle = stimulus, end = response), each unit's
    activity averaged over the window's steps of every trial."""
    windows = {"beginning": "fixation", "middle": "stimulus", "end": "response"}
    out = {}
    for label, epoch in windows.items():
        parts = []
        for b in trials:
            span = trial_epochs(labels, int(b)).get(epoch)
            if span:
                parts.append(hidden[b, span[0]:min(span[1], hidden.shape[1])])
        if parts:
            out[f"{label} ({epoch})"] = np.concatenate(parts).mean(0)
    return out


def figure_m_fig4_unit_graph(root: Path, out_stem: str) -> FigureCounts:
    """The strongest recurrent connections of one Go-only network as a directed graph (spring
    layout, seed 0), units coloured by their mean activity in the beginning, middle and end of the
    Go probe trials.

    Counts: ``shown["go_network"]``, ``shown["units"]``, ``shown["edges"]``, ``shown["windows"]``
    (activity panels drawn), ``shown["trials"]`` (probe trials averaged)."""
    import networkx as nx
    pal.style()
    counts = FigureCounts("m_fig4_unit_graph")
    zero = ("go_network", "units", "edges", "windows", "trials")
    _, ids = network_ids(root, counts)
    net_id = example_id(root, "go", ids.get("go", []), ("model.h5", "probe.h5"), counts)
    params = read_params(root, "go", net_id) if net_id else None
    if params is None or "weight_hh" not in params:
        if net_id:
            counts.set_aside[_key("go", net_id)] = "model.h5 unreadable or without weight_hh"
        return _nothing(counts, out_stem, "no Go-only network with model and probe files", "unit graph", zero)
    w = np.asarray(params["weight_hh"], dtype=np.float64)
    n = w.shape[0]
    edges, thr, n_self = strongest_edges(w)
    counts.shown.update(go_network=1, units=n, edges=len(edges), windows=0, trials=0)
    counts.notes.append(f"network {net_id}; edges: |w| ≥ {thr:.3g} (top {100 * TOP_SHARE:g} % of the off-diagonal "
                        f"|W_rec|); {n_self} self-connections at or above it not drawn")
    graph = nx.DiGraph()
    graph.add_nodes_from(range(n))
    graph.add_weighted_edges_from(edges)
    layout_graph = nx.Graph()
    layout_graph.add_nodes_from(range(n))
    layout_graph.add_weighted_edges_from((a, b, abs(x)) for a, b, x in edges)
    pos = nx.spring_layout(layout_graph, seed=0, weight="weight")
    probe = read_probe_states(root, "go", net_id)
    probe_set = read_probe_set(root, "go")
    labels = probe_set.labels if probe_set is not None else None
    activity: dict[str, np.ndarray] = {}
    if probe is None or labels is None:
        counts.notes.append("probe states or task labels missing: units not coloured by activity")
    else:
        trials = rule_trials(labels, "go")
        trials = trials[trials < probe[1].shape[0]]
        activity = _window_activity(probe[1], labels, trials)
        counts.shown["trials"] = len(trials)
    panels = list(activity) or ["no activity"]
    fig, axes = plt.subplots(1, len(panels), figsize=(3.3 * len(panels) + 0.8, 3.6), squeeze=False)
    values = np.concatenate(list(activity.values())) if activity else np.zeros(1)
    norm = Normalize(float(np.nanmin(values)), float(np.nanmax(values)) if np.nanmax(values) > np.nanmin(values)
                     else float(np.nanmin(values)) + 1e-9)
    wmax = max((abs(x) for _, _, x in edges), default=1.0)
    for k, name in enumerate(panels):
        ax = axes[0, k]
        ok = _safe(counts, ax, name, lambda ax=ax, name=name: _fig4_panel(
            ax, graph, pos, edges, wmax, activity.get(name), norm, name))
        counts.shown["windows"] += int(bool(ok) and name in activity)
    if activity:
        sm = ScalarMappable(norm=norm, cmap="magma")
        cb = fig.colorbar(sm, ax=list(axes[0]), fraction=0.03, pad=0.02)
        cb.set_label("mean activity r", fontsize=7)
        cb.ax.tick_params(labelsize=6)
    handles = [Line2D([], [], color="#C44E52", lw=1.2, label="excitatory (w > 0)"),
               Line2D([], [], color="#4C72B0", lw=1.2, label="inhibitory (w < 0)")]
    fig.legend(handles=handles, loc="lower center", ncol=2, frameon=False, bbox_to_anchor=(0.45, -0.02))
    fig.suptitle(f"Go-only network {net_id}: {len(edges)} strongest connections (|w| ≥ {thr:.2g})", fontsize=9)
    counts.files = save_figure(fig, out_stem)
    if counts.set_aside:
        counts.notes.append(f"{len(counts.set_aside)} networks set aside (see set_aside)")
    return counts


def _fig4_panel(ax, graph, pos, edges, wmax: float, activity: np.ndarray | None, norm, title: str) -> bool:
    import networkx as nx
    ax.set_axis_off()
    if edges:
        nx.draw_networkx_edges(graph, pos, ax=ax, edgelist=[(a, b) for a, b, _ in edges],
                               edge_color=["#C44E52" if x > 0 else "#4C72B0" for _, _, x in edges],
                               width=[0.3 + 1.5 * abs(x) / wmax for _, _, x in edges], alpha=0.6,
                               arrows=True, arrowsize=5, node_size=40)
    xy = np.array([pos[i] for i in range(len(pos))])
    if activity is not None:
        ax.scatter(xy[:, 0], xy[:, 1], c=activity, cmap="magma", norm=norm, s=40, edgecolor="0.3", lw=0.3, zorder=3)
    else:
        ax.scatter(xy[:, 0], xy[:, 1], color="0.6", s=40, edgecolor="0.3", lw=0.3, zorder=3)
    ax.set_title(title)
    if not edges:
        note(ax, "no connections above the threshold")
    return True


# --------------------------------------------------------------------------- Fig. 5
