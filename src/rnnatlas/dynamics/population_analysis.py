"""Fixed points of a whole population at once, linearised: the science behind the fixed-point stage.

Starts come from each network's own probe trajectories, per static condition x*: sampled
states plus noise, and the end states of forward runs from sampled states under x* (so every
attractor the network's own dynamics reach has a start in its basin). All are searched
together (:func:`find_fixed_points`: each start stops on its own), polished in float64 with
the cells' Jacobians, then linearised (eigendecomposition, input Jacobian, stability). Slow
points get the class ``"slow"`` and ``n_unstable = -1``: stability is a property of fixed
points only. Each forward run that settled is then checked: did its start end at a stable
fixed point? (:class:`AttractorCheck`). The stage only reads files, calls
:func:`search_population` and the task's graph kind (:mod:`rnnatlas.dynamics.graph_kinds`),
and writes files.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from .fixed_points import FixedPointResult, find_fixed_points, sample_initial_states
from .linearize import eigendecompose, stability

SEARCH_KEYS = ("tol_q", "max_iters", "stall_iters", "unique_tol", "outlier_distance_scale")
SLOW = "slow"  # stability class of slow points (q above tol_q): not fixed, so neither stable nor saddle


@dataclass
class Points:
    """Linearised points of one network (numpy, float64)."""

    h: np.ndarray
    x: np.ndarray
    q: np.ndarray
    condition: np.ndarray
    readout: np.ndarray
    eigenvalues: np.ndarray
    right: np.ndarray
    left: np.ndarray
    input_jacobian: np.ndarray
    n_unstable: np.ndarray  # -1 for slow points
    stability: np.ndarray  # "stable" | "saddle" | "marginal" | "slow"
    n_forward_runs: np.ndarray  # settled forward runs whose start ended at this point (attracting or slow)


@dataclass
class AttractorCheck:
    """Where one network's forward runs went: every attractor they settle at should be found.

    A run *settled* when its last step moved less than ``settle_speed`` (rms over units). Its
    end state is a search start; the run is *found* when that start ended at an attracting
    fixed point (stable, or marginal: no unstable direction), *at a slow point* when it ended
    at a slow point (a slow region, e.g. along a line attractor: reported with its speed), and
    *missed* otherwise (it ended at a saddle or was dropped). Runs still moving are reported
    with their speeds: slow regions or limit cycles, not fixed points.
    """

    n_runs: int
    n_settled: int
    n_found: int
    n_missed: int
    n_at_slow_points: int
    n_fixed_points_reached: int
    slow_speed_max: float  # fastest rms speed sqrt(2q/S) of the slow points settled runs ended at
    missed_at: dict  # "saddle" / "dropped" -> runs
    n_unsettled: int
    unsettled_speed_median: float
    unsettled_speed_max: float

    def as_attrs(self) -> dict:
        return {key: getattr(self, key) for key in self.__dataclass_fields__}


@dataclass
class ForwardRuns:
    """End states ``[K, M, S]`` of forward runs under x* ``[K, M, I]`` and their last step's rms speed ``[K, M]``."""

    h: torch.Tensor
    x: torch.Tensor
    speed: torch.Tensor


@torch.no_grad()
def probe_states(pop, probe_inputs: torch.Tensor) -> torch.Tensor:
    """States of every network on the probe inputs ``[T, B, I]``: ``[K, B, T, S]``."""
    p = pop.params["weight_hh"]
    _, states = pop(probe_inputs.to(p), return_states=True)
    return states.transpose(1, 2)


def condition_starts(states: torch.Tensor, trial_condition: np.ndarray, conditions: torch.Tensor,
                     n_per_condition: int, noise_scale: float, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Initial states ``[K, M, S]`` and their inputs x* ``[K, M, I]``: for each condition, states
    of the probe trials (``[K, B, T, S]``) that run along that condition's manifold, plus noise.
    ``trial_condition`` is the condition of each trial ``[B]``, or of each step of each trial
    ``[B, T]`` (−1: none) for tasks whose input changes within a trial."""
    k, b, t, _ = states.shape
    trial_condition = np.asarray(trial_condition)
    if trial_condition.shape not in ((b,), (b, t)):
        raise ValueError(f"trial conditions of shape {trial_condition.shape} for {b} probe trials of {t} steps")
    h0, x0 = [], []
    for c in range(len(conditions)):
        valid = torch.as_tensor(trial_condition == c)
        valid = valid.view(b, 1).expand(b, t) if valid.dim() == 1 else valid
        if n_per_condition <= 0 or not bool(valid.any()):
            continue
        h0.append(sample_initial_states(states, n_per_condition, noise_scale, gen, valid))
        x0.append(conditions[c].expand(k, n_per_condition, -1))
    if not h0:
        return states.new_zeros(k, 0, states.shape[-1]), conditions.new_zeros(k, 0, conditions.shape[-1])
    return torch.cat(h0, 1), torch.cat(x0, 1)


@torch.no_grad()
def forward_runs(pop, states: torch.Tensor, trial_condition: np.ndarray, conditions: torch.Tensor,
                 n_per_condition: int, n_steps: int, gen: torch.Generator) -> ForwardRuns:
    """Run ``n_per_condition`` probe states per condition (no noise) forward under that x* for
    ``n_steps`` steps, all networks and conditions as one batch."""
    h, x = condition_starts(states, trial_condition, conditions, n_per_condition, 0.0, gen)
    speed = torch.full(h.shape[:2], math.inf, dtype=h.dtype, device=h.device)
    for _ in range(n_steps):
        new = pop.step(h, x)
        speed = (new - h).pow(2).mean(-1).sqrt()
        h = new
    return ForwardRuns(h, x, speed)


def check_attractors(result: FixedPointResult, k: int, runs: ForwardRuns, first: int, classes: np.ndarray,
                     q: np.ndarray, settle_speed: float) -> tuple[AttractorCheck, np.ndarray]:
    """Network k's :class:`AttractorCheck` and, per point, the settled runs that ended there.

    ``first``: index of the first forward-run start in the search; ``classes`` and ``q``: the
    stability class and q of each of network k's points (in ``result.for_network(k)`` order).
    """
    speed = runs.speed[k].cpu().numpy()
    settled = np.isfinite(speed) & (speed <= settle_speed)
    offset = int((result.network < k).sum())
    point = result.start_point[k, first:first + len(speed)].cpu().numpy()
    local = np.where(point >= 0, point - offset, -1)
    outcome = np.asarray(classes, dtype=object)[np.clip(local, 0, None)] if len(classes) else np.full(len(local), "")
    outcome = np.where(local >= 0, outcome, "dropped").astype(str)
    found = settled & np.isin(outcome, ("stable", "marginal"))
    at_slow = settled & (outcome == SLOW)
    missed = settled & ~found & ~at_slow
    per_point = np.bincount(local[found | at_slow], minlength=len(classes)).astype(np.int64)
    s = result.h.shape[-1]
    slow_reached = np.unique(local[at_slow])
    moving = speed[~settled]
    kinds, counts = np.unique(outcome[missed], return_counts=True)
    check = AttractorCheck(
        n_runs=len(speed), n_settled=int(settled.sum()), n_found=int(found.sum()), n_missed=int(missed.sum()),
        n_at_slow_points=int(at_slow.sum()), n_fixed_points_reached=int(len(np.unique(local[found]))),
        slow_speed_max=float(np.sqrt(2 * q[slow_reached] / s).max()) if len(slow_reached) else 0.0,
        missed_at={str(a): int(c) for a, c in zip(kinds, counts)}, n_unsettled=len(moving),
        unsettled_speed_median=float(np.median(moving)) if len(moving) else 0.0,
        unsettled_speed_max=float(moving.max()) if len(moving) else 0.0,
    )
    return check, per_point


def linearise(pop64, h: torch.Tensor, x: torch.Tensor, margin: float):
    """Eigendecomposition, input Jacobian, unstable count and stability class at padded points ``[K, P, S]``."""
    j, jx = pop64.jacobians(h, x)
    eig = eigendecompose(j, sort="abs")
    n_unstable, classes = stability(eig.eigenvalues, "discrete", margin)
    return eig, jx, n_unstable, classes


def polished_search(pop, pop64, x0: torch.Tensor, h0: torch.Tensor, **options) -> FixedPointResult:
    """:func:`find_fixed_points` in float32 with the float64 population's Newton polish."""
    return find_fixed_points(pop.step, x0, h0, polish_step=pop64.step,
                             polish_jacobian=lambda h, x: pop64.jacobians(h, x)[0], **options)


MIN_STARTS_PER_CONDITION = 8


def start_counts(n_initial_states: int, n_conditions: int, forward_fraction: float) -> tuple[int, int]:
    """Starts per condition: (noisy probe states, forward-run end states); at least
    ``MIN_STARTS_PER_CONDITION`` in all, so that a task with many conditions still searches each."""
    per = max(MIN_STARTS_PER_CONDITION, n_initial_states // max(1, n_conditions))
    n_forward = min(per, max(1, round(forward_fraction * per))) if forward_fraction > 0 else 0
    return per - n_forward, n_forward


def search_population(pop, pop64, task, probe_labels: dict, conditions: np.ndarray, states: torch.Tensor,
                      opts: dict, gen: torch.Generator) -> tuple[list[Points], FixedPointResult, list[AttractorCheck]]:
    """Every network's fixed and slow points, linearised, from starts on its probe states, and
    the check that every attractor its forward runs settled at is among its stable points."""
    trial_condition = task.probe_conditions(probe_labels)
    cond_t = torch.as_tensor(conditions, dtype=states.dtype, device=states.device)
    n_noisy, n_forward = start_counts(opts["n_initial_states"], len(conditions), opts["forward_fraction"])
    h_noisy, x_noisy = condition_starts(states, trial_condition, cond_t, n_noisy, opts["noise_scale"], gen)
    runs = forward_runs(pop, states, trial_condition, cond_t, n_forward, opts["forward_steps"], gen)
    h0, x0 = torch.cat([h_noisy, runs.h], 1), torch.cat([x_noisy, runs.x], 1)
    result = polished_search(pop, pop64, x0, h0, **{key: opts[key] for key in SEARCH_KEYS})
    h, x, mask = result.padded()
    h, x = h.to(torch.float64), x.to(torch.float64)
    eig, jx, n_unstable, classes = linearise(pop64, h, x, opts["margin"])
    with torch.no_grad():
        readout = pop64.readout_state(h)
    conditions = np.asarray(conditions, dtype=np.float64)
    points, checks = [], []
    for k in range(h.shape[0]):
        sel = mask[k].cpu().numpy()
        xk = x[k].cpu().numpy()[sel]
        cond = np.abs(xk[:, None, :] - conditions[None]).sum(-1).argmin(1).astype(np.int64)
        own = result.for_network(k)
        slow = own.is_slow.cpu().numpy()
        stab = np.where(slow, SLOW, classes[k][sel])
        q = own.q.cpu().numpy()
        check, reached = check_attractors(result, k, runs, h_noisy.shape[1], stab, q, opts["settle_speed"])
        checks.append(check)
        points.append(Points(
            h=h[k].cpu().numpy()[sel], x=xk, q=q, condition=cond,
            readout=readout[k].cpu().numpy()[sel], eigenvalues=eig.eigenvalues[k].cpu().numpy()[sel],
            right=eig.right[k].cpu().numpy()[sel], left=eig.left[k].cpu().numpy()[sel],
            input_jacobian=jx[k].cpu().numpy()[sel], n_unstable=np.where(slow, -1, n_unstable[k].cpu().numpy()[sel]),
            stability=stab, n_forward_runs=reached,
        ))
    return points, result, checks
