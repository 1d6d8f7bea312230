"""Graph kinds: how a task's fixed points become a comparable graph, and what the dynamics
summary reports about them (Maheswaranathan et al. 2019, Figs. 1e, 2e, 3d).

A task names its kind (``Task.graph_kind``); each kind is one registry entry with a ``build``
(points of a population → one graph per network: arrays and attributes for ``graph.h5``) and
a ``summarize`` (the kind's numbers over the networks a summary studies):

- ``transition``: nodes are the fixed (not slow) points in readout order; edges are where
  perturbations of each node go (flip-flop).
- ``condition_chain``: one node per static condition, the fixed point nearest the centre of
  that condition's probe trajectory (sine: one point per command); nearest-neighbour edges;
  the linearised oscillation frequency per node.
- ``line_attractor``: slow points found from the end states of each context's probe trials,
  never merged; nearest-neighbour edges per context; the mode-removal response (CDI).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import torch

from ..registry import Registry
from .graphs import nearest_neighbour_graph, readout_order, transition_graphs
from .linear_analyses import mode_response, oscillation_frequency
from .population_analysis import Points, linearise, polished_search

N_SPECTRUM = 10  # leading eigenvalues / modes reported per architecture


@dataclass
class GraphContext:
    """What every graph builder may use: the population (float32 and float64), the task's data,
    the dynamics options, each network's linearised points, its probe states and a seed."""

    pop: Any
    pop64: Any
    data: Any  # rnnatlas.store.task_data.TaskData
    opts: dict
    points: list[Points]
    states: torch.Tensor  # [K, B, T, S]
    seed: int


@dataclass(frozen=True)
class GraphKind:
    name: str
    build: Callable[[GraphContext], list[tuple[dict, dict]]]
    summarize: Callable[[list, list[int], Any], dict] = lambda nets, studied, data: {}


GRAPH_KINDS: Registry[GraphKind] = Registry("graph kind")


def register_graph_kind(kind: GraphKind) -> GraphKind:
    return GRAPH_KINDS.add(kind.name, kind)


# --------------------------------------------------------------------------- shared
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


def _mean_se(rows: list[np.ndarray]) -> dict:
    a = np.asarray(rows, dtype=np.float64)
    n = len(a)
    se = a.std(0, ddof=1) / np.sqrt(n) if n > 1 else np.full(a.shape[1:], np.nan)
    return {"n": n, "mean": np.round(a.mean(0), 6).tolist(), "se": np.round(se, 6).tolist()}


def _grouped(values: dict[str, list]) -> dict:
    return {key: _mean_se(rows) for key, rows in sorted(values.items()) if rows}


# --------------------------------------------------------------------------- transition
def _transition(ctx: GraphContext) -> list[tuple[dict, dict]]:
    fixed = [np.flatnonzero(p.q <= ctx.opts["tol_q"]) for p in ctx.points]
    order = [idx[readout_order(p.readout[idx])] for p, idx in zip(ctx.points, fixed)]
    pop64 = ctx.pop64
    h, mask = _pad([p.h[o] for p, o in zip(ctx.points, order)], pop64.state_dim)
    x, _ = _pad([p.x[o] for p, o in zip(ctx.points, order)], pop64.n_inputs)
    stable, _ = _pad([(p.stability[o] == "stable")[:, None] for p, o in zip(ctx.points, order)], 1)
    gen = torch.Generator().manual_seed(ctx.seed)
    dev = pop64.params["weight_hh"].device
    graphs = transition_graphs(
        pop64.step, torch.as_tensor(h, device=dev), torch.as_tensor(x, device=dev), torch.as_tensor(mask, device=dev),
        stable=torch.as_tensor(stable[..., 0] > 0, device=dev),
        n_perturbations=ctx.opts["n_perturbations"], radius_fraction=ctx.opts["perturbation_fraction"],
        n_steps=ctx.opts["transition_steps"], settle_speed=ctx.opts["settle_speed"], generator=gen,
    )
    out = []
    for k, (p, o) in enumerate(zip(ctx.points, order)):
        n = len(o)
        arrays = {"adjacency": graphs.adjacency[k, :n, :n].cpu().numpy(), "unsettled": graphs.unsettled[k, :n].cpu().numpy(),
                  **_node_arrays(p, o)}
        out.append((arrays, {"graph_kind": "transition", "n_nodes": n, "radius": float(graphs.radius[k])}))
    return out


# --------------------------------------------------------------------------- condition chain
def _condition_chain(ctx: GraphContext) -> list[tuple[dict, dict]]:
    data = ctx.data
    states = ctx.states.cpu().numpy()  # [K, B, T, S]
    trial_cond = data.task.probe_conditions(data.probe.labels)
    freq_label = data.condition_labels.get("frequency")
    out = []
    for k, p in enumerate(ctx.points):
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


def _condition_chain_summary(nets: list, studied: list[int], data) -> dict:
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


# --------------------------------------------------------------------------- line attractor
def _line_attractor(ctx: GraphContext) -> list[tuple[dict, dict]]:
    pop64, data, opts, states = ctx.pop64, ctx.data, ctx.opts, ctx.states
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
    result = polished_search(ctx.pop, pop64, x0, h0, tol_q=opts["tol_q"], max_iters=opts["max_iters"],
                             stall_iters=opts["stall_iters"], unique_tol=0.0,
                             outlier_distance_scale=opts["outlier_distance_scale"])
    h, x, mask = result.padded()
    h, x = h.to(torch.float64), x.to(torch.float64)
    eig, jx, n_unstable, _ = linearise(pop64, h, x, opts["margin"])
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


def _line_attractor_summary(nets: list, studied: list[int], data) -> dict:
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


register_graph_kind(GraphKind("transition", _transition))
register_graph_kind(GraphKind("condition_chain", _condition_chain, _condition_chain_summary))
register_graph_kind(GraphKind("line_attractor", _line_attractor, _line_attractor_summary))
