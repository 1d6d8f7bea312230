"""Ready-Set-Go interval reproduction (Jazayeri & Shadlen 2015; seed 000 §2.1.2).

Two input channels carry the Ready (channel 0) and Set (channel 1) pulses; the single output
must emit the Go pulse. Every pulse is ``pulse`` steps of value 1. Timing convention (onset to
onset): Ready starts at step r, Set at r + t_s, Go at r + 2·t_s. The trial length is
2·t_s^max + 100, so with r ≤ 30 at least 70 steps follow the latest Go onset (the
supplement's "at least 70 steps to relax back to rest"). The loss mask is 1 everywhere.

Training set (supplement: "512 random trials so, on average, every interval was included more
than 5 times"): a fixed set of ``n_train`` trials, drawn once from ``train_seed``, with t_s
i.i.d. uniform over the integers [t_s^min, t_s^max] (91 values, 512/91 ≈ 5.6 per interval) and
the Ready onset i.i.d. uniform over the integers [ready_min, ready_max]. ``sample`` draws a
mini-batch from this fixed set (without replacement within the batch); ``epoch_batches``
gives a true shuffled epoch for loops that want one.

Probe set (also the set the neural features are computed on): one noise-free trial per
integer interval in [t_s^min, t_s^max], all with the Ready onset at ``probe_ready``; it covers
every interval of the training distribution, including the longest (t_s^max), which the
Ready-Set / Set-Go features use. Static condition input x* = 0 (no pulse).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Iterator

import numpy as np
import torch

from .base import ProbeSet, Task, TaskBatch
from .registry import register_task


@dataclass
class RSGEvents:
    """Per-trial event onsets (steps): Ready, Set, Go and the interval t_s, each ``[B]``."""

    ready: np.ndarray
    set: np.ndarray
    go: np.ndarray
    interval: np.ndarray
    pulse: int

    def as_labels(self) -> dict[str, np.ndarray]:
        return {"interval": self.interval, "ready": self.ready, "set": self.set, "go": self.go}


@register_task("rsg")
@dataclass
class ReadySetGo(Task):
    # JSON schema of the parameters (config section tasks.rsg; config/README.md)
    param_schema: ClassVar[dict] = {
        "interval_min": {"$ref": "#/$defs/positive_int"},
        "interval_max": {"$ref": "#/$defs/positive_int"},
        "ready_min": {"type": "integer", "minimum": 0},
        "ready_max": {"type": "integer", "minimum": 0},
        "pulse": {"$ref": "#/$defs/positive_int"},
        "n_train": {"$ref": "#/$defs/positive_int"},
        "train_seed": {"$ref": "#/$defs/seed"},
        "probe_ready": {"type": "integer", "minimum": 0},
    }
    interval_min: int = 30
    interval_max: int = 120
    ready_min: int = 20
    ready_max: int = 30
    pulse: int = 10
    n_train: int = 512
    train_seed: int = 0
    probe_ready: int = 20
    n_steps: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        if not (0 < self.interval_min <= self.interval_max):
            raise ValueError(f"task 'rsg': need 0 < interval_min <= interval_max, got {self.interval_min}, {self.interval_max}")
        if not (0 <= self.ready_min <= self.ready_max):
            raise ValueError(f"task 'rsg': need 0 <= ready_min <= ready_max, got {self.ready_min}, {self.ready_max}")
        if self.pulse < 1 or self.interval_min < 2 * self.pulse + 3:
            raise ValueError(f"task 'rsg': need pulse >= 1 and interval_min >= 2 * pulse + 3 (the Set-Go window "
                             f"[Set + pulse, Go - pulse) needs 3 steps), got pulse {self.pulse}, interval_min {self.interval_min}")
        self.n_inputs, self.n_outputs = 2, 1
        self.n_steps = 2 * self.interval_max + 100
        if self.ready_max + 2 * self.interval_max + self.pulse > self.n_steps:
            raise ValueError("task 'rsg': ready_max is too late for the Go pulse to fit in the trial")
        self._train: tuple[TaskBatch, RSGEvents] | None = None

    # ------------------------------------------------------------------ trials
    def events(self, ready: np.ndarray, interval: np.ndarray) -> RSGEvents:
        ready = np.asarray(ready, dtype=np.int64)
        interval = np.asarray(interval, dtype=np.int64)
        return RSGEvents(ready, ready + interval, ready + 2 * interval, interval, self.pulse)

    def trials(self, ready: np.ndarray, interval: np.ndarray) -> tuple[TaskBatch, RSGEvents]:
        """Trials with the given Ready onsets and intervals ``[B]`` (integer steps)."""
        ev = self.events(ready, interval)
        t = torch.arange(self.n_steps).unsqueeze(1)  # [T, 1]

        def pulse_at(onset: np.ndarray) -> torch.Tensor:
            on = torch.as_tensor(onset).unsqueeze(0)
            return ((t >= on) & (t < on + self.pulse)).to(torch.float32)  # [T, B]

        inputs = torch.stack([pulse_at(ev.ready), pulse_at(ev.set)], dim=-1)
        targets = pulse_at(ev.go).unsqueeze(-1)
        return TaskBatch(inputs, targets, torch.ones_like(targets)), ev

    def draw(self, n: int, generator: torch.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Random Ready onsets and intervals, integers uniform on their inclusive ranges."""
        interval = torch.randint(self.interval_min, self.interval_max + 1, (n,), generator=generator)
        ready = torch.randint(self.ready_min, self.ready_max + 1, (n,), generator=generator)
        return ready.numpy(), interval.numpy()

    def training_set(self) -> tuple[TaskBatch, RSGEvents]:
        """The fixed training set of ``n_train`` trials (deterministic from ``train_seed``)."""
        if self._train is None:
            gen = torch.Generator().manual_seed(int(self.train_seed))
            self._train = self.trials(*self.draw(self.n_train, gen))
        return self._train

    # ------------------------------------------------------------------ Task interface
    def sample(self, batch_size: int, generator: torch.Generator) -> TaskBatch:
        """A mini-batch from the fixed training set (without replacement within the batch)."""
        batch, _ = self.training_set()
        if batch_size <= self.n_train:
            idx = torch.randperm(self.n_train, generator=generator)[:batch_size]
        else:
            idx = torch.randint(self.n_train, (batch_size,), generator=generator)
        return TaskBatch(batch.inputs[:, idx], batch.targets[:, idx], batch.mask[:, idx])

    def epoch_batches(self, batch_size: int, generator: torch.Generator) -> Iterator[TaskBatch]:
        """One epoch: the training set reshuffled, cut into batches (the last may be smaller)."""
        batch, _ = self.training_set()
        order = torch.randperm(self.n_train, generator=generator)
        for s in range(0, self.n_train, batch_size):
            idx = order[s : s + batch_size]
            yield TaskBatch(batch.inputs[:, idx], batch.targets[:, idx], batch.mask[:, idx])

    def probe_trials(self) -> tuple[TaskBatch, RSGEvents]:
        """One trial per integer interval, Ready at ``probe_ready``; intervals ascending."""
        interval = np.arange(self.interval_min, self.interval_max + 1)
        return self.trials(np.full(len(interval), self.probe_ready), interval)

    def probe_set(self) -> ProbeSet:
        batch, ev = self.probe_trials()
        return ProbeSet(batch, ev.as_labels())

    def conditions(self) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        return np.zeros((1, 2)), {"condition": np.array(["no input"])}
