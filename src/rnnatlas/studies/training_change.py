"""Study H: how training changes leaky rate RNNs (seed 001, "RNN Initial Hypotheses", 2021).

Config section ``training_change`` (off with ``enabled: false``). For each task in
``training_change.tasks`` (perception, decision), a population of leaky ReLU rate networks
``r_t = (1−α) r_{t−1} + α relu(W_rec r_{t−1} + W_in u_t + b + sqrt(2/α)·σ·ξ_t)``, α = Δt/τ,
readout ``z = W_out r``, of which only W_rec trains (Adam, diagonal held at 0), with snapshots
of W_rec during training. Every network is compared with its own initialisation (its untrained
twin): weights, spectrum, centrality, non-normality, DCA/PCA subspaces and their angles,
predictive information as the ReLU is made linear, fixed points per input condition. The
summary states each hypothesis of the note as numbers over the population (mean, 95 % CI, n).
"""

from __future__ import annotations

import math
from pathlib import Path

from .analyses import fixed_point_analysis
from .base import RESULTS, Figure, Job, PackAnalysis, Resources, Study, net_file

SUMMARY = f"{RESULTS}/training_change/summary.json"


class TrainingChange(Study):
    name = "training_change"
    title = "Training-induced change"
    section = "training_change"
    schema_file = "training_change.schema.yaml"

    def enabled(self, config: dict) -> bool:
        return bool(config[self.section]["enabled"]) and bool(config[self.section]["tasks"])

    def trained_tasks(self, config: dict) -> list[str]:
        return list(config[self.section]["tasks"]) if self.enabled(config) else []

    def grid(self, config: dict, task: str) -> dict:
        section = config[self.section]
        return {"arch": ["vanilla"], "activation": ["relu"], "units": [section["tasks"][task]["units"]],
                "l2": [0.0], "seeds": section["seeds"]}

    def pack_size(self, config: dict, task: str) -> int:
        return config[self.section]["training"]["pack_size"]

    def wants_twin(self, config: dict, spec) -> bool:
        return True  # every analysis compares a trained network with its initialisation

    def network_settings(self, config: dict, task: str) -> dict:
        """The leaky rate RNN as a vanilla ReLU cell with leak α, pre-activation noise
        sqrt(2/α)·σ, only W_rec trainable with a zero diagonal, and the note's initialisation."""
        model = config[self.section]["model"]
        alpha = model["dt_ms"] / model["tau_ms"]
        return {
            "alpha": alpha,
            "noise_rec": math.sqrt(2.0 / alpha) * model["noise_sigma"],
            "trainable": ["weight_hh"],
            "mask": "zero_diagonal",
            "init": "rate_gaussian",
            "init_options": {"recurrent": model["recurrent_init"],
                             "input_std": config[self.section]["tasks"][task]["input_std"]},
        }

    def training_settings(self, config: dict, task: str) -> dict:
        training = config[self.section]["training"]
        return {
            "iterations": training["iterations"],
            "batch_size": training["batch_size"],
            "eval_every": training["eval_every"],
            "optimizer": "adam",
            "hyperparameters": {"learning_rate": training["learning_rate"], "momentum": 0.0, "clip": None,
                                "decay": 1.0},
            "network": self.network_settings(config, task),
            "snapshots": {"params": ["weight_hh"], "count": training["snapshots"]},
            "accept_val_loss": config["tasks"][task]["accept_val_loss"],
            "data_seed": config["tasks"][task]["data_seed"],
        }

    def check(self, config: dict) -> list[str]:
        section = config[self.section]
        problems = []
        model = section["model"]
        if model["dt_ms"] > model["tau_ms"]:
            problems.append(f"config key 'training_change.model.dt_ms' = {model['dt_ms']} exceeds tau_ms = "
                            f"{model['tau_ms']}: the leak α = dt/τ must be at most 1")
        analysis = section["analysis"]
        for task, net in section["tasks"].items():
            if analysis["latent_dim"] > net["units"]:
                problems.append(f"config key 'training_change.analysis.latent_dim' = {analysis['latent_dim']} "
                                f"exceeds the {net['units']} units of task {task!r}")
        if analysis["pca_prefilter"] is not None and analysis["pca_prefilter"] < max(analysis["dca_dims"] + [analysis["latent_dim"]]):
            problems.append("config key 'training_change.analysis.pca_prefilter' must be at least the largest "
                            "DCA dimension (dca_dims and latent_dim)")
        return problems

    # ------------------------------------------------------------------ analyses
    def pack_analyses(self, config: dict, task: str) -> list[PackAnalysis]:
        return [
            fixed_point_analysis(config, n_initial_states=config[self.section]["analysis"]["fixed_point_starts"],
                                 max_iters=config[self.section]["analysis"]["fixed_point_max_iters"]),
            PackAnalysis(
                name="training_change", outputs=("training_change.h5",), twins=False,
                command="training-change --task {params.task} --task-data {input.task_data} --models {input.models} "
                        "--out {output.training_change} --options {params.options:q}",
                options=lambda c: c[self.section]["analysis"],
                resources=Resources(mem_mb=4000, runtime=60),
            ),
        ]

    def _files(self, config: dict, name: str, twins: bool = False) -> list[str]:
        return [net_file(t, n.id, name) for t in self.trained_tasks(config) for p in self.packs(config, t)
                for n in (p.all_networks if twins else p.networks)]

    def jobs(self, config: dict) -> list[Job]:
        if not self.enabled(config):
            return []
        return [Job(
            name="training_change_summary",
            command="training-change-summary --changes {input.changes} --fixed-points {input.fixed_points} "
                    "--out {output.summary}",
            input={"changes": self._files(config, "training_change.h5"),
                   "fixed_points": self._files(config, "fixed_points.h5", twins=True)},
            output={"summary": SUMMARY}, resources=Resources(runtime=10),
            log=f"{RESULTS}/logs/training_change/summary.log",
        )]

    # ------------------------------------------------------------------ figures
    def declared_figures(self) -> list[Figure]:
        def inputs(config: dict) -> list[str]:
            return [SUMMARY, *self._files(config, "training_change.h5"), *self._files(config, "probe.h5", twins=True),
                    *self._files(config, "fixed_points.h5", twins=True),
                    *(f"{RESULTS}/{t}/task_data.h5" for t in self.trained_tasks(config))]

        def figure(function: str):
            def draw(root: Path, out_stem: str):
                from ..figures import training_change

                return getattr(training_change, function)(root, out_stem)
            return draw

        return [Figure(name, self.name, figure(f"figure_{name}"), inputs, caption) for name, caption in CAPTIONS.items()]


CAPTIONS = {
    "h_fig1_performance": """\
**Fig. 1 — task performance** (note Fig. 1): time-averaged output (after the grace period) of every
trained network on the validation trials, mean ± s.d. over networks: perception, output vs input
level; decision, output vs the input difference u1 − u2. The accuracy per network (nearest target
level) is in the legend and in ``summary.json``.""",
    "h_fig2_decision_latent": """\
**Fig. 2 — decision latent trajectories** (note Fig. 2): probe trajectories (isocontours: one input
varying, the other held) of one trained network and of its initialisation, in the 3-D DCA
projection of each, with the fixed point found per input condition.""",
    "h_fig3_perception_latent": """\
**Fig. 3 — perception latent trajectories** (note Fig. 3): probe trials whose input switches
between 0.5 and 0.8, for one network before and after training, in each one's 3-D DCA projection,
with the fixed points of the two input levels.""",
    "h_fig4_mean_weight": """\
**Fig. 4 — mean recurrent weight over training** (note Fig. 4): off-diagonal mean of W_rec at every
snapshot, every network (thin) and the population mean with its 95 % CI, per task.""",
    "h_fig6_pi_theta": """\
**Fig. 6 — predictive information as the ReLU becomes linear** (note Figs. 5–6): maximal
predictive information (DCA, latent dimension of the config) of trained networks and of their
initialisations, re-simulated on the probe set with a leaky ReLU of angle θ from 0 (ReLU) to
π/4 (linear); mean and 95 % CI over networks, per task.""",
    "h_fig7_weights_eigenvalues": """\
**Fig. 7 — weight and eigenvalue changes** (note Fig. 7): distribution of the changes of the
off-diagonal recurrent weights (pooled over networks, log counts); eigenvalues of W_rec before and
after training for one network per task, and the matched shift of each eigenvalue.""",
    "h_fig8_centrality": """\
**Fig. 8 — node centrality before vs after** (note Fig. 8): eigenvector centrality of |W_rec| (edges
j → i for W[i, j]) of every node at initialisation vs after training, pooled over networks, per
task; Spearman ρ and the share of top-decile nodes leaving the top decile in the panel titles.""",
    "h_fig9_dca_pre_post": """\
**Fig. 9 — DCA subspaces before vs after training** (note Fig. 9): principal angles between each
network's maximally predictive subspace at initialisation and after training, by dimension; mean
and 95 % CI over networks, per task.""",
    "h_fig10_condition_angles": """\
**Fig. 10 — subspaces of the two input conditions** (note Fig. 10): principal angles between the DCA
subspaces of the two input conditions (perception: the two levels; decision: u1 > u2 vs u1 < u2),
trained vs untrained; mean and 95 % CI over networks.""",
    "h_fig11_readout_angles": """\
**Fig. 11 — subspaces vs the readout** (note Fig. 11): angle between the readout vector W_out and
the DCA and PCA subspaces, trained vs untrained networks, per task; each point a network.""",
}
