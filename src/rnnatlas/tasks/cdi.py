"""Context-dependent integration (Mante et al. 2013; seed 002 §2.2).

Inputs are ``[context one-hot (K), streams (K)]``. Each stream is white noise N(μ_k, σ²) with
μ_k ~ U(−1, 1) drawn once per trial and per stream; the one-hot context (static) says which
stream to integrate, and the target is the cumulative sum of the cued stream. The probe set is
noise-free: for each context, a grid of cued means crossed with a few uncued means, so the
trajectories run along each context's line attractor.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch

from .base import ProbeSet, Task, TaskBatch
from .registry import register_task


@register_task("cdi")
@dataclass
class ContextDependentIntegration(Task):
    # JSON schema of the parameters (config section tasks.cdi; config/README.md)
    param_schema: ClassVar[dict] = {
        "n_contexts": {"type": "integer", "minimum": 2},
        "n_steps": {"$ref": "#/$defs/positive_int"},
        "noise_std": {"type": "number", "minimum": 0},
        "mean_range": {"type": "number", "exclusiveMinimum": 0},
        "n_probe_means": {"type": "integer", "minimum": 2},
        "n_probe_distractors": {"$ref": "#/$defs/positive_int"},
    }
    n_contexts: int = 2
    n_steps: int = 30
    noise_std: float = 1.0
    mean_range: float = 1.0  # μ ~ U(−mean_range, mean_range)
    n_probe_means: int = 9  # cued means on a grid in [−mean_range, mean_range]
    n_probe_distractors: int = 3  # uncued means on a grid

    graph_kind = "line_attractor"

    def __post_init__(self) -> None:
        self.n_inputs = 2 * self.n_contexts
        self.n_outputs = 1

    def trials(self, contexts: torch.Tensor, means: torch.Tensor, noise: torch.Tensor) -> TaskBatch:
        """Trials from context indices ``[B]``, stream means ``[B, K]`` and unit noise ``[T, B, K]``."""
        b = len(contexts)
        one_hot = torch.nn.functional.one_hot(contexts, self.n_contexts).to(torch.float32)
        streams = means.to(torch.float32).unsqueeze(0) + self.noise_std * noise
        inputs = torch.cat([one_hot.expand(self.n_steps, b, -1), streams], dim=-1)
        cued = streams.gather(-1, contexts.view(1, b, 1).expand(self.n_steps, b, 1))
        targets = torch.cumsum(cued, dim=0)
        return TaskBatch(inputs, targets, torch.ones_like(targets))

    def sample(self, batch_size: int, generator: torch.Generator) -> TaskBatch:
        contexts = torch.randint(self.n_contexts, (batch_size,), generator=generator)
        means = (torch.rand(batch_size, self.n_contexts, generator=generator) * 2 - 1) * self.mean_range
        noise = torch.randn(self.n_steps, batch_size, self.n_contexts, generator=generator)
        return self.trials(contexts, means, noise)

    def probe_set(self) -> ProbeSet:
        cued = np.linspace(-self.mean_range, self.mean_range, self.n_probe_means)
        distract = np.linspace(-self.mean_range, self.mean_range, self.n_probe_distractors)
        ctx, mu_c, mu_d = (a.ravel() for a in np.meshgrid(np.arange(self.n_contexts), cued, distract, indexing="ij"))
        means = np.tile(mu_d[:, None], (1, self.n_contexts))
        means[np.arange(len(ctx)), ctx] = mu_c
        contexts = torch.as_tensor(ctx)
        noise = torch.zeros(self.n_steps, len(ctx), self.n_contexts)
        batch = self.trials(contexts, torch.as_tensor(means), noise)
        return ProbeSet(batch, {"context": ctx, "mean_cued": mu_c, "mean_uncued": mu_d})

    def conditions(self) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        x = np.zeros((self.n_contexts, self.n_inputs))
        x[np.arange(self.n_contexts), np.arange(self.n_contexts)] = 1.0
        return x, {"context": np.arange(self.n_contexts)}

    def probe_conditions(self, labels: dict[str, np.ndarray]) -> np.ndarray:
        """Condition c is context c with silent streams; a probe trial belongs to its context."""
        return np.asarray(labels["context"], dtype=np.int64)

    def cued_input(self, context: int) -> int:
        """Input column of the stream that context ``context`` integrates."""
        return self.n_contexts + int(context)
