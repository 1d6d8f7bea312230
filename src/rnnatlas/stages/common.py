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
