"""Perception task of seed 001 ("RNN Initial Hypotheses", §3), time step Δt = 10 ms.

One input channel carries a static level per trial, drawn uniformly from ``levels``
(default 0.8 and 0.5), plus Gaussian input noise of std ``input_noise`` at every step. The one
output must report the mapped level, ``targets[i]`` for ``levels[i]`` (0.8 → 0.5, 0.5 → 0.8),
at every step from ``grace_steps`` on (100 ms: the loss mask is 0 before, so the network may
settle; the target is 0 there). The probe set is noise-free: ``n_probe_constant`` constant
trials per level, and ``n_probe_switching`` trials whose input steps through the levels every
``switch_every`` steps, starting at each level in turn (the note's Fig. 3); in those the target
follows the input and the mask is 0 for ``grace_steps`` after every switch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import torch

from .base import ProbeSet, Task, TaskBatch
from .registry import register_task

_LEVEL_LIST = {"type": "array", "items": {"type": "number"}, "minItems": 1}


def _float_list(name: str, values) -> list[float]:
    if isinstance(values, (str, bytes)) or not hasattr(values, "__len__"):
        raise ValueError(f"task parameter {name!r} must be a list of numbers, got {values!r}")
    return [float(v) for v in values]


@register_task("perception")
@dataclass
class Perception(Task):
    # JSON schema of the parameters (config section tasks.perception; config/README.md)
    param_schema: ClassVar[dict] = {
        "n_steps": {"$ref": "#/$defs/positive_int"},
        "grace_steps": {"type": "integer", "minimum": 0},
        "levels": _LEVEL_LIST,
        "targets": _LEVEL_LIST,
        "input_noise": {"type": "number", "minimum": 0},
        "n_probe_constant": {"type": "integer", "minimum": 0},
        "n_probe_switching": {"type": "integer", "minimum": 0},
        "switch_every": {"$ref": "#/$defs/positive_int"},
    }
    dt_ms: ClassVar[float] = 10.0  # one step of the task, in ms
    n_steps: int = 100  # 1 s
    grace_steps: int = 10  # unscored steps at the start of a trial (and after a probe switch)
    levels: list[float] = field(default_factory=lambda: [0.8, 0.5])
    targets: list[float] = field(default_factory=lambda: [0.5, 0.8])  # the output for each level
    input_noise: float = 0.05  # std of the Gaussian noise on the input, every step
    n_probe_constant: int = 4  # noise-free constant trials per level
    n_probe_switching: int = 4  # noise-free trials switching between the levels
    switch_every: int = 25  # steps between switches

    graph_kind = "condition_chain"

    def __post_init__(self) -> None:
        self.levels, self.targets = _float_list("levels", self.levels), _float_list("targets", self.targets)
        if not self.levels or len(self.levels) != len(self.targets):
            raise ValueError(f"task 'perception': 'targets' needs one value per level; got {len(self.levels)} "
                             f"levels and {len(self.targets)} targets")
        if len(set(self.levels)) != len(self.levels):
            raise ValueError(f"task 'perception': 'levels' must be distinct, got {self.levels}")
        if not 0 <= self.grace_steps < self.n_steps:
            raise ValueError(f"task 'perception': 'grace_steps' = {self.grace_steps} must be in [0, n_steps = {self.n_steps})")
        if self.n_probe_switching and len(self.levels) < 2:
            raise ValueError("task 'perception': switching probe trials need at least two levels")
        if self.input_noise < 0 or self.switch_every < 1:
            raise ValueError("task 'perception': 'input_noise' must be >= 0 and 'switch_every' >= 1")
        self.n_inputs = self.n_outputs = 1

    def trials(self, level_index: torch.Tensor, noise: torch.Tensor) -> TaskBatch:
        """Constant-level trials from level indices ``[B]`` and unit noise ``[T, B]``."""
        levels = torch.tensor(self.levels, dtype=torch.float32)[level_index]
        targets = torch.tensor(self.targets, dtype=torch.float32)[level_index]
        inputs = levels.unsqueeze(0) + self.input_noise * noise.to(torch.float32)
        scored = (torch.arange(self.n_steps) >= self.grace_steps).to(torch.float32).unsqueeze(1)
        mask = scored.expand(self.n_steps, len(level_index))
        return TaskBatch(inputs.unsqueeze(-1), (targets.unsqueeze(0) * mask).unsqueeze(-1), mask.unsqueeze(-1).contiguous())

    def sample(self, batch_size: int, generator: torch.Generator) -> TaskBatch:
        index = torch.randint(len(self.levels), (batch_size,), generator=generator)
        noise = torch.randn(self.n_steps, batch_size, generator=generator)
        return self.trials(index, noise)

    def switching_levels(self, start: int) -> np.ndarray:
        """Level index at every step of a switching trial that starts at level ``start``."""
        steps = np.arange(self.n_steps)
        return (start + steps // self.switch_every) % len(self.levels)

    def probe_set(self) -> ProbeSet:
        n_levels = len(self.levels)
        constant = np.repeat(np.arange(n_levels), self.n_probe_constant)
        index = [np.full(self.n_steps, c) for c in constant]
        starts = np.arange(self.n_probe_switching) % n_levels
        index += [self.switching_levels(int(s)) for s in starts]
        index = np.stack(index, axis=1) if index else np.zeros((self.n_steps, 0), dtype=np.int64)  # [T, B]
        levels, targets = np.asarray(self.levels), np.asarray(self.targets)
        # scored once grace_steps have passed since the last change of input (or the trial start)
        changed = np.vstack([np.ones((1, index.shape[1]), dtype=bool), index[1:] != index[:-1]])
        last_change = np.maximum.accumulate(np.where(changed, np.arange(self.n_steps)[:, None], 0), axis=0)
        mask = (np.arange(self.n_steps)[:, None] - last_change >= self.grace_steps).astype(np.float32)
        batch = TaskBatch(torch.as_tensor(levels[index], dtype=torch.float32).unsqueeze(-1),
                          torch.as_tensor(targets[index] * mask, dtype=torch.float32).unsqueeze(-1),
                          torch.as_tensor(mask).unsqueeze(-1))
        n_const = len(constant)
        labels = {
            "level": levels[index[-1]] if index.shape[1] else np.zeros(0),
            "start_level": levels[index[0]] if index.shape[1] else np.zeros(0),
            "switching": np.arange(index.shape[1]) >= n_const,
        }
        return ProbeSet(batch, labels)

    def conditions(self) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """One static input per level, x* = level ``[C, 1]``."""
        levels = np.asarray(self.levels)
        return levels[:, None], {"level": levels, "target": np.asarray(self.targets)}

    def probe_conditions(self, labels: dict[str, np.ndarray]) -> np.ndarray:
        """Each probe trial's condition is the level of its input at the last step."""
        levels = np.asarray(self.levels)
        return np.argmin(np.abs(np.asarray(labels["level"], dtype=np.float64)[:, None] - levels[None, :]), axis=1).astype(np.int64)
