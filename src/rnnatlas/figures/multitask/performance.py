"""Figures 1–2 of study M: performance over training; outputs against targets and the residuals."""
from __future__ import annotations

import math
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from rnnatlas.figures import palette as pal
from rnnatlas.figures.io import (
    FigureCounts,
)
from rnnatlas.figures.multitask._common import (
    DT_MS,
    GROUPS,
    N_RING,
    RESIDUAL_FLOOR,
    NetAnalysis,
    _finish,
    _key,
    _nothing,
    _rule_sort,
    _safe,
    _shade_epochs,
    _trial_end,
    align_columns,
    example_id,
    group_color,
    group_label,
    mean_ci_columns,
    network_ids,
    read_analyses,
    read_probe_set,
    read_probe_states,
    rule_label,
    rule_trials,
    trial_epochs,
)
from rnnatlas.figures.panels import empty, note


def figure_m_fig1_performance(root: Path, out_stem: str) -> FigureCounts:
    """Share of correct test trials per task at every parameter snapshot: each network thin,
    per group (Go only, multitask) the mean with its 95 % CI over networks.

    Counts: ``shown[group]`` networks drawn per group, ``shown["rules"]`` task panels."""
    pal.style()
    counts = FigureCounts("m_fig1_performance")
    _, ids = network_ids(root, counts)
    needs = ("rules", "performance_iterations", "performance_over_training")
    nets = {t: read_analyses(root, t, ids[t], counts, needs) for t in ids}
    for t in ids:
        counts.shown[t] = 0
    rules = _rule_sort([str(r) for t in nets for n in nets[t] for r in n.arrays["rules"]])
    counts.shown["rules"] = 0
    if not rules:
        return _nothing(counts, out_stem, "no network with performance over training", "performance over training")
    ncol = min(3, len(rules))
    nrow = math.ceil(len(rules) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.0 * ncol, 2.4 * nrow), squeeze=False)
    drawn: dict[str, set[str]] = {t: set() for t in nets}
    for k, rule in enumerate(rules):
        ax = axes[k // ncol, k % ncol]
        _safe(counts, ax, rule_label(rule), lambda ax=ax, rule=rule: _fig1_panel(ax, rule, nets, drawn))
    for k in range(len(rules), nrow * ncol):
        axes[k // ncol, k % ncol].set_axis_off()
    for t in nets:
        counts.shown[t] = len(drawn[t])
    counts.shown["rules"] = len(rules)
    missing = [group_label(t) for t in GROUPS if t in nets and not nets[t]]
    if missing:
        note(axes[0, 0], "no networks: " + ", ".join(missing), "upper left")
    return _finish(fig, counts, out_stem)


def _fig1_panel(ax, rule: str, nets: dict[str, list[NetAnalysis]], drawn: dict[str, set[str]]) -> None:
    ax.set_title(rule_label(rule))
    any_drawn = False
    for task, group in nets.items():
        rows = [(n, list(np.asarray(n.arrays["rules"]).astype(str)).index(rule)) for n in group
                if rule in list(np.asarray(n.arrays["rules"]).astype(str))]
        rows = [(n, i) for n, i in rows if np.asarray(n.arrays["performance_over_training"]).ndim == 2
                and len(n.arrays["performance_iterations"])]
        if not rows:
            continue
        x, y = align_columns([n.arrays["performance_iterations"] for n, _ in rows],
                             [np.asarray(n.arrays["performance_over_training"])[:, i] for n, i in rows])
        color = group_color(task)
        for row in y:
            ok = np.isfinite(row)
            ax.plot(x[ok], row[ok], color=color, lw=0.5, alpha=0.3)
        mean, lo, hi, _ = mean_ci_columns(y)
        ax.plot(x, mean, color=color, lw=1.6, marker="o", ms=2.5, label=f"{group_label(task)} (n={len(rows)})")
        band = np.isfinite(lo) & np.isfinite(hi)
        if band.any():
            ax.fill_between(x, np.where(band, lo, np.nan), np.where(band, hi, np.nan), color=color, alpha=0.25, lw=0)
        drawn[task].update(n.net_id for n, _ in rows)
        any_drawn = True
    if not any_drawn:
        empty(ax, "no network trained on this task", rule_label(rule))
        return
    ax.set_ylim(-0.03, 1.03)
    ax.set_xlabel("training iteration")
    ax.set_ylabel("share correct")
    ax.legend(frameon=False, loc="lower right")


# --------------------------------------------------------------------------- Fig. 2
def _pick_trials(labels: dict[str, np.ndarray], trials: np.ndarray, n: int = 2) -> list[int]:
    """``n`` probe trials of modality 1 with angles spread over the circle (else any)."""
    if not len(trials):
        return []
    mod = np.asarray(labels.get("modality", np.ones(len(labels["rule"]))))[trials]
    pool = trials[mod == 1] if (mod == 1).sum() >= n else trials
    angles = np.asarray(labels.get("angle", np.zeros(len(labels["rule"]))), dtype=np.float64)[pool]
    out: list[int] = []
    for target in np.arange(n) * 2 * math.pi / n:
        d = np.abs(np.remainder(angles - target + math.pi, 2 * math.pi) - math.pi)
        for j in np.argsort(d, kind="stable"):
            if int(pool[j]) not in out:
                out.append(int(pool[j]))
                break
    return out


def figure_m_fig2_outputs(root: Path, out_stem: str) -> FigureCounts:
    """One Go-only network on two Go probe trials (fixation output and target; the 33 outputs as a
    heat map) and the distribution of |z − ẑ| over every output and probe step, with the noise.

    Counts: ``shown["go_network"]`` (1 or 0), ``shown["trials"]`` trials drawn, ``shown["residuals"]``
    residual values in the histogram (``shown["residuals_below_floor"]`` of them below 1e-6)."""
    pal.style()
    counts = FigureCounts("m_fig2_outputs")
    zero = ("go_network", "trials", "residuals")
    _, ids = network_ids(root, counts)
    net_id = example_id(root, "go", ids.get("go", []), ("probe.h5",), counts)
    if net_id is None:
        return _nothing(counts, out_stem, "no Go-only network with a probe file", "outputs against targets", zero)
    probe = read_probe_states(root, "go", net_id)
    probe_set = read_probe_set(root, "go")
    if probe is None or probe_set is None:
        what = "probe.h5 unreadable" if probe is None else "task_data.h5 missing or unreadable"
        counts.set_aside[_key("go", net_id)] = what
        return _nothing(counts, out_stem, f"{net_id}: {what}", "outputs against targets", zero)
    config, _, outputs = probe
    targets, labels = probe_set.targets, probe_set.labels
    if outputs.shape != targets.shape:
        counts.set_aside[_key("go", net_id)] = f"probe outputs {outputs.shape} ≠ targets {targets.shape}"
        return _nothing(counts, out_stem, "probe outputs and task targets differ in shape", "outputs against targets",
                        zero)
    counts.shown["go_network"] = 1
    counts.notes.append(f"network {net_id}")
    trials = _pick_trials(labels, rule_trials(labels, "go"))
    fig = plt.figure(figsize=(8.0, 7.0))
    gs = fig.add_gridspec(3, 2, height_ratios=[1, 1, 1.1], width_ratios=[1, 1.25])
    counts.shown["trials"] = 0
    for r in range(2):
        ax_fix, ax_map = fig.add_subplot(gs[r, 0]), fig.add_subplot(gs[r, 1])
        if r >= len(trials):
            empty(ax_fix, "no Go probe trial"), empty(ax_map, "no Go probe trial")
            continue
        b = trials[r]
        ok = _safe(counts, ax_fix, f"trial {b} fixation",
                   lambda ax=ax_fix, b=b: _fig2_fixation(ax, b, outputs, targets, labels))
        _safe(counts, ax_map, f"trial {b} outputs", lambda ax=ax_map, b=b: _fig2_heatmap(fig, ax, b, outputs, labels))
        counts.shown["trials"] += int(ok is not None)
    ax_res = fig.add_subplot(gs[2, :])
    n_res = _safe(counts, ax_res, "residuals", lambda: _fig2_residuals(ax_res, outputs, targets, labels, config, counts))
    counts.shown["residuals"] = int(n_res or 0)
    fig.suptitle(f"Go-only network {net_id}", fontsize=9)
    return _finish(fig, counts, out_stem)


def _fig2_fixation(ax, b: int, outputs: np.ndarray, targets: np.ndarray, labels: dict[str, np.ndarray]) -> bool:
    end = _trial_end(labels, b, outputs.shape[1])
    t = np.arange(end) * DT_MS
    _shade_epochs(ax, trial_epochs(labels, b))
    ax.plot(t, targets[b, :end, 0], color="0.2", ls="--", lw=1.0, label="target")
    ax.plot(t, outputs[b, :end, 0], color=group_color("go"), lw=1.4, label="fixation output")
    ax.set_ylim(-0.05, 1.05)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("fixation output")
    angle = math.degrees(float(labels["angle"][b])) if "angle" in labels else float("nan")
    ax.set_title(f"trial {b}: stimulus {angle:.0f}°, modality {int(labels.get('modality', [1] * (b + 1))[b])}")
    ax.legend(frameon=False, loc="lower left")
    return True


def _fig2_heatmap(fig, ax, b: int, outputs: np.ndarray, labels: dict[str, np.ndarray]) -> None:
    end = _trial_end(labels, b, outputs.shape[1])
    im = ax.imshow(outputs[b, :end].T, aspect="auto", origin="lower", cmap="viridis", vmin=0, vmax=1,
                   extent=(0, end * DT_MS, -0.5, outputs.shape[2] - 0.5), interpolation="nearest")
    if "target_angle" in labels and "response" in labels:
        unit = 1 + float(np.remainder(labels["target_angle"][b], 2 * math.pi)) / (2 * math.pi) * N_RING
        ax.plot([int(labels["response"][b]) * DT_MS, end * DT_MS], [unit, unit], color="white", ls=":", lw=1.0)
    for start, _ in trial_epochs(labels, b).values():
        if start > 0:
            ax.axvline(start * DT_MS, color="white", lw=0.5, alpha=0.7)
    ax.axhline(0.5, color="white", lw=0.5)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("output (0: fixation, 1–32: ring)")
    ax.set_title("outputs z (dotted: target angle)")
    cb = fig.colorbar(im, ax=ax, fraction=0.05, pad=0.02)
    cb.ax.tick_params(labelsize=6)


def _fig2_residuals(ax, outputs: np.ndarray, targets: np.ndarray, labels: dict[str, np.ndarray], config: dict,
                    counts: FigureCounts) -> int:
    steps = np.arange(outputs.shape[1])[None, :] < np.asarray(labels.get("end", [outputs.shape[1]] * len(outputs)))[:, None]
    res = np.abs(outputs - targets)[steps].ravel()
    res = res[np.isfinite(res)]
    if not len(res):
        empty(ax, "no finite residuals", "residuals |z − ẑ|")
        return 0
    low = int((res < RESIDUAL_FLOOR).sum())
    edges = np.logspace(math.log10(RESIDUAL_FLOOR), max(0.0, math.log10(max(float(res.max()), 1.0))), 61)
    ax.hist(np.clip(res, RESIDUAL_FLOOR, None), bins=edges, color=group_color("go"), alpha=0.8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    noise = config.get("noise_rec")
    alpha = config.get("alpha")
    if isinstance(noise, (int, float)) and noise > 0:
        ax.axvline(noise, color="#C44E52", lw=1.2, label=f"recurrent noise s.d. sqrt(2/α)·σ_rec = {noise:.3g}")
        if isinstance(alpha, (int, float)) and alpha > 0:
            sigma = noise * math.sqrt(alpha / 2)
            ax.axvline(sigma, color="#C44E52", lw=1.0, ls="--", label=f"σ_rec = {sigma:.3g}")
        ax.legend(frameon=False, loc="upper left")
    else:
        counts.notes.append("residuals: the network's config records no recurrent noise")
    ax.set_xlabel("|z − ẑ| (every output, every probe step before the trial's end)")
    ax.set_ylabel("count")
    below = f"; {low} below {RESIDUAL_FLOOR:g}, drawn in the first bin" if low else ""
    ax.set_title(f"residuals (n = {len(res)}; median {np.median(res):.2g}{below})")
    if low:
        counts.shown["residuals_below_floor"] = low
    return len(res)


# --------------------------------------------------------------------------- Fig. 3
