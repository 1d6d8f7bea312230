"""Name → task class registry, open to new tasks."""

from __future__ import annotations

from typing import Callable

from .base import Task

TASKS: dict[str, type[Task]] = {}


def register_task(name: str) -> Callable[[type[Task]], type[Task]]:
    def decorate(cls: type[Task]) -> type[Task]:
        cls.name = name
        TASKS[name] = cls
        return cls

    return decorate


def get_task(name: str) -> type[Task]:
    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}; allowed: {', '.join(sorted(TASKS))}")
    return TASKS[name]


def make_task(name: str, params: dict | None = None) -> Task:
    return get_task(name).from_config(dict(params or {}))
