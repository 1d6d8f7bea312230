"""Frequency-cued sine wave (Sussillo & Barak 2013; seed 002 §2.2).

A static command x ~ U(0, 1) is presented as the input ``x + input_offset`` on every step
(offset 0.25 as in Sussillo & Barak 2013, so the lowest command is not a silent input); the
target is sin(2π ω t) with ω = 0.04 x + 0.01 in cycles per step and t = 0 … T−1, i.e. 5–25
cycles in a T = 500 trial (the paper's "dt = 0.01" only names the step in seconds).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch

from .base import ProbeSet, Task, TaskBatch
from .registry import register_task


@register_task("sine")
@dataclass
class Sine(Task):
    # JSON schema of the parameters (config section tasks.sine; config/README.md)
    param_schema: ClassVar[dict] = {
        "n_steps": {"$ref": "#/$defs/positive_int"},
        "frequency_slope": {"type": "number", "exclusiveMinimum": 0},
        "frequency_offset": {"type": "number", "minimum": 0},
        "input_offset": {"type": "number"},
        "n_commands": {"type": "integer", "minimum": 2},
    }
    n_steps: int = 500
    frequency_slope: float = 0.04
    frequency_offset: float = 0.01
    input_offset: float = 0.25
    n_commands: int = 11  # evenly spaced commands in [0, 1] for the probe set and for x*

    graph_kind = "condition_chain"

    def __post_init__(self) -> None:
        self.n_inputs = self.n_outputs = 1

    def frequency(self, command: torch.Tensor | np.ndarray) -> torch.Tensor | np.ndarray:
        """ω (cycles per step) for command x."""
        return self.frequency_slope * command + self.frequency_offset

    def trials(self, commands: torch.Tensor) -> TaskBatch:
        commands = commands.to(torch.float32)
        t = torch.arange(self.n_steps, dtype=torch.float64).unsqueeze(1)
        targets = torch.sin(2 * math.pi * self.frequency(commands.to(torch.float64)).unsqueeze(0) * t)
        inputs = (commands + self.input_offset).expand(self.n_steps, -1)
        return TaskBatch(inputs.unsqueeze(-1).contiguous(), targets.to(torch.float32).unsqueeze(-1), torch.ones(self.n_steps, len(commands), 1))

    def sample(self, batch_size: int, generator: torch.Generator) -> TaskBatch:
        return self.trials(torch.rand(batch_size, generator=generator))

    def command_grid(self) -> np.ndarray:
        return np.linspace(0.0, 1.0, self.n_commands)

    def probe_set(self) -> ProbeSet:
        commands = self.command_grid()
        return ProbeSet(self.trials(torch.as_tensor(commands)), {"command": commands, "frequency": self.frequency(commands)})

    def conditions(self) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        commands = self.command_grid()
        return (commands + self.input_offset)[:, None], {"command": commands, "frequency": self.frequency(commands)}

    def probe_conditions(self, labels: dict[str, np.ndarray]) -> np.ndarray:
        """Probe trial i holds command i of the grid, which is condition i."""
        return np.searchsorted(self.command_grid(), labels["command"]).astype(np.int64)
