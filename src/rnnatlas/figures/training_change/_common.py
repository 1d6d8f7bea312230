"""Shared parts of the study-H figures: reading each network's ``training_change.h5``,
population statistics (t-interval, mean and 95 % CI per column), panel helpers and shared styles."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from rnnatlas.figures.io import FigureCounts, PathLike, read_json, save_figure
from rnnatlas.figures.panels import empty

KIND = "training_change"
TASK_ORDER: tuple[str, ...] = ("decision", "perception")
STATES: tuple[str, ...] = ("trained", "untrained")
STATE_COLORS: dict[str, str] = {"trained": "#C44E52", "untrained": "#4C72B0"}
PLAIN_COLOR = "#4C72B0"


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
    named = _summary_networks(root, task)
    for path in sorted((Path(root) / task / "nets").glob("*/training_change.h5")):
        net_id = path.parent.name
        if named is not None and net_id not in named:
            continue  # left by an earlier config: not one of the summary's networks
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


def _summary_networks(root: PathLike, task: str) -> set[str] | None:
    """The networks the summary read for ``task`` (analysed and set aside): exactly those of the
    config that built it. None without a summary that lists them (then every file is read)."""
    entry = (read_json(Path(root) / "training_change" / "summary.json") or {}).get("tasks", {}).get(task)
    if not isinstance(entry, dict) or "networks" not in entry:
        return None
    return set(entry["networks"]) | {str(s).split(":", 1)[0] for s in entry.get("set_aside", [])}


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
