"""Study S: the space of solutions (Turner, Dabholkar & Barak 2021, supplement).

Config section ``space_of_solutions`` (off with ``enabled: false``). Two parts: populations of
2-D continuous-time RNNs (one ``toy2d`` job per nonlinearity: training and solution types),
and Ready-Set-Go networks trained by the generic train/probe rules (Adam over true epochs of
a fixed training set), whose neural and topological features are computed per pack, then
classified; four figures.
"""

from __future__ import annotations

from pathlib import Path

from .base import RESULTS, Figure, Job, PackAnalysis, Resources, Study, net_file

SUMMARY_DIR = f"{RESULTS}/space_of_solutions"
RSG = "rsg"


def toy2d_file(activation: str) -> str:
    return f"{RESULTS}/toy2d/{activation}/solutions.h5"


class SpaceOfSolutions(Study):
    name = "space_of_solutions"
    title = "Space of solutions"
    section = "space_of_solutions"
    schema_file = "space_of_solutions.schema.yaml"

    def enabled(self, config: dict) -> bool:
        return bool(config[self.section]["enabled"])

    def trained_tasks(self, config: dict) -> list[str]:
        return [RSG] if self.enabled(config) else []

    def grid(self, config: dict, task: str) -> dict:
        return config[self.section][task]["grid"]

    def pack_size(self, config: dict, task: str) -> int:
        return config[self.section][task]["training"]["pack_size"]

    def training_settings(self, config: dict, task: str) -> dict:
        """Supplement §2.1.3: Adam over true epochs of the fixed training set, learning rate
        decaying exponentially from ``learning_rate`` to ``final_learning_rate``, each network
        stopping once its mean MSE over an epoch is below ``stop_loss``."""
        training = config[self.section][task]["training"]
        n_train = config["tasks"][task]["n_train"]
        per_epoch = -(-n_train // training["batch_size"])
        iterations = training["epochs"] * per_epoch
        return {
            "iterations": iterations,
            "batch_size": training["batch_size"],
            "eval_every": max(1, iterations // 10),
            "optimizer": "adam",
            "sampling": "epochs",
            "stop_loss": training["stop_loss"],
            "hyperparameters": {"learning_rate": training["learning_rate"], "momentum": 0.0, "clip": training["clip"],
                                "decay": training["final_learning_rate"] / training["learning_rate"]},
            "accept_val_loss": config["tasks"][task]["accept_val_loss"],
            "data_seed": config["tasks"][task]["data_seed"],
        }

    # ------------------------------------------------------------------ analyses
    def pack_analyses(self, config: dict, task: str) -> list[PackAnalysis]:
        return [PackAnalysis(
            name="rsg_features", outputs=("features.h5",), twins=False,
            command="rsg-features --task-data {input.task_data} --models {input.models} --out {output.features} "
                    "--options {params.options:q}",
            options=lambda c: c[self.section][RSG]["topology"],
            resources=Resources(mem_mb=4000, runtime=60),
        )]

    def _features(self, config: dict) -> list[str]:
        return [net_file(RSG, n.id, "features.h5") for p in self.packs(config, RSG) for n in p.networks]

    def _activations(self, config: dict) -> list[str]:
        return list(config[self.section]["toy2d"]["activations"])

    def jobs(self, config: dict) -> list[Job]:
        if not self.enabled(config):
            return []
        toy2d = config[self.section]["toy2d"]
        jobs = [Job(
            name=f"toy2d_{activation}",
            command="toy2d --activation {params.activation} --settings {params.settings:q} --out {output.solutions}",
            output={"solutions": toy2d_file(activation)},
            params={"activation": activation, "settings": toy2d},
            resources=Resources(threads=config["threads"]["train"], mem_mb=4000, runtime=120, gpu=True),
            log=f"{RESULTS}/logs/toy2d/{activation}.log",
        ) for activation in self._activations(config)]
        jobs.append(Job(
            name="space_of_solutions_summary",
            command="space-of-solutions-summary --toy2d {input.toy2d} --features {input.features} "
                    "--classifier {params.classifier:q} --out-json {output.json} --out-csv {output.csv}",
            input={"toy2d": [toy2d_file(a) for a in self._activations(config)], "features": self._features(config)},
            output={"json": f"{SUMMARY_DIR}/summary.json", "csv": f"{SUMMARY_DIR}/rsg_features.csv"},
            params={"classifier": config[self.section][RSG]["classifier"]}, resources=Resources(runtime=20),
            log=f"{RESULTS}/logs/space_of_solutions/summary.log",
        ))
        return jobs

    # ------------------------------------------------------------------ atlas
    def atlas_sections(self, config: dict) -> list:
        """The RSG networks (with their features and solution class), and each 2-D population
        placed by the trace and determinant of its linearisation at the origin (Fig. 2's plane)."""
        from ..atlas.sections import AtlasSection

        populations = [AtlasSection(study=self.name, study_title=self.title, task="toy2d", label=f"toy2d_{a}",
                                    population={"reader": "toy2d", "path": toy2d_file(a)})
                       for a in self._activations(config)] if self.enabled(config) else []
        return [*super().atlas_sections(config), *populations]

    # ------------------------------------------------------------------ figures
    def declared_figures(self) -> list[Figure]:
        def inputs(config: dict) -> list[str]:
            return [*(toy2d_file(a) for a in self._activations(config)),
                    f"{SUMMARY_DIR}/summary.json", f"{SUMMARY_DIR}/rsg_features.csv"]

        def toy2d_figure(function: str):
            def draw(root: Path, out_stem: str):
                from ..figures import toy2d
                from ..figures.io import read_json

                # the populations the summary job read (those of the current config), never
                # whatever folders an earlier config left under results/toy2d/
                named = (read_json(root / "space_of_solutions" / "summary.json") or {}).get("toy2d", {})
                order = sorted(named, key=lambda a: (a != "tanh", a))  # the main text's φ first
                return getattr(toy2d, function)({a: root / "toy2d" / a / "solutions.h5" for a in order}, out_stem)
            return draw

        def rsg_features(root: Path, out_stem: str):
            from ..figures import rsg

            summary = root / "space_of_solutions"
            return rsg.figure_rsg_features(summary / "rsg_features.csv", summary / "summary.json", out_stem)

        def rsg_classes(root: Path, out_stem: str):
            from ..figures import rsg

            return rsg.figure_rsg_classes(root / "space_of_solutions" / "summary.json", out_stem)

        return [
            Figure("toy2d_trajectories", self.name, toy2d_figure("figure_toy2d_trajectories"), inputs, CAPTIONS["toy2d_trajectories"]),
            Figure("toy2d_trace_det", self.name, toy2d_figure("figure_toy2d_trace_det"), inputs, CAPTIONS["toy2d_trace_det"]),
            Figure("rsg_features", self.name, rsg_features, inputs, CAPTIONS["rsg_features"]),
            Figure("rsg_classes", self.name, rsg_classes, inputs, CAPTIONS["rsg_classes"]),
        ]


CAPTIONS = {
    "toy2d_trajectories": """\
**2-D RNN solutions** (supplement Fig. 1, main text Fig. 1–2): phase-plane trajectories of example
accepted solutions of ``dx/dt = −x + W φ(x)`` for each nonlinearity, coloured by solution type
(stable origin, transient amplification, non-zero fixed points, limit cycle, divergence), from the
start to well past the task's end. Counts per type: ``toy2d_trajectories.counts.json``.""",
    "toy2d_trace_det": """\
**Trace and determinant of 2-D solutions** (supplement Fig. 2): 2-D histogram of the determinant Δ
(x) and trace τ (y) of the linearisation at the origin, W − I, over accepted networks, tanh vs
ReLU; stable origins (τ < 0, Δ > 0) are the bottom-right quadrant, the parabola τ² = 4Δ separates
nodes from spirals. Counts: ``toy2d_trace_det.counts.json``.""",
    "rsg_features": """\
**Ready-Set-Go neural features** (supplement Fig. 4): density histogram of every neural feature per
architecture, over the networks the classification uses (see ``summary.json``, ``networks_used``).
Non-finite values are counted, not drawn: ``rsg_features.counts.json``.""",
    "rsg_classes": """\
**Ready-Set-Go solution classes** (supplement Fig. 6): distribution of the topological classes
(bits A–E) per architecture and combined; normalised confusion matrices (mean ± s.e. over 50 random
70/30 splits) of a decision tree predicting the class from the neural features, with Cohen's κ.
Classes with too few members are N/A. Counts: ``rsg_classes.counts.json``.""",
}
