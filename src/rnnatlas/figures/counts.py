"""Counts for the captions, computed from the result files without drawing anything."""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from rnnatlas.figures import palette as pal
from rnnatlas.figures.common import accepted_ids, base_counts
from rnnatlas.figures.io import (FigureCounts, PathLike, load_embedding, load_pairwise, node_count_set_aside,
                                 not_accepted_reasons, read_networks, set_aside_attr)
from rnnatlas.figures.panels import example_net
from rnnatlas.figures.untrained import vanilla_groups

FIGURES: dict[str, str] = {"fig1_flipflop": "flipflop", "fig2_sine": "sine", "fig3_cdi": "cdi",
                           "fig4_untrained": "cdi"}


def _embedding_counts(task_dir: Path, metric: str, keep: list[str], counts: FigureCounts) -> None:
    emb = load_embedding(task_dir, metric)
    if emb is None:
        counts.notes.append(f"{metric} embedding missing")
        counts.shown[f"{metric}_mds_tanh"] = counts.shown[f"{metric}_mds_vanilla"] = 0
        return
    for i, r in set_aside_attr(emb).items():
        if i in keep:
            counts.set_aside.setdefault(i, f"{metric}: {r}")
    ids = [str(i) for i in emb["net"].values]
    arch = [str(a) for a in emb["arch"].values]
    act = [str(a) for a in emb["activation"].values]
    keep_set = set(keep)
    counts.shown[f"{metric}_mds_tanh"] = sum(i in keep_set and a == "tanh" for i, a in zip(ids, act))
    counts.shown[f"{metric}_mds_vanilla"] = sum(i in keep_set and a == "vanilla" for i, a in zip(ids, arch))


def task_figure_counts(name: str, task_dir: PathLike) -> FigureCounts:
    """Counts of a task figure (Fig. 1–3): networks per panel, set aside with reasons."""
    task_dir = Path(task_dir)
    nets = read_networks(task_dir)
    c = base_counts(name, nets)
    c.shown["pca_trajectories"] = sum(example_net(nets, a, b, task_dir) is not None
                                      for a in pal.ARCH_ORDER for b in pal.ACT_ORDER)
    keep = accepted_ids(nets)
    if name == "fig1_flipflop":
        dist = load_pairwise(task_dir, "svcca")
        c.shown["svcca_matrix"] = 0 if dist is None else len(set(map(str, dist["net_a"].values)) & set(keep))
    _embedding_counts(task_dir, "svcca", keep, c)
    for i, r in node_count_set_aside(task_dir).items():
        c.set_aside.setdefault(i, "graph panels: " + r)
    _embedding_counts(task_dir, "graph", keep, c)
    return c


def untrained_counts(task_dir: PathLike) -> FigureCounts:
    nets = read_networks(task_dir)
    c = FigureCounts("fig4_untrained")
    c.set_aside.update({i: r for i, r in not_accepted_reasons(nets).items() if i.startswith("vanilla-")})
    for (trained, act), ids in vanilla_groups(nets).items():
        c.shown[f"{'trained' if trained else 'untrained'}_{act}"] = len(ids)
    return c


def loss_counts(task_dirs: Mapping[str, PathLike]) -> FigureCounts:
    import math
    c = FigureCounts("loss_histograms")
    for task, d in task_dirs.items():
        nets = [n for n in read_networks(d) if n.trained]
        good = [n for n in nets if math.isfinite(n.final_val_loss) and n.final_val_loss > 0]
        c.shown[task] = len(good)
        c.shown[f"{task}_accepted"] = sum(n.accepted for n in nets)
        for n in nets:
            if n not in good:
                c.set_aside[n.net_id] = f"{task}: no finite final loss ({n.failure_reason or 'failed'})"
    return c


def caption_counts(results_dir: PathLike) -> dict[str, dict]:
    """{figure name: {shown, set_aside, n_set_aside, notes}} for every figure whose task exists."""
    results_dir = Path(results_dir)
    out: dict[str, dict] = {}
    for name, task in FIGURES.items():
        d = results_dir / task
        if not d.is_dir():
            continue
        c = untrained_counts(d) if name == "fig4_untrained" else task_figure_counts(name, d)
        out[name] = c.to_dict()
    tasks = {t: results_dir / t for t in ("flipflop", "sine", "cdi") if (results_dir / t).is_dir()}
    out["loss_histograms"] = loss_counts(tasks).to_dict()
    return out
