"""Decision task of seed 001 ("RNN Initial Hypotheses", §3), time step Δt = 10 ms.

Two input channels carry static levels u1, u2 ~ U(``input_min``, ``input_max``) per trial,
each with Gaussian input noise of std ``input_noise`` at every step. The one output must be
``high`` when u1 > u2 and ``low`` otherwise, at every step from ``grace_steps`` on (the loss
mask is 0 before; the target is 0 there). The probe set is noise-free isocontours (the note's
Fig. 2): constant-input trials in which one input takes ``n_probe_values`` values spanning
[input_min, input_max] while the other is held at each of ``n_probe_held`` values spanning the
same range, both ways round (input 1 varying, then input 2 varying). Held values that fall on
the varying grid are taken from it, so equal pairs are bitwise equal; ties (u1 = u2) score low.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch

from .base import ProbeSet, Task, TaskBatch
from .registry import register_task


@register_task("decision")
@dataclass
class Decision(Task):
    # JSON schema of the parameters (config section tasks.decision; config/README.md)
    param_schema: ClassVar[dict] = {
        "n_steps": {"$ref": "#/$defs/positive_int"},
        "grace_steps": {"type": "integer", "minimum": 0},
        "input_min": {"type": "number"},
        "input_max": {"type": "number"},
        "input_noise": {"type": "number", "minimum": 0},
        "high": {"type": "number"},
        "low": {"type": "number"},
        "n_probe_values": {"type": "integer", "minimum": 2},
        "n_probe_held": {"type": "integer", "minimum": 2},
    }
    dt_ms: ClassVar[float] = 10.0  # one step of the task, in ms
    n_steps: int = 100  # 1 s
    grace_steps: int = 10  # unscored steps at the start of a trial
    input_min: float = 0.2
    input_max: float = 0.8
    input_noise: float = 0.05  # std of the Gaussian noise on each input, every step
    high: float = 0.8  # the output when u1 > u2
    low: float = 0.2  # the output otherwise
    n_probe_values: int = 7  # values of the varying input on a probe isocontour
    n_probe_held: int = 3  # values the other input is held at

    graph_kind = "condition_chain"

    def __post_init__(self) -> None:
        if not self.input_min < self.input_max:
            raise ValueError(f"task 'decision': 'input_min' = {self.input_min} must be below 'input_max' = {self.input_max}")
        if not 0 <= self.grace_steps < self.n_steps:
            raise ValueError(f"task 'decision': 'grace_steps' = {self.grace_steps} must be in [0, n_steps = {self.n_steps})")
        if self.n_probe_values < 2 or self.n_probe_held < 2:
            raise ValueError("task 'decision': 'n_probe_values' and 'n_probe_held' must be at least 2")
        if self.input_noise < 0:
            raise ValueError(f"task 'decision': 'input_noise' must be >= 0, got {self.input_noise}")
        self.n_inputs, self.n_outputs = 2, 1

    def target_for(self, u: np.ndarray | torch.Tensor) -> np.ndarray | torch.Tensor:
        """``high`` where u1 > u2, else ``low``; u ``[..., 2]``."""
        if isinstance(u, torch.Tensor):
            return torch.where(u[..., 0] > u[..., 1], self.high, self.low)
        return np.where(u[..., 0] > u[..., 1], self.high, self.low)

    def trials(self, u: torch.Tensor, noise: torch.Tensor) -> TaskBatch:
        """Trials from static levels ``[B, 2]`` and unit noise ``[T, B, 2]``."""
        u = u.to(torch.float32)
        inputs = u.unsqueeze(0) + self.input_noise * noise.to(torch.float32)
        scored = (torch.arange(self.n_steps) >= self.grace_steps).to(torch.float32).view(-1, 1, 1)
        mask = scored.expand(self.n_steps, len(u), 1).contiguous()
        targets = self.target_for(u).to(torch.float32).view(1, -1, 1) * mask
        return TaskBatch(inputs, targets, mask)

    def sample(self, batch_size: int, generator: torch.Generator) -> TaskBatch:
        u = self.input_min + (self.input_max - self.input_min) * torch.rand(batch_size, 2, generator=generator)
        noise = torch.randn(self.n_steps, batch_size, 2, generator=generator)
        return self.trials(u, noise)

    def probe_grid(self) -> tuple[np.ndarray, np.ndarray]:
        """(varying values ``[V]``, held values ``[H]``), both spanning [input_min, input_max]."""
        values = np.linspace(self.input_min, self.input_max, self.n_probe_values)
        held = np.linspace(self.input_min, self.input_max, self.n_probe_held)
        near = np.abs(held[:, None] - values[None, :]) <= 1e-12 * max(1.0, np.abs(values).max())
        held = np.where(near.any(axis=1), values[np.argmax(near, axis=1)], held)
        return values, held

    def probe_pairs(self) -> dict[str, np.ndarray]:
        """Every probe trial's (u1, u2), which input varies (1 or 2) and the held value."""
        values, held = self.probe_grid()
        h, v = (a.ravel() for a in np.meshgrid(held, values, indexing="ij"))  # held-major
        return {"u1": np.concatenate([v, h]), "u2": np.concatenate([h, v]),
                "varying": np.repeat([1, 2], len(v)).astype(np.int64), "held_value": np.concatenate([h, h])}

    def probe_set(self) -> ProbeSet:
        labels = self.probe_pairs()
        u = torch.as_tensor(np.stack([labels["u1"], labels["u2"]], axis=1))
        batch = self.trials(u, torch.zeros(self.n_steps, len(u), 2))
        return ProbeSet(batch, labels)

    def conditions(self) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Every distinct (u1, u2) of the probe set, in lexicographic order, as x* ``[C, 2]``."""
        labels = self.probe_pairs()
        pairs = np.unique(np.stack([labels["u1"], labels["u2"]], axis=1), axis=0)
        return pairs, {"u1": pairs[:, 0].copy(), "u2": pairs[:, 1].copy()}

    def probe_conditions(self, labels: dict[str, np.ndarray]) -> np.ndarray:
        """Each probe trial's condition is the index of its (u1, u2) pair (the nearest one)."""
        pairs, _ = self.conditions()
        trial = np.stack([np.asarray(labels["u1"], dtype=np.float64), np.asarray(labels["u2"], dtype=np.float64)], axis=1)
        return np.argmin(np.abs(trial[:, None, :] - pairs[None, :, :]).sum(-1), axis=1).astype(np.int64)
