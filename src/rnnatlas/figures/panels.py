"""Panels shared by the figures: notes, PCA trajectory grids, MDS scatters, distance matrices."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from matplotlib.lines import Line2D

from rnnatlas.figures import palette as pal
from rnnatlas.figures.io import NetInfo, pca, project, read_probe_safe


def note(ax, text: str, loc: str = "lower left") -> None:
    """A small grey note inside a panel (e.g. how many networks are missing)."""
    x, ha = (0.02, "left") if "left" in loc else (0.98, "right")
    y, va = (0.02, "bottom") if "lower" in loc else (0.98, "top")
    ax.text(x, y, text, transform=ax.transAxes, ha=ha, va=va, fontsize=6, color="0.35",
            bbox=dict(boxstyle="round,pad=0.2", fc="white", ec="none", alpha=0.7), zorder=10)


def empty(ax, text: str, title: str | None = None) -> None:
    """Mark a panel as having nothing to draw, saying why."""
    ax.set_xticks([]), ax.set_yticks([])
    for s in ax.spines.values():
        s.set_visible(False)
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", fontsize=7,
            color="0.35", wrap=True)
    if title:
        ax.set_title(title)


def panel_label(ax, label: str) -> None:
    ax.text(-0.12, 1.06, label, transform=ax.transAxes, fontsize=11, fontweight="bold", va="bottom")


def example_net(nets: Sequence[NetInfo], arch: str, act: str, task_dir: Path | None = None) -> NetInfo | None:
    """The accepted trained network of a cell with the lowest seed (with a probe file if task_dir)."""
    cands = sorted((n for n in nets if n.trained and n.accepted and n.arch == arch and n.activation == act),
                   key=lambda n: n.seed)
    for n in cands:
        if task_dir is None or (Path(task_dir) / "nets" / n.net_id / "probe.h5").exists():
            return n
    return None


def pca_grid(fig, spec, task_dir: Path, nets: Sequence[NetInfo],
             color_fn: Callable[[int, NetInfo], str | tuple], title: str) -> dict[str, str]:
    """2 × 4 grid (rows: nonlinearity, columns: architecture) of probe trajectories in each
    example network's own top-2 PC space; returns {cell: net id shown}."""
    sub = spec.subgridspec(len(pal.ACT_ORDER), len(pal.ARCH_ORDER), wspace=0.08, hspace=0.12)
    shown: dict[str, str] = {}
    for i, act in enumerate(pal.ACT_ORDER):
        for j, arch in enumerate(pal.ARCH_ORDER):
            ax = fig.add_subplot(sub[i, j])
            ax.set_xticks([]), ax.set_yticks([])
            if i == 0:
                ax.set_title(pal.ARCH_LABELS[arch], color=pal.arch_color(arch), fontsize=8)
            if j == 0:
                ax.set_ylabel(pal.ACT_LABELS[act], color=pal.act_color(act), fontsize=8)
            n = example_net(nets, arch, act, task_dir)
            probe = read_probe_safe(task_dir, n.net_id) if n else None
            if probe is None:
                ax.text(0.5, 0.5, "no accepted\nnetwork", ha="center", va="center", fontsize=6,
                        color="0.4", transform=ax.transAxes)
                continue
            hidden = probe[0]
            if not np.all(np.isfinite(hidden)):
                ax.text(0.5, 0.5, "non-finite\nstates", ha="center", va="center", fontsize=6,
                        transform=ax.transAxes)
                continue
            mean, comps = pca(hidden.reshape(-1, hidden.shape[-1]))
            for k in range(hidden.shape[0]):
                z = project(hidden[k], mean, comps)
                ax.plot(z[:, 0], z[:, 1], lw=0.6, color=color_fn(k, n), alpha=0.8)
            shown[f"{arch}-{act}"] = n.net_id
    fig.text(spec.get_position(fig).x0, spec.get_position(fig).y1 + 0.028, title, fontsize=9, va="bottom")
    return shown


def embedding_frame(emb, nets: Sequence[NetInfo]):
    """(ids, positions [n, 2], arch, activation, trained) of an embedding Dataset's networks."""
    ids = [str(i) for i in emb["net"].values]
    pos = np.asarray(emb["embedding"].values, dtype=float)
    arch = [str(a) for a in emb["arch"].values]
    act = [str(a) for a in emb["activation"].values]
    trained = [bool(t) for t in emb["trained"].values] if "trained" in emb else [True] * len(ids)
    return ids, pos, arch, act, trained


def mds_panel(ax, emb, keep: Sequence[str] | None, color_by: str, title: str,
              restrict: dict[str, str] | None = None, missing_note: str = "") -> list[str]:
    """Scatter of a 2-D MDS embedding, networks in ``keep`` (all when None) matching ``restrict``
    (e.g. {"activation": "tanh"}), coloured by "arch" or "activation"; returns ids drawn."""
    if emb is None:
        empty(ax, "embedding file missing" + (f"\n{missing_note}" if missing_note else ""), title)
        return []
    ids, pos, arch, act, trained = embedding_frame(emb, [])
    fields = {"arch": arch, "activation": act}
    keep_set = set(keep) if keep is not None else set(ids)
    sel = [k for k, i in enumerate(ids) if i in keep_set
           and all(fields[f][k] == v for f, v in (restrict or {}).items())]
    ax.set_title(title)
    ax.set_xticks([]), ax.set_yticks([])
    ax.set_xlabel("MDS 1"), ax.set_ylabel("MDS 2")
    # one extent for all panels of a file: every kept network, whatever the restriction
    ext = [k for k, i in enumerate(ids) if i in keep_set] or list(range(len(ids)))
    if ext:
        p = pos[ext]
        pad = 0.12 * (np.ptp(p, axis=0) + 1e-9)
        ax.set_xlim(p[:, 0].min() - pad[0], p[:, 0].max() + pad[0])
        ax.set_ylim(p[:, 1].min() - pad[1], p[:, 1].max() + 2.5 * pad[1])
    if not sel:
        note(ax, "no networks to show" + (f"; {missing_note}" if missing_note else ""), "upper left")
        return []
    order = pal.ARCH_ORDER if color_by == "arch" else pal.ACT_ORDER
    labels = pal.ARCH_LABELS if color_by == "arch" else pal.ACT_LABELS
    colors = pal.ARCH_COLORS if color_by == "arch" else pal.ACT_COLORS
    handles = []
    for g in order:
        k = [s for s in sel if fields[color_by][s] == g]
        if not k:
            continue
        mk = [pal.ACT_MARKERS.get(act[s], "o") for s in k]
        for s, m in zip(k, mk):
            ax.scatter(pos[s, 0], pos[s, 1], s=22, color=colors[g], marker=m, edgecolor="white", lw=0.4)
        marker = pal.ACT_MARKERS.get(g, "o") if color_by == "activation" else "o"
        handles.append(Line2D([], [], ls="", marker=marker, color=colors[g], label=f"{labels[g]} ({len(k)})"))
    ax.legend(handles=handles, loc="best", frameon=False, handletextpad=0.2, borderaxespad=0.2)
    if missing_note:
        note(ax, missing_note)
    stress = float(emb["stress"].values) if "stress" in emb else float("nan")
    if np.isfinite(stress):
        note(ax, f"stress {stress:.2f}", "upper right")
    return [ids[s] for s in sel]


def config_order(ids: Sequence[str], arch: Sequence[str], act: Sequence[str],
                 trained: Sequence[bool] | None = None) -> list[int]:
    """Indices sorted by (trained first, nonlinearity, architecture, id)."""
    trained = trained if trained is not None else [True] * len(ids)
    return sorted(range(len(ids)), key=lambda k: (not trained[k], *pal.order_key(arch[k], act[k]), ids[k]))


def distance_matrix_panel(fig, ax, dist, keep: Sequence[str] | None, title: str) -> list[str]:
    """Heat map of a pairwise DataArray ordered by configuration, with arch/nonlinearity bars."""
    if dist is None:
        empty(ax, "pairwise file missing", title)
        return []
    ids = [str(i) for i in dist["net_a"].values]
    arch = [str(a) for a in dist["arch_a"].values]
    act = [str(a) for a in dist["activation_a"].values]
    trained = [bool(t) for t in dist["trained_a"].values] if "trained_a" in dist.coords else None
    keep_set = set(keep) if keep is not None else set(ids)
    order = [k for k in config_order(ids, arch, act, trained) if ids[k] in keep_set]
    if not order:
        empty(ax, "no networks to show", title)
        return []
    m = np.asarray(dist.values)[np.ix_(order, order)]
    im = ax.imshow(m, cmap="magma_r", interpolation="nearest", aspect="equal")
    ax.set_xticks([]), ax.set_yticks([])
    n = len(order)
    # colour bars: architecture (outer) and nonlinearity (inner), left and top
    for k, o in enumerate(order):
        ax.add_patch(_rect((-2.6, k - 0.5), 1.0, 1.0, pal.arch_color(arch[o])))
        ax.add_patch(_rect((-1.5, k - 0.5), 1.0, 1.0, pal.act_color(act[o])))
        ax.add_patch(_rect((k - 0.5, -2.6), 1.0, 1.0, pal.arch_color(arch[o])))
        ax.add_patch(_rect((k - 0.5, -1.5), 1.0, 1.0, pal.act_color(act[o])))
    ax.set_xlim(-2.7, n - 0.5), ax.set_ylim(n - 0.5, -2.7)
    for s in ax.spines.values():
        s.set_visible(False)
    ax.set_title(title)
    cb = fig.colorbar(im, ax=ax, fraction=0.046, pad=0.02)
    cb.ax.tick_params(labelsize=6)
    cb.set_label("distance", fontsize=7)
    return [ids[k] for k in order]


def _rect(xy, w, h, color):
    from matplotlib.patches import Rectangle
    return Rectangle(xy, w, h, color=color, lw=0, clip_on=False)


def group_legend(fig, y: float = 0.005) -> None:
    """Figure-level legend of architecture colours and nonlinearity colours/markers."""
    h = [Line2D([], [], ls="", marker="o", color=pal.arch_color(a), label=pal.ARCH_LABELS[a])
         for a in pal.ARCH_ORDER]
    h += [Line2D([], [], ls="", marker=pal.ACT_MARKERS[a], color=pal.act_color(a), label=pal.ACT_LABELS[a])
          for a in pal.ACT_ORDER]
    fig.legend(handles=h, loc="lower center", ncol=len(h), frameon=False, bbox_to_anchor=(0.5, y))
