"""What every task provides; concrete tasks are small dataclasses of their parameters."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field, fields
from typing import ClassVar

import numpy as np
import torch


@dataclass
class TaskBatch:
    """A batch of trials, time first: ``[T, B, ·]``."""

    inputs: torch.Tensor
    targets: torch.Tensor
    mask: torch.Tensor

    def to(self, *args, **kwargs) -> "TaskBatch":
        return TaskBatch(self.inputs.to(*args, **kwargs), self.targets.to(*args, **kwargs), self.mask.to(*args, **kwargs))


@dataclass
class ProbeSet:
    """Fixed trials used to record hidden states, with a label array per trial condition."""

    batch: TaskBatch
    labels: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass
class Task(ABC):
    """Base class. Subclasses are dataclasses whose fields are the task's config keys."""

    name = "task"
    # How the dynamics stage builds this task's fixed-point graph (rnnatlas.dynamics.graphs):
    # "transition" (perturb each fixed point, see where it goes), "condition_chain" (one fixed
    # point per static condition) or "line_attractor" (points along each condition's line).
    graph_kind: ClassVar[str] = "transition"
    # JSON schema of the task's parameters (config section ``tasks.<name>``), one entry per field.
    param_schema: ClassVar[dict] = {}
    # Set by subclasses in __post_init__; every task also has ``n_steps`` (trial length T).
    n_inputs: int = field(init=False, default=0)
    n_outputs: int = field(init=False, default=0)

    @classmethod
    def from_config(cls, params: dict) -> "Task":
        """Build from a config mapping; unknown keys raise an error naming them and what is allowed."""
        allowed = {f.name for f in fields(cls) if f.init}
        unknown = sorted(set(params) - allowed)
        if unknown:
            raise ValueError(f"task {cls.name!r}: unknown parameter(s) {unknown}; allowed: {sorted(allowed)}")
        return cls(**params)

    def params(self) -> dict:
        """The task's parameters (what from_config accepts)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.init}

    @abstractmethod
    def sample(self, batch_size: int, generator: torch.Generator) -> TaskBatch:
        """Fresh random trials, reproducible from the generator's state."""

    def validation_set(self, n_trials: int, generator: torch.Generator) -> TaskBatch:
        """The fixed validation trials (default: one batch of fresh trials); a task whose
        batches share a timing overrides this to mix several."""
        return self.sample(n_trials, generator)

    @abstractmethod
    def probe_set(self) -> ProbeSet:
        """The fixed probe trials (deterministic from the task's parameters)."""

    @abstractmethod
    def conditions(self) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Static inputs x* ``[C, I]`` for fixed-point search (time-varying inputs set to 0), with labels."""

    def expected_stable_points(self) -> int | None:
        """How many stable fixed points a network that solves the task has, where the task
        implies a number (the dynamics summary reports the share that do); None otherwise."""
        return None

    def probe_conditions(self, labels: dict[str, np.ndarray]) -> np.ndarray:
        """Index into :meth:`conditions` of each probe trial ``[B]``: the x* whose manifold the
        trial runs along (fixed-point starts for condition c are sampled from those trials), or
        of each step of each trial ``[B, T]`` (−1: none) when the input changes within a trial.
        Default: one condition shared by every trial."""
        n = len(next(iter(labels.values()))) if labels else 0
        return np.zeros(n, dtype=np.int64)
