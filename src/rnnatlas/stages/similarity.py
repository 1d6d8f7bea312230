"""Stages ``similarity-prepare``, ``similarity-block``, ``similarity-merge``, ``embed``, ``similarity-graph``.

A task's n x n distance matrix for one metric of the registry (:mod:`rnnatlas.similarity.names`:
SVCCA, linear and RBF CKA, Procrustes, DSA's two forms) is built in block jobs (see
:mod:`rnnatlas.stages.similarity_plan`). For DSA the per-network work is a fitted linear model
of the probe trajectories (:func:`rnnatlas.similarity.fit_dynamics`, on the CPU) instead of a
:class:`Prepared`; the jobs and files are the same:

1. **prepare** (one job per chunk of networks): read each network's ``probe.h5``, take the
   hidden states ``hidden`` [trials, T, N] reshaped to (trials·T, N) samples x units (for
   LSTMs this is the output state h; the cell state c, also stored, is not used: h is what
   the readout and the next step see, and it keeps every architecture at N units), and run
   the library's per-network precomputation once (:func:`rnnatlas.similarity.prepare`):
   SVCCA bases (variance fraction of sum s², k recorded per network), centered activations
   for linear CKA, centered activations plus Gram centering terms and bandwidth for RBF CKA.
   Networks whose states are not finite (a diverged network) are set aside with their
   reason. Output: the saved ``Prepared`` (.npz) and a JSON sidecar (ids, set-aside, k).
2. **block** (one job per tile i <= j): distances between chunk i and chunk j from the two
   prepared files (:func:`rnnatlas.similarity.pairwise_block`): batched float32 products,
   float64 k x k stage, exact zero on the diagonal of diagonal tiles.
3. **merge**: assemble the tiles (upper triangle mirrored, so exactly symmetric) and write
   ``results/<task>/pairwise/<metric>.nc`` (:mod:`rnnatlas.store.pairwise_file`).

Then **embed** writes the 2-D metric-MDS embedding of any pairwise file, and **graph** builds
the pairwise file of fixed-point graph distances from ``graph.h5`` files.

RBF bandwidth: sigma = ``sigma_fraction`` x sqrt(median squared distance between the network's
samples), median over the full samples x samples matrix including its zero diagonal, per
network (Kornblith et al.'s convention; ``sigma_fraction`` 0.8 by default).
"""

from __future__ import annotations

import json
import os
import time
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np

from ..errors import InputError
from ..ids import parse_network_id
from ..runtime import pick_device
from ..store.atomic import atomic_path, write_json
from ..store.h5io import ForeignFileError
from .common import log

if TYPE_CHECKING:
    import torch

    from ..similarity import DynamicsModels, Prepared

# Torch, the similarity engine and xarray are imported inside the functions that use them:
# the embedding and merge jobs need no torch, the prepare and block jobs no xarray.

DEFAULT_OPTIONS: dict[str, Any] = {
    "variance": 0.99,
    "sigma_fraction": 0.8,
    "debiased": False,
    "angular": False,
    "dtype": "float32",
    "alpha": 1.0,
    "dsa": {},
}
DTYPES = ("float32", "float64")  # names of torch dtypes


def resolve_options(options: Mapping[str, Any] | None) -> dict[str, Any]:
    """Defaults completed by ``options``; unknown keys are an error naming them."""
    from ..similarity.options import check_alpha, check_dsa_options

    unknown = sorted(set(options or {}) - set(DEFAULT_OPTIONS))
    if unknown:
        raise ValueError(f"unknown similarity option(s) {unknown}; allowed: {sorted(DEFAULT_OPTIONS)}")
    out = {**DEFAULT_OPTIONS, **(options or {})}
    if out["dtype"] not in DTYPES:
        raise ValueError(f"similarity option dtype={out['dtype']!r}; allowed: {sorted(DTYPES)}")
    out["alpha"] = check_alpha(out["alpha"])
    out["dsa"] = check_dsa_options(out["dsa"])
    return out


def metric_options(metric: str, options: Mapping[str, Any] | None) -> dict[str, Any]:
    """The resolved options ``metric`` depends on, with how its distance is defined."""
    from ..similarity.names import REGISTRY

    opts, entry = resolve_options(options), REGISTRY[metric]
    out = {k: opts[k] for k in entry.options}
    if entry.distance:
        out["distance"] = entry.distance
    return out


def load_hidden(task: str, probe_paths: Sequence[str], trajectories: bool = False,
                ) -> tuple[list[str], list[np.ndarray], dict[str, str]]:
    """(ids, hidden states scaled to unit RMS, set-aside id → reason) from probe files: each network's
    states as (trials·T, units) samples, or with ``trajectories`` as [trials, T, units] in time order."""
    from ..store.probe_file import read_probe

    ids, reps, set_aside = [], [], {}
    for path in probe_paths:
        config, hidden, _ = read_probe(path)
        net_id = config.get("net_id")
        if config.get("task") != task or net_id is None:
            raise ForeignFileError(f"{path}: probe of task {config.get('task')!r} (net {net_id!r}), expected task {task!r}")
        parse_network_id(net_id, task)  # a malformed id fails here, naming it
        if hidden.ndim != 3:
            raise ForeignFileError(f"{path}: 'hidden' must be [trials, T, units]; got shape {hidden.shape}")
        if not np.isfinite(hidden).all():
            set_aside[net_id] = "non-finite hidden states on the probe set"
            continue
        ids.append(net_id)
        scaled = _unit_rms(hidden.reshape(-1, hidden.shape[-1]))
        reps.append(scaled.reshape(hidden.shape) if trajectories else scaled)
    return ids, reps, set_aside


def _is_dynamics(metric: str) -> bool:
    from ..similarity.names import REGISTRY

    return REGISTRY[metric].data == "trajectories"


def _unit_rms(x: np.ndarray) -> np.ndarray:
    """x divided by the RMS of its centred entries (float64). Every metric here is invariant to
    isotropic scaling, and this keeps float32 Gram products finite for networks whose states are
    huge (seen: a ReLU LSTM with |h| ~ 1e20 made linear CKA infinite)."""
    x64 = x.astype(np.float64)
    scale = float(np.sqrt(np.mean((x64 - x64.mean(0)) ** 2))) if x64.size else 0.0
    return x64 / scale if scale > 0 and np.isfinite(scale) else x64


def prepare_chunk(task: str, metric: str, reps: Sequence[np.ndarray], options: Mapping[str, Any],
                  device: torch.device | str = "cpu") -> Prepared | DynamicsModels:
    """The library's per-network precomputation for ``metric`` with the stage's options: a
    :class:`Prepared` for the sample metrics, fitted :class:`DynamicsModels` for DSA."""
    import torch

    from ..similarity import fit_dynamics, prepare

    opts = resolve_options(options)
    if _is_dynamics(metric):
        return fit_dynamics(list(reps), **opts["dsa"])
    return prepare(list(reps), metric, variance=opts["variance"], sigma_fraction=opts["sigma_fraction"],
                   debiased=opts["debiased"], alpha=opts["alpha"], device=device, dtype=getattr(torch, opts["dtype"]))


def run_prepare(task: str, metric: str, probe_paths: Sequence[str], options: Mapping[str, Any],
                out: str, out_meta: str, chunk: int, device_name: str = "auto") -> None:
    """Stage 1: prepare one chunk of networks; write ``out`` (.npz) and ``out_meta`` (JSON)."""
    start = time.perf_counter()
    device = pick_device(device_name)
    ids, reps, set_aside = load_hidden(task, probe_paths, trajectories=_is_dynamics(metric))
    prep = prepare_chunk(task, metric, reps, options, device)
    with atomic_path(out) as tmp:
        prep.save(tmp)
    write_json(out_meta, _chunk_meta(task, metric, chunk, ids, set_aside, prep))
    _log_set_aside(task, set_aside)
    log.info("%s %s chunk %d: prepared %d networks (%d samples) in %.1fs on %s", task, metric, chunk,
             len(ids), prep.n_samples, time.perf_counter() - start, device)


def _log_set_aside(task: str, set_aside: dict[str, str]) -> None:
    for net_id, reason in set_aside.items():
        log.warning("%s: %s set aside: %s", task, net_id, reason)


def _chunk_meta(task: str, metric: str, chunk: int, ids: list[str], set_aside: dict[str, str], prep: Prepared) -> dict:
    return {"task": task, "metric": metric, "chunk": int(chunk), "ids": ids, "set_aside": set_aside,
            "n_samples": int(prep.n_samples), "params": prep.params, "k": prep.widths.tolist(),
            "constant": prep.constant.tolist()}


def run_single(task: str, metric: str, probe_paths: Sequence[str], options: Mapping[str, Any], out: str,
               device_name: str = "auto") -> None:
    """The three stages in one job, for a matrix that is a single chunk (the workflow's choice when
    the task has at most ``block_size`` networks): the same file as prepare + tile + merge, without
    two more processes and their temporary files."""
    start = time.perf_counter()
    device = pick_device(device_name)
    ids, reps, set_aside = load_hidden(task, probe_paths, trajectories=_is_dynamics(metric))
    prep = prepare_chunk(task, metric, reps, options, device)
    _log_set_aside(task, set_aside)
    dist = compute_tile(metric, prep, None, options)
    _write_matrix(task, metric, [_chunk_meta(task, metric, 0, ids, set_aside, prep)], ids, dist, options, out)
    log.info("%s %s: %d x %d matrix in one job in %.1fs on %s", task, metric, len(ids), len(ids),
             time.perf_counter() - start, device)


def _read_meta(path: str) -> dict:
    with open(path) as f:
        return json.load(f)


def compute_tile(metric: str, prep_a: Prepared | DynamicsModels, prep_b: Prepared | DynamicsModels | None,
                 options: Mapping[str, Any]) -> np.ndarray:
    """Distances chunk a x chunk b (``prep_b=None``: the diagonal tile, symmetric, zero diagonal)."""
    from ..similarity import dsa_block, pairwise_block

    opts = resolve_options(options)
    other = prep_a if prep_b is None else prep_b
    if _is_dynamics(metric):
        return dsa_block(prep_a, other, metric.removeprefix("dsa_"))
    return pairwise_block(prep_a, other, angular=bool(opts["angular"]))


def _load_prepared(metric: str, path: str, device: torch.device) -> Prepared | DynamicsModels:
    from ..similarity import DynamicsModels, Prepared

    return DynamicsModels.load(path) if _is_dynamics(metric) else Prepared.load(path, device=device)


def run_block(prep_a: str, meta_a: str, prep_b: str, meta_b: str, options: Mapping[str, Any], out: str,
              device_name: str = "auto") -> None:
    """Stage 2: one tile; ``prep_a == prep_b`` is a diagonal tile. Writes an .npz."""
    start = time.perf_counter()
    device = pick_device(device_name)
    ma, mb = _read_meta(meta_a), _read_meta(meta_b)
    if ma["metric"] != mb["metric"]:
        raise InputError(f"{meta_a} is a {ma['metric']!r} chunk but {meta_b} a {mb['metric']!r} chunk")
    metric = ma["metric"]
    pa = _load_prepared(metric, prep_a, device)
    same = os.path.abspath(prep_a) == os.path.abspath(prep_b)
    pb = None if same else _load_prepared(metric, prep_b, device)
    for prep, meta, p in ((pa, ma, prep_a), (pb, mb, prep_b)):
        if prep is not None and len(prep) != len(meta["ids"]):
            raise InputError(f"{p}: {len(prep)} networks but its metadata lists {len(meta['ids'])}")
    dist = compute_tile(metric, pa, pb, options)
    with atomic_path(out) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, distance=dist, chunk_a=ma["chunk"], chunk_b=mb["chunk"],
                 rows=np.array(ma["ids"], dtype=str), cols=np.array(mb["ids"], dtype=str))
    log.info("%s %s tile (%d, %d): %d x %d distances in %.1fs on %s", ma["task"], ma["metric"], ma["chunk"],
             mb["chunk"], dist.shape[0], dist.shape[1], time.perf_counter() - start, device)


def merge_tiles(metas: Sequence[dict], tiles: Sequence[Mapping[str, Any]]) -> tuple[list[str], np.ndarray]:
    """(ids, full matrix) from chunk metadata (in chunk order) and tiles with chunk_a, chunk_b,
    rows, cols, distance. Raises if a tile's ids disagree with its chunks or a pair is missing."""
    from ..similarity import assemble_blocks

    by_chunk = {int(m["chunk"]): m for m in metas}
    if sorted(by_chunk) != list(range(len(metas))):
        raise ValueError(f"chunk metadata must cover chunks 0..{len(metas) - 1}; got {sorted(by_chunk)}")
    offsets = np.concatenate([[0], np.cumsum([len(by_chunk[c]["ids"]) for c in range(len(metas))])])
    ids = [i for c in range(len(metas)) for i in by_chunk[c]["ids"]]
    pieces = []
    for t in tiles:
        a, b = int(t["chunk_a"]), int(t["chunk_b"])
        if list(t["rows"]) != by_chunk[a]["ids"] or list(t["cols"]) != by_chunk[b]["ids"]:
            raise ValueError(f"tile ({a}, {b}) lists other networks than chunks {a} and {b}: stale block file?")
        pieces.append(((int(offsets[a]), int(offsets[b])), np.asarray(t["distance"])))
    return ids, assemble_blocks(len(ids), pieces)


def run_merge(task: str, metric: str, meta_paths: Sequence[str], block_paths: Sequence[str],
              options: Mapping[str, Any], out: str) -> None:
    """Stage 3: assemble the tiles into ``results/<task>/pairwise/<metric>.nc``."""
    metas = [_read_meta(p) for p in meta_paths]
    tiles = []
    for p in block_paths:
        with np.load(p, allow_pickle=False) as z:
            tiles.append({k: z[k] for k in z.files})
    ids, dist = merge_tiles(metas, tiles)
    _write_matrix(task, metric, metas, ids, dist, options, out)
    log.info("%s %s: %d x %d matrix from %d tiles (%d networks set aside)", task, metric, len(ids), len(ids),
             len(tiles), sum(len(m["set_aside"]) for m in metas))


def _write_matrix(task: str, metric: str, metas: Sequence[dict], ids: list[str], dist: np.ndarray,
                  options: Mapping[str, Any], out: str) -> None:
    """``results/<task>/pairwise/<metric>.nc`` with the per-network coordinates of the chunks' metadata."""
    from ..similarity.names import REGISTRY
    from ..store.pairwise_file import write_pairwise

    set_aside = {k: v for m in metas for k, v in m["set_aside"].items()}
    extra: dict[str, list] = {"constant": [c for m in metas for c in m["constant"]]}
    width = REGISTRY[metric].width  # SVCCA's kept directions; Procrustes' factor width, DSA's model size
    if width:
        extra[width] = [k for m in metas for k in m["k"]]
    opts = {**metric_options(metric, options), "n_samples": metas[0]["n_samples"] if metas else 0,
            "hidden_state": "h (LSTM: output state, not the cell state)"}
    write_pairwise(out, dist, ids, task=task, metric=metric, options=opts, set_aside=set_aside, extra_coords=extra)


def run_embed(pairwise_path: str, mds_options: Mapping[str, Any], out: str) -> None:
    """2-D metric MDS (SMACOF) of a pairwise file; writes ``results/<task>/embedding/<metric>.nc``."""
    from ..embed import mds_embedding
    from ..store.pairwise_file import read_pairwise, write_embedding

    start = time.perf_counter()
    da = read_pairwise(pairwise_path)
    result = mds_embedding(da.values, 2, **dict(mds_options))
    options = {"method": "metric MDS (sklearn SMACOF), random starts", **dict(mds_options),
               "pairwise_options": json.loads(da.attrs["options"])}
    write_embedding(out, result.positions, [str(i) for i in da["net_a"].values], task=da.attrs["task"],
                    metric=da.attrs["metric"], stress=result.stress, raw_stress=result.raw_stress, options=options,
                    set_aside=json.loads(da.attrs["set_aside"]))
    log.info("%s %s: MDS of %d networks, stress-1 %.4f, %d iterations, %.1fs", da.attrs["task"], da.attrs["metric"],
             da.shape[0], result.stress, result.n_iter, time.perf_counter() - start)


def run_graph(task: str, graph_paths: Sequence[str], out: str) -> None:
    """Pairwise file of fixed-point graph distances (metric ``graph``) from ``graph.h5`` files.

    Reads ``adjacency`` and ``config`` (its ``net_id``) of each file
    (:func:`rnnatlas.store.graph_file.read_graph`). Networks whose graph was not analysed
    (attribute ``analysed`` false, with its ``reason``), trained networks that were not accepted,
    and networks whose node count is not the
    modal one (see :func:`rnnatlas.similarity.graph_distance`) are set aside and listed in the
    file's ``set_aside``.
    """
    from ..similarity import graph_distance
    from ..store.graph_file import read_graph
    from ..store.pairwise_file import write_pairwise

    ids, adjs, not_analysed = [], [], {}
    for path in graph_paths:
        config, arrays, attrs = read_graph(path)
        if not bool(attrs.get("analysed", True)):
            not_analysed[config["net_id"]] = f"graph not analysed: {attrs.get('reason', '')}"
            continue
        if config.get("trained", True) and not bool(attrs.get("accepted", True)):
            not_analysed[config["net_id"]] = "trained but not accepted (validation loss above the threshold)"
            continue
        ids.append(config["net_id"])
        adjs.append(arrays["adjacency"])
    result = graph_distance(adjs, ids)
    set_aside = {**not_analysed, **result.set_aside}
    write_pairwise(out, result.distance, result.ids, task=task, metric="graph",
                   options={"distance": "Frobenius norm of adjacency differences", "n_nodes": result.n_nodes},
                   set_aside=set_aside)
    log.info("%s graph: %d networks with %d nodes, %d set aside", task, len(result.ids), result.n_nodes,
             len(set_aside))
