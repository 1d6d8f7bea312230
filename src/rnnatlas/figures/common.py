"""Pieces common to the task figures: network sets, example I/O, fixed-point/graph panel."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from rnnatlas.figures import palette as pal
from rnnatlas.figures.io import (FigureCounts, NetInfo, load_embedding, node_count_set_aside,
                                 not_accepted_reasons, pca, project, read_graph_safe, read_probe_safe,
                                 set_aside_attr)
from rnnatlas.figures.panels import empty, example_net, mds_panel, note


def accepted_ids(nets: list[NetInfo]) -> list[str]:
    return [n.net_id for n in nets if n.trained and n.accepted]


def mds_pair(axes, task_dir: Path, nets: list[NetInfo], metric: str, label: str,
             counts: FigureCounts, key: str) -> None:
    """Two MDS panels of one distance: by architecture (tanh) and by nonlinearity (Vanilla)."""
    emb = load_embedding(task_dir, metric)
    keep = accepted_ids(nets)
    n_rej = len(not_accepted_reasons(nets))
    aside = set_aside_attr(emb)
    for reason_id, reason in aside.items():
        if reason_id in keep:
            counts.set_aside.setdefault(reason_id, f"{metric}: {reason}")
    miss = []
    if n_rej:
        miss.append(f"{n_rej} not accepted")
    n_aside = len([i for i in aside if i in keep])
    if n_aside:
        miss.append(f"{n_aside} set aside")
    msg = ", ".join(miss) + " (not shown)" if miss else ""
    a = mds_panel(axes[0], emb, keep, "arch", f"{label} MDS, tanh, by architecture",
                  {"activation": "tanh"}, msg)
    b = mds_panel(axes[1], emb, keep, "activation", f"{label} MDS, Vanilla, by nonlinearity",
                  {"arch": "vanilla"}, msg)
    counts.shown[f"{key}_mds_tanh"] = len(a)
    counts.shown[f"{key}_mds_vanilla"] = len(b)


def base_counts(name: str, nets: list[NetInfo]) -> FigureCounts:
    c = FigureCounts(name)
    c.set_aside.update(not_accepted_reasons(nets))
    c.shown["networks_trained"] = sum(n.trained for n in nets)
    c.shown["networks_accepted"] = len(accepted_ids(nets))
    return c


def graph_example(nets: list[NetInfo], task_dir: Path, prefer: tuple[str, str] = ("vanilla", "tanh")):
    """An accepted network with the modal node count (preferring ``prefer``) and its graph."""
    aside = node_count_set_aside(task_dir)
    order = [prefer] + [(a, b) for b in pal.ACT_ORDER for a in pal.ARCH_ORDER if (a, b) != prefer]
    for arch, act in order:
        cands = sorted((n for n in nets if n.trained and n.accepted and n.arch == arch
                        and n.activation == act and n.net_id not in aside), key=lambda n: n.seed)
        for n in cands:
            g = read_graph_safe(task_dir, n.net_id)
            if g is not None and g[2].get("analysed", True) and g[1]["adjacency"].shape[0] > 0:
                return n, g
    return None, None


def example_io(fig, spec, task_dir: Path, td, nets: list[NetInfo], title: str) -> str | None:
    """Inputs, targets and one example network's outputs on probe trial 0, one row per channel."""
    n = example_net(nets, "vanilla", "tanh", task_dir) or next(
        (m for m in nets if m.trained and m.accepted), None)
    probe = read_probe_safe(task_dir, n.net_id) if n else None
    if td is None:
        ax = fig.add_subplot(spec)
        empty(ax, "task_data.h5 missing", title)
        return None
    x = np.asarray(td.probe.batch.inputs)[:, 0, :]   # [T, I] (time-major batches)
    y = np.asarray(td.probe.batch.targets)[:, 0, :]
    nch = max(x.shape[1], y.shape[1])
    sub = spec.subgridspec(nch, 1, hspace=0.15)
    for c in range(nch):
        ax = fig.add_subplot(sub[c])
        if c < x.shape[1]:
            ax.plot(x[:, c], color="0.6", lw=0.8, label="input")
        if c < y.shape[1]:
            ax.plot(y[:, c], color="k", lw=1.0, ls="--", label="target")
        if probe is not None and c < probe[1].shape[2]:
            ax.plot(probe[1][0, :, c], color=pal.arch_color(n.arch), lw=1.0, label="output")
        ax.set_ylabel(f"bit {c + 1}" if nch == 3 else f"ch {c + 1}", fontsize=7)
        ax.tick_params(labelsize=6)
        if c == 0:
            ax.set_title(title + (f"\n({n.net_id})" if n else ""), fontsize=8)
        if c == nch - 1:
            ax.legend(loc="upper center", ncol=3, frameon=False, fontsize=6, bbox_to_anchor=(0.5, -0.45))
        if c < nch - 1:
            ax.set_xticklabels([])
        else:
            ax.set_xlabel("time step")
    return n.net_id if n else None


def fixed_point_graph_panel(ax, task_dir: Path, net: NetInfo | None, graph, title: str,
                            color: str = "unstable") -> None:
    """Graph nodes in the PCA space of the network's probe states, coloured by the number of
    unstable directions, edges (adjacency > 0) drawn with alpha ∝ weight."""
    ax.set_title(title)
    if net is None or graph is None:
        empty(ax, "no accepted network with the modal\nfixed-point count", title)
        return
    _, arrays, _ = graph
    z = trajectories_and_nodes(ax, task_dir, net.net_id, np.asarray(arrays["node_h"], dtype=float),
                               lambda k: "0.8", lw=0.4)
    adj = np.asarray(arrays["adjacency"], dtype=float)
    wmax = adj[~np.eye(len(adj), dtype=bool)].max() if len(adj) > 1 else 0.0
    for i in range(len(adj)):
        for j in range(len(adj)):
            if i != j and adj[i, j] > 0 and wmax > 0:
                ax.plot(z[[i, j], 0], z[[i, j], 1], color="0.3", lw=0.6,
                        alpha=float(0.15 + 0.85 * adj[i, j] / wmax), zorder=2)
    nu = np.asarray(arrays["node_n_unstable"]).astype(int)
    for u in sorted(set(nu.tolist())):
        k = nu == u
        ax.scatter(z[k, 0], z[k, 1], s=22, color=pal.unstable_color(u), zorder=3, edgecolor="white",
                   lw=0.4, label=f"{u} unstable")
    ax.legend(loc="best", frameon=False, fontsize=6, title="directions", title_fontsize=6)
    ax.set_xlabel("PC 1"), ax.set_ylabel("PC 2")
    ax.set_xticks([]), ax.set_yticks([])
    note(ax, f"{net.net_id}\n{len(adj)} nodes", "lower right")


def trajectories_and_nodes(ax, task_dir: Path, net_id: str, node_h: np.ndarray, colour_of, lw: float = 0.5,
                           alpha: float = 1.0, zorder: int = 1) -> np.ndarray:
    """Draw a network's probe trajectories in the PCA space of its probe states (colour_of(k)
    for trial k) and return its graph nodes projected into the same space (PCA of the nodes
    themselves when the probe file is missing)."""
    probe = read_probe_safe(task_dir, net_id)
    if probe is not None:
        hidden = probe[0]
        mean, comps = pca(hidden.reshape(-1, hidden.shape[-1]))
        for k in range(hidden.shape[0]):
            z = project(hidden[k], mean, comps)
            ax.plot(z[:, 0], z[:, 1], color=colour_of(k), lw=lw, alpha=alpha, zorder=zorder)
    else:
        mean, comps = pca(node_h)
    return project(node_h, mean, comps)
