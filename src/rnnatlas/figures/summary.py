"""Numbers for ``results/universality/summary.json``: the paper's claims made checkable."""
from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rnnatlas.figures.io import (PathLike, dynamics_summary, load_embedding, load_pairwise,
                                 read_networks)
from rnnatlas.figures.untrained import untrained_comparison, vanilla_groups
from rnnatlas.similarity import METRICS as SIMILARITY_METRICS
from rnnatlas.store.atomic import write_json
from rnnatlas.studies.universality import PAPER_TASKS as TASKS

METRICS: tuple[str, ...] = (*SIMILARITY_METRICS, "graph")  # every similarity metric and the graph distance


def silhouette(x: np.ndarray, labels: Sequence[str], metric: str = "euclidean") -> float | None:
    """sklearn's silhouette score, or None where undefined (fewer than 2 groups, or as many
    groups as points)."""
    from sklearn.metrics import silhouette_score
    labels = np.asarray(labels)
    n_groups = len(set(labels.tolist()))
    if len(labels) < 3 or not 2 <= n_groups <= len(labels) - 1:
        return None
    return float(silhouette_score(x, labels, metric=metric))


def _scores(x: np.ndarray, arch: list[str], act: list[str], metric: str) -> dict[str, float | None]:
    return {"architecture": silhouette(x, arch, metric), "nonlinearity": silhouette(x, act, metric)}


N_PERMUTATIONS = 1000
# The paper's Fig. 1 groupings: architectures among tanh networks, nonlinearities among Vanilla
# networks; and both pooled over every accepted trained network. name -> (label, subset rule).
SUBSETS = {
    "architecture_among_tanh": ("arch", lambda arch, act: act == "tanh"),
    "nonlinearity_among_vanilla": ("activation", lambda arch, act: arch == "vanilla"),
    "architecture_pooled": ("arch", lambda arch, act: True),
    "nonlinearity_pooled": ("activation", lambda arch, act: True),
}


def subset_tests(distance: np.ndarray, positions: np.ndarray | None, arch: list[str], act: list[str],
                 n_permutations: int = N_PERMUTATIONS) -> dict[str, Any]:
    """Silhouettes with permutation p-values (:func:`rnnatlas.stats.silhouette_test`) on the distance
    matrix and on the 2-D embedding, for each grouping in SUBSETS."""
    from rnnatlas.stats import silhouette_test

    out: dict[str, Any] = {}
    for name, (field, rule) in SUBSETS.items():
        sel = np.array([bool(rule(a, b)) for a, b in zip(arch, act)], dtype=bool)
        labels = np.asarray(arch if field == "arch" else act)[sel]
        entry = {"distance": silhouette_test(distance[np.ix_(sel, sel)], labels, n_permutations)}
        if positions is not None:
            p = positions[sel]
            entry["embedding"] = silhouette_test(np.linalg.norm(p[:, None] - p[None], axis=-1), labels, n_permutations)
        out[name] = entry
    return out


def metric_summary(task_dir: PathLike, metric: str, keep: Sequence[str] | None) -> dict[str, Any]:
    """Silhouettes of one task's embedding (2-D MDS) and distance matrix, for networks in ``keep``
    (accepted trained networks; all when None), grouped by architecture and by nonlinearity."""
    emb = load_embedding(task_dir, metric)
    if emb is None:
        return {"available": False, "n_networks": 0}
    ids = [str(i) for i in emb["net"].values]
    keep_set = set(ids) if keep is None else set(keep)
    sel = [k for k, i in enumerate(ids) if i in keep_set]
    pos = np.asarray(emb["embedding"].values, dtype=float)[sel]
    arch = [str(emb["arch"].values[k]) for k in sel]
    act = [str(emb["activation"].values[k]) for k in sel]
    out: dict[str, Any] = {"available": True, "n_networks": len(sel), "n_in_file": len(ids),
                           "stress": _float(emb["stress"].values) if "stress" in emb else None,
                           "groups": {"architecture": dict(Counter(arch)), "nonlinearity": dict(Counter(act))},
                           "silhouette_embedding": _scores(pos, arch, act, "euclidean")}
    dist = load_pairwise(task_dir, metric)
    if dist is not None:
        did = [str(i) for i in dist["net_a"].values]
        where = {i: k for k, i in enumerate(did)}
        chosen = [ids[k] for k in sel if ids[k] in where]
        idx = [where[i] for i in chosen]
        m = np.asarray(dist.values)[np.ix_(idx, idx)]
        a = [str(dist["arch_a"].values[k]) for k in idx]
        b = [str(dist["activation_a"].values[k]) for k in idx]
        out["silhouette_distance"] = _scores(m, a, b, "precomputed")
        emb_rows = {ids[k]: r for r, k in enumerate(sel)}
        out["paper_subsets"] = subset_tests(m, pos[[emb_rows[i] for i in chosen]], a, b)
    return out


def _float(v) -> float | None:
    f = float(np.asarray(v))
    return f if math.isfinite(f) else None


def modal_fraction(ds: dict | None) -> dict[str, Any]:
    """Fraction of studied networks (accepted, trained, analysed) with the modal node count."""
    if not ds:
        return {"fraction": None, "n": 0, "modal_node_count": None}
    nets = [n for n in ds.get("networks", []) if n.get("trained", True) and n.get("accepted")
            and n.get("analysed", True) and n.get("n_nodes") is not None]
    counts = Counter(int(n["n_nodes"]) for n in nets)
    modal = ds.get("modal_node_count")
    if modal is None and counts:
        modal = counts.most_common(1)[0][0]
    frac = counts.get(int(modal), 0) / len(nets) if nets and modal is not None else None
    return {"fraction": frac, "n": len(nets), "modal_node_count": modal,
            "node_count_histogram": {str(k): v for k, v in sorted(counts.items())}}


def task_summary(task_dir: PathLike, metrics: Sequence[str] = METRICS) -> dict[str, Any]:
    """Per-task numbers: networks, per-metric silhouettes, modal-count fraction, task specifics."""
    task_dir = Path(task_dir)
    nets = read_networks(task_dir)
    keep = [n.net_id for n in nets if n.trained and n.accepted]
    ds = dynamics_summary(task_dir)
    out: dict[str, Any] = {"n_trained": sum(n.trained for n in nets), "n_accepted": len(keep),
                           "metrics": {m: metric_summary(task_dir, m, keep) for m in metrics},
                           "modal_fixed_point_count": modal_fraction(ds)}
    if any(not n.trained for n in nets):
        out["untrained_comparison"] = untrained_summary(task_dir, nets, metrics)
    ds = ds or {}
    if "fraction_with_expected_stable_points" in ds:
        out["fraction_with_expected_stable_points"] = ds["fraction_with_expected_stable_points"]
        out["expected_stable_points"] = ds.get("expected_stable_points")
    if "median_relative_frequency_error" in ds:
        out["sine_median_relative_frequency_error"] = ds["median_relative_frequency_error"]
    if "eigenvalue_closest_to_1_by_arch" in ds:
        out["cdi_eigenvalue_nearest_1_by_arch"] = ds["eigenvalue_closest_to_1_by_arch"]
    return out


def untrained_summary(task_dir: Path, nets: list, metrics: Sequence[str]) -> dict[str, Any]:
    """Fig. 4's comparison (:func:`rnnatlas.figures.untrained.untrained_comparison`) on each metric's
    distance matrix: accepted trained Vanilla networks against every untrained twin."""
    groups = vanilla_groups(nets)
    out: dict[str, Any] = {}
    for metric in metrics:
        dist = load_pairwise(task_dir, metric)
        if dist is not None:
            out[metric] = untrained_comparison(np.asarray(dist.values, dtype=float),
                                               [str(i) for i in dist["net_a"].values], groups, N_PERMUTATIONS)
    return out


def universality_summary(results_dir: PathLike, tasks: Sequence[str] = TASKS,
                         metrics: Sequence[str] = METRICS) -> dict[str, Any]:
    """{"tasks": {task: task_summary}} for the tasks present under ``results_dir``."""
    results_dir = Path(results_dir)
    return {"tasks": {t: task_summary(results_dir / t, metrics) for t in tasks if (results_dir / t).is_dir()},
            "silhouette": "sklearn silhouette_score over accepted trained networks, Euclidean on the "
                          "2-D MDS embedding (silhouette_embedding) and on the distance matrix "
                          "(silhouette_distance); null where undefined (fewer than 2 groups)",
            "paper_subsets": "silhouettes as the paper's Fig. 1 groups networks (architecture among tanh "
                             "networks, nonlinearity among Vanilla networks) and pooled, on the distance matrix "
                             "and on the embedding, each with a permutation p-value: (1 + #{shuffled labels "
                             f"score >= observed}}) / (1 + {N_PERMUTATIONS})",
            "untrained_comparison": "Fig. 4, where a task has untrained twins: per distance matrix, the mean "
                                    "distances between trained/untrained x tanh/ReLU Vanilla networks and, per "
                                    "trained nonlinearity, whether its networks are closer to the untrained ones "
                                    "of their nonlinearity than to the trained ones of the other (the paper: yes "
                                    "for ReLU), with a permutation p-value (the two groups' labels shuffled)"}


def write_summary(results_dir: PathLike, path: PathLike, **kwargs: Any) -> dict[str, Any]:
    """Compute :func:`universality_summary` and write it as JSON to ``path``."""
    d = universality_summary(results_dir, **kwargs)
    write_json(path, d, indent=1, default=_default)
    return d


def _default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    raise TypeError(type(o).__name__)
