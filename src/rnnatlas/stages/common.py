"""Helpers the stages share: seeds of a network, hyperparameter resolution, logging."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

from ..ids import NetworkSpec
from ..runtime import stable_seed

log = logging.getLogger("rnnatlas")


def setup_logging() -> None:
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")


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


def write_json_atomic(path: str | Path, data: object) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    tmp.replace(path)


def read_pack(task: str, task_data_path: str, model_paths: list[str]):
    """A task's shared data and a pack's model records; a network of another task is an error
    naming its file."""
    from ..store.model_file import read_model
    from ..store.task_data import read_task_data

    data = read_task_data(task_data_path, task)
    records = [read_model(p) for p in model_paths]
    for path, r in zip(model_paths, records):
        if r.spec.task != task:
            raise ValueError(f"{path}: a network of task {r.spec.task!r}, expected {task!r}")
    return data, records
