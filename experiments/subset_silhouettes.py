"""Paper-style silhouettes of a finished run under other similarity settings, without retraining.

For each task of a results folder: the accepted trained networks' probe states, the distance
matrix of each metric under each setting asked for (e.g. SVCCA's kept variance), and the
silhouettes of Maheswaranathan et al.'s groupings (architecture among tanh networks,
nonlinearity among Vanilla networks, pooled) on the matrix with permutation p-values — the
numbers `results/universality/summary.json` reports under `paper_subsets`, for settings the run
did not use. Prints one Markdown table row per task × metric × setting.

    python experiments/subset_silhouettes.py --results results --tasks flipflop cdi \
        --metric svcca --variance 0.9 0.95 0.99

With ``--probe-trials N`` (and optionally ``--probe-seed S``) the networks are probed again on
a new probe set of N trials drawn from that seed (the task's parameters otherwise as the run's
``task_data.h5``), instead of reading their ``probe.h5``: the probe-set factor, still without
retraining. (Tasks whose probe set is a fixed grid ignore the trial count.)
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import numpy as np
import pandas as pd


def accepted_probes(results: Path, task: str) -> list[str]:
    table = pd.read_csv(results / task / "training_summary.csv")
    keep = table[table.trained & table.accepted]
    return [str(results / task / "nets" / net / "probe.h5") for net in keep.net_id]


def reprobed_hidden(results: Path, task: str, trials: int, seed: int | None,
                    trajectories: bool) -> tuple[list[str], list[np.ndarray]]:
    """Accepted networks' hidden states on a new probe set (unit RMS, as load_hidden scales them)."""
    import torch

    from rnnatlas.stages.similarity import _unit_rms
    from rnnatlas.store.model_file import population_from_records, read_model
    from rnnatlas.store.task_data import read_task_data
    from rnnatlas.tasks import make_task

    params = read_task_data(results / task / "task_data.h5", task).task.params()
    params = {**params, "n_probe_trials": trials, **({} if seed is None else {"probe_seed": seed})}
    inputs = make_task(task, params).probe_set().batch.inputs
    records = [read_model(Path(p).with_name("model.h5")) for p in accepted_probes(results, task)]
    ids, reps = [], []
    shape = lambda r: (r.spec.arch, r.spec.activation, r.spec.units)  # noqa: E731
    for key in sorted({shape(r) for r in records}):
        group = [r for r in records if shape(r) == key]
        with torch.no_grad():
            _, states = population_from_records(group)(inputs, return_states=True)
        hidden = states[..., : group[0].spec.units].transpose(1, 2).numpy().astype(np.float64)  # [K, B, T, N]
        for r, h in zip(group, hidden):
            ids.append(r.config["net_id"])
            scaled = _unit_rms(h.reshape(-1, h.shape[-1]))
            reps.append(scaled.reshape(h.shape) if trajectories else scaled)
    return ids, reps


def subset_rows(results: Path, task: str, metric: str, options: dict, permutations: int,
                probe: tuple[int, int | None] | None = None) -> dict:
    from rnnatlas.figures.summary import subset_tests
    from rnnatlas.ids import parse_network_id
    from rnnatlas.runtime import pick_device
    from rnnatlas.similarity.names import DYNAMICS_METRICS
    from rnnatlas.stages.similarity import compute_tile, load_hidden, prepare_chunk

    trajectories = metric in DYNAMICS_METRICS
    if probe is None:
        ids, reps, _ = load_hidden(task, accepted_probes(results, task), trajectories=trajectories)
    else:
        ids, reps = reprobed_hidden(results, task, probe[0], probe[1], trajectories)
    prep = prepare_chunk(task, metric, reps, options, pick_device("cpu"))
    distance = np.asarray(compute_tile(metric, prep, None, options), dtype=float)
    specs = [parse_network_id(i, task) for i in ids]
    tests = subset_tests(distance, None, [s.arch for s in specs], [s.activation for s in specs], permutations)
    return {"n": len(ids), **{name: entry["distance"] for name, entry in tests.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=Path("results"))
    parser.add_argument("--tasks", nargs="+", default=["flipflop", "sine", "cdi"])
    parser.add_argument("--metric", nargs="+", default=["svcca"])
    parser.add_argument("--variance", type=float, nargs="+", default=[0.99], help="SVCCA's kept variance fraction(s)")
    parser.add_argument("--permutations", type=int, default=1000)
    parser.add_argument("--probe-trials", type=int, help="probe the networks again on this many new trials")
    parser.add_argument("--probe-seed", type=int, help="seed of the new probe set (default: the run's)")
    args = parser.parse_args()
    from rnnatlas.runtime import set_threads

    set_threads(1)
    print("| task | metric | svcca variance | networks | arch among tanh (p) | nonlinearity among Vanilla (p) | arch pooled (p) |")
    print("|---|---|---|---|---|---|---|")
    for task, metric, variance in itertools.product(args.tasks, args.metric, args.variance):
        probe = None if args.probe_trials is None else (args.probe_trials, args.probe_seed)
        rows = subset_rows(args.results, task, metric, {"variance": variance}, args.permutations, probe)
        cell = lambda e: "—" if e["silhouette"] is None else f"{e['silhouette']:.2f} ({e['p_value']:.3f}, n={e['n']})"  # noqa: E731
        print(f"| {task} | {metric} | {variance} | {rows['n']} | "
              f"{cell(rows['architecture_among_tanh'])} | {cell(rows['nonlinearity_among_vanilla'])} | "
              f"{cell(rows['architecture_pooled'])} |", flush=True)


if __name__ == "__main__":
    main()
