"""Stage ``space-of-solutions-summary``: study S's numbers in one JSON, and the feature table.

Reads the 2-D populations (``results/toy2d/<activation>/solutions.h5``) and every RSG
network's ``features.h5``; writes ``results/space_of_solutions/summary.json`` (2-D solution
types per φ among accepted networks; RSG acceptance, class distribution per architecture and
the decision-tree classification with Cohen's κ and confusion matrices, per architecture and
combined) and ``results/space_of_solutions/rsg_features.csv`` (one row per network).
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd

from ..embed.classify import classify_by_group
from ..features.rsg import FEATURE_NAMES
from ..features.topology import FEATURES as TOPOLOGY_BITS
from ..features.toy2d import class_counts
from ..store.atomic import write_json, write_text
from ..store.features_file import read_features
from ..store.toy2d_file import read_solutions
from .common import finite_or_none, log

COMBINED = "all"


def toy2d_summary(paths: list[str]) -> dict:
    out = {}
    for path in paths:
        _, arrays, attrs = read_solutions(path)
        acc = arrays["accepted"].astype(bool)
        labels = arrays["label"]
        fixed = acc & (labels == "fixed_points")
        out[attrs["activation"]] = {
            "networks": int(len(acc)), "accepted": int(acc.sum()), "failed": int(arrays["failed"].sum()),
            "solution_types": class_counts(labels[acc]),
            "fixed_point_solutions_with_saddle_origin": int((fixed & arrays["origin_saddle"].astype(bool)).sum()),
            "wall_time_s": float(attrs["wall_time_s"]),
        }
    return out


def feature_table(paths: list[str]) -> pd.DataFrame:
    """One row per RSG network: identity, acceptance, features, bits A–E and class."""
    rows = []
    for path in paths:
        config, arrays, attrs = read_features(path)
        row = {"net_id": config["net_id"], "arch": config["arch"], "activation": config["activation"],
               "units": config["units"], "seed": config["seed"], "accepted": bool(attrs["accepted"]),
               "analysed": bool(attrs["analysed"]), "reason": attrs["reason"], "solution_class": attrs["solution_class"]}
        for name in (*FEATURE_NAMES, "rs_sg_svm_accuracy", "final_speed"):
            row[name] = float(arrays[name]) if name in arrays else np.nan
        for bit in TOPOLOGY_BITS:
            row[bit] = bool(arrays[bit]) if bit in arrays else None
        rows.append(row)
    return pd.DataFrame(rows).sort_values(["arch", "activation", "units", "seed"]).reset_index(drop=True)


def rsg_summary(table: pd.DataFrame, classifier: dict) -> dict:
    used = table[table.analysed & (table.accepted if classifier["networks"] == "accepted" else True)]
    networks = {arch: {"trained": int(len(g)), "accepted": int(g.accepted.sum()), "analysed": int(g.analysed.sum()),
                       "used": int(len(used[used.arch == arch]))} for arch, g in table.groupby("arch")}
    counts = {arch: dict(Counter(g.solution_class)) for arch, g in used.groupby("arch")}
    counts[COMBINED] = dict(Counter(used.solution_class))
    results = {}
    if len(used):
        results = classify_by_group(
            used[list(FEATURE_NAMES)].to_numpy(), used.solution_class.to_numpy(), used.arch.to_numpy(), combined=COMBINED,
            n_repeats=classifier["n_repeats"], test_size=classifier["test_size"], model=classifier["model"],
            min_members=classifier["min_members"], seed=classifier["seed"],
        )
    return {
        "networks_used": classifier["networks"], "networks": networks, "class_counts": counts,
        "kappa": {g: {"mean": r.kappa_mean, "se": r.kappa_se} for g, r in results.items()},
        "classification": {g: r.as_dict() for g, r in results.items()},
        "classifier": classifier, "features": list(FEATURE_NAMES),
    }


def run(toy2d_paths: list[str], feature_paths: list[str], classifier: dict, out_json: str, out_csv: str) -> None:
    table = feature_table(feature_paths)
    summary = {"toy2d": toy2d_summary(toy2d_paths), "rsg": rsg_summary(table, classifier)}
    write_text(out_csv, table.to_csv(index=False))
    write_json(out_json, finite_or_none(summary))
    log.info("space of solutions: toy2d %s; rsg kappa %s",
             {a: s["solution_types"] for a, s in summary["toy2d"].items()}, summary["rsg"]["kappa"])
