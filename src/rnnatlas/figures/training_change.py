"""Figures of study H (seed 001, "RNN Initial Hypotheses"): every trained network against its
own initialisation (its untrained twin), drawn from result files only.

Reads ``results/training_change/summary.json`` (for the task list), each trained network's
``results/<task>/nets/<id>/training_change.h5`` and, for the latent-space figures, the probe
states and fixed points of one network and of its twin ``<id>-untrained``. Missing or partial
files never stop a figure: what exists is drawn, the rest is noted and counted as set aside.
Population statistics are the mean with a 95 % t-interval over networks (Figs. 4, 6, 9–11) or
the mean ± s.d. (Fig. 1).
"""
from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.lines import Line2D

from rnnatlas.figures import palette as pal
from rnnatlas.figures.io import FigureCounts, PathLike, read_json, save_figure
from rnnatlas.figures.panels import empty

KIND = "training_change"
TASK_ORDER: tuple[str, ...] = ("decision", "perception")
STATES: tuple[str, ...] = ("trained", "untrained")
STATE_COLORS: dict[str, str] = {"trained": "#C44E52", "untrained": "#4C72B0"}
STABILITY_COLORS: dict[str, str] = {"stable": "#2ca02c", "saddle": "#ff7f00", "marginal": "#984ea3"}
ISO_COLORS: tuple[str, str] = ("#377eb8", "#e41a1c")  # alternating isocontours (Fig. 2)
LEVEL_COLORS: tuple[str, ...] = ("#4C72B0", "#DD8452", "#55A868", "#8172B3")
PLAIN_COLOR = "#4C72B0"
CENTRALITY_KINDS: tuple[str, ...] = ("eigenvector", "in_strength", "pagerank")
THETA_TICKS = (np.arange(5) * np.pi / 16, ["0", "π/16", "π/8", "3π/16", "π/4"])


# --------------------------------------------------------------------------- reading
@dataclass
class NetResult:
    """One trained network's ``training_change.h5``."""
    net_id: str
    task: str
    config: dict
    arrays: dict[str, np.ndarray]
    attrs: dict[str, Any]


def _key(task: str, net_id: str) -> str:
    return f"{task}/{net_id}"


def _task_sort(tasks: Sequence[str]) -> list[str]:
    present = list(dict.fromkeys(str(t) for t in tasks))
    return [t for t in TASK_ORDER if t in present] + sorted(set(present) - set(TASK_ORDER))


def read_tasks(root: PathLike) -> tuple[list[str], list[str]]:
    """(tasks, notes): the summary's task list, else folders with ``nets/*/training_change.h5``."""
    root = Path(root)
    summary = read_json(root / "training_change" / "summary.json") if (root / "training_change").is_dir() else None
    if summary is not None and isinstance(summary.get("tasks"), dict) and summary["tasks"]:
        return _task_sort(summary["tasks"]), []
    found = [d.name for d in sorted(root.iterdir()) if d.is_dir() and any(d.glob("nets/*/training_change.h5"))] \
        if root.is_dir() else []
    why = "summary missing" if summary is None else "summary lists no tasks"
    return _task_sort(found), [(f"{why} ({root / 'training_change' / 'summary.json'}); tasks found from the "
                                f"result folders: {', '.join(found) or 'none'}")]


def read_task_results(root: PathLike, task: str) -> tuple[list[NetResult], dict[str, str]]:
    """(accepted analysed networks sorted by id, {task/net id: why set aside})."""
    from rnnatlas.store.h5io import read_arrays
    nets, aside = [], {}
    for path in sorted((Path(root) / task / "nets").glob("*/training_change.h5")):
        net_id = path.parent.name
        try:
            config, arrays, attrs = read_arrays(path, KIND)
        except Exception as exc:  # noqa: BLE001 - an unreadable file is set aside, never a crash
            aside[_key(task, net_id)] = f"unreadable training_change.h5 ({exc})"
            continue
        net_id = str(config.get("net_id", net_id))
        if not bool(attrs.get("analysed", False)):
            aside[_key(task, net_id)] = "not analysed: " + str(attrs.get("reason") or "no reason recorded")
        elif not bool(attrs.get("accepted", False)):
            aside[_key(task, net_id)] = "not accepted" + (f": {attrs['reason']}" if attrs.get("reason") else "")
        else:
            nets.append(NetResult(net_id, task, config, arrays, attrs))
    return sorted(nets, key=lambda n: n.net_id), aside


def load_results(root: PathLike, counts: FigureCounts) -> dict[str, list[NetResult]]:
    """Accepted networks per task; set-aside networks and missing tasks go into ``counts``."""
    tasks, notes = read_tasks(root)
    counts.notes.extend(notes)
    out = {}
    for task in tasks:
        nets, aside = read_task_results(root, task)
        counts.set_aside.update(aside)
        if not nets:
            counts.notes.append(f"{task}: no accepted analysed network" + (f" ({len(aside)} set aside)" if aside else ""))
        out[task] = nets
    if not tasks:
        counts.notes.append(f"no training-change results under {root}")
    return out


def with_arrays(nets: Sequence[NetResult], keys: Sequence[str], counts: FigureCounts,
                attrs: Sequence[str] = ()) -> list[NetResult]:
    """The networks holding every array in ``keys`` (and attribute in ``attrs``); others set aside."""
    keep = []
    for n in nets:
        missing = [k for k in keys if k not in n.arrays] + [a for a in attrs if a not in n.attrs]
        if missing:
            counts.set_aside[_key(n.task, n.net_id)] = f"missing {', '.join(missing)}"
        else:
            keep.append(n)
    return keep


def probe_labels_from_file(path: PathLike) -> dict[str, np.ndarray] | None:
    """The probe labels of a ``task_data.h5`` (read without needing the task registered), or None."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        from rnnatlas.store.task_data import read_task_data
        return dict(read_task_data(path).probe.labels)
    except Exception:  # noqa: BLE001, S110 - fall back on the raw label group
        pass
    try:
        import h5py

        from rnnatlas.store.h5io import open_h5
        with open_h5(path, "task_data") as f:
            out = {}
            for name, ds in f["probe_labels"].items():
                v = ds[()]
                out[name] = v.astype(str) if h5py.check_string_dtype(ds.dtype) else v
            return out
    except Exception:  # noqa: BLE001
        return None


def _read_probe(path: Path) -> np.ndarray | None:
    from rnnatlas.store.probe_file import read_probe
    if not path.exists():
        return None
    try:
        return np.asarray(read_probe(path)[1], dtype=np.float64)
    except Exception:  # noqa: BLE001
        return None


def _read_fixed_points(path: Path) -> tuple[dict | None, str]:
    """(arrays of the fixed points, "" ) or (None, why)."""
    from rnnatlas.store.fixed_point_file import read_fixed_points
    if not path.exists():
        return None, "no fixed_points.h5"
    try:
        _, arrays, attrs = read_fixed_points(path)
    except Exception as exc:  # noqa: BLE001
        return None, f"unreadable fixed_points.h5 ({exc})"
    if not attrs.get("analysed", True):
        return None, "fixed points not analysed" + (f": {attrs['reason']}" if attrs.get("reason") else "")
    return arrays, ""


# --------------------------------------------------------------------------- statistics
def t_interval(y: np.ndarray, level: float = 0.95) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per column of ``y [networks, K]``: (mean, ci_low, ci_high, n) over finite values; the
    interval is NaN where fewer than two values exist."""
    from scipy import stats
    y = np.atleast_2d(np.asarray(y, dtype=np.float64))
    ok = np.isfinite(y)
    n = ok.sum(0)
    safe = np.where(ok, y, 0.0)
    mean = np.where(n > 0, safe.sum(0) / np.maximum(n, 1), np.nan)
    var = np.where(n > 1, (np.where(ok, y - mean, 0.0) ** 2).sum(0) / np.maximum(n - 1, 1), np.nan)
    half = stats.t.ppf(0.5 + level / 2, np.maximum(n - 1, 1)) * np.sqrt(var / np.maximum(n, 1))
    half = np.where(n > 1, half, np.nan)
    return mean, mean - half, mean + half, n


def mean_ci_columns(y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Mean and 95 % CI per column: ``rnnatlas.stats.mean_ci`` where it exists, else :func:`t_interval`."""
    base = t_interval(y)
    try:
        from rnnatlas.stats import mean_ci  # type: ignore[import-not-found]
    except Exception:  # noqa: BLE001
        return base
    y = np.atleast_2d(np.asarray(y, dtype=np.float64))
    try:
        rows = [mean_ci(col[np.isfinite(col)]) for col in y.T]
        mean = np.array([np.nan if r.get("mean") is None else r["mean"] for r in rows], dtype=np.float64)
        lo = np.array([np.nan if r.get("ci_low") is None else r["ci_low"] for r in rows], dtype=np.float64)
        hi = np.array([np.nan if r.get("ci_high") is None else r["ci_high"] for r in rows], dtype=np.float64)
        return mean, lo, hi, base[3]
    except Exception:  # noqa: BLE001 - a different signature: keep the t-interval
        return base


def align_curves(xs: Sequence[np.ndarray], ys: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray, str]:
    """(x, Y [networks, K], note): curves on one grid; differing grids are interpolated onto the
    first network's grid within the common range (noted)."""
    xs = [np.asarray(x, dtype=np.float64).ravel() for x in xs]
    ys = [np.asarray(y, dtype=np.float64).ravel() for y in ys]
    pairs = [(x[: min(len(x), len(y))], y[: min(len(x), len(y))]) for x, y in zip(xs, ys)]
    x0 = pairs[0][0]
    if all(len(x) == len(x0) and np.allclose(x, x0) for x, _ in pairs):
        return x0, np.vstack([y for _, y in pairs]), ""
    lo, hi = max(x.min() for x, _ in pairs), min(x.max() for x, _ in pairs)
    grid = x0[(x0 >= lo) & (x0 <= hi)]
    y = np.vstack([np.interp(grid, x, v) for x, v in pairs])
    return grid, y, "grids differ between networks: interpolated onto a common grid"


def _band(ax, x: np.ndarray, y: np.ndarray, color: str, label: str, thin: bool = True) -> int:
    """Each network thin, the mean with its 95 % CI band; returns the number of curves."""
    if thin:
        for row in y:
            ax.plot(x, row, color=color, lw=0.5, alpha=0.25)
    mean, lo, hi, n = mean_ci_columns(y)
    ax.plot(x, mean, color=color, lw=1.6, label=f"{label} (n={int(n.max()) if len(n) else 0})")
    ok = np.isfinite(lo) & np.isfinite(hi)
    if ok.any():
        ax.fill_between(x, np.where(ok, lo, np.nan), np.where(ok, hi, np.nan), color=color, alpha=0.25, lw=0)
    return len(y)


def _finite(a: Any) -> np.ndarray | None:
    """A real float array, or None when the stored value is not numeric."""
    a = np.asarray(a)
    if a.dtype.kind not in "biuf":
        return None
    return a.astype(np.float64)


def _mean_attr(nets: Sequence[NetResult], name: str) -> tuple[float, int]:
    vals = np.array([float(n.attrs[name]) for n in nets if name in n.attrs
                     and isinstance(n.attrs[name], (int, float, np.floating, np.integer))], dtype=np.float64)
    vals = vals[np.isfinite(vals)]
    return (float(vals.mean()) if len(vals) else float("nan")), len(vals)


def _safe(counts: FigureCounts, ax, what: str, draw: Callable[[], None], three_d: bool = False) -> None:
    """Draw a panel; an unexpected error in partial data becomes a note and an empty panel."""
    try:
        draw()
    except Exception as exc:  # noqa: BLE001
        counts.notes.append(f"{what}: panel not drawn ({type(exc).__name__}: {exc})")
        _empty_any(ax, "could not be drawn", what, three_d)


def _empty_any(ax, text: str, title: str | None, three_d: bool = False) -> None:
    if three_d:
        ax.cla()
        ax.set_axis_off()
        ax.text2D(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", fontsize=7, color="0.35")
        if title:
            ax.set_title(title)
    else:
        ax.cla()
        empty(ax, text, title)


def _panels(n: int, nrow: int = 1, w: float = 3.2, h: float = 2.6, **kw):
    fig, axes = plt.subplots(nrow, max(n, 1), figsize=(w * max(n, 1), h * nrow), squeeze=False, **kw)
    return fig, axes


def _finish(fig, counts: FigureCounts, out_stem: PathLike) -> FigureCounts:
    if counts.set_aside:
        counts.notes.append(f"{len(counts.set_aside)} networks set aside (see set_aside)")
    try:
        fig.tight_layout()
    except Exception:  # noqa: BLE001, S110 - 3-D axes may refuse; the layout is only cosmetic
        pass
    counts.files = save_figure(fig, out_stem)
    return counts


def _no_tasks(fig_name: str, counts: FigureCounts, out_stem: PathLike) -> FigureCounts:
    fig, axes = _panels(1)
    empty(axes[0, 0], "no training-change results", fig_name)
    return _finish(fig, counts, out_stem)


# --------------------------------------------------------------------------- Fig. 1
def binned_output(x: np.ndarray, y: np.ndarray, edges: np.ndarray | None, levels: np.ndarray | None) -> np.ndarray:
    """Mean of ``y`` per level of ``x`` (levels rounded to 3 decimals) or per bin of ``edges``."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if levels is not None:
        idx = np.searchsorted(levels, np.round(x, 3))
        idx = np.where((idx < len(levels)) & np.isclose(levels[np.minimum(idx, len(levels) - 1)], np.round(x, 3)), idx, -1)
        k = len(levels)
    else:
        idx = np.clip(np.digitize(x, edges) - 1, 0, len(edges) - 2)
        k = len(edges) - 1
    out = np.full(k, np.nan)
    for j in range(k):
        m = (idx == j) & np.isfinite(y)
        if m.any():
            out[j] = y[m].mean()
    return out


def _fig1_x(task: str, inputs: np.ndarray) -> tuple[np.ndarray, str]:
    inputs = np.asarray(inputs, dtype=np.float64)
    if inputs.ndim == 1:
        inputs = inputs[:, None]
    if task != "perception" and inputs.shape[1] >= 2:
        return inputs[:, 0] - inputs[:, 1], "u1 − u2 (time-averaged input)"
    return inputs[:, 0], "input level (time-averaged)"


def figure_h_fig1_performance(root: Path, out_stem: str) -> FigureCounts:
    """Time-averaged output of every trained network on the validation trials against the input
    (perception: level; decision: u1 − u2, binned), mean ± s.d. over networks, with the target;
    below, the accuracy of each network."""
    pal.style()
    counts = FigureCounts("h_fig1_performance")
    results = load_results(root, counts)
    if not results:
        return _no_tasks("performance", counts, out_stem)
    fig, axes = plt.subplots(2, len(results), figsize=(3.4 * len(results), 4.6), squeeze=False,
                             gridspec_kw={"height_ratios": [3, 1.3]})
    for j, (task, all_nets) in enumerate(results.items()):
        nets = with_arrays(all_nets, ("val_mean_output", "val_mean_target", "val_mean_input"), counts)
        counts.shown[task] = 0
        _safe(counts, axes[0, j], f"{task} output",
              lambda ax=axes[0, j], task=task, nets=nets: _fig1_output(ax, task, nets, counts))
        _safe(counts, axes[1, j], f"{task} accuracy",
              lambda ax=axes[1, j], task=task, nets=all_nets: _fig1_accuracy(ax, task, nets))
    return _finish(fig, counts, out_stem)


def _fig1_output(ax, task: str, nets: list[NetResult], counts: FigureCounts) -> None:
    if not nets:
        empty(ax, "no network with validation outputs", task)
        return
    pairs = [(_fig1_x(task, n.arrays["val_mean_input"]), n) for n in nets]
    xlabel = pairs[0][0][1]
    if task == "decision" and "u1" not in xlabel:
        counts.notes.append(f"{task}: validation input has one channel; x is the input itself")
    pooled = np.concatenate([x for (x, _), _ in pairs])
    pooled = pooled[np.isfinite(pooled)]
    levels = np.unique(np.round(pooled, 3))
    if len(levels) <= 8:
        centres, edges, lv = levels, None, levels
    else:
        edges, lv = np.linspace(pooled.min(), pooled.max(), 12), None
        centres = 0.5 * (edges[1:] + edges[:-1])
    out = np.vstack([binned_output(x, n.arrays["val_mean_output"], edges, lv) for (x, _), n in pairs])
    tgt = np.vstack([binned_output(x, n.arrays["val_mean_target"], edges, lv) for (x, _), n in pairs])
    for row in out:
        ax.plot(centres, row, color=PLAIN_COLOR, lw=0.5, alpha=0.25)
    m, s = np.nanmean(out, 0), np.nanstd(out, 0)
    ax.errorbar(centres, m, yerr=s, color=PLAIN_COLOR, marker="o", ms=3, lw=1.4, capsize=2,
                label=f"output, mean ± s.d. (n={len(nets)})")
    ax.plot(centres, np.nanmean(tgt, 0), color="0.2", ls="--", lw=1.0, label="target")
    if lv is not None:
        ax.set_xticks(centres)
    acc, n_acc = _mean_attr(nets, "accuracy")
    ax.set_title(f"{task} (n={len(nets)}): accuracy {acc:.2f}" if n_acc else f"{task} (n={len(nets)})")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("time-averaged output")
    ax.legend(frameon=False, loc="best")
    counts.shown[task] = len(nets)


def short_ids(ids: Sequence[str]) -> list[str]:
    """Network ids without the prefix they share (e.g. only the seed part)."""
    if len(ids) < 2:
        return list(ids)
    cut = os.path.commonprefix(list(ids)).rfind("-") + 1
    return [i[cut:] or i for i in ids]


def _fig1_accuracy(ax, task: str, nets: list[NetResult]) -> None:
    vals = [(n.net_id, float(n.attrs["accuracy"])) for n in nets if "accuracy" in n.attrs]
    if not vals:
        empty(ax, "no accuracy recorded")
        return
    ax.scatter(range(len(vals)), [v for _, v in vals], s=12, color=PLAIN_COLOR)
    ax.set_ylim(min(0.0, min(v for _, v in vals)) - 0.02, 1.02)
    ax.set_ylabel("accuracy")
    if len(vals) <= 20:
        ax.set_xticks(range(len(vals)))
        ax.set_xticklabels(short_ids([i for i, _ in vals]), rotation=90, fontsize=5)
    else:
        ax.set_xlabel("network")
    ax.axhline(1.0, color="0.7", lw=0.5)


# --------------------------------------------------------------------------- Figs. 2, 3
@dataclass
class TrialStyle:
    """How one probe trial is drawn: its panel row, colour, opacity and width."""
    group: str
    color: str
    alpha: float
    lw: float


def trial_styles(task: str, labels: dict[str, np.ndarray] | None, n_trials: int
                 ) -> tuple[list[TrialStyle], list[Line2D], list[str]]:
    """(style per trial, legend handles, notes) from the probe labels; without usable labels
    every trial is one colour in one group."""
    plain = [TrialStyle("all trials", PLAIN_COLOR, 0.7, 0.7) for _ in range(n_trials)]
    need = ("varying", "held_value") if task == "decision" else ("switching",)
    if labels is None:
        return plain, [], [f"{task}: task data missing; probe trials drawn in one colour"]
    missing = [k for k in need if k not in labels]
    if missing:
        return plain, [], [f"{task}: probe labels lack {', '.join(missing)}; trials drawn in one colour"]
    bad = [k for k in need if len(np.asarray(labels[k])) != n_trials]
    if bad:
        return plain, [], [(f"{task}: probe labels ({', '.join(bad)}) do not match the {n_trials} probe trials; "
                            "trials drawn in one colour")]
    return (_decision_styles(labels) if task == "decision" else _perception_styles(labels)) + ([],)


def _decision_styles(labels: dict[str, np.ndarray]) -> tuple[list[TrialStyle], list[Line2D]]:
    """Isocontours: rows by the input that varies; alternating blue/red by held value, black at
    the smallest and largest held value."""
    varying = np.asarray(labels["varying"]).astype(int)
    held = np.round(np.asarray(labels["held_value"], dtype=np.float64), 6)
    out = []
    for v, h in zip(varying, held):
        vals = np.unique(held[varying == v])
        rank = int(np.searchsorted(vals, h))
        extreme = rank in (0, len(vals) - 1)
        color = "#000000" if extreme else ISO_COLORS[rank % 2]
        out.append(TrialStyle(f"input {v} varies", color, 0.9, 1.0 if extreme else 0.7))
    handles = [Line2D([], [], color=ISO_COLORS[0], label="held value (alternating)"),
               Line2D([], [], color=ISO_COLORS[1], label="held value (alternating)"),
               Line2D([], [], color="#000000", label="held value smallest / largest")]
    return out, handles


def _perception_styles(labels: dict[str, np.ndarray]) -> tuple[list[TrialStyle], list[Line2D]]:
    """Switching trials bright (coloured by level), constant trials faint."""
    switching = np.asarray(labels["switching"]).astype(bool)
    level = np.round(np.asarray(labels.get("level", np.zeros(len(switching))), dtype=np.float64), 3)
    levels = list(np.unique(level))
    out = []
    for s, lv in zip(switching, level):
        c = LEVEL_COLORS[levels.index(lv) % len(LEVEL_COLORS)]
        out.append(TrialStyle("all trials", c if s else "#999999", 0.95 if s else 0.25, 1.1 if s else 0.5))
    handles = [Line2D([], [], color=LEVEL_COLORS[k % len(LEVEL_COLORS)], label=f"switching, level {lv:g}")
               for k, lv in enumerate(levels)] + [Line2D([], [], color="#999999", alpha=0.5, label="constant")]
    return out, handles


def project_3d(x: np.ndarray, basis: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """``(x − centre) @ basis[:, :3]``, zero-padded to three coordinates."""
    b = np.asarray(basis, dtype=np.float64)
    if b.ndim == 1:
        b = b[:, None]
    b = b[:, :3]
    z = (np.asarray(x, dtype=np.float64)[..., : b.shape[0]] - centre) @ b
    if z.shape[-1] < 3:
        z = np.concatenate([z, np.zeros(z.shape[:-1] + (3 - z.shape[-1],))], axis=-1)
    return z


def _latent_figure(root: Path, out_stem: str, task: str, name: str) -> FigureCounts:
    pal.style()
    counts = FigureCounts(name)
    results = load_results(root, counts)
    nets = with_arrays(results.get(task, []), ("dca_basis_trained", "dca_basis_untrained"), counts)
    counts.shown[task] = 0
    if task not in results:
        counts.notes.append(f"{task}: task not among the training-change results")
    net = nets[0] if nets else None
    hidden = {s: None for s in STATES}
    if net is not None:
        d = Path(root) / task / "nets"
        hidden = {"trained": _read_probe(d / net.net_id / "probe.h5"),
                  "untrained": _read_probe(d / f"{net.net_id}-untrained" / "probe.h5")}
        for s, h in hidden.items():
            if h is None:
                counts.notes.append(f"{task}: {s} probe states of {net.net_id} missing or unreadable")
    n_trials = next((h.shape[0] for h in hidden.values() if h is not None), 0)
    labels = probe_labels_from_file(Path(root) / task / "task_data.h5")
    styles, handles, notes = trial_styles(task, labels, n_trials)
    counts.notes.extend(notes)
    groups = list(dict.fromkeys(s.group for s in styles)) or ["all trials"]
    fig = plt.figure(figsize=(7.0, 3.4 * len(groups) + 0.4))
    for i, g in enumerate(groups):
        for j, state in enumerate(STATES):
            ax = fig.add_subplot(len(groups), 2, i * 2 + j + 1, projection="3d")
            title = f"{state}: {g}" if len(groups) > 1 else state
            if net is None:
                _empty_any(ax, f"no analysed {task} network", title, three_d=True)
                continue
            _safe(counts, ax, f"{task} {state} {g}",
                  lambda ax=ax, state=state, g=g, title=title: _latent_panel(
                      ax, root, task, net, state, hidden[state], styles, g, title, counts),
                  three_d=True)
    if net is not None:
        counts.shown[task] = 1
        counts.notes.append(f"{task}: network shown {net.net_id} and its initialisation {net.net_id}-untrained")
        fig.suptitle(f"{task}: {net.net_id}, probe trajectories on its 3-D DCA basis", fontsize=9)
    fp = [Line2D([], [], ls="", marker="D", mec="k", color=c, label=f"fixed point, {k}") for k, c in STABILITY_COLORS.items()]
    fig.legend(handles=handles + fp, loc="lower center", ncol=3, frameon=False, fontsize=6)
    fig.subplots_adjust(bottom=0.18)
    return _finish(fig, counts, out_stem)


def _latent_panel(ax, root: Path, task: str, net: NetResult, state: str, hidden: np.ndarray | None,
                  styles: list[TrialStyle], group: str, title: str, counts: FigureCounts) -> None:
    basis = np.asarray(net.arrays[f"dca_basis_{state}"], dtype=np.float64)
    if basis.ndim == 1:
        basis = basis[:, None]
    if basis.shape[1] < 3:
        counts.notes.append(f"{task} {state}: DCA basis has {basis.shape[1]} dimensions; padded with zeros")
    if hidden is not None and basis.shape[0] > hidden.shape[-1]:
        counts.notes.append(f"{task} {state}: basis for {basis.shape[0]} units, probe has {hidden.shape[-1]}")
        hidden = None
    if hidden is None:  # fixed points alone, about the origin
        ax.text2D(0.5, 0.95, "probe states missing", transform=ax.transAxes, ha="center", va="top",
                  fontsize=6, color="0.35")
        centre = np.zeros(basis.shape[0])
        z = np.zeros((0, 0, 3))
    else:
        centre = hidden[..., : basis.shape[0]].reshape(-1, basis.shape[0]).mean(0)
        z = project_3d(hidden, basis, centre)
    n_drawn = 0
    for k in range(z.shape[0]):
        s = styles[k] if k < len(styles) else TrialStyle(group, PLAIN_COLOR, 0.7, 0.7)
        if s.group != group:
            continue
        ax.plot(z[k, :, 0], z[k, :, 1], z[k, :, 2], color=s.color, alpha=s.alpha, lw=s.lw)
        n_drawn += 1
    fp_id = net.net_id if state == "trained" else f"{net.net_id}-untrained"
    fp, why = _read_fixed_points(Path(root) / task / "nets" / fp_id / "fixed_points.h5")
    if fp is None:
        counts.notes.append(f"{task} {state}: {why} ({fp_id})")
    else:
        h = np.asarray(fp["h"], dtype=np.float64)
        keep = ~np.asarray(fp.get("is_slow", np.zeros(len(h), bool))).astype(bool)
        stab = np.asarray(fp.get("stability", np.array(["stable"] * len(h)))).astype(str)
        if len(h) and h.shape[-1] >= basis.shape[0]:
            p = project_3d(h[keep], basis, centre)
            colors = [STABILITY_COLORS.get(s, pal.OTHER_COLOR) for s in stab[keep]]
            ax.scatter(p[:, 0], p[:, 1], p[:, 2], c=colors, s=28, marker="D", depthshade=False, edgecolors="k",
                       linewidths=0.3, zorder=5)
        counts.shown[f"{task}_{state}_fixed_points"] = counts.shown.get(f"{task}_{state}_fixed_points", 0) + int(keep.sum())
    counts.shown[f"{task}_{state}_trials"] = counts.shown.get(f"{task}_{state}_trials", 0) + n_drawn
    ax.set_title(title)
    ax.set_xlabel("DCA 1", fontsize=6), ax.set_ylabel("DCA 2", fontsize=6), ax.set_zlabel("DCA 3", fontsize=6)
    ax.tick_params(labelsize=5)


def figure_h_fig2_decision_latent(root: Path, out_stem: str) -> FigureCounts:
    """Decision task: probe isocontours (rows: which input varies; colour: held value) of one
    trained network and of its initialisation on their DCA bases, with the fixed points."""
    return _latent_figure(Path(root), out_stem, "decision", "h_fig2_decision_latent")


def figure_h_fig3_perception_latent(root: Path, out_stem: str) -> FigureCounts:
    """Perception task: probe trajectories (switching trials highlighted) of one trained network
    and of its initialisation on their DCA bases, with the fixed points."""
    return _latent_figure(Path(root), out_stem, "perception", "h_fig3_perception_latent")


# --------------------------------------------------------------------------- Figs. 4, 6, 9, 10
def _curve_figure(root: Path, out_stem: str, name: str, x_key: str | None, y_keys: dict[str, str],
                  xlabel: str, ylabel: str, scale: float = 1.0, style_ax: Callable | None = None) -> FigureCounts:
    """One panel per task: per network curves of ``y_keys`` (label → array) against ``x_key``
    (or the index 1…K), with the mean and 95 % CI."""
    pal.style()
    counts = FigureCounts(name)
    results = load_results(root, counts)
    if not results:
        return _no_tasks(name, counts, out_stem)
    fig, axes = _panels(len(results))
    keys = list(y_keys.values()) + ([x_key] if x_key else [])
    for j, (task, all_nets) in enumerate(results.items()):
        ax = axes[0, j]
        nets = with_arrays(all_nets, keys, counts)
        counts.shown[task] = 0

        def draw(ax=ax, task=task, nets=nets) -> None:
            if not nets:
                empty(ax, "no network with these arrays", task)
                return
            for label, key in y_keys.items():
                xs = [n.arrays[x_key] if x_key else np.arange(1, len(n.arrays[key]) + 1) for n in nets]
                ys = [np.asarray(n.arrays[key], dtype=np.float64) * scale for n in nets]
                x, y, msg = align_curves(xs, ys)
                if msg:
                    counts.notes.append(f"{task} {label}: {msg}")
                color = STATE_COLORS.get(label, PLAIN_COLOR)
                _band(ax, x, y, color, label if len(y_keys) > 1 else "mean, 95 % CI")
            counts.shown[task] = len(nets)
            ax.set_title(f"{task} (n={len(nets)})")
            ax.set_xlabel(xlabel)
            ax.set_ylabel(ylabel)
            ax.legend(frameon=False, loc="best")
            if style_ax:
                style_ax(ax)
        _safe(counts, ax, task, draw)
    return _finish(fig, counts, out_stem)


def figure_h_fig4_mean_weight(root: Path, out_stem: str) -> FigureCounts:
    """Mean recurrent weight over training: every network thin, the population mean with its 95 % CI."""
    return _curve_figure(root, out_stem, "h_fig4_mean_weight", "snapshot_iterations",
                         {"mean weight": "mean_weight"}, "training iteration", "mean off-diagonal W_rec",
                         style_ax=lambda ax: ax.axhline(0, color="0.7", lw=0.5))


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


# --------------------------------------------------------------------------- Fig. 7
def matched_shift(n: NetResult) -> tuple[np.ndarray | None, bool]:
    """(|Δλ| per eigenvalue, recomputed): the stored ``eigenvalue_shift`` if numeric, else the
    minimum-total-distance matching of the stored spectra."""
    stored = n.arrays.get("eigenvalue_shift")
    if stored is not None:
        s = np.asarray(stored)
        if s.dtype.kind == "c":
            return np.abs(s), False
        f = _finite(s)
        if f is not None:
            return np.abs(f.ravel()), False
    if "eigenvalues_initial" in n.arrays and "eigenvalues_final" in n.arrays:
        from scipy.optimize import linear_sum_assignment
        a = np.asarray(n.arrays["eigenvalues_initial"]).astype(complex).ravel()
        b = np.asarray(n.arrays["eigenvalues_final"]).astype(complex).ravel()
        if len(a) == len(b) and len(a):
            cost = np.abs(a[:, None] - b[None])
            r, c = linear_sum_assignment(cost)
            return cost[r, c], True
    return None, False


def figure_h_fig7_weights_eigenvalues(root: Path, out_stem: str) -> FigureCounts:
    """Per task: histogram of weight changes pooled over networks (log count); the spectrum of
    W_rec before and after training of one network; the matched eigenvalue shifts, sorted."""
    pal.style()
    counts = FigureCounts("h_fig7_weights_eigenvalues")
    results = load_results(root, counts)
    if not results:
        return _no_tasks("weights and eigenvalues", counts, out_stem)
    fig, axes = plt.subplots(len(results), 3, figsize=(9.6, 2.8 * len(results)), squeeze=False)
    for i, (task, all_nets) in enumerate(results.items()):
        nets = with_arrays(all_nets, ("weight_change",), counts)
        counts.shown[task] = len(nets)
        row, t, some, every = axes[i], task, nets, all_nets
        _safe(counts, row[0], f"{t} weight change", lambda row=row, t=t, some=some: _weight_hist(row[0], t, some))
        _safe(counts, row[1], f"{t} spectrum", lambda row=row, t=t, every=every: _spectrum(row[1], t, every, counts))
        _safe(counts, row[2], f"{t} shifts", lambda row=row, t=t, every=every: _shifts(row[2], t, every, counts))
    return _finish(fig, counts, out_stem)


def _weight_hist(ax, task: str, nets: list[NetResult]) -> None:
    vals = [_finite(n.arrays["weight_change"]) for n in nets]
    vals = [v.ravel() for v in vals if v is not None]
    pooled = np.concatenate(vals) if vals else np.zeros(0)
    pooled = pooled[np.isfinite(pooled)]
    if not len(pooled):
        empty(ax, "no weight changes", f"{task}: ΔW")
        return
    ax.hist(pooled, bins=60, color=PLAIN_COLOR, log=True)
    ax.set_title(f"{task}: ΔW pooled over {len(vals)} networks")
    ax.set_xlabel("weight change W_final − W_initial")
    ax.set_ylabel("count (log)")


def _spectrum(ax, task: str, nets: list[NetResult], counts: FigureCounts) -> None:
    net = next((n for n in nets if "eigenvalues_initial" in n.arrays and "eigenvalues_final" in n.arrays), None)
    if net is None:
        empty(ax, "no stored spectra", f"{task}: eigenvalues")
        return
    t = np.linspace(0, 2 * np.pi, 200)
    ax.plot(np.cos(t), np.sin(t), color="0.75", lw=0.6)
    for key, label, kw in (("eigenvalues_initial", "initial", {"facecolors": "none", "edgecolors": STATE_COLORS["untrained"]}),
                           ("eigenvalues_final", "trained", {"color": STATE_COLORS["trained"], "marker": "x"})):
        ev = np.asarray(net.arrays[key]).astype(complex)
        ax.scatter(ev.real, ev.imag, s=12, lw=0.7, label=label, **kw)
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_title(f"{task}: spectrum of {net.net_id}", fontsize=6)
    ax.set_xlabel("Re λ"), ax.set_ylabel("Im λ")
    ax.legend(frameon=False, fontsize=6)
    counts.notes.append(f"{task}: spectrum shown for {net.net_id}")


def _shifts(ax, task: str, nets: list[NetResult], counts: FigureCounts) -> None:
    rows, recomputed = [], 0
    for n in nets:
        s, again = matched_shift(n)
        if s is not None:
            rows.append(np.sort(s)[::-1])
            recomputed += again
    if not rows:
        empty(ax, "no eigenvalue shifts", f"{task}: matched shifts")
        return
    if recomputed:
        counts.notes.append(f"{task}: eigenvalue_shift not numeric for {recomputed} networks; matched from the spectra")
    k = min(len(r) for r in rows)
    y = np.vstack([r[:k] for r in rows])
    _band(ax, np.arange(1, k + 1), y, PLAIN_COLOR, "mean, 95 % CI")
    ax.set_title(f"{task}: matched |Δλ|, sorted (n={len(rows)})")
    ax.set_xlabel("eigenvalue rank")
    ax.set_ylabel("|λ_final − λ_initial|")
    ax.legend(frameon=False, fontsize=6)


# --------------------------------------------------------------------------- Fig. 8
def centrality_kind(nets: Sequence[NetResult]) -> str:
    """The centrality named by most networks' ``centrality`` attribute (eigenvector if none)."""
    kinds = Counter(str(n.attrs["centrality"]) for n in nets if n.attrs.get("centrality"))
    return kinds.most_common(1)[0][0] if kinds else "eigenvector"


def figure_h_fig8_centrality(root: Path, out_stem: str) -> FigureCounts:
    """Initial against final node centrality, pooled over networks, per task; the mean Spearman
    correlation and fraction of top nodes leaving the top in the title."""
    pal.style()
    counts = FigureCounts("h_fig8_centrality")
    results = load_results(root, counts)
    if not results:
        return _no_tasks("centrality", counts, out_stem)
    fig, axes = _panels(len(results), w=3.2, h=3.2)
    for j, (task, all_nets) in enumerate(results.items()):
        ax = axes[0, j]
        kind = centrality_kind(all_nets)
        nets = with_arrays(all_nets, (f"centrality_{kind}_initial", f"centrality_{kind}_final"), counts)
        counts.shown[task] = 0

        def draw(ax=ax, task=task, kind=kind, nets=nets) -> None:
            if not nets:
                empty(ax, f"no {kind} centralities", task)
                return
            x = np.concatenate([np.asarray(n.arrays[f"centrality_{kind}_initial"], dtype=np.float64).ravel() for n in nets])
            y = np.concatenate([np.asarray(n.arrays[f"centrality_{kind}_final"], dtype=np.float64).ravel() for n in nets])
            ax.scatter(x, y, s=6, alpha=0.5, color=PLAIN_COLOR, lw=0)
            ok = np.isfinite(x) & np.isfinite(y)
            if ok.any():
                lo, hi = min(x[ok].min(), y[ok].min()), max(x[ok].max(), y[ok].max())
                ax.plot([lo, hi], [lo, hi], color="0.6", lw=0.6, ls="--")
            rho, n_rho = _mean_attr(nets, f"centrality_{kind}_spearman")
            top, n_top = _mean_attr(nets, f"centrality_{kind}_top_leaving")
            ax.set_title(f"{task} (n={len(nets)}): {kind.replace('_', ' ')}\n"
                         f"mean Spearman ρ = {rho:.2f} ({n_rho}), top leaving = {top:.2f} ({n_top})")
            ax.set_xlabel("initial centrality")
            ax.set_ylabel("final centrality")
            counts.shown[task] = len(nets)
        _safe(counts, ax, task, draw)
    return _finish(fig, counts, out_stem)


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


FIGURES: dict[str, Callable[[Path, str], FigureCounts]] = {
    "h_fig1_performance": figure_h_fig1_performance,
    "h_fig2_decision_latent": figure_h_fig2_decision_latent,
    "h_fig3_perception_latent": figure_h_fig3_perception_latent,
    "h_fig4_mean_weight": figure_h_fig4_mean_weight,
    "h_fig6_pi_theta": figure_h_fig6_pi_theta,
    "h_fig7_weights_eigenvalues": figure_h_fig7_weights_eigenvalues,
    "h_fig8_centrality": figure_h_fig8_centrality,
    "h_fig9_dca_pre_post": figure_h_fig9_dca_pre_post,
    "h_fig10_condition_angles": figure_h_fig10_condition_angles,
    "h_fig11_readout_angles": figure_h_fig11_readout_angles,
}
