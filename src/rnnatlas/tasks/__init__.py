"""Task generators: inputs ``[T, B, I]``, targets ``[T, B, O]``, loss mask ``[T, B, O]``.

Every task also defines a fixed, seeded probe set (identical for every network of the task)
and the static condition inputs x* used for fixed-point search. New tasks register with
``@register_task``; importing this package registers the built-in ones.
"""

from .base import ProbeSet, Task, TaskBatch
from .registry import TASKS, get_task, make_task, register_task
from . import cdi, decision, flipflop, go_family, perception, rsg, sine  # noqa: F401  (registration)

__all__ = ["ProbeSet", "TASKS", "Task", "TaskBatch", "get_task", "make_task", "register_task"]
