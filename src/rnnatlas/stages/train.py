"""Stage ``train``: train one pack of same-shape networks and write one model.h5 per network.

Untrained twins of pack members are written by the same job: their parameters are the
members' initialisations, recorded before the first update (after a structural mask has
zeroed its entries).

``settings["network"]``, when present, holds per-task network settings (``NetworkSpec``'s
alpha, noise_rec, noise_in, trainable, mask, init, init_options, readout); they are applied to every
network of the pack and recorded in each model.h5 through ``spec.as_config()``. Without it, or
at their defaults, training and files are exactly those of a network without settings.

``settings["snapshots"]``, when present, is ``{"params": [names], "count": S}``: those
parameters of every trained network at S iterations evenly spaced from 0 (its initialisation)
to the last, stored in its model.h5 under ``snapshots/`` (see :mod:`rnnatlas.store.model_file`).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ..ids import NetworkSpec
from ..models import RNNPopulation
from ..runtime import pick_device
from ..store.model_file import ModelRecord, write_model
from ..store.task_data import read_task_data
from ..train import Hyperparameters, PopulationTrainer, TrainSettings
from ..train.progress import Progress
from .common import chosen_hyperparameters, data_seed, init_seed, log


def _hyperparameters(spec: NetworkSpec, settings: dict, searched: dict[str, dict[str, float]]) -> dict[str, float]:
    if searched:
        if spec.cell_id not in searched:
            raise ValueError(f"no search result for cell {spec.cell_id!r} (have {sorted(searched)})")
        base = searched[spec.cell_id]
    else:
        base = settings["hyperparameters"]
    # a null clip means no clipping (study S's Adam runs unclipped, as the supplement describes)
    return {**{k: (math.inf if v is None else float(v)) for k, v in base.items()}, "l2": float(spec.l2)}


def apply_network_settings(specs: list[NetworkSpec], settings: dict) -> list[NetworkSpec]:
    """The specs with ``settings["network"]`` (if any) applied to each; an unknown setting is an error."""
    network = settings.get("network") or {}
    return [s.with_network_settings(network) for s in specs] if network else list(specs)


SNAPSHOT_KEYS = ("params", "count")


def _snapshot_settings(settings: dict) -> tuple[tuple[str, ...], int]:
    """(parameter names, count) from ``settings["snapshots"]``; ((), 0) without it. A bad
    block is an error naming the allowed keys."""
    block = settings.get("snapshots")
    if not block:
        return (), 0
    if not isinstance(block, dict) or set(block) != set(SNAPSHOT_KEYS):
        raise ValueError(f"training setting 'snapshots' must be a mapping with exactly the keys "
                         f"{', '.join(SNAPSHOT_KEYS)}, got {block!r}")
    names = block["params"]
    if isinstance(names, str) or not names or not all(isinstance(n, str) for n in names):
        raise ValueError(f"training setting 'snapshots.params' must be a non-empty list of parameter names, got {names!r}")
    return tuple(names), block["count"]


def run(task: str, task_data_path: str, nets: list[NetworkSpec], twins: list[NetworkSpec], settings: dict,
        out_dir: str, search_files: list[str], device_name: str = "auto") -> None:
    device = pick_device(device_name)
    data = read_task_data(task_data_path, task)
    t = data.task
    nets, twins = apply_network_settings(nets, settings), apply_network_settings(twins, settings)
    arch, act, units = nets[0].arch, nets[0].activation, nets[0].units
    if any((n.arch, n.activation, n.units) != (arch, act, units) for n in nets):
        raise ValueError("a pack must hold networks of one shape (arch, activation, units)")
    network = nets[0].network_settings
    if any(n.network_settings != network for n in nets):
        raise ValueError("a pack must hold networks of one set of network settings "
                         "(alpha, noise, trainable, mask, init, init_options, readout)")
    searched = chosen_hyperparameters(search_files)
    records = [_hyperparameters(n, settings, searched) for n in nets]
    pop = RNNPopulation(arch, act, len(nets), t.n_inputs, units, t.n_outputs, readout=network["readout"], device=device,
                        alpha=network["alpha"])
    pop.initialize([init_seed(n) for n in nets], scheme=network["init"], options=dict(network["init_options"]))
    snapshot_params, snapshot_count = _snapshot_settings(settings)
    train_settings = TrainSettings(iterations=settings["iterations"], batch_size=settings["batch_size"],
                                   eval_every=settings["eval_every"], optimizer=settings.get("optimizer", "sgd"),
                                   stop_loss=settings.get("stop_loss"), sampling=settings.get("sampling", "random"),
                                   snapshot_params=snapshot_params, snapshot_count=snapshot_count,
                                   loss=settings.get("loss", "masked_mse"), clip_mode=settings.get("clip_mode", "norm"))
    trainer = PopulationTrainer(pop, t, [data_seed(n, settings["data_seed"]) for n in nets],
                                Hyperparameters.from_records(records), train_settings, data.validation,
                                trainable=network["trainable"], mask=network["mask"],
                                noise_rec=network["noise_rec"], noise_in=network["noise_in"])
    init_params = [pop.network_params(k) for k in range(len(nets))]  # after the trainer applied any mask
    init_val = trainer.evaluate()
    label = f"train {task}/{arch}-{act}-n{units} (K={len(nets)})"
    log.info("%s: %d iterations, batch %d", label, train_settings.iterations, train_settings.batch_size)
    trainer.run(train_settings.iterations, Progress(train_settings.iterations, label))
    final_val = trainer.evaluate()
    final_train = trainer.final_train_loss()
    threshold = float(settings["accept_val_loss"])
    base_config = {"n_inputs": t.n_inputs, "n_outputs": t.n_outputs, "readout": network["readout"], "task_params": t.params(),
                   "training": {**settings, "hyperparameters": None}}
    out = Path(out_dir)
    for k, spec in enumerate(nets):
        failed = bool(trainer.failed[k])
        summary = {
            "accepted": bool(not failed and final_val[k] <= threshold),
            "failed": failed,
            "failure_reason": trainer.failure_reason[k],
            "final_train_loss": float(final_train[k]),
            "final_val_loss": float(final_val[k]),
            "accept_threshold": threshold,
            "iterations_run": int(np.sum(~np.isnan(trainer.train_loss[k]))),
            "wall_time_s": trainer.wall_time / len(nets),
            "pack_size": len(nets),
        }
        snaps = trainer.snapshots(k)
        record = ModelRecord(
            spec=spec, config={**spec.as_config(), **base_config},
            params={n: v.cpu().numpy() for n, v in pop.network_params(k).items()},
            train_loss=trainer.train_loss[k], val_iterations=np.asarray(trainer.val_iterations),
            val_loss=np.asarray([v[k] for v in trainer.val_loss]), hyperparameters=records[k], summary=summary,
            snapshots={} if snaps is None else {"iterations": snaps.iterations, **snaps.params},
            snapshot_info={} if snaps is None else {"count": snapshot_count, "complete": snaps.complete,
                                                    "note": snaps.note},
        )
        write_model(out / spec.id / "model.h5", record)
        if failed:
            log.warning("%s failed: %s", spec.id, trainer.failure_reason[k])
        if snaps is not None and not snaps.complete:
            log.warning("%s: %d of %d snapshots: %s", spec.id, len(snaps.iterations), len(trainer.snapshot_iterations),
                        snaps.note)
    index = {n.id: k for k, n in enumerate(nets)}
    for twin in twins:
        k = index[twin.trained_id]
        summary = {"accepted": False, "failed": False, "failure_reason": "", "final_train_loss": float("nan"),
                   "final_val_loss": float(init_val[k]), "accept_threshold": threshold, "iterations_run": 0,
                   "wall_time_s": 0.0, "pack_size": len(nets)}
        record = ModelRecord(
            spec=twin, config={**twin.as_config(), **base_config},
            params={n: v.cpu().numpy() for n, v in init_params[k].items()}, train_loss=np.zeros(0),
            val_iterations=np.zeros(0, dtype=np.int64), val_loss=np.zeros(0), hyperparameters=records[k], summary=summary,
        )
        write_model(out / twin.id / "model.h5", record)
    n_acc = sum(1 for k in range(len(nets)) if not trainer.failed[k] and final_val[k] <= threshold)
    log.info("%s: done in %.1fs; %d/%d accepted (val loss <= %g), %d failed; median val loss %.4g",
             label, trainer.wall_time, n_acc, len(nets), threshold, int(trainer.failed.sum()), float(np.median(final_val)))

