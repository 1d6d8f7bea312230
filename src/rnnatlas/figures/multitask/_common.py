"""Shared readers and helpers of the study-M figures (what they read and why: the package
docstring, :mod:`rnnatlas.figures.multitask`)."""
from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize

from rnnatlas.figures import palette as pal
from rnnatlas.figures.io import (
    FigureCounts,
    PathLike,
    read_json,
    save_figure,
)
from rnnatlas.figures.panels import empty

GROUPS: tuple[str, ...] = ("go", "go_family")
GROUP_LABELS: dict[str, str] = {"go": "Go only", "go_family": "multitask"}
GROUP_COLORS: dict[str, str] = {"go": "#4C72B0", "go_family": "#DD8452"}
# the Go family in the reference's order (as rnnatlas.tasks.go_family.RULES, which imports torch)
RULE_ORDER: tuple[str, ...] = ("go", "rt_go", "dly_go", "anti", "rt_anti", "dly_anti")
RULE_LABELS: dict[str, str] = {"go": "Go", "rt_go": "RT Go", "dly_go": "Dly Go", "anti": "Anti",
                               "rt_anti": "RT Anti", "dly_anti": "Dly Anti"}
EPOCH_ORDER: tuple[str, ...] = ("fixation", "stimulus", "delay", "response")
EPOCH_COLORS: dict[str, str] = {"fixation": "#eeeeee", "stimulus": "#fde0c5", "delay": "#dbe9f6",
                                "response": "#d9f0d3"}
VECTOR_RULES: tuple[str, ...] = ("go", "dly_go", "anti", "dly_anti")
VECTOR_COLORS: dict[str, str] = {"go": "#1f77b4", "dly_go": "#1f77b4", "anti": "#d62728", "dly_anti": "#d62728"}
VECTOR_MARKERS: dict[str, str] = {"go": "o", "dly_go": "s", "anti": "o", "dly_anti": "s"}
DT_MS = 20.0  # the Go family's step (rnnatlas.tasks.go_family.GoFamily.dt_ms)
N_RING = 32
INPUT_BLOCKS: tuple[tuple[str, int, int], ...] = (("fix", 0, 1), ("ring 1", 1, 33), ("ring 2", 33, 65),
                                                  ("rule", 65, 85))
ANGLE_CMAP = "hsv"
RESIDUAL_FLOOR = 1e-6  # |z − ẑ| below this is drawn in the lowest bin (the log axis has no zero)
TOP_SHARE = 0.02  # figure 4 draws the top 2 % of the off-diagonal |W_rec|
ACTIVE_VARIANCE = 1e-3  # figure 6 keeps units whose summed task variance exceeds this (Yang et al.)
SUMMARY_PATH = ("multitask", "summary.json")


# --------------------------------------------------------------------------- reading
@dataclass
class NetAnalysis:
    """One network's ``multitask.h5``."""
    task: str
    net_id: str
    config: dict
    arrays: dict[str, np.ndarray]
    attrs: dict[str, Any]


@dataclass
class ProbeSet:
    """A task's probe set, trials first: inputs [B, T, 85], targets and mask [B, T, 33], labels."""
    inputs: np.ndarray
    targets: np.ndarray
    mask: np.ndarray
    labels: dict[str, np.ndarray]


def _key(task: str, net_id: str) -> str:
    return f"{task}/{net_id}"


def group_label(task: str) -> str:
    return GROUP_LABELS.get(task, task)


def group_color(task: str) -> str:
    return GROUP_COLORS.get(task, pal.OTHER_COLOR)


def rule_label(rule: str) -> str:
    return RULE_LABELS.get(rule, rule)


def _rule_sort(rules: Sequence[str]) -> list[str]:
    present = list(dict.fromkeys(str(r) for r in rules))
    return [r for r in RULE_ORDER if r in present] + [r for r in present if r not in RULE_ORDER]


def read_summary(root: PathLike) -> dict | None:
    """``results/multitask/summary.json`` or None (missing or unreadable)."""
    try:
        return read_json(Path(root).joinpath(*SUMMARY_PATH))
    except (OSError, ValueError):
        return None


def network_ids(root: PathLike, counts: FigureCounts) -> tuple[dict | None, dict[str, list[str]]]:
    """(summary, {group: network ids to draw}); the study's groups first. A missing summary or
    group is noted in ``counts``."""
    summary = read_summary(root)
    path = Path(root).joinpath(*SUMMARY_PATH)
    if summary is None:
        counts.notes.append(f"summary missing or unreadable ({path}): no networks drawn")
        return None, {t: [] for t in GROUPS}
    listed = summary.get("networks") if isinstance(summary.get("networks"), dict) else {}
    if not listed:
        counts.notes.append(f"summary {path} lists no networks")
    tasks = list(GROUPS) + sorted(t for t in listed if t not in GROUPS)
    out = {t: [str(i) for i in (listed.get(t) or [])] for t in tasks}
    for t in GROUPS:
        if not out[t]:
            counts.notes.append(f"{t}: no networks listed in the summary")
    used = summary.get("networks_used") if isinstance(summary.get("networks_used"), dict) else {}
    for t in tasks:
        how = (used.get(t) or {}).get("used") if isinstance(used.get(t), dict) else None
        if out[t] and how and how != "accepted":
            counts.notes.append(f"{t}: networks drawn are {how}")
    return summary, out


def _net_path(root: PathLike, task: str, net_id: str, name: str) -> Path:
    return Path(root) / task / "nets" / net_id / name


def read_analyses(root: PathLike, task: str, ids: Sequence[str], counts: FigureCounts,
                  needs: Sequence[str] = ()) -> list[NetAnalysis]:
    """The analysed networks of ``ids`` holding every array in ``needs``; the others set aside."""
    from rnnatlas.store.multitask_file import read_multitask
    out = []
    for net_id in ids:
        path = _net_path(root, task, net_id, "multitask.h5")
        if not path.exists():
            counts.set_aside[_key(task, net_id)] = "multitask.h5 missing"
            continue
        try:
            config, arrays, attrs = read_multitask(path)
        except Exception as exc:  # noqa: BLE001 - an unreadable file is set aside, never a crash
            counts.set_aside[_key(task, net_id)] = f"unreadable multitask.h5 ({exc})"
            continue
        if not bool(attrs.get("analysed", False)):
            counts.set_aside[_key(task, net_id)] = "not analysed: " + str(attrs.get("reason") or "no reason recorded")
            continue
        missing = [k for k in needs if k not in arrays]
        if missing:
            counts.set_aside[_key(task, net_id)] = f"multitask.h5 lacks {', '.join(missing)}"
            continue
        out.append(NetAnalysis(task, net_id, config, arrays, attrs))
    return out


def read_probe_states(root: PathLike, task: str, net_id: str) -> tuple[dict, np.ndarray, np.ndarray] | None:
    """(config, hidden [B, T, N], outputs [B, T, 33]) of a network's ``probe.h5``, or None."""
    from rnnatlas.store.probe_file import read_probe
    path = _net_path(root, task, net_id, "probe.h5")
    if not path.exists():
        return None
    try:
        config, hidden, outputs = read_probe(path)
    except Exception:  # noqa: BLE001
        return None
    return config, np.asarray(hidden, dtype=np.float64), np.asarray(outputs, dtype=np.float64)


def read_probe_set(root: PathLike, task: str) -> ProbeSet | None:
    """The probe set of ``results/<task>/task_data.h5``, trials first, or None. Read with h5py
    (the layout of :mod:`rnnatlas.store.task_data`, whose reader builds torch tensors)."""
    import h5py

    from rnnatlas.store.h5io import open_h5
    path = Path(root) / task / "task_data.h5"
    if not path.exists():
        return None
    try:
        with open_h5(path, "task_data") as f:
            batch = {k: np.asarray(f["probe"][k][()], dtype=np.float64).transpose(1, 0, 2)
                     for k in ("inputs", "targets", "mask")}
            labels = {}
            for name, ds in f["probe_labels"].items():
                value = ds[()]
                labels[name] = np.asarray(value).astype(str) if h5py.check_string_dtype(ds.dtype) else np.asarray(value)
    except Exception:  # noqa: BLE001
        return None
    return ProbeSet(batch["inputs"], batch["targets"], batch["mask"], labels)


def read_params(root: PathLike, task: str, net_id: str) -> dict[str, np.ndarray] | None:
    """A network's parameters from ``model.h5`` (float64), or None when it is missing or unreadable."""
    from rnnatlas.store.model_file import read_model

    path = _net_path(root, task, net_id, "model.h5")
    if not path.exists():
        return None
    try:
        return {name: np.asarray(v, dtype=np.float64) for name, v in read_model(path).params.items()}
    except Exception:  # noqa: BLE001
        return None


def example_id(root: PathLike, task: str, ids: Sequence[str], files: Sequence[str],
               counts: FigureCounts) -> str | None:
    """The first listed network of ``task`` that has all ``files``; skipped ones are set aside."""
    for net_id in ids:
        missing = [f for f in files if not _net_path(root, task, net_id, f).exists()]
        if not missing:
            if net_id != ids[0]:
                counts.notes.append(f"{task}: example network {net_id} (the first listed lacks files)")
            return net_id
        counts.set_aside[_key(task, net_id)] = f"missing {', '.join(missing)}"
    return None


def trial_epochs(labels: dict[str, np.ndarray], b: int) -> dict[str, tuple[int, int]]:
    """Epoch [start, stop) of probe trial ``b`` from its labels (the task's ``Timing.epochs``)."""
    on, off = int(labels["stim_on"][b]), int(labels["stim_off"][b])
    response, end = int(labels["response"][b]), int(labels["end"][b])
    out = {"fixation": (0, on)}
    if response > on:
        out["stimulus"] = (on, min(off, response))
    if off < response:
        out["delay"] = (off, response)
    out["response"] = (response, end)
    return {k: v for k, v in out.items() if v[1] > v[0]}


def rule_trials(labels: dict[str, np.ndarray], rule: str) -> np.ndarray:
    return np.flatnonzero(np.asarray(labels.get("rule", [])).astype(str) == rule)


# --------------------------------------------------------------------------- statistics
def mean_ci_columns(y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per column of ``y [networks, K]``: (mean, ci_low, ci_high, n) of :func:`rnnatlas.stats.mean_ci`
    over the finite values (NaN where it gives none)."""
    from rnnatlas.stats import mean_ci
    y = np.atleast_2d(np.asarray(y, dtype=np.float64))
    y = np.where(np.isfinite(y), y, np.nan)
    rows = [mean_ci(col) for col in y.T]
    get = lambda key: np.array([np.nan if r[key] is None else float(r[key]) for r in rows])
    return get("mean"), get("ci_low"), get("ci_high"), np.array([int(r["n"]) for r in rows])


def format_ci(stat: dict | None, digits: int = 2) -> str:
    """``mean [low, high] (n = k)`` of a mean_ci dict; ``n/a`` when there is no mean."""
    if not isinstance(stat, dict) or stat.get("mean") is None:
        return "n/a"
    text = f"{stat['mean']:.{digits}f}"
    if stat.get("ci_low") is not None and stat.get("ci_high") is not None:
        text += f" [{stat['ci_low']:.{digits}f}, {stat['ci_high']:.{digits}f}]"
    return text + f" (n = {stat.get('n', '?')})"


def align_columns(xs: Sequence[np.ndarray], ys: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(union of the x values, y [curves, len(union)] with NaN where a curve has no value)."""
    xs = [np.asarray(x).ravel() for x in xs]
    grid = np.unique(np.concatenate(xs)) if xs else np.zeros(0)
    out = np.full((len(xs), len(grid)), np.nan)
    for k, (x, y) in enumerate(zip(xs, ys)):
        n = min(len(x), len(y))
        out[k, np.searchsorted(grid, x[:n])] = np.asarray(y, dtype=np.float64)[:n]
    return grid, out


# --------------------------------------------------------------------------- panels and saving
def _safe(counts: FigureCounts, ax, what: str, draw: Callable[[], Any], three_d: bool = False) -> Any:
    """Draw a panel; an unexpected error in partial data becomes a note and an empty panel."""
    try:
        return draw()
    except Exception as exc:  # noqa: BLE001
        counts.notes.append(f"{what}: panel not drawn ({type(exc).__name__}: {exc})")
        ax.cla()
        if three_d:
            ax.set_axis_off()
            ax.text2D(0.5, 0.5, "could not be drawn", transform=ax.transAxes, ha="center", va="center",
                      fontsize=7, color="0.35")
            ax.set_title(what)
        else:
            empty(ax, "could not be drawn", what)
        return None


def _finish(fig, counts: FigureCounts, out_stem: PathLike) -> FigureCounts:
    if counts.set_aside:
        counts.notes.append(f"{len(counts.set_aside)} networks set aside (see set_aside)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # 3-D axes and colour bars: "not compatible"
            fig.tight_layout()
    except Exception:  # noqa: BLE001, S110 - the layout is cosmetic
        pass
    counts.files = save_figure(fig, out_stem)
    return counts


def _nothing(counts: FigureCounts, out_stem: PathLike, text: str, title: str,
             zero: Sequence[str] = ()) -> FigureCounts:
    """A figure of one empty panel saying why, with zero counts for ``zero``."""
    for k in zero:
        counts.shown.setdefault(k, 0)
    fig, ax = plt.subplots(figsize=(4.0, 3.0))
    empty(ax, text, title)
    return _finish(fig, counts, out_stem)


def _shade_epochs(ax, epochs: dict[str, tuple[int, int]], dt: float = DT_MS) -> None:
    for name, (start, stop) in epochs.items():
        ax.axvspan(start * dt, stop * dt, color=EPOCH_COLORS.get(name, "#f5f5f5"), lw=0, zorder=0)


def _angle_color(angle: float):
    return plt.get_cmap(ANGLE_CMAP)(float(np.remainder(angle, 2 * math.pi)) / (2 * math.pi))


def _angle_colorbar(fig, ax) -> None:
    sm = ScalarMappable(norm=Normalize(0, 360), cmap=ANGLE_CMAP)
    cb = fig.colorbar(sm, ax=ax, fraction=0.04, pad=0.12, shrink=0.7)
    cb.set_label("stimulus angle (°)", fontsize=7)
    cb.set_ticks([0, 90, 180, 270, 360])
    cb.ax.tick_params(labelsize=6)


# --------------------------------------------------------------------------- Fig. 1


def _trial_end(labels: dict[str, np.ndarray], b: int, n_steps: int) -> int:
    return int(min(int(labels["end"][b]), n_steps)) if "end" in labels else n_steps
