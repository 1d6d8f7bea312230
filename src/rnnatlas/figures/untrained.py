"""Fig. 4: SVCCA between trained and untrained Vanilla networks driven by CDI inputs."""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D

from rnnatlas.figures import palette as pal
from rnnatlas.figures.io import (FigureCounts, NetInfo, PathLike, load_embedding, load_pairwise,
                                 not_accepted_reasons, pca, project, read_networks, read_probe_safe,
                                 read_task_data_safe, save_figure)
from rnnatlas.figures.panels import empty, note, panel_label

GROUPS: tuple[tuple[bool, str], ...] = ((True, "tanh"), (True, "relu"), (False, "tanh"), (False, "relu"))


def _group_name(trained: bool, act: str) -> str:
    return f"{'trained' if trained else 'untrained'} {pal.ACT_LABELS.get(act, act)}"


def vanilla_groups(nets: list[NetInfo]) -> dict[tuple[bool, str], list[str]]:
    """Ids per (trained, nonlinearity) among Vanilla networks: accepted trained, all untrained twins."""
    out: dict[tuple[bool, str], list[str]] = {g: [] for g in GROUPS}
    for n in nets:
        if n.arch != "vanilla" or (n.trained and not n.accepted):
            continue
        if (n.trained, n.activation) in out:
            out[(n.trained, n.activation)].append(n.net_id)
    return out


def group_mean_distance(distance: np.ndarray, ids: list[str], groups: dict[tuple[bool, str], list[str]]) -> np.ndarray:
    """[4, 4] mean pairwise distance between GROUPS (diagonal: distinct pairs only); NaN if empty."""
    pos = {i: k for k, i in enumerate(ids)}
    idx = [[pos[i] for i in groups.get(g, []) if i in pos] for g in GROUPS]
    out = np.full((len(GROUPS), len(GROUPS)), np.nan)
    for a, ia in enumerate(idx):
        for b, ib in enumerate(idx):
            block = distance[np.ix_(ia, ib)]
            if a == b:
                block = block[~np.eye(len(ia), dtype=bool)]
            if block.size:
                out[a, b] = float(block.mean())
    return out


def _closer_test(distance: np.ndarray, ref: list[int], near: list[int], far: list[int],
                 n_permutations: int, seed: int) -> dict:
    """Are the ``ref`` networks on average closer to ``near`` than to ``far``? The mean distances,
    the share of ``ref`` networks for which it holds, and a permutation p-value: ``near`` and
    ``far`` labels shuffled (sizes kept), p = (1 + #{shuffled gap >= observed}) / (1 + shuffles)."""
    out = {"n_reference": len(ref), "n_near": len(near), "n_far": len(far), "to_near": None, "to_far": None,
           "holds": None, "fraction_of_reference_closer": None, "p_value": None, "n_permutations": n_permutations}
    if not ref or not near or not far:
        return out
    block = distance[np.ix_(ref, near + far)]
    to_near, to_far = block[:, :len(near)].mean(axis=1), block[:, len(near):].mean(axis=1)
    gap = float(to_far.mean() - to_near.mean())
    out.update(to_near=float(to_near.mean()), to_far=float(to_far.mean()), holds=bool(gap > 0),
               fraction_of_reference_closer=float(np.mean(to_near < to_far)))
    if n_permutations > 0:
        rng = np.random.default_rng(seed)
        cols = block.mean(axis=0)  # each candidate's mean distance to the reference networks
        shuffled = np.stack([rng.permutation(cols) for _ in range(n_permutations)])
        null = shuffled[:, len(near):].mean(axis=1) - shuffled[:, :len(near)].mean(axis=1)
        out["p_value"] = float((1 + np.sum(null >= gap - 1e-12)) / (1 + n_permutations))
    return out


def untrained_comparison(distance: np.ndarray, ids: list[str], groups: dict[tuple[bool, str], list[str]],
                         n_permutations: int = 1000, seed: int = 0) -> dict:
    """Fig. 4's claim, for each trained nonlinearity: are trained Vanilla networks closer to untrained
    networks of their own nonlinearity than to trained networks of the other one? (The paper: trained
    and untrained ReLU networks are closer to each other than to trained tanh networks.) Group sizes,
    the [4, 4] mean distances between groups, and per nonlinearity the test of :func:`_closer_test`
    (near: untrained of the same nonlinearity; far: trained of the other)."""
    pos = {i: k for k, i in enumerate(ids)}
    idx = {g: [pos[i] for i in groups.get(g, []) if i in pos] for g in GROUPS}
    name = {g: f"{'trained' if g[0] else 'untrained'}_{g[1]}" for g in GROUPS}
    means = group_mean_distance(distance, ids, groups)
    acts = sorted({g[1] for g in GROUPS})
    tests = {act: _closer_test(distance, idx[(True, act)], idx[(False, act)],
                               idx[(True, next(o for o in acts if o != act))], n_permutations, seed)
             for act in acts}
    return {"groups": {name[g]: len(idx[g]) for g in GROUPS},
            "mean_distance": {name[ga]: {name[gb]: (None if np.isnan(means[a, b]) else float(means[a, b]))
                                         for b, gb in enumerate(GROUPS)} for a, ga in enumerate(GROUPS)},
            "trained_closer_to_own_untrained_than_to_other_trained": tests}


def figure_untrained(task_dir: PathLike, out_stem: PathLike, context: int = 0) -> FigureCounts:
    """Fig. 4 from ``results/cdi``: (a) four example Vanilla networks (trained/untrained × tanh/ReLU)
    on one context's probe inputs, titled by SVCCA distance to the trained tanh one; (b) SVCCA MDS of
    the four groups; (c) mean SVCCA distance between groups."""
    task_dir = Path(task_dir)
    pal.style()
    nets = read_networks(task_dir)
    counts = FigureCounts("fig4_untrained")
    counts.set_aside.update({i: r for i, r in not_accepted_reasons(nets).items() if i.startswith("vanilla-")})
    groups = vanilla_groups(nets)
    for g, ids in groups.items():
        counts.shown[f"{'trained' if g[0] else 'untrained'}_{g[1]}"] = len(ids)
    dist = load_pairwise(task_dir, "svcca")
    emb = load_embedding(task_dir, "svcca")
    td = read_task_data_safe(task_dir)
    fig = plt.figure(figsize=(12, 7.8))
    gs = fig.add_gridspec(2, 4, height_ratios=[1, 1.25], hspace=0.45, wspace=0.35,
                          left=0.06, right=0.97, top=0.88, bottom=0.08)
    examples = _examples(groups)
    ref = examples.get((True, "tanh"))
    for c, g in enumerate(GROUPS):
        ax = fig.add_subplot(gs[0, c])
        _example(ax, task_dir, td, examples.get(g), _group_name(*g), dist, ref, context)
        if c == 0:
            panel_label(ax, "a")
    fig.text(0.5, 0.975, f"probe trajectories of context {context + 1} (colour: cued mean, blue − to red +), "
             "top-2 PCs of each network", ha="center", fontsize=8)
    ax = fig.add_subplot(gs[1, :2])
    counts.shown["mds"] = _mds(ax, emb, groups)
    panel_label(ax, "b")
    ax = fig.add_subplot(gs[1, 2:])
    _group_matrix(fig, ax, dist, groups)
    panel_label(ax, "c")
    counts.notes.append(f"examples: {', '.join(v for v in examples.values() if v)}; context {context + 1}")
    counts.files = save_figure(fig, out_stem)
    return counts


def _examples(groups) -> dict[tuple[bool, str], str | None]:
    """Trained examples: lowest-seed accepted; untrained: the twin of the trained one when present."""
    out: dict[tuple[bool, str], str | None] = {}
    for act in pal.ACT_ORDER:
        tr = sorted(groups[(True, act)])
        un = sorted(groups[(False, act)])
        out[(True, act)] = tr[0] if tr else None
        twin = f"{tr[0]}-untrained" if tr else None
        out[(False, act)] = twin if twin in un else (un[0] if un else None)
    return out


def _example(ax, task_dir, td, net_id, name, dist, ref, context) -> None:
    ax.set_xticks([]), ax.set_yticks([])
    if net_id is None:
        empty(ax, "no network", name)
        return
    probe = read_probe_safe(task_dir, net_id)
    if probe is None or not np.all(np.isfinite(probe[0])):
        empty(ax, "probe states missing or non-finite", name)
        return
    hid = probe[0]
    labels = td.probe.labels if td is not None else {}
    ctx = np.asarray(labels.get("context", np.zeros(len(hid))), dtype=int)
    cued = np.asarray(labels.get("mean_cued", np.zeros(len(hid))), dtype=float)
    sel = np.nonzero(ctx[: len(hid)] == context)[0]
    if not len(sel):
        sel = np.arange(len(hid))
    mean, comps = pca(hid[sel].reshape(-1, hid.shape[-1]))
    cmap = plt.get_cmap(pal.DIVERGING_CMAP)
    span = max(float(np.abs(cued).max()), 1e-12)
    for k in sel:
        z = project(hid[k], mean, comps)
        ax.plot(z[:, 0], z[:, 1], color=cmap(0.5 + 0.5 * cued[k] / span), lw=0.7)
    title = name
    if dist is not None and ref is not None and net_id != ref:
        ids = list(map(str, dist["net_a"].values))
        if net_id in ids and ref in ids:
            d = float(dist.sel(net_a=net_id, net_b=ref).values)
            title += f"\nSVCCA distance to trained tanh: {d:.3f}"
    elif net_id == ref:
        title += "\n(reference)"
    ax.set_title(title, fontsize=8)
    ax.set_xlabel("PC 1"), ax.set_ylabel("PC 2")
    note(ax, net_id, "lower right")


def _mds(ax, emb, groups) -> int:
    title = "SVCCA MDS of Vanilla networks"
    if emb is None:
        empty(ax, "embedding file missing", title)
        return 0
    ids = [str(i) for i in emb["net"].values]
    pos = np.asarray(emb["embedding"].values, dtype=float)
    where = {i: k for k, i in enumerate(ids)}
    handles, n = [], 0
    for g in GROUPS:
        k = [where[i] for i in groups[g] if i in where]
        if not k:
            continue
        trained, act = g
        ax.scatter(pos[k, 0], pos[k, 1], s=40, marker=pal.TRAINED_MARKERS[trained],
                   color=pal.act_color(act), edgecolor="k" if trained else "white", lw=0.5)
        handles.append(Line2D([], [], ls="", marker=pal.TRAINED_MARKERS[trained], color=pal.act_color(act),
                              label=f"{_group_name(*g)} ({len(k)})"))
        n += len(k)
    ax.set_title(title), ax.set_xlabel("MDS 1"), ax.set_ylabel("MDS 2")
    ax.set_xticks([]), ax.set_yticks([])
    if handles:
        ax.legend(handles=handles, frameon=False, loc="best")
    else:
        note(ax, "no Vanilla networks in the embedding", "upper left")
    ax.margins(0.15)
    note(ax, "embedding of all CDI networks; Vanilla shown", "lower left")
    return n


def _group_matrix(fig, ax, dist, groups) -> None:
    title = "mean SVCCA distance between groups"
    if dist is None:
        empty(ax, "pairwise file missing", title)
        return
    m = group_mean_distance(np.asarray(dist.values), [str(i) for i in dist["net_a"].values], groups)
    im = ax.imshow(m, cmap="magma_r", vmin=0)
    names = [_group_name(*g).replace(" ", "\n") for g in GROUPS]
    ax.set_xticks(range(len(GROUPS)), names, fontsize=7)
    ax.set_yticks(range(len(GROUPS)), names, fontsize=7)
    for a in range(len(GROUPS)):
        for b in range(len(GROUPS)):
            txt = "n/a" if not np.isfinite(m[a, b]) else f"{m[a, b]:.3f}"
            v = m[a, b] if np.isfinite(m[a, b]) else 0
            ax.text(b, a, txt, ha="center", va="center", fontsize=7,
                    color="white" if v > 0.6 * np.nanmax(np.r_[m.ravel(), 1e-12]) else "black")
    ax.set_title(title)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.03).ax.tick_params(labelsize=6)
