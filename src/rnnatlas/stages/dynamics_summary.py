"""Stage ``dynamics-summary``: one task's fixed-point results in ``dynamics_summary.json``.

Counts every network (trained, twins, not analysed, set aside and why) and reports the numbers
that make the paper's claims checkable: flip-flop, the fraction of accepted networks with
exactly 2^bits stable fixed points; sine, the relative error between the linearised and the
command frequency; CDI, the eigenvalue closest to 1 at the line-attractor points, the sorted
spectra and the mode-removal response, per architecture. Statistics over accepted trained
networks only (the linearised-dynamics ones over those with the modal node count, as the
graph comparisons); means come with standard errors over networks.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from ..dynamics.graphs import modal_count
from ..store.fixed_point_file import read_fixed_points
from ..store.graph_file import read_graph
from ..store.task_data import read_task_data
from .common import finite_or_none, log, write_json_atomic

N_SPECTRUM = 10  # leading eigenvalues / modes reported per architecture


def _mean_se(rows: list[np.ndarray]) -> dict:
    a = np.asarray(rows, dtype=np.float64)
    n = len(a)
    se = a.std(0, ddof=1) / np.sqrt(n) if n > 1 else np.full(a.shape[1:], np.nan)
    return {"n": n, "mean": np.round(a.mean(0), 6).tolist(), "se": np.round(se, 6).tolist()}


def _grouped(values: dict[str, list]) -> dict:
    return {key: _mean_se(rows) for key, rows in sorted(values.items()) if rows}


def run(task: str, task_data_path: str, fp_paths: list[str], graph_paths: list[str], out: str) -> None:
    data = read_task_data(task_data_path, task)
    nets = []
    for fp_path, graph_path in zip(fp_paths, graph_paths):
        config, arrays, attrs = read_fixed_points(fp_path)
        gconfig, graph, gattrs = read_graph(graph_path)
        if config.get("task") != task or gconfig.get("task") != task:
            raise ValueError(f"{fp_path}: a network of task {config.get('task')!r}, expected {task!r}")
        nets.append((config, arrays, attrs, graph, gattrs))

    table = []
    for config, arrays, attrs, graph, gattrs in nets:
        fixed = ~arrays["is_slow"] if "is_slow" in arrays else np.zeros(0, dtype=bool)
        table.append({
            "net_id": _net_id(config),
            **{k: config[k] for k in ("arch", "activation", "units", "l2", "seed", "trained")},
            "accepted": bool(attrs["accepted"]), "analysed": bool(attrs["analysed"]), "reason": attrs["reason"],
            "found": bool(attrs["found"]), "best_q": float(attrs["best_q"]), "n_points": int(len(arrays["q"])),
            "n_fixed": int(fixed.sum()),
            "n_stable": int(((arrays["stability"] == "stable") & fixed).sum()) if len(fixed) else 0,
            "n_nodes": int(gattrs["n_nodes"]),
        })
    studied = [i for i, row in enumerate(table) if row["trained"] and row["accepted"] and row["analysed"]]
    modal = modal_count([table[i]["n_nodes"] for i in studied])
    set_aside = [table[i]["net_id"] for i in studied if table[i]["n_nodes"] != modal]
    summary = {
        "task": task,
        "graph_kind": data.task.graph_kind,
        "n_networks": len(table),
        "n_trained": sum(r["trained"] for r in table),
        "n_untrained_twins": sum(not r["trained"] for r in table),
        "n_accepted": sum(r["trained"] and r["accepted"] for r in table),
        "n_not_analysed": sum(not r["analysed"] for r in table),
        "n_without_fixed_point_below_tol": sum(r["analysed"] and not r["found"] for r in table),
        "studied": "accepted trained networks",
        "n_studied": len(studied),
        "modal_node_count": modal,
        "n_set_aside_node_count": len(set_aside),
        "set_aside": set_aside,
    }
    if task == "flipflop":
        expected = 2 ** int(data.task.n_bits)
        exact = [table[i]["n_stable"] == expected for i in studied]
        summary["expected_stable_points"] = expected
        summary["fraction_with_expected_stable_points"] = float(np.mean(exact)) if exact else float("nan")
        summary["stable_point_counts"] = {str(k): int(v) for k, v in zip(*np.unique(
            [table[i]["n_stable"] for i in studied], return_counts=True))} if studied else {}
    # Linearised-dynamics statistics use the networks with the modal node count, as the graphs do.
    modal_nets = [i for i in studied if table[i]["n_nodes"] == modal]
    if data.task.graph_kind == "condition_chain":
        summary.update(_sine(nets, modal_nets, data))
    elif data.task.graph_kind == "line_attractor":
        summary.update(_line(nets, modal_nets))
    summary["networks"] = table
    write_json_atomic(out, finite_or_none(summary))
    log.info("%s: %s", task, {k: v for k, v in summary.items() if not isinstance(v, (list, dict))})


def _net_id(config: dict) -> str:
    from ..ids import NetworkSpec

    return NetworkSpec(**{k: config[k] for k in ("task", "arch", "activation", "units", "l2", "seed", "trained")}).id


def _sine(nets, studied, data) -> dict:
    """Linearised vs command frequency; curves per condition, by architecture and activation."""
    n_cond = len(data.conditions)
    command_freq = np.asarray(data.condition_labels["frequency"], dtype=np.float64)
    per_net_error, by_arch, by_act = [], defaultdict(list), defaultdict(list)
    for i in studied:
        config, _, _, graph, _ = nets[i]
        curve = np.full(n_cond, np.nan)
        if len(graph["adjacency"]):
            curve[graph["node_condition"]] = graph["node_frequency"]
        rel = np.abs(curve - command_freq) / command_freq
        per_net_error.append(float(np.nanmedian(rel)) if np.isfinite(rel).any() else np.nan)
        by_arch[config["arch"]].append(curve)
        by_act[config["activation"]].append(curve)
    errors = np.asarray(per_net_error)
    return {
        "command_frequency": command_freq.round(6).tolist(),
        "median_relative_frequency_error": float(np.nanmedian(errors)) if np.isfinite(errors).any() else float("nan"),
        "linearized_frequency_by_arch": _grouped(by_arch),
        "linearized_frequency_by_activation": _grouped(by_act),
    }


def _line(nets, studied) -> dict:
    """Eigenvalue nearest 1, sorted spectra and mode-removal response at the line points."""
    nearest, spectra, response = defaultdict(list), defaultdict(list), defaultdict(list)
    for i in studied:
        config, _, _, graph, _ = nets[i]
        lam = graph["node_eigenvalues"]
        if not len(lam):
            continue
        closest = lam[np.arange(len(lam)), np.abs(lam - 1).argmin(1)]
        nearest[config["arch"]].append([float(np.median(np.abs(closest)))])
        # median over a network's line points: a few points off the line with |λ| > 1 would
        # otherwise dominate (λ^T explodes); then mean ± s.e. over networks
        spectra[config["arch"]].append(np.median(np.sort(np.abs(lam), axis=1)[:, ::-1][:, :N_SPECTRUM], axis=0))
        response[config["arch"]].append(np.median(graph["mode_response"][:, :N_SPECTRUM], axis=0))
    return {
        "eigenvalue_closest_to_1_by_arch": {k: {"n": v["n"], "mean": v["mean"][0], "se": v["se"][0]}
                                            for k, v in _grouped(nearest).items()},
        "sorted_eigenvalue_modulus_by_arch": _grouped(spectra),
        "mode_response_by_arch": _grouped(response),
        "modes_kept": list(range(1, N_SPECTRUM + 1)),
    }
