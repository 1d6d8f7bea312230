"""Figures of the Ready-Set-Go networks of study S (Turner et al. 2021, supplement Fig. 4 and 6).

Read ``results/space_of_solutions/rsg_features.csv`` and ``summary.json`` only: the feature
distributions per architecture, and the solution classes with how well the neural features
predict them (decision-tree confusion matrices and Cohen's κ, computed by the summary stage).
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.patches import Patch

from rnnatlas.figures import palette as pal
from rnnatlas.figures.io import FigureCounts, PathLike, read_json, save_figure
from rnnatlas.figures.panels import empty, note

COMBINED = "all"
COMBINED_COLOR = "#333333"
FEATURE_LABELS: dict[str, str] = {
    "rs_curvature_min": "RS min curvature (log10)", "rs_curvature_max": "RS max curvature (log10)",
    "rs_end_speed": "RS end speed (log10)", "rs_speed_ratio": "RS initial/end speed (log10)",
    "sg_aspect_ratio_initial": "SG aspect ratio, initial", "sg_aspect_ratio_final": "SG aspect ratio, final",
    "sg_aspect_ratio_slope": "SG aspect-ratio slope", "sg_length_slope": "SG length vs $t_s$ slope",
    "sg_single_neuron_error": "SG best single-neuron error", "rs_sg_correlation": "RS–SG correlation",
    "rs_sg_angle": "RS–SG angle (deg)", "rs_sg_speed_ratio": "RS/SG speed ratio (log10)",
    "rs_sg_svm_margin": "RS–SG SVM margin",
}


def arch_order(archs: Sequence[str]) -> list[str]:
    """Architectures present, in the palette's order, then any others sorted."""
    present = {str(a) for a in archs}
    return [a for a in pal.ARCH_ORDER if a in present] + sorted(present - set(pal.ARCH_ORDER))


def _label(group: str) -> str:
    return "all" if group == COMBINED else pal.ARCH_LABELS.get(group, group)


def _color(group: str) -> str:
    return COMBINED_COLOR if group == COMBINED else pal.arch_color(group)


def _bools(col: pd.Series) -> pd.Series:
    if col.dtype == bool:
        return col
    return col.astype(str).str.strip().str.lower().isin(("true", "1", "yes"))


def read_feature_table(path: PathLike) -> pd.DataFrame | None:
    """The feature table with boolean ``accepted``/``analysed`` and string ``solution_class``, or None."""
    path = Path(path)
    if not path.exists():
        return None
    df = pd.read_csv(path)
    for c in ("accepted", "analysed"):
        df[c] = _bools(df[c]) if c in df else False
    for c in ("net_id", "arch", "reason", "solution_class"):
        df[c] = df[c].fillna("").astype(str) if c in df else ""
    return df


def used_networks(df: pd.DataFrame, networks_used: str) -> tuple[pd.DataFrame, dict[str, str]]:
    """(rows the summary used, {net id: why left out}): analysed and, if asked, accepted."""
    keep = df.analysed & (df.accepted if networks_used == "accepted" else True)
    aside = {}
    for r in df[~keep].itertuples(index=False):
        if networks_used == "accepted" and not r.accepted:
            aside[r.net_id] = "not accepted"
        else:
            aside[r.net_id] = "not analysed" + (f": {r.reason}" if r.reason else "")
    return df[keep], aside


def figure_rsg_features(features_csv: PathLike, summary_json: PathLike, out_stem: PathLike) -> FigureCounts:
    """One panel per neural feature: density histograms per architecture over the networks the
    summary used (analysed, and accepted if so configured); non-finite values are counted, not drawn."""
    pal.style()
    counts = FigureCounts("rsg_features")
    rsg = (read_json(summary_json) or {}).get("rsg", {})
    from rnnatlas.features.rsg import FEATURE_NAMES
    names = list(rsg.get("features") or FEATURE_NAMES)
    networks_used = str(rsg.get("networks_used", "accepted"))
    ncol = 4
    nrow = (len(names) + 1 + ncol - 1) // ncol  # one slot for the legend
    fig, axes = plt.subplots(nrow, ncol, figsize=(2.5 * ncol, 2.0 * nrow), squeeze=False)
    flat = list(axes.flat)
    df = read_feature_table(features_csv)
    if df is None:
        counts.notes.append(f"feature table missing ({features_csv})")
        for ax, name in zip(flat, names):
            empty(ax, "feature table missing", FEATURE_LABELS.get(name, name))
            counts.shown[name] = 0
        for ax in flat[len(names):]:
            ax.axis("off")
        fig.tight_layout()
        counts.files = save_figure(fig, out_stem)
        return counts
    used, counts.set_aside = used_networks(df, networks_used)
    archs = arch_order(used.arch) if len(used) else arch_order(df.arch)
    counts.shown["networks_used"] = int(len(used))
    for a in archs:
        counts.shown[f"used_{a}"] = int((used.arch == a).sum())
    for ax, name in zip(flat, names):
        _feature_panel(ax, used, name, archs, counts)
    legend_ax = flat[len(names)]
    legend_ax.axis("off")
    handles = [Patch(color=pal.arch_color(a), alpha=0.6,
                     label=f"{pal.ARCH_LABELS.get(a, a)} ({int((used.arch == a).sum())})") for a in archs]
    legend_ax.legend(handles=handles, loc="center", frameon=False, fontsize=8,
                     title=f"networks used ({networks_used})", title_fontsize=8)
    for ax in flat[len(names) + 1:]:
        ax.axis("off")
    if counts.set_aside:
        counts.notes.append(f"{len(counts.set_aside)} of {len(df)} networks not used (see set_aside)")
    fig.tight_layout()
    counts.files = save_figure(fig, out_stem)
    return counts


def _feature_panel(ax, used: pd.DataFrame, name: str, archs: list[str], counts: FigureCounts) -> None:
    title = FEATURE_LABELS.get(name, name)
    if name not in used:
        empty(ax, "column missing", title)
        counts.shown[name] = 0
        counts.notes.append(f"{name}: column missing from the feature table")
        return
    vals = pd.to_numeric(used[name], errors="coerce").to_numpy(dtype=np.float64)
    ok = np.isfinite(vals)
    counts.shown[name] = int(ok.sum())
    bad = {a: int((~ok & (used.arch == a).to_numpy()).sum()) for a in archs}
    if (~ok).any():
        per = ", ".join(f"{a}: {n}" for a, n in bad.items() if n)
        counts.notes.append(f"{name}: {int((~ok).sum())} non-finite values not plotted ({per})")
    if not ok.any():
        empty(ax, "no finite values" + (f"\n({int((~ok).sum())} non-finite)" if (~ok).any() else ""), title)
        return
    bins = np.histogram_bin_edges(vals[ok], bins=20)
    for a in archs:
        v = vals[ok & (used.arch == a).to_numpy()]
        if len(v):
            ax.hist(v, bins=bins, density=True, histtype="stepfilled", color=pal.arch_color(a), alpha=0.3)
            ax.hist(v, bins=bins, density=True, histtype="step", color=pal.arch_color(a), lw=1.0)
    ax.set_title(title, fontsize=8)
    ax.set_ylabel("density", fontsize=7)
    ax.tick_params(labelsize=6)
    if (~ok).any():
        note(ax, f"{int((~ok).sum())} non-finite", "upper right")


def cell_text(mean, se) -> list[list[str]]:
    """Annotation of each confusion-matrix cell: "mean±se", "mean" without an se, "N/A" when null."""
    m, s = np.array(mean, dtype=np.float64, ndmin=2), np.array(se, dtype=np.float64, ndmin=2)
    if s.shape != m.shape:
        s = np.full(m.shape, np.nan)
    return [[("N/A" if not np.isfinite(m[i, j]) else f"{m[i, j]:.2f}"
              + (f"±{s[i, j]:.2f}" if np.isfinite(s[i, j]) else "")) for j in range(m.shape[1])]
            for i in range(m.shape[0])]


def kappa_text(entry: dict) -> str:
    """"κ = mean ± se" of a classification entry, or "κ undefined"."""
    k, se = entry.get("kappa_mean"), entry.get("kappa_se")
    if k is None or not np.isfinite(k):
        return "κ undefined"
    return f"κ = {k:.2f}" + (f" ± {se:.2f}" if se is not None and np.isfinite(se) else "")


def figure_rsg_classes(summary_json: PathLike, out_stem: PathLike) -> FigureCounts:
    """Left: fraction of networks in each solution class per architecture and all together.
    Right: per group, the decision tree's row-normalised confusion matrix (mean ± se over repeats,
    N/A for under-represented classes) with Cohen's κ in the title."""
    pal.style()
    counts = FigureCounts("rsg_classes")
    summary = read_json(summary_json)
    rsg = (summary or {}).get("rsg", {})
    class_counts: dict[str, dict[str, int]] = rsg.get("class_counts") or {}
    classification: dict[str, dict] = rsg.get("classification") or {}
    groups = arch_order([g for g in {*class_counts, *classification} if g != COMBINED]) + [COMBINED]
    classes = _class_order(class_counts)
    ncol = 2 if len(groups) <= 4 else 3
    nrow = (len(groups) + ncol - 1) // ncol
    c_max = max([len(classification.get(g, {}).get("classes") or []) for g in groups] + [1])
    side = max(2.4, 0.45 * c_max + 1.2)
    fig = plt.figure(figsize=(3.0 + (side + 1.2) * ncol, max(3.6, (side + 0.9) * nrow)), layout="constrained")
    gs = fig.add_gridspec(nrow, ncol + 1, width_ratios=[3.0 / side] + [1.0] * ncol)
    ax_bar = fig.add_subplot(gs[:, 0])
    if summary is None:
        counts.notes.append(f"summary missing ({summary_json})")
    _class_bars(ax_bar, groups, classes, class_counts, counts)
    clf = rsg.get("classifier") or {}
    for k, g in enumerate(groups):
        ax = fig.add_subplot(gs[k // ncol, 1 + k % ncol])
        _confusion_panel(ax, g, classification.get(g), max(3.5, 8.0 - 0.6 * c_max), counts)
    if clf:
        counts.notes.append(f"classifier: {clf.get('model', '?')}, {clf.get('n_repeats', '?')} repeated "
                            f"{1 - float(clf.get('test_size', 0.3)):.0%}/{float(clf.get('test_size', 0.3)):.0%} "
                            f"splits; classes with < {clf.get('min_members', '?')} networks are N/A")
    for a, n in sorted((rsg.get("networks") or {}).items()):
        counts.notes.append(f"{a}: {n.get('used', 0)} used of {n.get('trained', 0)} trained "
                            f"({n.get('accepted', 0)} accepted, {n.get('analysed', 0)} analysed)")
    counts.files = save_figure(fig, out_stem)
    return counts


def _class_order(class_counts: dict[str, dict[str, int]]) -> list[str]:
    """Classes by total count (largest first), ties by name."""
    tot: dict[str, int] = {}
    for g, cc in class_counts.items():
        if g == COMBINED and len(class_counts) > 1:
            continue
        for c, n in cc.items():
            tot[c] = tot.get(c, 0) + int(n)
    if not tot:
        tot = {c: int(n) for c, n in class_counts.get(COMBINED, {}).items()}
    return sorted(tot, key=lambda c: (-tot[c], c))


def _class_colors(classes: list[str]) -> dict[str, tuple]:
    cmap = plt.get_cmap("tab10" if len(classes) <= 10 else "tab20")
    return {c: cmap(i % cmap.N) for i, c in enumerate(classes)}


def _class_bars(ax, groups: list[str], classes: list[str], class_counts: dict, counts: FigureCounts) -> None:
    """Stacked bars of class fractions per group, n above each bar."""
    colors = _class_colors(classes)
    x = np.arange(len(groups))
    for i, g in enumerate(groups):
        cc = class_counts.get(g, {})
        n = int(sum(cc.values()))
        counts.shown[f"classes_{g}"] = n
        if not n:
            ax.text(i, 0.02, "none", ha="center", va="bottom", fontsize=6, color="0.4", rotation=90)
            continue
        bottom = 0.0
        for c in classes:
            f = cc.get(c, 0) / n
            if f > 0:
                ax.bar(i, f, bottom=bottom, color=colors[c], width=0.75, edgecolor="white", lw=0.3)
                bottom += f
        ax.text(i, 1.01, f"n={n}", ha="center", va="bottom", fontsize=6)
    ax.set_xticks(x, [_label(g) for g in groups], rotation=30, ha="right")
    for t, g in zip(ax.get_xticklabels(), groups):
        t.set_color(_color(g))
    ax.set_ylim(0, 1.08), ax.set_xlim(-0.6, len(groups) - 0.4)
    ax.set_ylabel("fraction of networks")
    ax.set_title("solution classes")
    handles = [Patch(color=colors[c], label=c or "unclassified") for c in classes]
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=1 if len(classes) < 8 else 2,
              frameon=False, fontsize=6, title="class (A–E bits)", title_fontsize=6)


def _confusion_panel(ax, group: str, entry: dict | None, fs: float, counts: FigureCounts) -> None:
    title = _label(group)
    classes = list((entry or {}).get("classes") or [])
    if not classes:
        why = "no classification" if entry is None else "no classes"
        empty(ax, f"{why} for this group", title)
        counts.shown[f"confusion_{group}"] = 0
        counts.notes.append(f"{group}: {why}; confusion matrix not drawn")
        return
    c = len(classes)
    mean = np.array(entry.get("confusion_mean") or np.full((c, c), np.nan), dtype=np.float64, ndmin=2)
    se = entry.get("confusion_se") or np.full((c, c), np.nan)
    n_cls = list(entry.get("counts") or [0] * c)
    avail = list(entry.get("available") or [True] * c)
    counts.shown[f"confusion_{group}"] = int(sum(n_cls))
    cmap = plt.get_cmap("Blues").with_extremes(bad="0.85")
    ax.imshow(np.ma.masked_invalid(mean), cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
    for i, row in enumerate(cell_text(mean, se)):
        for j, s in enumerate(row):
            dark = np.isfinite(mean[i, j]) and mean[i, j] > 0.6
            ax.text(j, i, s.replace("±", "\n±") if c > 3 else s, ha="center", va="center", fontsize=fs,
                    color="white" if dark else ("0.4" if s == "N/A" else "k"))
    ticks = [f"{k} ({n})" for k, n in zip(classes, n_cls)]
    ax.set_xticks(range(c), classes, rotation=90, fontsize=fs + 0.5)
    ax.set_yticks(range(c), ticks, fontsize=fs + 0.5)
    for lab_x, lab_y, a in zip(ax.get_xticklabels(), ax.get_yticklabels(), avail):
        if not a:
            lab_x.set_color("0.55"), lab_y.set_color("0.55")
    ax.set_xlabel("predicted", fontsize=7), ax.set_ylabel("true (networks)", fontsize=7)
    kt = kappa_text(entry)
    ax.set_title(f"{title}: {kt}", color=_color(group), fontsize=8)
    n_na = sum(s == "N/A" for row in cell_text(mean, se) for s in row)
    under = [k for k, a in zip(classes, avail) if not a]
    if under:
        counts.notes.append(f"{group}: {len(under)} of {c} classes under-represented ({', '.join(under)}); "
                            f"{n_na} N/A cells")
    elif n_na:
        counts.notes.append(f"{group}: {n_na} N/A cells")
    if kt == "κ undefined":
        why = "a single class" if c < 2 else "too few networks or no defined repeat"
        counts.notes.append(f"{group}: κ undefined ({why})")
