"""Figures 5–6 of study M: activity in PC space; task variance, task vectors and compositionality."""
from __future__ import annotations

import math
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D

from rnnatlas.figures import palette as pal
from rnnatlas.figures.io import (
    FigureCounts,
    pca,
    project,
)
from rnnatlas.figures.multitask._common import (
    ACTIVE_VARIANCE,
    EPOCH_ORDER,
    VECTOR_COLORS,
    VECTOR_MARKERS,
    VECTOR_RULES,
    NetAnalysis,
    _angle_color,
    _angle_colorbar,
    _finish,
    _key,
    _nothing,
    _safe,
    _trial_end,
    example_id,
    format_ci,
    network_ids,
    read_analyses,
    read_probe_set,
    read_probe_states,
    rule_label,
    rule_trials,
    trial_epochs,
)
from rnnatlas.figures.panels import empty, note


def figure_m_fig5_pca(root: Path, out_stem: str) -> FigureCounts:
    """Input, recurrent and output activity of one Go-only network on the Go probe trials, each
    group projected on its own first two PCs in each epoch, coloured by the stimulus angle
    (modality 2 dashed); and the recurrent trajectories in their first three PCs.

    Counts: ``shown["go_network"]``, ``shown["trials"]`` probe trials drawn, ``shown["epochs"]``,
    ``shown["panels"]`` 2-D panels drawn (groups × epochs), ``shown["trajectories_3d"]``."""
    pal.style()
    counts = FigureCounts("m_fig5_pca")
    zero = ("go_network", "trials", "epochs", "panels", "trajectories_3d")
    _, ids = network_ids(root, counts)
    net_id = example_id(root, "go", ids.get("go", []), ("probe.h5",), counts)
    probe = read_probe_states(root, "go", net_id) if net_id else None
    probe_set = read_probe_set(root, "go")
    if probe is None or probe_set is None:
        if net_id:
            counts.set_aside[_key("go", net_id)] = ("probe.h5 unreadable" if probe is None
                                                    else "task_data.h5 missing or unreadable")
        return _nothing(counts, out_stem, "no Go-only network with probe states and task data", "activity in PC space",
                        zero)
    _, hidden, outputs = probe
    labels = probe_set.labels
    trials = rule_trials(labels, "go")
    trials = trials[trials < min(hidden.shape[0], probe_set.inputs.shape[0])]
    if not len(trials):
        return _nothing(counts, out_stem, "no Go probe trials", "activity in PC space", zero)
    counts.shown["go_network"] = 1
    counts.notes.append(f"network {net_id}")
    epochs = [e for e in EPOCH_ORDER if any(e in trial_epochs(labels, int(b)) for b in trials)]
    groups = {"input": probe_set.inputs, "recurrent": hidden, "output": outputs}
    counts.shown.update(trials=len(trials), epochs=len(epochs), panels=0, trajectories_3d=0)
    fig = plt.figure(figsize=(2.4 * len(epochs) + 4.2, 7.2))
    gs = fig.add_gridspec(3, len(epochs) + 1, width_ratios=[1] * len(epochs) + [1.8])
    for r, (gname, states) in enumerate(groups.items()):
        for c, epoch in enumerate(epochs):
            ax = fig.add_subplot(gs[r, c])
            ok = _safe(counts, ax, f"{gname} {epoch}", lambda ax=ax, states=states, epoch=epoch, r=r, c=c, g=gname:
                       _fig5_panel(ax, states, labels, trials, epoch, g if c == 0 else None, epoch if r == 0 else None))
            counts.shown["panels"] += int(bool(ok))
    ax3 = fig.add_subplot(gs[:, -1], projection="3d")
    counts.shown["trajectories_3d"] = int(_safe(counts, ax3, "recurrent PCs 1–3",
                                                lambda: _fig5_3d(ax3, hidden, labels, trials), three_d=True) or 0)
    _angle_colorbar(fig, ax3)
    fig.suptitle(f"Go-only network {net_id}: Go probe trials (solid: modality 1, dashed: modality 2)", fontsize=9)
    return _finish(fig, counts, out_stem)


def _segments(states: np.ndarray, labels: dict[str, np.ndarray], trials: np.ndarray, epoch: str):
    out = []
    for b in trials:
        span = trial_epochs(labels, int(b)).get(epoch)
        if span:
            seg = states[b, span[0]:min(span[1], states.shape[1])]
            if len(seg):
                out.append((int(b), seg))
    return out


def _fig5_panel(ax, states: np.ndarray, labels: dict[str, np.ndarray], trials: np.ndarray, epoch: str,
                row: str | None, col: str | None) -> bool:
    segs = _segments(states, labels, trials, epoch)
    ax.set_xticks([]), ax.set_yticks([])
    if col:
        ax.set_title(col)
    if row:
        ax.set_ylabel(f"{row}\nPC 2")
    if not segs:
        note(ax, "no steps in this epoch")
        return False
    x = np.concatenate([s for _, s in segs])
    mean, comps = pca(x, 2)
    total = float(((x - mean) ** 2).sum())
    angle = np.asarray(labels.get("angle", np.zeros(len(labels["rule"]))), dtype=np.float64)
    modality = np.asarray(labels.get("modality", np.ones(len(labels["rule"]))))
    for b, seg in segs:
        z = project(seg, mean, comps)
        color = _angle_color(angle[b])
        ls = "-" if int(modality[b]) == 1 else "--"
        ax.plot(z[:, 0], z[:, 1], color=color, lw=0.8, ls=ls, alpha=0.85)
        ax.plot(z[-1, 0], z[-1, 1], "o", color=color, ms=2.5)
    ax.set_xlabel("PC 1", fontsize=7)
    if total <= 1e-12 * max(1, x.size):
        note(ax, "no variance (constant)")
    else:
        var = (project(x, mean, comps) ** 2).sum(0) / total
        note(ax, f"var. {100 * var[0]:.0f} %, {100 * var[1]:.0f} %", "upper right")
    return True


def _fig5_3d(ax, hidden: np.ndarray, labels: dict[str, np.ndarray], trials: np.ndarray) -> int:
    ends = [_trial_end(labels, int(b), hidden.shape[1]) for b in trials]
    x = np.concatenate([hidden[b, :e] for b, e in zip(trials, ends)])
    mean, comps = pca(x, 3)
    angle = np.asarray(labels.get("angle", np.zeros(len(labels["rule"]))), dtype=np.float64)
    modality = np.asarray(labels.get("modality", np.ones(len(labels["rule"]))))
    for b, e in zip(trials, ends):
        z = project(hidden[b, :e], mean, comps)
        color = _angle_color(angle[b])
        ax.plot(z[:, 0], z[:, 1], z[:, 2], color=color, lw=0.7, ls="-" if int(modality[b]) == 1 else "--", alpha=0.85)
        for epoch, (start, _) in trial_epochs(labels, int(b)).items():
            if 0 < start < e:
                ax.scatter(*z[start], color=color, s=8, marker="^" if epoch == "response" else "o",
                           edgecolor="0.2", lw=0.3)
        ax.scatter(*z[0], color="0.3", s=6, marker="x")
    ax.set_xlabel("PC 1", fontsize=7), ax.set_ylabel("PC 2", fontsize=7), ax.set_zlabel("PC 3", fontsize=7)
    ax.tick_params(labelsize=5)
    ax.set_title("recurrent activity, PCs 1–3\n(x start, ● epoch onset, ▲ response onset)")
    return len(trials)


# --------------------------------------------------------------------------- Fig. 6
def sorted_task_variance(tv: np.ndarray, threshold: float = ACTIVE_VARIANCE) -> tuple[np.ndarray, np.ndarray]:
    """(normalised task variance [R, kept units], kept unit indices in drawing order): units whose
    summed variance exceeds ``threshold``, each normalised by its maximum over tasks (Yang et
    al.), sorted by their preferred task, then by their selectivity (the sum over tasks, ascending)."""
    tv = np.asarray(tv, dtype=np.float64)
    total = np.nansum(tv, axis=0)
    keep = np.flatnonzero(np.isfinite(total) & (total > threshold))
    if not len(keep):
        return np.zeros((tv.shape[0], 0)), keep
    norm = tv[:, keep] / np.nanmax(tv[:, keep], axis=0, keepdims=True)
    norm = np.where(np.isfinite(norm), norm, 0.0)
    preferred = np.argmax(norm, axis=0)
    order = np.lexsort((norm.sum(0), preferred))
    return norm[:, order], keep[order]


def align_task_vectors(points: np.ndarray) -> np.ndarray:
    """Four task vectors [4, N] (go, dly_go, anti, dly_anti) in their first two PCs, rotated (and
    reflected) so that go → dly_go points right and the anti pair lies above, scaled to unit
    root mean square distance from their mean: networks become comparable in one plane."""
    mean, comps = pca(points, 2)
    z = project(points, mean, comps)
    d = z[1] - z[0]
    theta = math.atan2(d[1], d[0]) if np.hypot(*d) > 0 else 0.0
    rot = np.array([[math.cos(-theta), -math.sin(-theta)], [math.sin(-theta), math.cos(-theta)]])
    z = z @ rot.T
    if z[2:, 1].mean() < z[:2, 1].mean():
        z[:, 1] = -z[:, 1]
    z = z - z.mean(0)
    scale = math.sqrt(float((z ** 2).sum(1).mean()))
    return z / scale if scale > 0 else z


def figure_m_fig6_task_variance(root: Path, out_stem: str) -> FigureCounts:
    """Normalised task variance of one multitask network's units per task (units sorted by their
    preferred task), and the Go, Dly Go, Anti, Dly Anti task vectors of every multitask network in
    its own first two PCs (aligned), with the compositionality cosine of the summary.

    Counts: ``shown["multitask_network"]``, ``shown["rules"]``, ``shown["units"]`` (kept units,
    ``shown["units_inactive"]`` dropped), ``shown["task_vector_networks"]``."""
    pal.style()
    counts = FigureCounts("m_fig6_task_variance")
    summary, ids = network_ids(root, counts)
    nets = read_analyses(root, "go_family", ids.get("go_family", []), counts, ("rules",))
    counts.shown.update(multitask_network=0, rules=0, units=0, task_vector_networks=0)
    fig, axes = plt.subplots(1, 2, figsize=(11.0, 3.8), gridspec_kw={"width_ratios": [2.2, 1]})
    with_tv = [n for n in nets if "task_variance" in n.arrays]
    if with_tv:
        _safe(counts, axes[0], "task variance", lambda: _fig6_variance(fig, axes[0], with_tv[0], counts))
    else:
        for n in nets:
            counts.set_aside.setdefault(_key(n.task, n.net_id), "multitask.h5 lacks task_variance")
        empty(axes[0], "no multitask network with task variance", "normalised task variance")
    comp = ((summary or {}).get("groups", {}).get("go_family", {}) or {}).get("compositionality", {}) or {}
    _safe(counts, axes[1], "task vectors", lambda: _fig6_vectors(axes[1], nets, comp.get("cosine"), counts))
    return _finish(fig, counts, out_stem)


def _fig6_variance(fig, ax, net: NetAnalysis, counts: FigureCounts) -> None:
    tv = np.asarray(net.arrays["task_variance"], dtype=np.float64)
    rules = list(np.asarray(net.arrays["rules"]).astype(str))
    norm, kept = sorted_task_variance(tv)
    counts.shown["multitask_network"] = 1
    counts.shown["rules"] = len(rules)
    counts.shown["units"] = len(kept)
    counts.shown["units_inactive"] = int(tv.shape[1] - len(kept))
    counts.notes.append(f"task variance: network {net.net_id}; {len(kept)} of {tv.shape[1]} units with summed "
                        f"variance > {ACTIVE_VARIANCE:g}")
    title = f"normalised task variance, network {net.net_id}"
    if not len(kept):
        empty(ax, f"no unit with summed task variance > {ACTIVE_VARIANCE:g}", title)
        return
    im = ax.imshow(norm, aspect="auto", cmap="hot", vmin=0, vmax=1, interpolation="nearest")
    ax.set_yticks(range(len(rules)))
    ax.set_yticklabels([rule_label(r) for r in rules])
    ax.set_xlabel(f"units ({len(kept)} of {tv.shape[1]} active), sorted by preferred task")
    ax.set_title(title)
    pref = np.argmax(norm, axis=0)
    for k in np.flatnonzero(np.diff(pref)):
        ax.axvline(k + 0.5, color="0.6", lw=0.5)
    cb = fig.colorbar(im, ax=ax, fraction=0.03, pad=0.01)
    cb.set_label("variance / unit's max", fontsize=7)
    cb.ax.tick_params(labelsize=6)


def _fig6_vectors(ax, nets: list[NetAnalysis], cosine: dict | None, counts: FigureCounts) -> None:
    title = f"task vectors; compositionality cos = {format_ci(cosine)}"
    drawn = 0
    for n in nets:
        rules = list(np.asarray(n.arrays["rules"]).astype(str))
        tv = n.arrays.get("task_vectors")
        missing = [r for r in VECTOR_RULES if r not in rules]
        if tv is None or missing:
            counts.set_aside.setdefault(_key(n.task, n.net_id), "no task vectors of " + ", ".join(missing or ["any rule"]))
            continue
        pts = np.asarray(tv, dtype=np.float64)[[rules.index(r) for r in VECTOR_RULES]]
        if not np.isfinite(pts).all():
            counts.set_aside.setdefault(_key(n.task, n.net_id), "task vectors not finite")
            continue
        z = align_task_vectors(pts)
        for a, b in ((0, 1), (2, 3)):
            ax.annotate("", xy=z[b], xytext=z[a], arrowprops={"arrowstyle": "->", "lw": 0.9, "alpha": 0.8,
                                                                  "color": VECTOR_COLORS[VECTOR_RULES[a]]})
        for k, r in enumerate(VECTOR_RULES):
            ax.scatter(z[k, 0], z[k, 1], color=VECTOR_COLORS[r], marker=VECTOR_MARKERS[r], s=18,
                       edgecolor="white", lw=0.4, zorder=3)
        drawn += 1
    counts.shown["task_vector_networks"] = drawn
    if not drawn:
        empty(ax, "no multitask network with the four task vectors", "task vectors")
        return
    handles = [Line2D([], [], ls="", marker=VECTOR_MARKERS[r], color=VECTOR_COLORS[r], label=rule_label(r))
               for r in VECTOR_RULES]
    ax.legend(handles=handles, frameon=False, loc="best", fontsize=6)
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_xlabel("PC 1 (aligned: Go → Dly Go to the right)")
    ax.set_ylabel("PC 2")
    ax.set_title(f"{title}\n{drawn} multitask networks, each in its own PCs, unit r.m.s.", fontsize=8)
