"""Figs. 2, 3 of study H: probe trajectories and fixed points of one trained network and of its
initialisation on their 3-D DCA bases; reading the probe states, fixed points and probe labels,
trial styles from the labels."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D

from rnnatlas.figures import palette as pal
from rnnatlas.figures.io import FigureCounts, PathLike
from rnnatlas.figures.training_change._common import (
    PLAIN_COLOR,
    STATES,
    NetResult,
    _empty_any,
    _finish,
    _safe,
    load_results,
    with_arrays,
)

STABILITY_COLORS: dict[str, str] = {"stable": "#2ca02c", "saddle": "#ff7f00", "marginal": "#984ea3"}
ISO_COLORS: tuple[str, str] = ("#377eb8", "#e41a1c")  # alternating isocontours (Fig. 2)
LEVEL_COLORS: tuple[str, ...] = ("#4C72B0", "#DD8452", "#55A868", "#8172B3")


# --------------------------------------------------------------------------- reading
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
