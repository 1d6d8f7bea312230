"""Tiny synthetic result folders for the figure tests, written with the store writers."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rnnatlas.store.graph_file import write_graph
from rnnatlas.store.pairwise_file import write_embedding, write_pairwise
from rnnatlas.store.probe_file import write_probe
from rnnatlas.store.task_data import build_task_data, write_task_data

N = 6
ARCHS = ("vanilla", "gru")
ACTS = ("tanh", "relu")
SEEDS = (0, 1)
ARCH_CENTRES = {"vanilla": (0.0, 0.0), "gru": (10.0, 0.0)}


def net_id(arch: str, act: str, seed: int, trained: bool = True) -> str:
    return f"{arch}-{act}-n{N}-l2_1e-04-s{seed:02d}" + ("" if trained else "-untrained")


def _graph_arrays(task: str, n_nodes: int, rng) -> dict:
    ev = (0.9 * np.exp(1j * rng.uniform(0, np.pi, (n_nodes, N)))).astype(np.complex128)
    a = {"adjacency": (rng.uniform(size=(n_nodes, n_nodes)) > 0.5).astype(float),
         "node_h": rng.normal(size=(n_nodes, N)), "node_x": np.zeros((n_nodes, 1)),
         "node_q": np.zeros(n_nodes), "node_readout": rng.normal(size=(n_nodes, 1)),
         "node_condition": np.arange(n_nodes) % 2, "node_point": np.arange(n_nodes),
         "node_eigenvalues": ev, "node_n_unstable": np.arange(n_nodes) % 3}
    if task == "sine":
        a["node_condition"] = np.arange(n_nodes)
        a["node_frequency"] = np.linspace(0.01, 0.05, n_nodes)
        a["condition_frequency"] = np.linspace(0.01, 0.05, n_nodes)
    return a


def build_task(root: Path, task: str, *, with_similarity: bool = True, accept_all: bool = True,
               seed: int = 0) -> Path:
    """results/<task> with 8 trained networks (+ 4 untrained Vanilla twins for CDI)."""
    rng = np.random.default_rng(seed)
    d = root / task
    td = build_task_data(task, {}, 4, 0)
    write_task_data(d / "task_data.h5", td, 0)
    T, trials, _ = td.probe.batch.inputs.shape
    n_out = td.probe.batch.targets.shape[-1]
    rows, dyn_nets, ids = [], [], []
    for arch in ARCHS:
        for act in ACTS:
            for s in SEEDS:
                for trained in ((True, False) if task == "cdi" and arch == "vanilla" else (True,)):
                    i = net_id(arch, act, s, trained)
                    ids.append(i)
                    accepted = trained and (accept_all or (arch == "gru" and act == "tanh"))
                    loss = 0.01 if accepted else 1.0
                    rows.append(dict(task=task, arch=arch, activation=act, units=N, l2=1e-4, seed=s,
                                     trained=trained, net_id=i, accepted=accepted, failed=False,
                                     failure_reason="", final_train_loss=loss,
                                     final_val_loss=loss if trained else "", accept_threshold=0.1))
                    cfg = {"net_id": i, "task": task, "arch": arch, "activation": act}
                    write_probe(d / "nets" / i / "probe.h5", cfg,
                                np.cumsum(rng.normal(size=(trials, min(T, 60), N)), axis=1),
                                rng.normal(size=(trials, min(T, 60), n_out)), N)
                    n_nodes = 4 if not (arch == "gru" and act == "relu" and s == 1) else 3
                    write_graph(d / "nets" / i / "graph.h5", cfg, _graph_arrays(task, n_nodes, rng),
                                {"graph_kind": "x", "n_nodes": n_nodes, "analysed": True, "reason": "",
                                 "accepted": accepted})
                    dyn_nets.append({"net_id": i, "arch": arch, "activation": act, "trained": trained,
                                     "accepted": accepted, "analysed": True, "n_nodes": n_nodes})
    pd.DataFrame(rows).to_csv(d / "training_summary.csv", index=False)
    (d / "training_summary.json").write_text(json.dumps({"accept_threshold": 0.1}))
    acc = [n for n in dyn_nets if n["accepted"]]
    aside = [n["net_id"] for n in acc if n["n_nodes"] != 4]
    curve = {"n": 2, "mean": list(np.linspace(0.01, 0.05, 11)), "se": [0.001] * 11}
    dyn = {"networks": dyn_nets, "modal_node_count": 4, "set_aside": aside,
           "command_frequency": list(np.linspace(0.01, 0.05, 11)),
           "median_relative_frequency_error": 0.1,
           "linearized_frequency_by_arch": {"vanilla": curve, "gru": curve},
           "linearized_frequency_by_activation": {"tanh": curve, "relu": curve},
           "eigenvalue_closest_to_1_by_arch": {"vanilla": {"n": 4, "mean": 0.99, "se": 0.01}},
           "sorted_eigenvalue_modulus_by_arch": {"gru": {"n": 4, "mean": [1.0, 0.9, 0.8], "se": [0, 0, 0]}},
           "mode_response_by_arch": {"gru": {"n": 4, "mean": [0.5, 0.8, 0.9], "se": [0.1] * 3}},
           "modes_kept": [1, 2, 3]}
    (d / "dynamics_summary.json").write_text(json.dumps(dyn))
    if with_similarity:
        # positions: two perfectly separated clusters by architecture (silhouette ≈ 1)
        pos = np.array([ARCH_CENTRES[i.split("-")[0]] for i in ids]) + rng.normal(scale=0.01, size=(len(ids), 2))
        dist = np.linalg.norm(pos[:, None] - pos[None], axis=-1)
        dist = (dist + dist.T) / 2
        np.fill_diagonal(dist, 0)
        for metric in ("svcca", "graph"):
            keep = [k for k, i in enumerate(ids) if metric != "graph" or (i not in aside and any(
                n["net_id"] == i and n["accepted"] for n in dyn_nets))]
            sub = [ids[k] for k in keep]
            opts = {"metric": metric}
            write_pairwise(d / "pairwise" / f"{metric}.nc", dist[np.ix_(keep, keep)], sub, task=task,
                           metric=metric, options=opts)
            write_embedding(d / "embedding" / f"{metric}.nc", pos[keep], sub, task=task, metric=metric,
                            stress=0.05, raw_stress=0.1, options=opts,
                            set_aside={i: "n_nodes=3, modal n_nodes=4" for i in aside} if metric == "graph" else None)
    return d


@pytest.fixture(scope="session")
def results(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("results")
    for t in ("flipflop", "sine", "cdi"):
        build_task(root, t)
    return root
