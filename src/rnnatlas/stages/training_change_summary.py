"""Stage ``training-change-summary``: study H's hypotheses as numbers over the population.

Reads every trained network's ``training_change.h5`` and every network's (trained and
untrained twin) ``fixed_points.h5``; writes ``results/training_change/summary.json``: per task,
each of the note's statements as a mean with its 95 % confidence interval (t-interval over
networks) and n, paired differences with their effect size (Cohen's d_z) where a network is
compared with its own initialisation, and a verdict where the note makes a directional claim
("holds" when the whole CI lies on the claimed side, "contradicted" when it lies on the other,
"undecided" otherwise). Statistics use the analysed networks that met their acceptance threshold.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from ..stats import mean_ci, paired_difference
from ..store.atomic import write_json
from ..store.fixed_point_file import read_fixed_points
from ..store.h5io import read_arrays
from .common import finite_or_none, log

KIND = "training_change"


def verdict(ci: dict, sign: int) -> str:
    """Whether a claimed sign (+1: positive, −1: negative) holds for a mean with its CI."""
    lo, hi = ci.get("ci_low"), ci.get("ci_high")
    if lo is None or hi is None:
        return "undecided"
    if (sign > 0 and lo > 0) or (sign < 0 and hi < 0):
        return "holds"
    if (sign > 0 and hi < 0) or (sign < 0 and lo > 0):
        return "contradicted"
    return "undecided"


def _fixed_point_counts(paths: list[str]) -> dict[str, dict[str, list[float]]]:
    """task → {"trained"/"untrained" → per-network lists of fixed points per condition, stable, saddles}."""
    out: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for path in paths:
        config, arrays, attrs = read_fixed_points(path)
        if not attrs.get("analysed", False) or (config.get("trained", True) and not attrs.get("accepted")):
            continue
        state = "trained" if config.get("trained", True) else "untrained"
        fixed = ~arrays["is_slow"]
        n_conditions = max(1, len(np.unique(arrays["condition"]))) if len(arrays["q"]) else 1
        stable = (arrays["stability"] == "stable") & fixed
        groups = out[config["task"]]
        groups[f"{state}_per_condition"].append(fixed.sum() / n_conditions)
        groups[f"{state}_stable"].append(float(stable.sum()))
        groups[f"{state}_saddles"].append(float((fixed & (arrays["n_unstable"] > 0)).sum()))
    return out


def task_summary(nets: list[tuple[dict, dict, dict]], fixed_points: dict[str, list]) -> dict:
    arrays = [a for _, a, _ in nets]
    attrs = [t for _, _, t in nets]

    def col(fn):
        return np.asarray([fn(a, t) for a, t in zip(arrays, attrs)], dtype=np.float64)

    mean0, mean1 = col(lambda a, t: a["mean_weight"][0]), col(lambda a, t: a["mean_weight"][-1])
    schur0, schur1 = col(lambda a, t: a["schur_upper_norm"][0]), col(lambda a, t: a["schur_upper_norm"][-1])
    hen0, hen1 = col(lambda a, t: a["henrici_departure"][0]), col(lambda a, t: a["henrici_departure"][-1])
    theta_last = {s: col(lambda a, t, s=s: a[f"pi_theta_{s}"][-1]) for s in ("trained", "untrained")}
    theta_first = {s: col(lambda a, t, s=s: a[f"pi_theta_{s}"][0]) for s in ("trained", "untrained")}
    kind = attrs[0]["centrality"]
    out = {
        "n_networks": len(nets),
        "networks": [c["net_id"] for c, _, _ in nets],  # what the figures read (not every file on disk)
        "accuracy": mean_ci(col(lambda a, t: t["accuracy"])),
        "mean_weight": {"initial": mean_ci(mean0), "final": mean_ci(mean1), "change": paired_difference(mean1, mean0),
                        "fraction_final_negative": float(np.mean(mean1 < 0))},
        "schur_upper_norm": {"initial": mean_ci(schur0), "final": mean_ci(schur1),
                             "change": paired_difference(schur1, schur0)},
        "henrici_departure": {"initial": mean_ci(hen0), "final": mean_ci(hen1), "change": paired_difference(hen1, hen0)},
        "centrality": {"kind": kind, "spearman_initial_final": mean_ci(col(lambda a, t: t[f"centrality_{kind}_spearman"])),
                       "top_decile_leaving": mean_ci(col(lambda a, t: t[f"centrality_{kind}_top_leaving"]))},
        "dca_angle_pre_post_rad": {"smallest": mean_ci(col(lambda a, t: a["angles_pre_post"][0])),
                                   "largest": mean_ci(col(lambda a, t: a["angles_pre_post"][-1]))},
        "condition_angle_mean_rad": {
            s: mean_ci(col(lambda a, t, s=s: np.mean(a[f"condition_angles_{s}"]))) for s in ("trained", "untrained")},
        "readout_angle_rad": {
            m: {s: mean_ci(col(lambda a, t, m=m, s=s: t[f"readout_angle_{m}_{s}"])) for s in ("trained", "untrained")}
            for m in ("dca", "pca")},
        "pi_trained_minus_untrained": {
            "theta_0": paired_difference(theta_first["trained"], theta_first["untrained"]),
            "theta_pi_4": paired_difference(theta_last["trained"], theta_last["untrained"])},
        "fixed_points": {key: mean_ci(np.asarray(v, dtype=np.float64)) for key, v in sorted(fixed_points.items())},
    }
    out["condition_angle_mean_rad"]["difference"] = paired_difference(
        col(lambda a, t: np.mean(a["condition_angles_trained"])), col(lambda a, t: np.mean(a["condition_angles_untrained"])))
    for m in ("dca", "pca"):
        out["readout_angle_rad"][m]["difference"] = paired_difference(
            col(lambda a, t, m=m: t[f"readout_angle_{m}_trained"]), col(lambda a, t, m=m: t[f"readout_angle_{m}_untrained"]))
    out["claims"] = {
        "mean weight decreases with training (note Fig. 4)": verdict(out["mean_weight"]["change"], -1),
        "non-normality (Schur) increases with training (note §5.2: about 16.5 → 17.5)": verdict(out["schur_upper_norm"]["change"], +1),
        "trained PI below untrained at θ = 0 (note Fig. 6)": verdict(out["pi_trained_minus_untrained"]["theta_0"], -1),
        "trained PI at least untrained at θ = π/4 (note Fig. 6)": verdict(out["pi_trained_minus_untrained"]["theta_pi_4"], +1),
        "DCA subspace moves away from the readout (note Fig. 11)": verdict(out["readout_angle_rad"]["dca"]["difference"], +1),
        "condition subspaces slightly more nested after training (note Fig. 10)": verdict(
            out["condition_angle_mean_rad"]["difference"], -1),
    }
    return out


def run(change_paths: list[str], fixed_point_paths: list[str], out: str) -> None:
    by_task: dict[str, list] = defaultdict(list)
    skipped: dict[str, list[str]] = defaultdict(list)
    for path in change_paths:
        config, arrays, attrs = read_arrays(path, KIND)
        if not attrs.get("analysed") or not attrs.get("accepted"):
            skipped[config["task"]].append(f"{config['net_id']}: {attrs.get('reason') or 'not accepted'}")
            continue
        by_task[config["task"]].append((config, arrays, attrs))
    counts = _fixed_point_counts(fixed_point_paths)
    summary = {"tasks": {}, "statistics": "mean with a 95 % t-interval over accepted trained networks; paired "
               "differences trained minus initial with Cohen's d_z; verdicts from the CI's sign"}
    for task in sorted(set(by_task) | set(skipped)):
        entry = task_summary(by_task[task], counts.get(task, {})) if by_task[task] else {"n_networks": 0, "networks": []}
        entry["set_aside"] = skipped.get(task, [])
        summary["tasks"][task] = entry
    write_json(out, finite_or_none(summary))
    log.info("training-change summary: %s", {t: v.get("claims", {}) for t, v in summary["tasks"].items()})
