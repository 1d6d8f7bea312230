"""Stage ``task-data``: write a task's validation set, probe set and static conditions once."""

from __future__ import annotations

from ..store.task_data import build_task_data, write_task_data
from .common import log


def run(task: str, params: dict, validation_trials: int, seed: int, out: str) -> None:
    data = build_task_data(task, params, validation_trials, seed)
    write_task_data(out, data, seed)
    log.info("%s: wrote %d validation trials, %d probe trials, %d conditions to %s", task,
             data.validation.inputs.shape[1], data.probe.batch.inputs.shape[1], len(data.conditions), out)
