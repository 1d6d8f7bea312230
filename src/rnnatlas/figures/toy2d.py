"""Figures of the 2-D continuous-time RNNs of study S (Turner et al. 2021, supplement Fig. 1–2).

Read ``results/toy2d/<activation>/solutions.h5`` only. The example trajectories are
re-integrated here from the stored trained weights (four numbers per network, milliseconds
of work), because the file keeps no trajectories; no network is trained or re-classified.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D

from rnnatlas.features.toy2d import CLASSES
from rnnatlas.figures import palette as pal
from rnnatlas.figures.io import FigureCounts, PathLike, save_figure
from rnnatlas.figures.panels import empty, note

TYPE_COLORS: dict[str, str] = {
    "stable_origin": "#1b9e77", "transient_amplification": "#e6ab02", "fixed_points": "#7570b3",
    "limit_cycle": "#d95f02", "divergence": "#222222", "other": pal.OTHER_COLOR,
}
TYPE_LABELS: dict[str, str] = {
    "stable_origin": "stable origin", "transient_amplification": "transient amplification",
    "fixed_points": "non-zero fixed point", "limit_cycle": "limit cycle", "divergence": "divergence",
    "other": "other",
}
TYPE_SHORT: dict[str, str] = {
    "stable_origin": "stable", "transient_amplification": "transient", "fixed_points": "fixed pt",
    "limit_cycle": "cycle", "divergence": "diverge", "other": "other",
}
EXAMPLES_PER_TYPE = 3
HORIZON_FACTOR = 3.0  # example trajectories run to HORIZON_FACTOR × t_final


@dataclass
class Population:
    """What the figures need from one solutions file."""
    activation: str
    weight: np.ndarray  # [K, 2, 2]
    accepted: np.ndarray  # [K] bool
    failed: np.ndarray  # [K] bool
    failure_reason: np.ndarray  # [K] str
    label: np.ndarray  # [K] str
    trace: np.ndarray  # [K]
    determinant: np.ndarray  # [K]
    origin_saddle: np.ndarray | None
    options: dict


def read_population(path: PathLike) -> tuple[Population | None, str]:
    """(population, "") or (None, why) for a missing or unreadable solutions file."""
    from rnnatlas.store.toy2d_file import read_solutions
    path = Path(path)
    if not path.exists():
        return None, "solutions file missing"
    try:
        config, arrays, attrs = read_solutions(path)
    except Exception as e:  # noqa: BLE001 - a broken file is drawn as missing, never a crash
        return None, f"unreadable solutions file ({type(e).__name__})"
    k = len(arrays["accepted"])
    return Population(
        activation=str(attrs.get("activation", config.get("activation", path.parent.name))),
        weight=np.asarray(arrays["weight"], dtype=np.float64),
        accepted=np.asarray(arrays["accepted"]).astype(bool),
        failed=np.asarray(arrays.get("failed", np.zeros(k))).astype(bool),
        failure_reason=np.asarray(arrays.get("failure_reason", np.full(k, "")), dtype=str),
        label=np.asarray(arrays["label"], dtype=str),
        trace=np.asarray(arrays["trace"], dtype=np.float64),
        determinant=np.asarray(arrays["determinant"], dtype=np.float64),
        origin_saddle=np.asarray(arrays["origin_saddle"]).astype(bool) if "origin_saddle" in arrays else None,
        options={**config, **dict(attrs.get("options") or {})},
    ), ""


def type_order(labels) -> list[str]:
    """The known solution types in CLASSES order, then any other label found, sorted."""
    extra = sorted(set(map(str, labels)) - set(CLASSES))
    return [*CLASSES, *extra]


def accepted_type_counts(pop: Population) -> dict[str, int]:
    """Accepted networks per solution type (every known type listed, 0 where absent)."""
    got = Counter(pop.label[pop.accepted].tolist())
    return {t: int(got.get(t, 0)) for t in type_order(pop.label[pop.accepted])}


def not_accepted_note(pop: Population) -> str:
    """One line on the networks of a population that are not solutions, and why."""
    n, acc = len(pop.accepted), int(pop.accepted.sum())
    thr = pop.options.get("accept_loss")
    text = f"{pop.activation}: {n - acc} of {n} networks not accepted"
    text += f" (final loss ≥ {thr:g})" if thr is not None else ""
    if pop.failed.any():
        reasons = Counter(r or "unspecified" for r in pop.failure_reason[pop.failed])
        text += f"; {int(pop.failed.sum())} failed: " + ", ".join(f"{r} ({c})" for r, c in reasons.most_common())
    return text


def _type_color(t: str) -> str:
    return TYPE_COLORS.get(t, pal.OTHER_COLOR)


def _examples(pop: Population) -> dict[str, np.ndarray]:
    """Indices of up to EXAMPLES_PER_TYPE accepted networks per type, the first in file order."""
    out = {}
    for t in type_order(pop.label[pop.accepted]):
        idx = np.flatnonzero(pop.accepted & (pop.label == t))[:EXAMPLES_PER_TYPE]
        if len(idx):
            out[t] = idx
    return out


def integrate(weight: np.ndarray, activation: str, x0, t_end: float, dt: float) -> np.ndarray:
    """States [K, S, 2] from x0 at every step of dt up to t_end; non-finite values become NaN."""
    import torch

    from rnnatlas.models.ctrnn2d import CTRNN2DPopulation
    with torch.no_grad():
        pop = CTRNN2DPopulation(torch.as_tensor(weight, dtype=torch.float64), activation)
        _, traj = pop(torch.as_tensor(x0, dtype=torch.float64), t_end, dt, return_trajectory=True, record_every=1)
    x = traj[:, :, 0, :].numpy()
    return np.where(np.isfinite(x), x, np.nan)


def figure_toy2d_trajectories(solution_paths: Mapping[str, PathLike], out_stem: PathLike) -> FigureCounts:
    """Per activation: phase-plane trajectories (x1, x2) of ≤3 accepted solutions per type, solid
    to t_final and dashed on to 3 × t_final, with x0 and the target; below, accepted networks per type."""
    pal.style()
    counts = FigureCounts("toy2d_trajectories")
    acts = list(solution_paths)
    n = max(len(acts), 1)
    fig, axes = plt.subplots(2, n, figsize=(3.4 * n, 5.0), squeeze=False, gridspec_kw={"height_ratios": [3, 1.1]})
    drawn: dict[str, tuple[Population, dict[str, np.ndarray], dict]] = {}
    for act in acts:
        pop, why = read_population(solution_paths[act])
        if pop is None:
            empty(axes[0][acts.index(act)], why, pal.ACT_LABELS.get(act, act))
            empty(axes[1][acts.index(act)], "")
            counts.notes.append(f"{act}: {why} ({solution_paths[act]})")
            continue
        ex = _examples(pop)
        opts = pop.options
        t_final, dt = float(opts["t_final"]), float(opts.get("dt", 0.1))
        trajs = {}
        if ex:
            idx = np.concatenate(list(ex.values()))
            states = integrate(pop.weight[idx], pop.activation, opts["x0"], HORIZON_FACTOR * t_final, dt)
            start = 0
            for t, ix in ex.items():
                trajs[t] = states[start:start + len(ix)]
                start += len(ix)
        drawn[act] = (pop, trajs, {"t_final": t_final, "dt": dt, "x0": opts["x0"], "target": opts["target"]})
    lim = _phase_limit(drawn)
    for j, act in enumerate(acts):
        if act not in drawn:
            counts.shown[act] = 0
            continue
        pop, trajs, o = drawn[act]
        tc = accepted_type_counts(pop)
        counts.shown[act] = int(pop.accepted.sum())
        counts.shown.update({f"{act}_{t}": c for t, c in tc.items()})
        counts.shown[f"{act}_examples"] = int(sum(len(v) for v in trajs.values()))
        counts.notes.append(not_accepted_note(pop))
        if pop.origin_saddle is not None and tc.get("fixed_points", 0):
            fp = pop.accepted & (pop.label == "fixed_points")
            counts.notes.append(f"{act}: {int((fp & pop.origin_saddle).sum())} of {int(fp.sum())} fixed-point "
                                "solutions have a saddle at the origin")
        _phase_panel(axes[0][j], act, pop, trajs, o, tc, lim)
        _type_bars(axes[1][j], tc, int(pop.accepted.sum()), len(pop.accepted))
    counts.notes.append(f"example trajectories: the first ≤{EXAMPLES_PER_TYPE} accepted networks of each type "
                        f"(file order), integrated with RK4 to {HORIZON_FACTOR:g} × t_final; solid up to t_final")
    fig.tight_layout()
    counts.files = save_figure(fig, out_stem)
    return counts


def _phase_limit(drawn: dict) -> float:
    """Half-width of the shared square view: the bounded examples, at least 1.3× and at most 3×
    the larger of |x0| and |target| (diverging trajectories leave the view and are clipped)."""
    ref = max([1.0] + [float(np.max(np.abs([*o["x0"], *o["target"]]))) for _, _, o in drawn.values()])
    ext = [np.nanmax(np.abs(x)) for _, trajs, _ in drawn.values() for t, x in trajs.items()
           if t != "divergence" and np.isfinite(x).any()]
    return 1.1 * float(np.clip(max(ext, default=ref), 1.3 * ref, 3.0 * ref))


def _phase_panel(ax, act: str, pop: Population, trajs: dict[str, np.ndarray], o: dict,
                 tc: dict[str, int], lim: float) -> None:
    n_task = int(round(o["t_final"] / o["dt"])) + 1
    handles = []
    for t, x in trajs.items():
        c = _type_color(t)
        for xi in x:
            ax.plot(xi[:n_task, 0], xi[:n_task, 1], color=c, lw=1.1, alpha=0.9)
            ax.plot(xi[n_task - 1:, 0], xi[n_task - 1:, 1], color=c, lw=0.8, ls="--", alpha=0.7)
        handles.append(Line2D([], [], color=c, lw=1.5, label=f"{TYPE_LABELS.get(t, t)} ({len(x)} of {tc[t]})"))
    x0, target = np.asarray(o["x0"], float), np.asarray(o["target"], float)
    ax.plot(*x0, "o", color="k", ms=5, zorder=5)
    ax.plot(*target, "*", color="#e41a1c", ms=10, mec="k", mew=0.5, zorder=5)
    handles += [Line2D([], [], ls="", marker="o", color="k", label="$x_0$"),
                Line2D([], [], ls="", marker="*", color="#e41a1c", mec="k", mew=0.5, ms=8,
                       label=f"target at t = {o['t_final']:g}")]
    ax.axhline(0, color="0.8", lw=0.5, zorder=0), ax.axvline(0, color="0.8", lw=0.5, zorder=0)
    ax.set_xlim(-lim, lim), ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    ax.set_xlabel("$x_1$"), ax.set_ylabel("$x_2$")
    ax.set_title(f"φ = {pal.ACT_LABELS.get(act, act)}")
    ax.legend(handles=handles, loc="lower left", frameon=True, framealpha=0.8, fontsize=5.5, handlelength=1.5)
    if not trajs:
        note(ax, "no accepted solutions", "upper right")


def _type_bars(ax, tc: dict[str, int], n_acc: int, n: int) -> None:
    types = list(tc)
    x = np.arange(len(types))
    ax.bar(x, [tc[t] for t in types], color=[_type_color(t) for t in types])
    top = max(max(tc.values(), default=0), 1)
    for xi, t in zip(x, types):
        ax.text(xi, tc[t] + 0.02 * top, str(tc[t]), ha="center", va="bottom", fontsize=6)
    ax.set_ylim(0, 1.25 * top)
    ax.set_xticks(x, [TYPE_SHORT.get(t, t) for t in types], rotation=30, ha="right", fontsize=6)
    ax.set_ylabel("networks")
    ax.set_title(f"accepted: {n_acc} of {n}", fontsize=8)


def figure_toy2d_trace_det(solution_paths: Mapping[str, PathLike], out_stem: PathLike) -> FigureCounts:
    """Per activation: 2-D histogram of determinant Δ (x) and trace τ (y) of W − I over accepted
    networks, shared limits, with Δ = 0, τ = 0 and τ² = 4Δ; stable solutions lie bottom right."""
    pal.style()
    counts = FigureCounts("toy2d_trace_det")
    acts = list(solution_paths)
    n = max(len(acts), 1)
    fig, axes = plt.subplots(1, n, figsize=(3.6 * n, 3.2), squeeze=False)
    pops: dict[str, np.ndarray] = {}
    for ax, act in zip(axes[0], acts):
        pop, why = read_population(solution_paths[act])
        if pop is None:
            empty(ax, why, pal.ACT_LABELS.get(act, act))
            counts.shown[act] = 0
            counts.notes.append(f"{act}: {why} ({solution_paths[act]})")
            continue
        counts.notes.append(not_accepted_note(pop))
        td = np.stack([pop.determinant[pop.accepted], pop.trace[pop.accepted]], axis=1)
        ok = np.isfinite(td).all(axis=1)
        if (~ok).any():
            counts.notes.append(f"{act}: {int((~ok).sum())} accepted networks with non-finite trace or determinant")
        pops[act] = td[ok]
        counts.shown[act] = int(ok.sum())
    xlim, ylim = _td_limits(list(pops.values()))
    for ax, act in zip(axes[0], acts):
        if act not in pops:
            continue
        td = pops[act]
        title = f"φ = {pal.ACT_LABELS.get(act, act)} ({len(td)} solutions)"
        _td_guides(ax, xlim, ylim)
        if len(td):
            _, _, _, im = ax.hist2d(td[:, 0], td[:, 1], bins=[np.linspace(*xlim, 41), np.linspace(*ylim, 41)],
                                    cmap="viridis", cmin=1)
            cb = fig.colorbar(im, ax=ax, fraction=0.046, pad=0.02)
            cb.ax.tick_params(labelsize=6)
            cb.set_label("networks", fontsize=7)
            q = _quadrants(td)
            counts.notes.append(f"{act}: {q['stable']} stable (τ<0, Δ>0), {q['saddle']} saddle (Δ<0), "
                                f"{q['unstable']} unstable (τ>0, Δ>0) at the origin")
        else:
            note(ax, "no accepted solutions", "upper left")
        ax.set_xlim(*xlim), ax.set_ylim(*ylim)
        ax.set_xlabel("determinant Δ"), ax.set_ylabel("trace τ")
        ax.set_title(title)
    counts.notes.append("τ and Δ of W − I, the linearisation at the origin with φ'(0) = 1 (for ReLU: "
                        "the dynamics in the positive orthant)")
    fig.tight_layout()
    counts.files = save_figure(fig, out_stem)
    return counts


def _td_limits(tds: list[np.ndarray]) -> tuple[tuple[float, float], tuple[float, float]]:
    """Shared (Δ, τ) limits over all panels, always containing 0, padded by 8%."""
    allv = np.concatenate([t for t in tds if len(t)] or [np.zeros((1, 2))])
    out = []
    for k in range(2):
        lo, hi = min(allv[:, k].min(), 0.0), max(allv[:, k].max(), 0.0)
        pad = 0.08 * (hi - lo) if hi > lo else 1.0
        out.append((float(lo - pad), float(hi + pad)))
    return out[0], out[1]


def _td_guides(ax, xlim, ylim) -> None:
    ax.axhline(0, color="0.3", lw=0.6, zorder=3), ax.axvline(0, color="0.3", lw=0.6, zorder=3)
    tau = np.linspace(*ylim, 200)
    ax.plot(tau ** 2 / 4, tau, color="#e41a1c", lw=0.8, ls="--", zorder=3, label="τ² = 4Δ")
    ax.legend(loc="upper left", frameon=False, fontsize=6)
    for x, y, ha, va, s in ((0.98, 0.02, "right", "bottom", "stable"), (0.02, 0.02, "left", "bottom", "saddle"),
                            (0.98, 0.98, "right", "top", "unstable")):
        ax.text(x, y, s, transform=ax.transAxes, ha=ha, va=va, fontsize=6, color="0.35", zorder=4,
                bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.7))


def _quadrants(td: np.ndarray) -> dict[str, int]:
    det, tr = td[:, 0], td[:, 1]
    return {"stable": int(((tr < 0) & (det > 0)).sum()), "saddle": int((det < 0).sum()),
            "unstable": int(((tr > 0) & (det > 0)).sum())}
