"""Study M: the Go task family of Yang et al. 2019 and the thesis's open question (seed 003).

Config section ``multitask`` (off with ``enabled: false``). Two groups of leaky softplus rate
networks ``r_t = (1−α) r_{t−1} + α softplus(W_rec r_{t−1} + W_in u_t + b + sqrt(2/α)·σ_rec·ξ_t)``,
α = Δt/τ, with readout ``z = sigmoid(W_out r + b_out)``: one trained on Go alone (task ``go``,
the thesis's network), one on the six Go-family tasks together (task ``go_family``; the rule
inputs select the task). Adam with element-wise gradient clipping and the reference's loss
(mask times error, squared). Per pack: performance per rule (and over training, from parameter
snapshots), task variance, task vectors and compositionality, fixed and slow points per task
epoch with the batched finder, the speed along the trajectories and their closest approach to
the points. The summary answers the thesis's question — do networks trained on several tasks
show a clearer fixed-point structure than networks trained on Go alone? — as numbers.
"""

from __future__ import annotations

import math
from pathlib import Path

from .base import RESULTS, Figure, Job, PackAnalysis, Resources, Study, net_file

SUMMARY = f"{RESULTS}/multitask/summary.json"
SNAPSHOT_PARAMS = ["weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_out", "bias_out"]


class Multitask(Study):
    name = "multitask"
    title = "Multitask Go family"
    section = "multitask"
    schema_file = "multitask.schema.yaml"

    def enabled(self, config: dict) -> bool:
        return bool(config[self.section]["enabled"]) and bool(config[self.section]["tasks"])

    def trained_tasks(self, config: dict) -> list[str]:
        return list(config[self.section]["tasks"]) if self.enabled(config) else []

    def grid(self, config: dict, task: str) -> dict:
        section = config[self.section]
        return {"arch": ["vanilla"], "activation": ["softplus"], "units": [section["units"]], "l2": [0.0],
                "seeds": section["seeds"]}

    def pack_size(self, config: dict, task: str) -> int:
        return config[self.section]["training"]["pack_size"]

    def network_settings(self, config: dict, task: str) -> dict:
        """The reference's network: leak α = Δt/τ (Δt of the task), noise sqrt(2/α)·σ on the
        inputs and before the nonlinearity, W_rec = gain·I (or gain × a random orthogonal matrix),
        a sigmoid readout."""
        from ..tasks import get_task

        model = config[self.section]["model"]
        alpha = get_task(task).dt_ms / model["tau_ms"]
        scale = math.sqrt(2.0 / alpha)
        return {
            "alpha": alpha, "noise_rec": scale * model["noise_rec"], "noise_in": scale * model["noise_in"],
            "init": "yang_rate", "readout": "sigmoid",
            "init_options": {"recurrent": model["recurrent_init"], "recurrent_gain": model["recurrent_gain"]},
        }

    def training_settings(self, config: dict, task: str) -> dict:
        training = config[self.section]["training"]
        return {
            "iterations": config[self.section]["tasks"][task]["iterations"],
            "batch_size": training["batch_size"],
            "eval_every": training["eval_every"],
            "optimizer": "adam",
            "loss": "weighted_error",
            "clip_mode": "value",
            "hyperparameters": {"learning_rate": training["learning_rate"], "momentum": 0.0, "clip": training["clip"],
                                "decay": 1.0},
            "network": self.network_settings(config, task),
            "snapshots": {"params": SNAPSHOT_PARAMS, "count": training["snapshots"]},
            "accept_val_loss": config["tasks"][task]["accept_val_loss"],
            "data_seed": config["tasks"][task]["data_seed"],
        }

    def check(self, config: dict) -> list[str]:
        from ..tasks import get_task
        from ..tasks.go_family import GoFamily

        problems = []
        for task in config[self.section]["tasks"]:
            cls = get_task(task)
            if not issubclass(cls, GoFamily):
                problems.append(f"config key 'multitask.tasks' names {task!r}, which is not a Go-family task "
                                f"(allowed: tasks with 85 inputs and 33 outputs in Yang et al.'s format)")
            elif cls.dt_ms > config[self.section]["model"]["tau_ms"]:
                problems.append(f"config key 'multitask.model.tau_ms' = {config[self.section]['model']['tau_ms']} is "
                                f"below the task's step {cls.dt_ms} ms: the leak α = Δt/τ must be at most 1")
        return problems

    # ------------------------------------------------------------------ analyses
    def pack_analyses(self, config: dict, task: str) -> list[PackAnalysis]:
        return [PackAnalysis(
            name="multitask", outputs=("fixed_points.h5", "multitask.h5"), twins=False,
            command="multitask --task {params.task} --task-data {input.task_data} --models {input.models} "
                    "--out-fixed-points {output.fixed_points} --out {output.multitask} --options {params.options:q}",
            options=lambda c: {**c[self.section]["analysis"], "dynamics": c["dynamics"]},
            resources=Resources(threads=config["threads"]["train"], mem_mb=4000, runtime=60, gpu=True),
        )]

    def _files(self, config: dict, name: str) -> list[str]:
        return [net_file(t, n.id, name) for t in self.trained_tasks(config) for p in self.packs(config, t)
                for n in p.networks]

    def jobs(self, config: dict) -> list[Job]:
        if not self.enabled(config):
            return []
        return [Job(
            name="multitask_summary",
            command="multitask-summary --analyses {input.analyses} --fixed-points {input.fixed_points} "
                    "--out {output.summary}",
            input={"analyses": self._files(config, "multitask.h5"), "fixed_points": self._files(config, "fixed_points.h5")},
            output={"summary": SUMMARY}, resources=Resources(runtime=10),
            log=f"{RESULTS}/logs/multitask/summary.log",
        )]

    # ------------------------------------------------------------------ figures
    def declared_figures(self) -> list[Figure]:
        def inputs(config: dict) -> list[str]:
            tasks = self.trained_tasks(config)
            return [SUMMARY, *self._files(config, "multitask.h5"), *self._files(config, "model.h5"),
                    *self._files(config, "probe.h5"), *self._files(config, "fixed_points.h5"),
                    *(f"{RESULTS}/{t}/task_data.h5" for t in tasks)]

        def figure(function: str):
            def draw(root: Path, out_stem: str):
                from ..figures import multitask

                return getattr(multitask, function)(root, out_stem)
            return draw

        return [Figure(name, self.name, figure(f"figure_{name}"), inputs, caption) for name, caption in CAPTIONS.items()]


CAPTIONS = {
    "m_fig1_performance": """\
**Performance over training** (thesis §4; Yang et al. Fig. 1): share of correct noise-free test
trials per task (the reference's criterion: at the last step, fixation output below 0.5 and the
ring's population vector within 36° of the target) at every parameter snapshot; Go-only
networks and multitask networks, mean and 95 % CI over networks.""",
    "m_fig2_outputs": """\
**Outputs against targets** (thesis Figs. 4.6–4.7): one Go-only network on two Go probe trials —
the fixation output and its target over time, the 33 outputs as a heat map — and the
distribution of the residuals |z − ẑ| of every output on every probe step (log scale) with the
recurrent noise level.""",
    "m_fig3_connectivity": """\
**Connectivity and biases** (thesis Figs. 4.2–4.3): the input, recurrent and output weights of
one trained Go-only network as one matrix, and the distributions of its recurrent and output
biases.""",
    "m_fig4_unit_graph": """\
**The recurrent units as a graph** (thesis Fig. 4.4): the recurrent connections of one Go-only
network with the largest |w| (the top 2 % of |W_rec|; the thesis drew |w| > 1.75), each
unit coloured by its activity averaged over the probe trials in the beginning, middle and end
of the trial.""",
    "m_fig5_pca": """\
**Activity in PC space** (thesis Figs. 5.4–5.9): input, recurrent and output activity of one
Go-only network on the Go probe trials, projected on each group's first two principal
components in each epoch, coloured by the stimulus angle; and the recurrent trajectories in
their first three principal components.""",
    "m_fig6_task_variance": """\
**Task variance and task vectors** (Yang et al. Figs. 2, 6; thesis Fig. 5.2): normalised task
variance of every unit of one multitask network per task (units sorted by their preferred task);
the task vectors of Go, Dly Go, Anti and Dly Anti of every multitask network in the plane of
their first two principal components, with the compositionality cosine (mean and 95 % CI).""",
    "m_fig7_fixed_points": """\
**Fixed points per task epoch — the thesis's open question**: per epoch of each task, the
number of fixed and slow points found under that epoch's constant input, the lowest speed q
along the trajectories and their closest approach to a fixed point (in units of the
activity's spread), Go-only vs multitask networks (each point a network).""",
}
