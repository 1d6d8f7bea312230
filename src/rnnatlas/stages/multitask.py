"""Stage ``multitask``: the task analyses of a pack of study-M networks (Yang et al. 2019; seed 003).

For every trained network of the pack, as one population:

- performance per rule on noise-free test trials with random timings (the reference's
  criterion), at the end of training and at every parameter snapshot (performance over
  training);
- task variance per unit and rule, task vectors and the compositionality cosine
  (:mod:`rnnatlas.representation`), on the noise-free probe trials (the reference's test mode);
- fixed and slow points per task epoch: each (rule, epoch, angle) condition's constant input,
  searched from that epoch's probe states (:func:`rnnatlas.dynamics.population_analysis.search_population`,
  the batched finder), linearised; then the speed q along every probe trajectory and how close
  the trajectory under each input comes to the points found under it.

Writes ``fixed_points.h5`` (the format of every study) and ``multitask.h5`` per network.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from ..dynamics.population_analysis import probe_states, search_population
from ..dynamics.trajectory import trajectory_speed
from ..errors import InputError
from ..models import RNNPopulation
from ..representation import compositionality, rule_variance, task_vectors
from ..runtime import pick_device, stable_seed
from ..store.model_file import ModelRecord, population_from_records
from ..store.multitask_file import write_multitask
from ..tasks.go_family import GoFamily, performance
from .common import finite_networks, log, read_pack
from .fixed_points import DEFAULTS as DYNAMICS_DEFAULTS, write_points, write_unanalysed_points

# Options (config section multitask.analysis; config/README.md).
DEFAULTS = {
    "performance_trials": 128,  # noise-free random-timing test trials per rule
    "fixed_point_starts": 1024,  # per network, split over the conditions (at least 8 each)
    "fixed_point_max_iters": 2000,
    "fixed_point_noise": 0.05,  # std of the noise added to each start taken from a probe state
    "seed": 0,
    "dynamics": {},  # the config's dynamics section (fixed-point search options; the keys above override)
}


def performance_trials(task: GoFamily, n_per_rule: int, seed: int):
    """Per rule, ``n_per_rule`` noise-free trials in batches sharing a timing (as in training),
    the same for every network: a list of (rule, batch)."""
    gen = torch.Generator().manual_seed(stable_seed(task.name, "performance", seed))
    out = []
    for rule in task.rules:
        one = GoFamily(rules=[rule], validation_batch=task.validation_batch)
        out.append((rule, one.validation_set(n_per_rule, gen)))
    return out


@torch.no_grad()
def rule_performance(pop: RNNPopulation, trials) -> np.ndarray:
    """``[K, R]``: share of correct trials per network and rule."""
    out = []
    for _, batch in trials:
        outputs, _ = pop(batch.inputs.to(pop.params["weight_hh"]))
        out.append(performance(outputs, batch.targets, batch.mask).mean(-1).cpu().numpy())
    return np.stack(out, axis=1)


def performance_over_training(records: list[ModelRecord], trials, device) -> tuple[np.ndarray, np.ndarray]:
    """(snapshot iterations ``[S]``, performance ``[K, S, R]``); NaN where a network has fewer
    snapshots (it stopped early) or its snapshots lack a parameter."""
    lengths = [len(r.snapshots.get("iterations", [])) for r in records]
    n = max(lengths) if lengths else 0
    iterations = next((r.snapshots["iterations"] for r in records if len(r.snapshots.get("iterations", [])) == n),
                      np.zeros(0, dtype=np.int64))
    out = np.full((len(records), n, len(trials)), np.nan)
    names = set(records[0].params)
    for s in range(n):
        have = [k for k, r in enumerate(records) if lengths[k] > s and names <= set(r.snapshots)]
        if not have:
            continue
        params = [{name: torch.from_numpy(np.asarray(records[k].snapshots[name][s])) for name in names} for k in have]
        r0 = records[have[0]]
        pop = RNNPopulation.from_network_params(r0.spec.arch, r0.spec.activation, params,
                                                readout=r0.config.get("readout", "linear"), device=device,
                                                alpha=r0.spec.alpha)
        out[have, s] = rule_performance(pop, trials)
    return np.asarray(iterations, dtype=np.int64), out


def epoch_rows(task: GoFamily) -> list[tuple[str, str]]:
    """The (rule, epoch) pairs the per-epoch statistics are reported for, in rule order."""
    return [(rule, epoch) for rule in task.rules for epoch in task.test_timing(rule).epochs()]


def trial_epoch_steps(task: GoFamily, labels: dict[str, np.ndarray], epochs: list[tuple[str, str]]) -> np.ndarray:
    """``[B, T]``: the row of :func:`epoch_rows` each probe step belongs to (−1 after the end)."""
    row = {key: i for i, key in enumerate(epochs)}
    out = np.full((len(labels["rule"]), max(task.test_timing(r).end for r in task.rules)), -1, dtype=np.int64)
    for b, rule in enumerate(np.asarray(labels["rule"]).astype(str)):
        for epoch, (start, stop) in task.test_timing(rule).epochs().items():
            out[b, start:stop] = row[(rule, epoch)]
    return out


def epoch_statistics(states: np.ndarray, q_traj: np.ndarray, step_condition: np.ndarray, trial_epochs: np.ndarray,
                     n_epochs: int, pts, fixed: np.ndarray, stable: np.ndarray) -> dict[str, np.ndarray]:
    """Per (rule, epoch) row of one network: the points found under the epoch's inputs (``n_fixed``,
    ``n_stable``, ``n_slow``, ``min_q``: summed or lowest over the epoch's ``n_conditions``
    conditions; ``n_conditions_with_fixed`` / ``_with_stable``: how many of them have a fixed /
    stable fixed point), and over its probe trials (medians over trials): ``closest_fixed`` / ``closest_any``, the smallest distance
    from the trial's steps in the epoch to a fixed point / any point of the trial's own condition
    (trials whose input is no condition's are left out), ``trajectory_min_q`` (the lowest speed in
    the epoch) and ``trajectory_end_q`` (the speed at its last step)."""
    out = {name: np.full(n_epochs, np.nan) for name in ("min_q", "closest_fixed", "closest_any", "trajectory_min_q",
                                                        "trajectory_end_q")}
    for name in ("n_conditions", "n_fixed", "n_stable", "n_slow", "n_conditions_with_fixed", "n_conditions_with_stable"):
        out[name] = np.zeros(n_epochs, dtype=np.int64)
    for e in range(n_epochs):
        in_epoch = trial_epochs == e
        conds = np.unique(step_condition[in_epoch & (step_condition >= 0)])
        on = np.isin(pts.condition, conds)
        out["n_conditions"][e] = len(conds)
        out["n_conditions_with_fixed"][e] = len(np.intersect1d(conds, pts.condition[fixed]))
        out["n_conditions_with_stable"][e] = len(np.intersect1d(conds, pts.condition[stable]))
        out["n_fixed"][e], out["n_stable"][e], out["n_slow"][e] = (on & fixed).sum(), (on & stable).sum(), (on & ~fixed).sum()
        if on.any():
            out["min_q"][e] = float(pts.q[on].min())
        closest = {"closest_fixed": [], "closest_any": []}
        lows, ends = [], []
        for b in np.flatnonzero(in_epoch.any(1)):
            steps = np.flatnonzero(in_epoch[b])
            lows.append(np.nanmin(q_traj[b, steps]))
            ends.append(q_traj[b, steps[-1]])
            c = step_condition[b, steps[0]]
            if c < 0:
                continue
            for name, sel in (("closest_fixed", fixed), ("closest_any", np.ones_like(fixed))):
                mine = pts.h[sel & (pts.condition == c)]
                if len(mine):
                    d = np.sqrt(((states[b, steps][:, None, :] - mine[None]) ** 2).sum(-1)).min()
                    closest[name].append(float(d))
        out["trajectory_min_q"][e], out["trajectory_end_q"][e] = np.nanmedian(lows), np.nanmedian(ends)
        for name, values in closest.items():
            if values:
                out[name][e] = float(np.median(values))
    return out


def run(task: str, task_data_path: str, model_paths: list[str], fp_paths: list[str], out_paths: list[str],
        options: dict, device_name: str = "auto") -> None:
    if not (len(model_paths) == len(fp_paths) == len(out_paths)):
        raise InputError(f"{len(model_paths)} model files, {len(fp_paths)} fixed-point and {len(out_paths)} output paths")
    unknown = sorted(set(options) - set(DEFAULTS))
    if unknown:
        raise ValueError(f"unknown multitask analysis option(s) {unknown}; allowed: {sorted(DEFAULTS)}")
    opts = {**DEFAULTS, **options}
    dyn = {**DYNAMICS_DEFAULTS, **opts["dynamics"], "n_initial_states": opts["fixed_point_starts"],
           "max_iters": opts["fixed_point_max_iters"], "noise_scale": opts["fixed_point_noise"]}
    device = pick_device(device_name)
    data, records = read_pack(task, task_data_path, model_paths)
    if not isinstance(data.task, GoFamily):
        raise ValueError(f"stage multitask analyses Go-family tasks, not {task!r}")
    usable = finite_networks(records)
    for k in sorted(set(range(len(records))) - set(usable)):
        reason = "parameters are not finite (training diverged)"
        write_unanalysed_points(records[k], fp_paths[k], data, reason)
        write_multitask(out_paths[k], records[k].config, {"rules": np.asarray(data.task.rules),
                                                          "performance": np.full(len(data.task.rules), np.nan)},
                        {"analysed": False, "reason": reason, "accepted": records[k].accepted, "options": opts})
    if not usable:
        return
    t0 = time.time()
    recs = [records[k] for k in usable]
    ids = [r.spec.id for r in recs]
    pop = population_from_records(recs, dtype=torch.float32, device=device)
    pop64 = population_from_records(recs, dtype=torch.float64, device=device)
    rules = list(data.task.rules)
    trials = performance_trials(data.task, opts["performance_trials"], opts["seed"])
    final_perf = rule_performance(pop, trials)
    snap_iterations, perf_over = performance_over_training(recs, trials, device)
    t_perf = time.time() - t0

    probe, labels = data.probe.batch, data.probe.labels
    states = probe_states(pop, probe.inputs)  # [K, B, T, S]
    gen = torch.Generator().manual_seed(stable_seed(data.task.name, "multitask_fixed_points", opts["seed"], *ids))
    points, result, checks = search_population(pop, pop64, data.task, labels, data.conditions, states, dyn, gen)
    t_search = time.time() - t0 - t_perf
    speed = trajectory_speed(pop64, states.double(), probe.inputs.double()).cpu().numpy()  # [K, B, T]
    ends = np.asarray(labels["end"])
    after_end = np.arange(speed.shape[-1])[None, :] >= ends[:, None]
    step_condition = data.task.probe_conditions(labels)
    hidden = states[..., : pop.n_units].cpu().numpy().astype(np.float64)

    epochs = epoch_rows(data.task)
    trial_epochs = trial_epoch_steps(data.task, labels, epochs)
    for j, k in enumerate(usable):
        pts = points[j]
        fixed = ~result.for_network(j).is_slow.cpu().numpy()
        stable = fixed & (pts.n_unstable == 0)
        q_traj = np.where(after_end, np.nan, speed[j])
        h = states[j].cpu().numpy().astype(np.float64)
        within = h[~after_end]  # the probe states of every trial up to its end
        scale = float(np.sqrt(((within - within.mean(0)) ** 2).sum(1).mean()))
        vectors = task_vectors(hidden[j], labels, rules)
        per_epoch = epoch_statistics(h, q_traj, step_condition, trial_epochs, len(epochs), pts, fixed, stable)
        arrays = {
            "rules": np.asarray(rules), "performance": final_perf[j],
            "performance_iterations": snap_iterations, "performance_over_training": perf_over[j],
            "task_variance": rule_variance(hidden[j], labels, rules), "task_vectors": vectors,
            "epoch_rule": np.asarray([r for r, _ in epochs]), "epoch_name": np.asarray([e for _, e in epochs]),
            **per_epoch, "trajectory_q": q_traj,
        }
        base = {"accepted": records[k].accepted, "analysed": True, "reason": ""}
        write_points(fp_paths[k], records[k], pts, result, j, {**base, "options": dyn,
                                                               "attractors": checks[j].as_attrs()},
                     dyn["store_eigenvectors"])
        write_multitask(out_paths[k], records[k].config, arrays,
                        {**base, "activity_scale": scale, "compositionality": compositionality(vectors, rules),
                         "options": opts})
        log.info("%s %s: performance %s; %s; fixed points in %d of %d epochs", task, records[k].spec.id,
                 " ".join(f"{r} {p:.2f}" for r, p in zip(rules, final_perf[j])), result.summary(j),
                 int((per_epoch["n_fixed"] > 0).sum()), len(epochs))
    log.info("%s: analysed %d networks in %.1f s (performance %.1f s, fixed points %.1f s)", task, len(usable),
             time.time() - t0, t_perf, t_search)
