"""Stage ``fixed-points``: fixed points, linearisation and fixed-point graph of a pack of networks.

Reads a pack's model files (trained networks and untrained twins alike), analyses them as one
population (:func:`rnnatlas.dynamics.population_analysis.search_population`, then the task's
graph kind from :mod:`rnnatlas.dynamics.graph_kinds`) and writes ``fixed_points.h5`` and
``graph.h5`` per network. A network whose parameters are not finite (diverged in training) is
recorded as not analysed.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from ..dynamics.graph_kinds import GRAPH_KINDS, GraphContext
from ..dynamics.population_analysis import Points, probe_states, search_population
from ..errors import InputError
from ..models import get_cell
from ..runtime import pick_device, stable_seed
from ..store.fixed_point_file import write_fixed_points
from ..store.graph_file import write_graph
from ..store.model_file import ModelRecord, population_from_records
from ..store.task_data import TaskData
from .common import finite_networks, log, read_pack

# Defaults of the ``dynamics`` config section (documented in config/README.md).
DEFAULTS = {
    "n_initial_states": 1024,  # per network, split evenly over the task's conditions
    "noise_scale": 0.5,
    "forward_fraction": 0.25,  # share of the starts that are end states of forward runs under x*
    "forward_steps": 500,
    "settle_speed": 5e-5,  # rms step below which a run has settled (forward runs, transition graphs)
    "tol_q": 1e-12,
    "max_iters": 5000,
    "stall_iters": 500,  # a start whose q fell less than 2x over this many iterations stops (0: never)
    "unique_tol": 1e-3,
    "outlier_distance_scale": 10.0,
    "margin": 1e-3,
    "n_perturbations": 100,
    "perturbation_fraction": 0.1,
    "transition_steps": 1000,
    "store_eigenvectors": True,
    "seed": 0,
}


def run(task: str, task_data_path: str, model_paths: list[str], fp_paths: list[str], graph_paths: list[str],
        options: dict, device_name: str = "auto") -> None:
    if not (len(model_paths) == len(fp_paths) == len(graph_paths)):
        raise InputError(f"{len(model_paths)} model files, {len(fp_paths)} fixed-point and {len(graph_paths)} graph paths")
    unknown = sorted(set(options) - set(DEFAULTS))
    if unknown:
        raise ValueError(f"unknown dynamics option(s) {unknown}; allowed: {sorted(DEFAULTS)}")
    opts = {**DEFAULTS, **options}
    device = pick_device(device_name)
    data, records = read_pack(task, task_data_path, model_paths)
    kind = GRAPH_KINDS.get(data.task.graph_kind)
    usable = finite_networks(records)
    for k in sorted(set(range(len(records))) - set(usable)):
        _write_not_analysed(records[k], fp_paths[k], graph_paths[k], data, "parameters are not finite (training diverged)")
    if not usable:
        return
    t0 = time.time()
    recs = [records[k] for k in usable]
    ids = [r.spec.id for r in recs]
    pop = population_from_records(recs, dtype=torch.float32, device=device)
    pop64 = population_from_records(recs, dtype=torch.float64, device=device)
    states = probe_states(pop, data.probe.batch.inputs)  # once: starts and the graph kinds use it
    gen = torch.Generator().manual_seed(stable_seed(data.task.name, "fixed_points", opts["seed"], *ids))
    points, result, checks = search_population(pop, pop64, data.task, data.probe.labels, data.conditions, states,
                                               opts, gen)
    iters = result.start_iters.float()
    t_search = time.time() - t0
    log.info("%s: searched %d starts x %d networks in %.1f s (Adam iterations: median %d, max %d)", task,
             iters.shape[1], iters.shape[0], t_search, int(iters.median()), int(iters.max()))
    graph_seed = stable_seed(data.task.name, "graph", opts["seed"], *ids)
    graphs = kind.build(GraphContext(pop, pop64, data, opts, points, states, graph_seed))
    t_graph = time.time() - t0 - t_search
    for j, k in enumerate(usable):
        base = {"accepted": records[k].accepted, "analysed": True, "reason": "", "options": opts}
        write_points(fp_paths[k], records[k], points[j], result, j, {**base, "attractors": checks[j].as_attrs()},
                      opts["store_eigenvectors"])
        arrays, attrs = graphs[j]
        write_graph(graph_paths[k], records[k].config, arrays, {**base, **attrs})
        log.info("%s %s: %s; forward runs: %d settled, %d at stable points, %d missed; graph %s with %d nodes",
                 task, records[k].spec.id, result.summary(j), checks[j].n_settled, checks[j].n_found,
                 checks[j].n_missed, kind.name, len(arrays["adjacency"]))
    log.info("%s: analysed %d networks in %.1f s (search and linearisation %.1f s, graphs %.1f s, files %.1f s)",
             task, len(usable), time.time() - t0, t_search, t_graph, time.time() - t0 - t_search - t_graph)


# --------------------------------------------------------------------------- files
def write_points(path, record: ModelRecord, pts: Points, result, k: int, base: dict, eigenvectors: bool) -> None:
    """One network's ``fixed_points.h5`` (network k of the search ``result``); ``base``: attributes."""
    nfp = result.for_network(k)
    arrays = {
        "h": pts.h, "x": pts.x, "q": pts.q, "is_slow": nfp.is_slow.cpu().numpy(), "condition": pts.condition,
        "readout": pts.readout, "eigenvalues": pts.eigenvalues, "n_unstable": pts.n_unstable,
        "stability": pts.stability, "input_jacobian": pts.input_jacobian, "n_forward_runs": pts.n_forward_runs,
    }
    if eigenvectors:  # slow points (often hundreds along a line attractor) get NaN, which gzip makes ~free
        slow = arrays["is_slow"][:, None, None]
        with np.errstate(over="ignore"):  # near-defective J: huge left vectors become inf, as they are
            arrays["right"] = np.where(slow, np.nan, pts.right).astype(np.complex64)
            arrays["left"] = np.where(slow, np.nan, pts.left).astype(np.complex64)
    attrs = {**base, "found": bool(nfp.found), "best_q": float(nfp.best_q), "n_duplicates": nfp.n_duplicates,
             "n_outliers": nfp.n_outliers, "n_starts": int(result.start_q.shape[1])}
    write_fixed_points(path, record.config, arrays, attrs)


def write_unanalysed_points(record: ModelRecord, fp_path: str, data: TaskData, reason: str) -> dict:
    """An empty ``fixed_points.h5`` for a network that could not be analysed, saying why; returns
    its attributes."""
    s, i = get_cell(record.spec.arch).state_dim(record.spec.units), data.conditions.shape[1]
    empty = {"h": np.zeros((0, s)), "x": np.zeros((0, i)), "q": np.zeros(0), "eigenvalues": np.zeros((0, s), complex),
             "n_unstable": np.zeros(0, np.int64)}
    attrs = {"accepted": record.accepted, "analysed": False, "reason": reason, "found": False, "best_q": float("inf")}
    write_fixed_points(fp_path, record.config, empty, attrs)
    log.warning("%s: not analysed: %s", record.spec.id, reason)
    return attrs


def _write_not_analysed(record: ModelRecord, fp_path: str, graph_path: str, data: TaskData, reason: str) -> None:
    attrs = write_unanalysed_points(record, fp_path, data, reason)
    write_graph(graph_path, record.config, {"adjacency": np.zeros((0, 0))},
                {**attrs, "graph_kind": data.task.graph_kind, "n_nodes": 0})
