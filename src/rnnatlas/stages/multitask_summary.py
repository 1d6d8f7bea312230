"""Stage ``multitask-summary``: study M's numbers and the answer to the thesis's open question.

Reads every trained network's ``multitask.h5`` and ``fixed_points.h5``; writes
``results/multitask/summary.json``. Per group (task: Go alone, the Go family): accuracy per
task, the compositionality cosine, and per task epoch the fixed and slow points found under
its inputs and how close the trajectories come to them. Then the open question (seed 003,
§5.2 and Conclusions: does a network trained on several tasks show a clearer fixed-point
structure than one trained on Go alone?), on the epochs of the Go task that both groups
perform and over all of each group's epochs, as three per-network measures compared between
the groups (difference of means, Welch 95 % CI, p):

- ``share_inputs_with_fixed_point``: the share of the epoch inputs (conditions) under which at
  least one fixed point (q below tolerance) was found, and ``share_inputs_with_stable_point``;
- ``closest_fixed_relative``: the median over epochs of the trajectory's closest approach to a
  fixed point of its own input, in units of the activity's spread (``activity_scale``): small
  means the trajectories pass through the fixed points, as Driscoll et al. describe;
- ``end_speed``: the median over epochs of the speed q at the epoch's last step.

``verdict`` says which group's structure is clearer on the Go epochs, where a 95 % interval
of the difference allows it (:func:`verdict`).

``networks`` lists, per task, the networks the statistics use (the figures draw those, so a
file left over from another configuration never enters them).

Statistics use the analysed networks that met their acceptance threshold (all analysed
networks when none did, said in ``networks_used``).
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from ..errors import InputError
from ..stats import mean_ci, welch_difference
from ..store.atomic import write_json
from ..store.fixed_point_file import read_fixed_points
from ..store.multitask_file import read_multitask
from .common import finite_or_none, log

REACHED = 0.1  # closest approach below this share of the activity's spread counts as reaching the point
QUESTION = ("Do networks trained on several tasks show a clearer fixed-point structure than networks "
            "trained on Go alone? (seed 003, §5.2 and Conclusions)")


def _clean(value):
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return finite_or_none(value)


def network_measures(arrays: dict, attrs: dict, only_rule: str | None = None) -> dict[str, float]:
    """One network's fixed-point measures over its epochs (or only those of ``only_rule``)."""
    rules = np.asarray(arrays["epoch_rule"]).astype(str)
    keep = np.ones(len(rules), bool) if only_rule is None else rules == only_rule
    scale = float(attrs.get("activity_scale", np.nan)) or np.nan
    n_inputs = int(np.asarray(arrays["n_conditions"])[keep].sum())
    closest = np.asarray(arrays["closest_fixed"], dtype=np.float64)[keep] / scale
    end_q = np.asarray(arrays["trajectory_end_q"], dtype=np.float64)[keep]
    share = lambda key: float(np.asarray(arrays[key])[keep].sum()) / n_inputs if n_inputs else np.nan  # noqa: E731
    return {
        "share_inputs_with_fixed_point": share("n_conditions_with_fixed"),
        "share_inputs_with_stable_point": share("n_conditions_with_stable"),
        "closest_fixed_relative": float(np.nanmedian(closest)) if np.isfinite(closest).any() else np.nan,
        "share_epochs_reached": float(np.mean(np.nan_to_num(closest, nan=np.inf) < REACHED)) if len(closest) else np.nan,
        "end_speed": float(np.nanmedian(end_q)) if np.isfinite(end_q).any() else np.nan,
    }


def group_summary(nets: list[tuple[dict, dict, dict]]) -> dict:
    """Numbers of one group (task) over its networks: (config, arrays, attrs) of each."""
    rules = list(nets[0][1]["rules"])
    perf = np.asarray([a["performance"] for _, a, _ in nets], dtype=np.float64)  # [K, R]
    out = {
        "n_networks": len(nets),
        "rules": rules,
        "accuracy": {r: mean_ci(perf[:, i]) for i, r in enumerate(rules)},
        "accuracy_mean_over_tasks": mean_ci(np.nanmean(perf, axis=1)),
    }
    comp = [t.get("compositionality", {}) for _, _, t in nets]
    if any(np.isfinite(c.get("cosine", np.nan)) for c in comp):
        out["compositionality"] = {key: mean_ci([c.get(key, np.nan) for c in comp]) for key in ("cosine", "cosine_pc2")}
    epochs = defaultdict(lambda: defaultdict(list))
    first = nets[0][1]
    names = [f"{r}/{e}" for r, e in zip(first["epoch_rule"], first["epoch_name"])]
    for _, a, t in nets:
        scale = float(t.get("activity_scale", np.nan))
        for i, name in enumerate(names):
            for key in ("n_conditions", "n_conditions_with_fixed", "n_conditions_with_stable", "n_fixed", "n_stable",
                        "n_slow", "min_q", "trajectory_min_q", "trajectory_end_q"):
                epochs[name][key].append(float(a[key][i]))
            epochs[name]["closest_fixed_relative"].append(float(a["closest_fixed"][i]) / scale)
    out["epochs"] = {name: {key: (mean_ci(v) if key.startswith("n_") or key == "closest_fixed_relative"
                                  else {"median": float(np.nanmedian(v)) if np.isfinite(v).any() else None,
                                        "min": float(np.nanmin(v)) if np.isfinite(v).any() else None})
                            for key, v in values.items()}
                     for name, values in epochs.items()}
    return out


def run(analysis_paths: list[str], fp_paths: list[str], out: str) -> None:
    if len(analysis_paths) != len(fp_paths):
        raise InputError(f"{len(analysis_paths)} multitask files and {len(fp_paths)} fixed-point files")
    by_task: dict[str, list] = defaultdict(list)
    dropped = defaultdict(int)
    for path, fp_path in zip(analysis_paths, fp_paths):
        config, arrays, attrs = read_multitask(path)
        fp_config, _, _ = read_fixed_points(fp_path)
        if fp_config.get("net_id") != config.get("net_id"):
            raise InputError(f"{path} and {fp_path} are files of different networks")
        if not attrs.get("analysed", False):
            dropped[config["task"]] += 1
            continue
        by_task[config["task"]].append((config, arrays, attrs))
    summary = {"groups": {}, "networks_used": {}, "networks": {}, "not_analysed": dict(dropped),
               "reached_threshold": REACHED}
    measures: dict[str, dict[str, dict[str, list]]] = {}
    for task, nets in sorted(by_task.items()):
        accepted = [n for n in nets if n[2].get("accepted")]
        used = accepted or nets
        summary["networks_used"][task] = {"accepted": len(accepted), "analysed": len(nets),
                                          "used": "accepted" if accepted else "all analysed (none accepted)"}
        summary["groups"][task] = group_summary(used)
        summary["networks"][task] = [c["net_id"] for c, _, _ in used]  # the figures draw these
        measures[task] = {scope: defaultdict(list) for scope in ("go_epochs", "all_epochs")}
        for _, a, t in used:
            for scope, rule in (("go_epochs", "go"), ("all_epochs", None)):
                if rule is not None and rule not in list(a["rules"]):
                    continue
                for key, value in network_measures(a, t, rule).items():
                    measures[task][scope][key].append(value)
    summary["open_question"] = open_question(measures)
    write_json(out, _clean(summary))
    log.info("multitask summary: %s", summary["open_question"].get("answer", ""))


def open_question(measures: dict[str, dict[str, dict[str, list]]]) -> dict:
    """The comparison of the multitask group with the Go-only group (task names ``go_family`` and
    ``go``: the groups of the default config; any other pair of tasks is reported per task only)."""
    out = {"question": QUESTION, "per_group": {
        task: {scope: {k: mean_ci(v) for k, v in values.items()} for scope, values in scopes.items()}
        for task, scopes in measures.items()}}
    if "go" not in measures or "go_family" not in measures:
        out["answer"] = "needs both groups (tasks 'go' and 'go_family')"
        return out
    comparison = {}
    for scope in ("go_epochs", "all_epochs"):
        comparison[scope] = {k: welch_difference(measures["go_family"][scope][k], measures["go"][scope][k])
                             for k in measures["go"][scope]}
    out["multitask_minus_go_only"] = comparison
    out["verdict"] = verdict(comparison["go_epochs"])
    out["answer"] = _answer(measures, comparison) + f" Verdict: {out['verdict']}."
    return out


def verdict(differences: dict[str, dict]) -> str:
    """"multitask clearer" when, on the Go task's epochs, multitask networks have fixed points
    under more of the inputs or their trajectories come closer to them (the 95 % CI of the
    difference on that side of 0), "Go-only clearer" when the reverse, else "no difference
    detected" (also when the groups are too small for an interval)."""
    more = differences["share_inputs_with_fixed_point"]
    closer = differences["closest_fixed_relative"]
    side = lambda d, sign: d.get("ci_low") is not None and (d["ci_low"] > 0 if sign > 0 else d["ci_high"] < 0)  # noqa: E731
    if side(more, +1) or side(closer, -1):
        return "multitask clearer"
    if side(more, -1) or side(closer, +1):
        return "Go-only clearer"
    return "no difference detected"


def _fmt(ci: dict) -> str:
    if ci.get("mean") is None:
        return "n/a"
    if ci.get("ci_low") is None:
        return f"{ci['mean']:.3g} (n = {ci['n']})"
    return f"{ci['mean']:.3g} [{ci['ci_low']:.3g}, {ci['ci_high']:.3g}] (n = {ci['n']})"


def _answer(measures, comparison) -> str:
    g, m = measures["go"]["go_epochs"], measures["go_family"]["go_epochs"]
    d = comparison["go_epochs"]["closest_fixed_relative"]
    parts = [
        f"On the Go task's epochs, fixed points were found under a share {_fmt(mean_ci(g['share_inputs_with_fixed_point']))} "
        f"of the epoch inputs of Go-only networks and {_fmt(mean_ci(m['share_inputs_with_fixed_point']))} of multitask networks "
        f"(stable: {_fmt(mean_ci(g['share_inputs_with_stable_point']))} vs {_fmt(mean_ci(m['share_inputs_with_stable_point']))}).",
        f"The trajectories' closest approach to them, in units of the activity's spread, is "
        f"{_fmt(mean_ci(g['closest_fixed_relative']))} (Go-only) vs {_fmt(mean_ci(m['closest_fixed_relative']))} (multitask)"
        + (f"; multitask − Go-only {d['difference']:.3g}" if d.get("difference") is not None else "")
        + (f" [{d['ci_low']:.3g}, {d['ci_high']:.3g}], p = {d['p_value']:.2g}." if d.get("p_value") is not None else "."),
    ]
    return " ".join(parts)
