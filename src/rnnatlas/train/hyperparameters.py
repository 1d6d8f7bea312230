"""Per-network training hyperparameters, each a length-K tensor."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Sequence

import torch

NAMES = ("learning_rate", "momentum", "clip", "decay", "l2")


@dataclass
class Hyperparameters:
    """learning rate, momentum (SGD) , gradient-norm clip, exponential decay factor and L2, per network.

    The learning rate at iteration t is ``learning_rate · decay^(t / decay_steps)``; with
    decay_steps = the full training length, ``decay`` is the overall factor by which the rate
    falls over training.
    """

    learning_rate: torch.Tensor
    momentum: torch.Tensor
    clip: torch.Tensor
    decay: torch.Tensor
    l2: torch.Tensor

    @classmethod
    def from_records(cls, records: Sequence[dict[str, float]], device: torch.device | str = "cpu") -> "Hyperparameters":
        missing = [n for n in NAMES if any(n not in r for r in records)]
        if missing:
            raise ValueError(f"hyperparameters missing {sorted(set(missing))}; need {list(NAMES)}")
        return cls(**{n: torch.tensor([float(r[n]) for r in records], dtype=torch.float64, device=device) for n in NAMES})

    def records(self) -> list[dict[str, float]]:
        return [{n: float(getattr(self, n)[k]) for n in NAMES} for k in range(len(self))]

    def to(self, device: torch.device | str) -> "Hyperparameters":
        return Hyperparameters(**{f.name: getattr(self, f.name).to(device) for f in fields(self)})

    def select(self, index: torch.Tensor) -> "Hyperparameters":
        return Hyperparameters(**{f.name: getattr(self, f.name)[index] for f in fields(self)})

    def __len__(self) -> int:
        return len(self.learning_rate)
