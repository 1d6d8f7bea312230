"""Stage ``dynamics-summary``: one task's fixed-point results in ``dynamics_summary.json``.

Counts every network (trained, twins, not analysed, set aside and why) and reports the numbers
that make the paper's claims checkable: flip-flop, the fraction of accepted networks with
exactly 2^bits stable fixed points; sine, the relative error between the linearised and the
command frequency; CDI, the eigenvalue closest to 1 at the line-attractor points, the sorted
spectra and the mode-removal response, per architecture (the task's expected stable-point count
and its graph kind's summary, :mod:`rnnatlas.dynamics.graph_kinds`). Statistics over accepted trained
networks only (the linearised-dynamics ones over those with the modal node count, as the
graph comparisons); means come with standard errors over networks.
"""

from __future__ import annotations

import numpy as np

from ..dynamics.graph_kinds import GRAPH_KINDS
from ..dynamics.graphs import modal_count
from ..errors import InputError
from ..ids import NetworkSpec
from ..store.atomic import write_json
from ..store.fixed_point_file import read_fixed_points
from ..store.graph_file import read_graph
from ..store.task_data import read_task_data
from .common import finite_or_none, log


def run(task: str, task_data_path: str, fp_paths: list[str], graph_paths: list[str], out: str) -> None:
    data = read_task_data(task_data_path, task)
    nets = []
    for fp_path, graph_path in zip(fp_paths, graph_paths):
        config, arrays, attrs = read_fixed_points(fp_path)
        gconfig, graph, gattrs = read_graph(graph_path)
        if config.get("task") != task or gconfig.get("task") != task:
            raise InputError(f"{fp_path}: a network of task {config.get('task')!r}, expected {task!r}")
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
            # forward runs that settled at an attractor not among the stable fixed points
            "n_attractor_runs_missed": int(attrs.get("attractors", {}).get("n_missed", 0)),
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
        "n_studied_missing_an_attractor": sum(table[i]["n_attractor_runs_missed"] > 0 for i in studied),
    }
    expected = data.task.expected_stable_points()
    if expected is not None:
        exact = [table[i]["n_stable"] == expected for i in studied]
        summary["expected_stable_points"] = expected
        summary["fraction_with_expected_stable_points"] = float(np.mean(exact)) if exact else float("nan")
        summary["stable_point_counts"] = {str(k): int(v) for k, v in zip(*np.unique(
            [table[i]["n_stable"] for i in studied], return_counts=True))} if studied else {}
    # The graph kind's linearised-dynamics statistics use the networks with the modal node count,
    # as the graph comparisons do.
    modal_nets = [i for i in studied if table[i]["n_nodes"] == modal]
    summary.update(GRAPH_KINDS.get(data.task.graph_kind).summarize(nets, modal_nets, data))
    summary["networks"] = table
    write_json(out, finite_or_none(summary))
    log.info("%s: %s", task, {k: v for k, v in summary.items() if not isinstance(v, (list, dict))})


def _net_id(config: dict) -> str:
    return NetworkSpec(**{k: config[k] for k in ("task", "arch", "activation", "units", "l2", "seed", "trained")}).id
