"""A plug-in study for the tests: its own task, one per-pack analysis and one figure, registered
from outside the package (config key ``plugins``) without editing any shared file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch

from rnnatlas.studies import Figure, PackAnalysis, Resources, Study, register_study
from rnnatlas.studies.base import RESULTS, net_file
from rnnatlas.tasks import ProbeSet, Task, TaskBatch, register_task


@register_task("ramp")
@dataclass
class Ramp(Task):
    """Static input u ~ U(0, 1); the output ramps from 0 to u over the trial."""

    n_steps: int = 20
    param_schema: ClassVar[dict] = {"n_steps": {"$ref": "#/$defs/positive_int"}}

    def __post_init__(self) -> None:
        self.n_inputs = self.n_outputs = 1

    def _batch(self, u: torch.Tensor) -> TaskBatch:
        t = torch.linspace(0, 1, self.n_steps).view(-1, 1, 1)
        inputs = u.view(1, -1, 1).expand(self.n_steps, -1, 1).clone()
        targets = t * inputs
        return TaskBatch(inputs, targets, torch.ones_like(targets))

    def sample(self, batch_size: int, generator: torch.Generator) -> TaskBatch:
        return self._batch(torch.rand(batch_size, generator=generator))

    def probe_set(self) -> ProbeSet:
        u = torch.linspace(0, 1, 4)
        return ProbeSet(self._batch(u), {"u": u.numpy()})

    def conditions(self) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        return np.zeros((1, 1)), {"u": np.zeros(1)}


class Ramps(Study):
    name = "ramps"
    title = "Ramps (test plug-in)"
    section = "ramps"

    def schema(self) -> dict:
        return {"type": "object", "additionalProperties": False, "required": ["grid", "iterations"],
                "properties": {"grid": {"type": "object"}, "iterations": {"$ref": "#/$defs/positive_int"}}}

    def trained_tasks(self, config: dict) -> list[str]:
        return ["ramp"]

    def grid(self, config: dict, task: str) -> dict:
        return config[self.section]["grid"]

    def pack_size(self, config: dict, task: str) -> int:
        return 4

    def training_settings(self, config: dict, task: str) -> dict:
        return {"iterations": config[self.section]["iterations"], "batch_size": 8, "eval_every": 5, "optimizer": "adam",
                "hyperparameters": {"learning_rate": 0.01, "momentum": 0.0, "clip": 1.0, "decay": 1.0},
                "accept_val_loss": config["tasks"][task]["accept_val_loss"], "data_seed": 0}

    def pack_analyses(self, config: dict, task: str) -> list[PackAnalysis]:
        return [PackAnalysis(
            name="ramp_fixed_points", outputs=("fixed_points.h5", "graph.h5"),
            command="fixed-points --task {params.task} --task-data {input.task_data} --models {input.models} "
                    "--out-fixed-points {output.fixed_points} --out-graphs {output.graph} --options {params.options:q}",
            options=lambda c: {"n_initial_states": 16, "max_iters": 200, "n_perturbations": 4, "transition_steps": 20},
            resources=Resources(),
        )]

    def declared_figures(self) -> list[Figure]:
        def inputs(config: dict) -> list[str]:
            return [net_file("ramp", n.id, "model.h5") for n in self.networks(config, "ramp")]

        def draw(root: Path, out_stem: str):
            import matplotlib.pyplot as plt

            from rnnatlas.figures.io import FigureCounts, save_figure
            from rnnatlas.store.model_file import read_model

            fig, ax = plt.subplots()
            counts = FigureCounts("ramp_losses")
            models = sorted((root / "ramp" / "nets").glob("*/model.h5"))
            for path in models:
                ax.plot(read_model(path).train_loss)
            counts.shown["networks"] = len(models)
            counts.files = save_figure(fig, out_stem)
            return counts

        return [Figure("ramp_losses", self.name, draw, inputs, "**Ramp losses**: training loss of every network.")]


register_study(Ramps())

# Where the figure's files land, for the test that plans it.
FIGURE_STEM = f"{RESULTS}/figures/ramps/ramp_losses"
