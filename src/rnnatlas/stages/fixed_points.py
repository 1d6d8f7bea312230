"""Stage ``fixed-points``: fixed points, linearisation and fixed-point graph of a pack of networks.

One job analyses a pack of same-shape networks (trained and untrained twins alike) as one
population: starts are sampled from each network's own probe trajectories, per static
condition x*, searched together (rnnatlas.dynamics.find_fixed_points), polished in float64
with the cells' analytic Jacobians, linearised, and turned into the task's graph kind. A
network whose parameters are not finite (diverged in training) is recorded as not analysed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from ..dynamics import eigendecompose, find_fixed_points, sample_initial_states, stability
from ..dynamics.graphs import nearest_neighbour_graph, readout_order, transition_graphs
from ..dynamics.linear_analyses import mode_response, oscillation_frequency
from ..models import RNNPopulation
from ..runtime import pick_device, stable_seed
from ..store.fixed_point_file import write_fixed_points
from ..store.graph_file import write_graph
from ..store.model_file import ModelRecord, population_from_records
from ..store.task_data import TaskData
from .common import log, read_pack

# Defaults of the ``dynamics`` config section (documented in config/README.md).
DEFAULTS = {
    "n_initial_states": 1024,  # per network, split evenly over the task's conditions
    "noise_scale": 0.5,
    "tol_q": 1e-12,
    "max_iters": 5000,
    "unique_tol": 1e-3,
    "outlier_distance_scale": 10.0,
    "margin": 1e-3,
    "n_perturbations": 100,
    "perturbation_fraction": 0.1,
    "transition_steps": 1000,
    "store_eigenvectors": True,
    "seed": 0,
}
SEARCH_KEYS = ("noise_scale", "tol_q", "max_iters", "unique_tol", "outlier_distance_scale")


@dataclass
class Points:
    """Linearised points of one network (numpy, float64)."""

    h: np.ndarray
    x: np.ndarray
    q: np.ndarray
    condition: np.ndarray
    readout: np.ndarray
    eigenvalues: np.ndarray
    right: np.ndarray
    left: np.ndarray
    input_jacobian: np.ndarray
    n_unstable: np.ndarray
    stability: np.ndarray


def run(task: str, task_data_path: str, model_paths: list[str], fp_paths: list[str], graph_paths: list[str],
        options: dict, device_name: str = "auto") -> None:
    if not (len(model_paths) == len(fp_paths) == len(graph_paths)):
        raise ValueError(f"{len(model_paths)} model files, {len(fp_paths)} fixed-point and {len(graph_paths)} graph paths")
    unknown = sorted(set(options) - set(DEFAULTS))
    if unknown:
        raise ValueError(f"unknown dynamics option(s) {unknown}; allowed: {sorted(DEFAULTS)}")
    opts = {**DEFAULTS, **options}
    device = pick_device(device_name)
    data, records = read_pack(task, task_data_path, model_paths)
    usable = [k for k, r in enumerate(records) if all(np.isfinite(v).all() for v in r.params.values())]
    for k in sorted(set(range(len(records))) - set(usable)):
        _write_not_analysed(records[k], fp_paths[k], graph_paths[k], data, "parameters are not finite (training diverged)")
    if not usable:
        return
    t0 = time.time()
    recs = [records[k] for k in usable]
    pop = population_from_records(recs, dtype=torch.float32, device=device)
    pop64 = population_from_records(recs, dtype=torch.float64, device=device)
    states = _probe_states(pop, data)  # once: starts, sine node choice and CDI line starts use it
    points, result = _search(pop, pop64, data, opts, recs, states)
    iters = result.start_iters.float()
    log.info("%s: searched %d starts x %d networks in %.1f s (Adam iterations: median %d, max %d)", task,
             iters.shape[1], iters.shape[0], time.time() - t0, int(iters.median()), int(iters.max()))
    graphs = _graphs(pop, pop64, data, opts, points, recs, states)
    for j, k in enumerate(usable):
        base = {"accepted": records[k].accepted, "analysed": True, "reason": "", "options": opts}
        _write_points(fp_paths[k], records[k], points[j], result, j, base, opts["store_eigenvectors"])
        arrays, attrs = graphs[j]
        write_graph(graph_paths[k], records[k].config, arrays, {**base, **attrs})
        log.info("%s %s: %s; graph %s with %d nodes", task, records[k].spec.id, result.summary(j),
                 data.task.graph_kind, len(arrays["adjacency"]))
    log.info("%s: analysed %d networks in %.1f s", task, len(usable), time.time() - t0)


# --------------------------------------------------------------------------- search
@torch.no_grad()
def _probe_states(pop: RNNPopulation, data: TaskData) -> torch.Tensor:
    """States on the probe set, ``[K, B, T, S]``."""
    p = pop.params["weight_hh"]
    _, states = pop(data.probe.batch.inputs.to(p), return_states=True)
    return states.transpose(1, 2)


def _starts(states: torch.Tensor, data: TaskData, opts: dict, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Initial states ``[K, M, S]`` and their inputs x* ``[K, M, I]``, per condition from the
    probe trials (states ``[K, B, T, S]``) that run along that condition's manifold."""
    k, b, t, _ = states.shape
    trial_cond = data.task.probe_conditions(data.probe.labels)
    conditions = torch.as_tensor(data.conditions, dtype=states.dtype, device=states.device)
    per = max(16, opts["n_initial_states"] // len(conditions))
    h0, x0 = [], []
    for c in range(len(conditions)):
        valid = torch.as_tensor(trial_cond == c).view(b, 1).expand(b, t)
        if not bool(valid.any()):
            continue
        h0.append(sample_initial_states(states, per, opts["noise_scale"], gen, valid))
        x0.append(conditions[c].expand(k, per, -1))
    return torch.cat(h0, 1), torch.cat(x0, 1)


def _linearise(pop64: RNNPopulation, h: torch.Tensor, x: torch.Tensor, margin: float):
    """Eigendecomposition, input Jacobian and stability at padded points ``[K, P, S]``."""
    j, jx = pop64.jacobians(h, x)
    eig = eigendecompose(j, sort="abs")
    n_unstable, classes = stability(eig.eigenvalues, "discrete", margin)
    return eig, jx, n_unstable, classes


def _search(pop, pop64, data: TaskData, opts: dict, recs: list[ModelRecord], states: torch.Tensor):
    seed = stable_seed(data.task.name, "fixed_points", opts["seed"], *(r.spec.id for r in recs))
    gen = torch.Generator().manual_seed(seed)
    h0, x0 = _starts(states, data, opts, gen)
    result = find_fixed_points(
        pop.step, x0, h0, polish_step=pop64.step, polish_jacobian=lambda h, x: pop64.jacobians(h, x)[0],
        **{key: opts[key] for key in SEARCH_KEYS if key != "noise_scale"},
    )
    h, x, mask = result.padded()
    h, x = h.to(torch.float64), x.to(torch.float64)
    eig, jx, n_unstable, classes = _linearise(pop64, h, x, opts["margin"])
    with torch.no_grad():
        readout = pop64.readout_state(h)
    conditions = np.asarray(data.conditions, dtype=np.float64)
    points = []
    for k in range(h.shape[0]):
        sel = mask[k].cpu().numpy()
        xk = x[k].cpu().numpy()[sel]
        cond = np.abs(xk[:, None, :] - conditions[None]).sum(-1).argmin(1).astype(np.int64)
        points.append(Points(
            h=h[k].cpu().numpy()[sel], x=xk, q=result.for_network(k).q.cpu().numpy(), condition=cond,
            readout=readout[k].cpu().numpy()[sel], eigenvalues=eig.eigenvalues[k].cpu().numpy()[sel],
            right=eig.right[k].cpu().numpy()[sel], left=eig.left[k].cpu().numpy()[sel],
            input_jacobian=jx[k].cpu().numpy()[sel], n_unstable=n_unstable[k].cpu().numpy()[sel],
            stability=classes[k][sel],
        ))
    return points, result


# --------------------------------------------------------------------------- graphs
def _pad(rows: list[np.ndarray], width: int) -> tuple[np.ndarray, np.ndarray]:
    p = max([len(r) for r in rows] + [1])
    out = np.zeros((len(rows), p, width))
    mask = np.zeros((len(rows), p), dtype=bool)
    for k, r in enumerate(rows):
        out[k, : len(r)], mask[k, : len(r)] = r, True
    return out, mask


def _node_arrays(pts: Points, idx: np.ndarray) -> dict[str, np.ndarray]:
    return {
        "node_point": idx.astype(np.int64), "node_h": pts.h[idx], "node_x": pts.x[idx], "node_q": pts.q[idx],
        "node_readout": pts.readout[idx], "node_condition": pts.condition[idx],
        "node_eigenvalues": pts.eigenvalues[idx], "node_n_unstable": pts.n_unstable[idx],
    }


def _graphs(pop, pop64, data: TaskData, opts: dict, points: list[Points], recs, states) -> list[tuple[dict, dict]]:
    kind = data.task.graph_kind
    if kind == "transition":
        return _transition(pop64, data, opts, points, recs)
    if kind == "condition_chain":
        return _condition_chain(data, points, states)
    if kind == "line_attractor":
        return _line_attractor(pop, pop64, data, opts, states)
    raise ValueError(f"task {data.task.name!r}: unknown graph kind {kind!r}")


def _transition(pop64, data, opts, points, recs):
    """Nodes: the fixed (not slow) points in readout order; edges: where perturbations go."""
    fixed = [np.flatnonzero(p.q <= opts["tol_q"]) for p in points]
    order = [idx[readout_order(p.readout[idx])] for p, idx in zip(points, fixed)]
    h, mask = _pad([p.h[o] for p, o in zip(points, order)], pop64.state_dim)
    x, _ = _pad([p.x[o] for p, o in zip(points, order)], pop64.n_inputs)
    gen = torch.Generator().manual_seed(stable_seed(data.task.name, "graph", opts["seed"], *(r.spec.id for r in recs)))
    dev = pop64.params["weight_hh"].device
    graphs = transition_graphs(
        pop64.step, torch.as_tensor(h, device=dev), torch.as_tensor(x, device=dev), torch.as_tensor(mask, device=dev),
        n_perturbations=opts["n_perturbations"], radius_fraction=opts["perturbation_fraction"],
        n_steps=opts["transition_steps"], generator=gen,
    )
    out = []
    for k, (p, o) in enumerate(zip(points, order)):
        n = len(o)
        arrays = {"adjacency": graphs.adjacency[k, :n, :n].cpu().numpy(), "unsettled": graphs.unsettled[k, :n].cpu().numpy(),
                  **_node_arrays(p, o)}
        out.append((arrays, {"graph_kind": "transition", "n_nodes": n, "radius": float(graphs.radius[k])}))
    return out


def _condition_chain(data, points, states):
    """Nodes: per condition, the fixed point nearest the centre of that condition's probe
    trajectory (the paper's one point per sine command); edges: nearest neighbours."""
    states = states.cpu().numpy()  # [K, B, T, S]
    trial_cond = data.task.probe_conditions(data.probe.labels)
    freq_label = data.condition_labels.get("frequency")
    out = []
    for k, p in enumerate(points):
        idx = []
        for c in range(len(data.conditions)):
            cand = np.flatnonzero(p.condition == c)
            if cand.size and (trial_cond == c).any():
                centre = states[k, trial_cond == c].reshape(-1, states.shape[-1]).mean(0)
                idx.append(cand[np.argmin(np.linalg.norm(p.h[cand] - centre, axis=1))])
        idx = np.asarray(idx, dtype=np.int64)
        arrays = {"adjacency": nearest_neighbour_graph(p.h[idx]), **_node_arrays(p, idx)}
        arrays["node_frequency"] = oscillation_frequency(torch.as_tensor(p.eigenvalues[idx])).numpy()
        if freq_label is not None:
            arrays["condition_frequency"] = np.asarray(freq_label, dtype=np.float64)[p.condition[idx]]
        out.append((arrays, {"graph_kind": "condition_chain", "n_nodes": len(idx)}))
    return out


def _line_attractor(pop, pop64, data, opts, states):
    """Nodes: slow points found from the end states of each context's probe trials (middle
    uncued mean, cued means in order), one per start and never merged, so every network has
    the same number of nodes unless a search fails; edges: nearest neighbours per context."""
    task = data.task
    labels = data.probe.labels
    trial_cond = task.probe_conditions(labels)
    uncued = np.asarray(labels["mean_uncued"])
    middle = np.sort(np.unique(uncued))[len(np.unique(uncued)) // 2]
    trials = np.flatnonzero(uncued == middle)
    trials = trials[np.lexsort((labels["mean_cued"][trials], trial_cond[trials]))]
    conditions = torch.as_tensor(data.conditions, dtype=states.dtype, device=states.device)
    h0 = states[:, torch.as_tensor(trials, device=states.device), -1]
    x0 = conditions[torch.as_tensor(trial_cond[trials], device=states.device)].expand(h0.shape[0], -1, -1)
    result = find_fixed_points(
        pop.step, x0, h0, polish_step=pop64.step, polish_jacobian=lambda h, x: pop64.jacobians(h, x)[0],
        tol_q=opts["tol_q"], max_iters=opts["max_iters"], unique_tol=0.0,
        outlier_distance_scale=opts["outlier_distance_scale"],
    )
    h, x, mask = result.padded()
    h, x = h.to(torch.float64), x.to(torch.float64)
    eig, jx, n_unstable, _ = _linearise(pop64, h, x, opts["margin"])
    with torch.no_grad():
        readout = pop64.readout_state(h)
    w = torch.zeros(pop64.n_networks, pop64.state_dim, dtype=torch.float64, device=h.device)
    w[:, : pop64.n_units] = pop64.params["weight_out"][:, 0].detach()
    out = []
    for k in range(h.shape[0]):
        sel = mask[k]
        starts = result.for_network(k).start.cpu().numpy()
        cond = trial_cond[trials][starts]
        order = np.lexsort((readout[k][sel][:, 0].cpu().numpy(), cond))
        hk, xk = h[k][sel][order], x[k][sel][order]
        cued = torch.as_tensor([task.cued_input(c) for c in cond[order]], device=h.device)
        jx_k = jx[k][sel][order]
        b = torch.gather(jx_k, 2, cued.view(-1, 1, 1).expand(-1, jx_k.shape[1], 1)).squeeze(-1)
        response = mode_response(eig.eigenvalues[k][sel][order], eig.right[k][sel][order], eig.left[k][sel][order],
                                 b, w[k].expand_as(b), task.n_steps)
        arrays = {
            "adjacency": nearest_neighbour_graph(hk.cpu().numpy(), cond[order]),
            "node_point": np.full(len(order), -1, dtype=np.int64), "node_h": hk.cpu().numpy(), "node_x": xk.cpu().numpy(),
            "node_q": result.for_network(k).q.cpu().numpy()[order], "node_readout": readout[k][sel][order].cpu().numpy(),
            "node_condition": cond[order].astype(np.int64),
            "node_eigenvalues": eig.eigenvalues[k][sel][order].cpu().numpy(),
            "node_n_unstable": n_unstable[k][sel][order].cpu().numpy(), "mode_response": response.cpu().numpy(),
        }
        out.append((arrays, {"graph_kind": "line_attractor", "n_nodes": len(order)}))
    return out


# --------------------------------------------------------------------------- files
def _write_points(path, record: ModelRecord, pts: Points, result, k: int, base: dict, eigenvectors: bool) -> None:
    nfp = result.for_network(k)
    arrays = {
        "h": pts.h, "x": pts.x, "q": pts.q, "is_slow": nfp.is_slow.cpu().numpy(), "condition": pts.condition,
        "readout": pts.readout, "eigenvalues": pts.eigenvalues, "n_unstable": pts.n_unstable,
        "stability": pts.stability, "input_jacobian": pts.input_jacobian,
    }
    if eigenvectors:  # slow points (often hundreds along a line attractor) get NaN, which gzip makes ~free
        slow = arrays["is_slow"][:, None, None]
        with np.errstate(over="ignore"):  # near-defective J: huge left vectors become inf, as they are
            arrays["right"] = np.where(slow, np.nan, pts.right).astype(np.complex64)
            arrays["left"] = np.where(slow, np.nan, pts.left).astype(np.complex64)
    attrs = {**base, "found": bool(nfp.found), "best_q": float(nfp.best_q), "n_duplicates": nfp.n_duplicates,
             "n_outliers": nfp.n_outliers, "n_starts": int(result.start_q.shape[1])}
    write_fixed_points(path, record.config, arrays, attrs)


def _write_not_analysed(record: ModelRecord, fp_path: str, graph_path: str, data: TaskData, reason: str) -> None:
    s, i = record.spec.units * (2 if record.spec.arch == "lstm" else 1), data.conditions.shape[1]
    empty = {"h": np.zeros((0, s)), "x": np.zeros((0, i)), "q": np.zeros(0), "eigenvalues": np.zeros((0, s), complex),
             "n_unstable": np.zeros(0, np.int64)}
    attrs = {"accepted": record.accepted, "analysed": False, "reason": reason, "found": False, "best_q": float("inf")}
    write_fixed_points(fp_path, record.config, empty, attrs)
    write_graph(graph_path, record.config, {"adjacency": np.zeros((0, 0))},
                {**attrs, "graph_kind": data.task.graph_kind, "n_nodes": 0})
    log.warning("%s: not analysed: %s", record.spec.id, reason)
