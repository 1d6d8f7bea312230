"""Helpers the stages share: seeds of a network, hyperparameter resolution, logging, strict JSON
(atomic writing lives in :mod:`rnnatlas.store.atomic`)."""

from __future__ import annotations

import json
import logging
import math
import sys

import numpy as np

from ..errors import InputError
from ..ids import NetworkSpec
from ..runtime import stable_seed

log = logging.getLogger("rnnatlas")


def setup_logging() -> None:
    """Our INFO messages to stderr (the job's log); other libraries' only from WARNING (matplotlib's
    PDF backend logs every font subset at INFO: hundreds of lines per figure)."""
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("rnnatlas").setLevel(logging.INFO)


def init_seed(spec: NetworkSpec) -> int:
    """Initialisation seed: from task and the trained network's id (its twin shares it)."""
    return stable_seed(spec.task, spec.trained_id, "init")


def data_seed(spec: NetworkSpec, task_data_seed: int) -> int:
    """Training-data stream: from task, the task's data seed and the network's seed. Networks of
    different configuration cells with the same seed see the same batches (common random numbers)."""
    return stable_seed(spec.task, task_data_seed, spec.seed, "train-data")


def chosen_hyperparameters(search_files: list[str]) -> dict[str, dict[str, float]]:
    """cell id → hyperparameters chosen by the search (read from its JSON files)."""
    out = {}
    for path in search_files:
        with open(path) as f:
            result = json.load(f)
        out[result["cell"]] = result["chosen"]
    return out


def finite_or_none(value):
    """The same nested dicts/lists with undefined numbers (NaN, ±inf) as None and numpy scalars as
    Python ones, so a summary is strict JSON (null where a number is undefined)."""
    if isinstance(value, dict):
        return {k: finite_or_none(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_or_none(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def finite_networks(records) -> list[int]:
    """Indices of the model records whose parameters are all finite (the others diverged in
    training and are recorded as not analysed)."""
    return [k for k, r in enumerate(records) if all(np.isfinite(v).all() for v in r.params.values())]


def read_pack(task: str, task_data_path: str, model_paths: list[str]):
    """A task's shared data and a pack's model records; a network of another task is an error
    naming its file."""
    from ..store.model_file import read_model
    from ..store.task_data import read_task_data

    data = read_task_data(task_data_path, task)
    records = [read_model(p) for p in model_paths]
    for path, r in zip(model_paths, records):
        if r.spec.task != task:
            raise InputError(f"{path}: a network of task {r.spec.task!r}, expected {task!r}")
    return data, records
