"""``results/<task>/task_data.h5``: the validation set, probe set and static conditions x* of a task.

Written once per task so that every network of the task is evaluated and probed on identical
inputs, whatever pack or machine it was trained on.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import h5py
import numpy as np
import torch

from ..errors import InputError
from ..runtime import stable_seed
from ..tasks import ProbeSet, Task, TaskBatch, make_task
from .h5io import atomic_h5, open_h5, read_config

KIND = "task_data"


def _write_batch(group: h5py.Group, batch: TaskBatch) -> None:
    for name in ("inputs", "targets", "mask"):
        group.create_dataset(name, data=getattr(batch, name).numpy().astype(np.float32), compression="gzip")


def _read_batch(group: h5py.Group) -> TaskBatch:
    return TaskBatch(*(torch.from_numpy(group[name][()]) for name in ("inputs", "targets", "mask")))


def _write_labels(group: h5py.Group, labels: dict[str, np.ndarray]) -> None:
    for name, value in labels.items():
        value = np.asarray(value)
        if value.dtype.kind in "UO":
            group.create_dataset(name, data=value.astype(object), dtype=h5py.string_dtype())
        else:
            group.create_dataset(name, data=value)


def _read_labels(group: h5py.Group) -> dict[str, np.ndarray]:
    out = {}
    for name, ds in group.items():
        value = ds[()]
        out[name] = value.astype(str) if h5py.check_string_dtype(ds.dtype) else value
    return out


@dataclass
class TaskData:
    task: Task
    validation: TaskBatch
    probe: ProbeSet
    conditions: np.ndarray
    condition_labels: dict[str, np.ndarray]


def build_task_data(task_name: str, params: dict, n_validation: int, seed: int) -> TaskData:
    """Generate a task's shared data; the validation set is seeded from (task, seed)."""
    task = make_task(task_name, params)
    gen = torch.Generator().manual_seed(stable_seed(task_name, "validation", seed))
    x_star, labels = task.conditions()
    return TaskData(task, task.validation_set(n_validation, gen), task.probe_set(), x_star, labels)


def write_task_data(path: str | os.PathLike, data: TaskData, seed: int) -> None:
    config = {"task": data.task.name, "params": data.task.params(), "seed": seed}
    with atomic_h5(path, KIND, config) as f:
        _write_batch(f.create_group("validation"), data.validation)
        _write_batch(f.create_group("probe"), data.probe.batch)
        _write_labels(f.create_group("probe_labels"), data.probe.labels)
        f.create_dataset("conditions", data=np.asarray(data.conditions, dtype=np.float64))
        _write_labels(f.create_group("condition_labels"), data.condition_labels)


def read_task_data(path: str | os.PathLike, task_name: str | None = None) -> TaskData:
    """Read a task data file; a file of another task is an error naming the file."""
    with open_h5(path, KIND) as f:
        config = read_config(f)
        if task_name is not None and config["task"] != task_name:
            raise InputError(f"{path}: task data of {config['task']!r}, expected {task_name!r}")
        return TaskData(
            make_task(config["task"], config["params"]),
            _read_batch(f["validation"]),
            ProbeSet(_read_batch(f["probe"]), _read_labels(f["probe_labels"])),
            f["conditions"][()],
            _read_labels(f["condition_labels"]),
        )
