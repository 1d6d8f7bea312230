"""Hyperparameter search per configuration cell: random candidates, successive halving.

All candidates of a cell train together as one population (their hyperparameters are
per-network tensors). After each rung the best 1/eta by validation loss continue from where
they are; the learning-rate schedule is always that of the full run, so a candidate's first
r iterations are exactly the first r iterations of a full run with its hyperparameters. The
survivor of the last rung has trained the full length and is the choice.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from .progress import Progress
from .trainer import PopulationTrainer

LOG_UNIFORM = ("learning_rate", "clip")


def sample_candidates(n: int, ranges: dict[str, list[float]], seed: int) -> list[dict[str, float]]:
    """n random hyperparameter sets: learning rate and clip log-uniform, momentum and decay uniform."""
    rng = np.random.default_rng(seed)
    out = [{} for _ in range(n)]
    for name, (lo, hi) in sorted(ranges.items()):
        if name in LOG_UNIFORM:
            values = np.exp(rng.uniform(math.log(lo), math.log(hi), n))
        else:
            values = rng.uniform(lo, hi, n)
        for record, v in zip(out, values):
            record[name] = float(v)
    return out


def rung_budgets(iterations: int, n_candidates: int, eta: int, min_iterations: int) -> list[int]:
    """Iteration counts at which candidates are compared: ... R/eta², R/eta, R (at most log_eta(n) cuts)."""
    cuts = 0
    while cuts < math.floor(math.log(max(n_candidates, 1), eta) + 1e-9) and iterations / eta ** (cuts + 1) >= min_iterations:
        cuts += 1
    return [max(1, round(iterations / eta**c)) for c in range(cuts, 0, -1)] + [iterations]


@dataclass
class SearchResult:
    candidates: list[dict[str, float]]
    budgets: list[int]
    losses: list[dict[int, float]]  # per candidate: validation loss at each rung it reached
    chosen: int

    def to_json(self) -> dict:
        return {
            "budgets": self.budgets,
            "candidates": [
                {"hyperparameters": c, "val_loss": {str(k): v for k, v in l.items()}}
                for c, l in zip(self.candidates, self.losses)
            ],
            "chosen_index": self.chosen,
            "chosen": self.candidates[self.chosen],
            "chosen_val_loss": self.losses[self.chosen][self.budgets[-1]],
        }


def successive_halving(trainer: PopulationTrainer, candidates: list[dict[str, float]], eta: int,
                       min_iterations: int, progress_label: str = "search") -> SearchResult:
    """Run the search on a trainer whose population holds one network per candidate."""
    budgets = rung_budgets(trainer.settings.iterations, len(candidates), eta, min_iterations)
    alive = np.arange(len(candidates))
    losses: list[dict[int, float]] = [{} for _ in candidates]
    progress = Progress(trainer.settings.iterations, progress_label)
    for i, budget in enumerate(budgets):
        trainer.run(budget, progress)
        val = trainer.evaluate()
        val = np.where(trainer.failed, np.inf, val)
        for j, cand in enumerate(alive):
            losses[cand][budget] = float(val[j])
        if i + 1 < len(budgets):
            keep = max(1, len(alive) // eta)
            order = np.argsort(val, kind="stable")[:keep]
            alive = alive[order]
            trainer = trainer.select(torch.as_tensor(order))
    return SearchResult(candidates, budgets, losses, int(alive[int(np.argmin(val))]))
