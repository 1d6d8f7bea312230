"""``results/<task>/nets/<net-id>/model.h5``: one trained (or untrained-twin) network.

Holds the full configuration (JSON attribute ``config``), parameters, loss curves, final
train and validation loss, the accepted flag, the failure reason (empty when none), the
hyperparameters, wall time, package version and git commit.

Optionally (training setting ``snapshots``) the group ``snapshots/``: dataset ``iterations``
[S] int64 (updates applied before each snapshot: 0 is the initialisation) and one float32
dataset [S, ...] (gzip) per recorded parameter, with attributes ``count`` (the number asked
for), ``complete`` (every scheduled iteration recorded) and ``note`` (why not, else empty).
Files without it (all written before snapshots existed) read with empty ``snapshots``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from ..ids import NETWORK_SETTINGS, NetworkSpec
from .h5io import ForeignFileError, atomic_h5, open_h5, read_config

if TYPE_CHECKING:
    import torch

    from ..models import RNNPopulation

KIND = "model"


@dataclass
class ModelRecord:
    spec: NetworkSpec
    config: dict[str, Any]
    params: dict[str, np.ndarray]
    train_loss: np.ndarray
    val_iterations: np.ndarray
    val_loss: np.ndarray
    hyperparameters: dict[str, float]
    summary: dict[str, Any] = field(default_factory=dict)  # accepted, failed, failure_reason, losses, wall time
    # "iterations" [S] int64 and parameter name → [S, ...] float32; empty when none were recorded
    snapshots: dict[str, np.ndarray] = field(default_factory=dict)
    snapshot_info: dict[str, Any] = field(default_factory=dict)  # count, complete, note (with snapshots)

    @property
    def accepted(self) -> bool:
        return bool(self.summary["accepted"])


SUMMARY_KEYS = ("accepted", "failed", "failure_reason", "final_train_loss", "final_val_loss",
                "accept_threshold", "iterations_run", "wall_time_s", "pack_size")


def write_model(path: str | os.PathLike, record: ModelRecord) -> None:
    with atomic_h5(path, KIND, record.config) as f:
        params = f.create_group("params")
        for name, value in record.params.items():
            params.create_dataset(name, data=np.asarray(value))
        loss = f.create_group("loss")
        loss.create_dataset("train", data=np.asarray(record.train_loss, dtype=np.float32), compression="gzip")
        loss.create_dataset("val_iterations", data=np.asarray(record.val_iterations, dtype=np.int64))
        loss.create_dataset("val", data=np.asarray(record.val_loss, dtype=np.float64))
        f.attrs["hyperparameters"] = json.dumps(record.hyperparameters, sort_keys=True)
        for key in SUMMARY_KEYS:
            f.attrs[key] = record.summary[key]
        if record.snapshots:
            _write_snapshots(f.create_group("snapshots"), record.snapshots, record.snapshot_info)


SNAPSHOT_INFO_KEYS = ("count", "complete", "note")


def _write_snapshots(group, snapshots: dict[str, np.ndarray], info: dict[str, Any]) -> None:
    if "iterations" not in snapshots:
        raise ValueError("snapshots need their 'iterations'")
    iterations = np.asarray(snapshots["iterations"], dtype=np.int64)
    group.create_dataset("iterations", data=iterations)
    for name, value in snapshots.items():
        if name != "iterations":
            value = np.asarray(value, dtype=np.float32)
            if value.shape[:1] != iterations.shape:
                raise ValueError(f"snapshots of {name!r} have shape {value.shape}, expected {len(iterations)} first")
            group.create_dataset(name, data=value, compression="gzip")
    group.attrs["count"] = int(info.get("count", len(iterations)))
    group.attrs["complete"] = bool(info.get("complete", True))
    group.attrs["note"] = str(info.get("note", ""))


def _read_snapshots(f) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    if "snapshots" not in f:
        return {}, {}
    group = f["snapshots"]
    info = {k: (v.item() if isinstance(v, np.generic) else v) for k, v in group.attrs.items() if k in SNAPSHOT_INFO_KEYS}
    return {name: ds[()] for name, ds in group.items()}, info


def read_model(path: str | os.PathLike) -> ModelRecord:
    with open_h5(path, KIND) as f:
        config = read_config(f)
        missing = [k for k in SUMMARY_KEYS if k not in f.attrs]
        if missing or "params" not in f:
            raise ForeignFileError(f"{path}: incomplete model file (missing {missing or ['params']})")
        snapshots, snapshot_info = _read_snapshots(f)
        return ModelRecord(
            spec=spec_from_config(config),
            config=config,
            params={name: ds[()] for name, ds in f["params"].items()},
            train_loss=f["loss/train"][()],
            val_iterations=f["loss/val_iterations"][()],
            val_loss=f["loss/val"][()],
            hyperparameters=json.loads(f.attrs["hyperparameters"]),
            summary={k: (v.item() if isinstance(v, np.generic) else v) for k, v in ((k, f.attrs[k]) for k in SUMMARY_KEYS)},
            snapshots=snapshots,
            snapshot_info=snapshot_info,
        )


def spec_from_config(config: dict[str, Any]) -> NetworkSpec:
    """The network's spec from a file's config: the identity fields and whichever network
    settings it records (absent ones are at their defaults)."""
    spec_fields = {k: config[k] for k in ("task", "arch", "activation", "units", "l2", "seed", "trained")}
    settings = {k: config[k] for k in NETWORK_SETTINGS if k in config}
    if "trainable" in settings:
        settings["trainable"] = tuple(settings["trainable"])
    return NetworkSpec(**spec_fields, **settings)  # init_options: a mapping, normalised by the spec


def population_from_records(records: Sequence[ModelRecord], dtype: "torch.dtype | None" = None,
                            device: "torch.device | str" = "cpu") -> "RNNPopulation":
    """Stack same-shape networks' parameters into one population (error if shapes, or leaks,
    differ), of ``dtype`` (default float32). Imports torch only here: reading model files
    (summaries, figures) does not need it."""
    shapes = {(r.spec.arch, r.spec.activation, r.spec.units, r.config.get("readout", "linear"), r.spec.alpha)
              for r in records}
    if len(shapes) != 1:
        raise ValueError(f"cannot stack networks of different shapes into one population: {sorted(shapes)}")
    arch, activation, _, readout, alpha = shapes.pop()
    import torch

    from ..models import RNNPopulation

    return RNNPopulation.from_network_params(
        arch, activation, [{k: torch.from_numpy(v) for k, v in r.params.items()} for r in records],
        readout=readout, dtype=torch.float32 if dtype is None else dtype, device=device, alpha=alpha,
    )
