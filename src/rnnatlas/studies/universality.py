"""Study U: universality and individuality (Maheswaranathan, Williams, Golub, Ganguli & Sussillo 2019).

Config section ``universality``. Every task in ``universality.tasks`` gets the grid of
architectures × nonlinearities × sizes × L2 × seeds (plus untrained twins where asked),
SGD-with-momentum training (optionally after a hyperparameter search per configuration cell),
fixed points, linearisation and fixed-point graphs per pack, a dynamics summary and a graph
distance per task, similarity matrices and embeddings, and the paper's figures.
"""

from __future__ import annotations

from pathlib import Path

from .analyses import fixed_point_analysis
from .base import RESULTS, Figure, Job, PackAnalysis, Resources, Study, net_file

SIMILARITY_FIGURE_METRIC = "svcca"  # the metric the paper's figures draw


class Universality(Study):
    name = "universality"
    title = "Universality"
    section = "universality"
    schema_file = "universality.schema.yaml"

    def trained_tasks(self, config: dict) -> list[str]:
        return list(config[self.section]["tasks"])

    def enabled(self, config: dict) -> bool:
        return bool(self.trained_tasks(config))

    def grid(self, config: dict, task: str) -> dict:
        return config[self.section]["grid"]

    def pack_size(self, config: dict, task: str) -> int:
        return config[self.section]["training"]["pack_size"]

    def wants_twin(self, config: dict, spec) -> bool:
        twins = config[self.section]["twins"]
        return spec.task in twins["tasks"] and spec.arch in twins["arch"] and spec.activation in twins["activation"]

    def training_settings(self, config: dict, task: str) -> dict:
        """SGD with momentum, exponential decay, per-network clipping (SPEC §4)."""
        training = config[self.section]["training"]
        hp = training["hyperparameters"]
        return {
            "iterations": training["iterations"][task],
            "batch_size": training["batch_size"],
            "eval_every": training["eval_every"],
            "optimizer": "sgd",
            "hyperparameters": hp.get(task, hp["default"]),
            "accept_val_loss": config["tasks"][task]["accept_val_loss"],
            "data_seed": config["tasks"][task]["data_seed"],
        }

    def search(self, config: dict, task: str) -> dict | None:
        search = config[self.section]["search"]
        return search if search["enabled"] else None

    def check(self, config: dict) -> list[str]:
        uni = config[self.section]
        problems = [f"'universality.training.iterations' has no entry for task {task!r}"
                    for task in uni["tasks"] if task not in uni["training"]["iterations"]]
        for name, (lo, hi) in uni["search"]["ranges"].items():
            if lo > hi:
                problems.append(f"config key 'universality.search.ranges.{name}' = {[lo, hi]}: lower bound above upper bound")
            if name in ("learning_rate", "clip") and lo <= 0:
                problems.append(f"config key 'universality.search.ranges.{name}' = {[lo, hi]}: log-uniform range needs bounds > 0")
        if not config["similarity"]["metrics"]:
            from ..similarity import METRICS

            problems.append("config key 'similarity.metrics' is empty: this study's figures and summary compare "
                            f"networks by them; allowed: a list of {', '.join(map(repr, METRICS))}")
        problems += self._check_dsa(config)
        iterations = [uni["training"]["iterations"][t] for t in uni["tasks"] if t in uni["training"]["iterations"]]
        if uni["search"]["enabled"] and iterations and uni["search"]["min_iterations"] > min(iterations):
            problems.append("config key 'universality.search.min_iterations' exceeds the training iterations")
        return problems

    def _check_dsa(self, config: dict) -> list[str]:
        """DSA's delay embedding needs probe trials longer than ``similarity.dsa.n_delays``."""
        from ..config import task_params
        from ..similarity.names import DYNAMICS_METRICS
        from ..tasks import make_task

        if not set(config["similarity"]["metrics"]) & set(DYNAMICS_METRICS):
            return []
        n_delays = config["similarity"]["dsa"]["n_delays"]
        problems = []
        for task in self.similarity_tasks(config):
            try:
                steps = int(make_task(task, task_params(config, task)).probe_set().batch.inputs.shape[0])
            except (KeyError, TypeError, ValueError):  # a bad task section has its own message
                continue
            if n_delays >= steps:
                problems.append(f"config key 'similarity.dsa.n_delays' = {n_delays}: task {task!r} has probe "
                                f"trials of {steps} steps; allowed: at most {steps - 1} delays")
        return problems

    # ------------------------------------------------------------------ analyses
    def pack_analyses(self, config: dict, task: str) -> list[PackAnalysis]:
        return [fixed_point_analysis(config)]

    def similarity_tasks(self, config: dict) -> list[str]:
        return self.trained_tasks(config)

    def _network_files(self, config: dict, task: str, name: str) -> list[str]:
        return [net_file(task, n.id, name) for p in self.packs(config, task) for n in p.all_networks]

    def jobs(self, config: dict) -> list[Job]:
        jobs = []
        for task in self.trained_tasks(config):
            jobs.append(Job(
                name=f"dynamics_summary_{task}",
                command="dynamics-summary --task {params.task} --task-data {input.task_data} "
                        "--fixed-points {input.fixed_points} --graphs {input.graphs} --out {output.summary}",
                input={"task_data": f"{RESULTS}/{task}/task_data.h5",
                       "fixed_points": self._network_files(config, task, "fixed_points.h5"),
                       "graphs": self._network_files(config, task, "graph.h5")},
                output={"summary": f"{RESULTS}/{task}/dynamics_summary.json"},
                params={"task": task}, log=f"{RESULTS}/logs/dynamics_summary/{task}.log",
            ))
            jobs.append(Job(
                name=f"graph_distance_{task}",
                command="similarity-graph --task {params.task} --graphs {input.graphs} --out {output.pairwise}",
                input={"graphs": self._network_files(config, task, "graph.h5")},
                output={"pairwise": f"{RESULTS}/{task}/pairwise/graph.nc"},
                params={"task": task}, resources=Resources(runtime=30),
                log=f"{RESULTS}/logs/similarity/{task}/graph.log",
            ))
        if self._figures_possible(config):
            tasks = self.trained_tasks(config)
            jobs.append(Job(
                name="universality_summary",
                command="universality-summary --results {params.results} --metrics {params.metrics} "
                        "--out {output.summary}",
                input={"files": [f for t in tasks for f in self.task_result_files(config, t)],
                       "matrices": [f"{RESULTS}/{t}/{kind}/{m}.nc" for t in tasks for kind in ("pairwise", "embedding")
                                    for m in [*config["similarity"]["metrics"], "graph"]]},
                output={"summary": f"{RESULTS}/universality/summary.json"},
                # the config's metrics only: a matrix an earlier config left on disk is not summarised
                params={"results": RESULTS, "metrics": " ".join([*config["similarity"]["metrics"], "graph"])},
                log=f"{RESULTS}/logs/figures/universality_summary.log",
            ))
        return jobs

    def targets(self, config: dict) -> list[str]:
        return [f"{RESULTS}/{t}/embedding/graph.nc" for t in self.trained_tasks(config)]

    # ------------------------------------------------------------------ figures
    def task_result_files(self, config: dict, task: str) -> list[str]:
        """Every file a figure of ``task`` may read."""
        files = [f"{RESULTS}/{task}/{name}" for name in ("task_data.h5", "training_summary.csv", "dynamics_summary.json")]
        files += [f"{RESULTS}/{task}/{kind}/{m}.nc" for kind in ("pairwise", "embedding")
                  for m in (SIMILARITY_FIGURE_METRIC, "graph")]
        for name in ("model.h5", "probe.h5", "fixed_points.h5", "graph.h5"):
            files += self._network_files(config, task, name)
        return files

    def _figures_possible(self, config: dict) -> bool:
        """The paper's figures need all three tasks and SVCCA; other configs skip them."""
        tasks = self.trained_tasks(config)
        return all(t in tasks for t in PAPER_TASKS) and SIMILARITY_FIGURE_METRIC in config["similarity"]["metrics"]

    def figures(self, config: dict) -> list[Figure]:
        return self.declared_figures() if self._figures_possible(config) else []

    def declared_figures(self) -> list[Figure]:
        def inputs(*tasks):
            return lambda config: [f for t in tasks for f in self.task_result_files(config, t)]

        def task_figure(function: str, task: str):
            def draw(root: Path, out_stem: str):
                from .. import figures

                return getattr(figures, function)(root / task, out_stem)
            return draw

        def losses(root: Path, out_stem: str):
            from ..figures import figure_losses

            return figure_losses({t: root / t for t in PAPER_TASKS}, out_stem)

        def metrics(root: Path, out_stem: str):
            from ..figures.metrics import figure_metrics

            return figure_metrics({t: root / t for t in PAPER_TASKS}, root / "universality" / "summary.json", out_stem)

        def summary_and_embeddings(config: dict) -> list[str]:
            embeddings = [f"{RESULTS}/{t}/embedding/{m}.nc" for t in PAPER_TASKS
                          for m in [*config["similarity"]["metrics"], "graph"]]
            networks = [f"{RESULTS}/{t}/training_summary.csv" for t in PAPER_TASKS]
            return [f"{RESULTS}/universality/summary.json", *embeddings, *networks]

        return [
            Figure("fig1_flipflop", self.name, task_figure("figure_flipflop", "flipflop"), inputs("flipflop"), CAPTIONS["fig1_flipflop"]),
            Figure("fig2_sine", self.name, task_figure("figure_sine", "sine"), inputs("sine"), CAPTIONS["fig2_sine"]),
            Figure("fig3_cdi", self.name, task_figure("figure_cdi", "cdi"), inputs("cdi"), CAPTIONS["fig3_cdi"]),
            Figure("fig4_untrained", self.name, task_figure("figure_untrained", "cdi"), inputs("cdi"), CAPTIONS["fig4_untrained"]),
            Figure("loss_histograms", self.name, losses, inputs(*PAPER_TASKS), CAPTIONS["loss_histograms"]),
            Figure("metrics_comparison", self.name, metrics, summary_and_embeddings, CAPTIONS["metrics_comparison"]),
        ]


PAPER_TASKS = ("flipflop", "sine", "cdi")

CAPTIONS = {
    "fig1_flipflop": """\
**Fig. 1 — 3-bit flip-flop.** Example inputs and outputs; PCA trajectories of the probe set per
architecture and nonlinearity; SVCCA distance matrix ordered by configuration; MDS of SVCCA
distances coloured by architecture (tanh networks) and by nonlinearity (Vanilla networks); one
network's fixed points in PCA space coloured by their number of unstable directions, with its
transition graph; MDS of fixed-point-graph distances, same colourings. Accepted trained networks
only; networks per panel and those set aside (with the reason) are in
``fig1_flipflop.counts.json`` next to the figure.""",
    "fig2_sine": """\
**Fig. 2 — frequency-cued sine wave.** PCA trajectories coloured by command frequency; SVCCA MDS;
one network's fixed point per command and the eigenvalues of all its linearisations with the
unit circle; MDS of graph distances; linearised oscillation frequency ``|arg λ| / 2π`` vs command
frequency, mean ± s.e. over networks, by architecture and by nonlinearity. Counts per panel and
networks set aside: ``fig2_sine.counts.json``.""",
    "fig3_cdi": """\
**Fig. 3 — context-dependent integration.** Probe trajectories with the line-attractor points;
SVCCA MDS; MDS of nearest-neighbour graph distances along the line attractor; sorted ``|λ|`` at the
line points by architecture (mean ± s.e.); readout response of the linearised system to a unit
pulse on the cued stream vs the number of modes kept. Counts per panel and networks set aside:
``fig3_cdi.counts.json``.""",
    "fig4_untrained": """\
**Fig. 4 — trained vs untrained.** SVCCA between trained Vanilla networks and their untrained
twins (their initialisations) on the CDI probe inputs, tanh and ReLU: example networks, MDS of the
four groups and mean distances between groups. Counts: ``fig4_untrained.counts.json``.""",
    "loss_histograms": """\
**Loss histograms** (paper appendix C): final validation loss of every trained network per task,
by architecture, with the acceptance threshold; diverged networks are counted in the panel.
Counts: ``loss_histograms.counts.json``.""",
    "metrics_comparison": """\
**Geometry, dynamics and topology side by side.** For each task, the 2-D MDS of every distance
(columns: the configured similarity metrics — SVCCA, CKA, Procrustes shape distance, DSA — and the
fixed-point graph distance) over accepted trained networks: tanh networks coloured by architecture
(upper row of a task) and Vanilla networks by nonlinearity (lower row). Each panel gives the
grouping's silhouette on the distance matrix and its permutation p-value (labels shuffled 1,000
times), as in ``results/universality/summary.json`` (``paper_subsets``). The 2019 paper's thesis:
geometry separates architectures, the fixed-point topology does not; DSA compares the dynamics
directly. Counts: ``metrics_comparison.counts.json``.""",
}
