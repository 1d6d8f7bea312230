"""K-bit flip-flop (Sussillo & Barak 2013; seed 002 §2.2).

Each of K input channels carries a pulse of ±1 with probability ``flip_probability`` per step
(0 otherwise); output k holds the sign of the last pulse on channel k. Before a channel's first
pulse there is nothing to remember: the target is 0 there and the loss mask is 0, so the
network is not asked to represent an extra "unset" state (which would add a ninth attractor).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch

from .base import ProbeSet, Task, TaskBatch
from .registry import register_task


@register_task("flipflop")
@dataclass
class FlipFlop(Task):
    # JSON schema of the parameters (config section tasks.flipflop; config/README.md)
    param_schema: ClassVar[dict] = {
        "n_bits": {"$ref": "#/$defs/positive_int"},
        "n_steps": {"$ref": "#/$defs/positive_int"},
        "flip_probability": {"$ref": "#/$defs/probability"},
        "n_probe_trials": {"$ref": "#/$defs/positive_int"},
        "probe_seed": {"$ref": "#/$defs/seed"},
    }
    n_bits: int = 3
    n_steps: int = 100
    flip_probability: float = 0.05
    n_probe_trials: int = 16
    probe_seed: int = 0

    def __post_init__(self) -> None:
        self.n_inputs = self.n_outputs = self.n_bits

    def expected_stable_points(self) -> int:
        """One stable point per corner of the bit cube."""
        return 2**self.n_bits

    def sample(self, batch_size: int, generator: torch.Generator) -> TaskBatch:
        shape = (self.n_steps, batch_size, self.n_bits)
        pulse = torch.rand(shape, generator=generator) < self.flip_probability
        sign = torch.where(torch.rand(shape, generator=generator) < 0.5, -1.0, 1.0)
        inputs = pulse * sign
        return TaskBatch(inputs, *self.targets_for(inputs))

    @staticmethod
    def targets_for(inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Hold the last non-zero value of each channel; mask out steps before the first pulse."""
        steps = torch.arange(inputs.shape[0]).view(-1, *([1] * (inputs.dim() - 1)))
        last_pulse = torch.where(inputs != 0, steps, -1).cummax(dim=0).values
        targets = inputs.gather(0, last_pulse.clamp(min=0)) * (last_pulse >= 0)
        return targets, (last_pulse >= 0).to(inputs.dtype)

    def probe_set(self) -> ProbeSet:
        gen = torch.Generator().manual_seed(self.probe_seed)
        batch = self.sample(self.n_probe_trials, gen)
        return ProbeSet(batch, {"trial": np.arange(self.n_probe_trials)})

    def conditions(self) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        return np.zeros((1, self.n_bits)), {"condition": np.array(["no input"])}
