"""Fixed points of a whole population at once, linearised: the science behind the fixed-point stage.

Starts are sampled from each network's own probe trajectories, per static condition x*,
searched together (:func:`find_fixed_points`: each start stops on its own), polished in
float64 with the cells' Jacobians, then linearised (eigendecomposition, input Jacobian,
stability). The stage only reads files, calls :func:`search_population` and the task's graph
kind (:mod:`rnnatlas.dynamics.graph_kinds`), and writes files.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .fixed_points import FixedPointResult, find_fixed_points, sample_initial_states
from .linearize import eigendecompose, stability

SEARCH_KEYS = ("tol_q", "max_iters", "unique_tol", "outlier_distance_scale")


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
    n_unstable: np.ndarray
    stability: np.ndarray


@torch.no_grad()
def probe_states(pop, probe_inputs: torch.Tensor) -> torch.Tensor:
    """States of every network on the probe inputs ``[T, B, I]``: ``[K, B, T, S]``."""
    p = pop.params["weight_hh"]
    _, states = pop(probe_inputs.to(p), return_states=True)
    return states.transpose(1, 2)


def condition_starts(states: torch.Tensor, trial_condition: np.ndarray, conditions: torch.Tensor,
                     n_initial_states: int, noise_scale: float, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Initial states ``[K, M, S]`` and their inputs x* ``[K, M, I]``: for each condition, states
    of the probe trials (``[K, B, T, S]``) that run along that condition's manifold, plus noise."""
    k, b, t, _ = states.shape
    per = max(16, n_initial_states // len(conditions))
    h0, x0 = [], []
    for c in range(len(conditions)):
        valid = torch.as_tensor(trial_condition == c).view(b, 1).expand(b, t)
        if not bool(valid.any()):
            continue
        h0.append(sample_initial_states(states, per, noise_scale, gen, valid))
        x0.append(conditions[c].expand(k, per, -1))
    return torch.cat(h0, 1), torch.cat(x0, 1)


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


def search_population(pop, pop64, task, probe_labels: dict, conditions: np.ndarray, states: torch.Tensor,
                      opts: dict, gen: torch.Generator) -> tuple[list[Points], FixedPointResult]:
    """Every network's fixed and slow points, linearised, from starts on its probe states."""
    trial_condition = task.probe_conditions(probe_labels)
    cond_t = torch.as_tensor(conditions, dtype=states.dtype, device=states.device)
    h0, x0 = condition_starts(states, trial_condition, cond_t, opts["n_initial_states"], opts["noise_scale"], gen)
    result = polished_search(pop, pop64, x0, h0, **{key: opts[key] for key in SEARCH_KEYS})
    h, x, mask = result.padded()
    h, x = h.to(torch.float64), x.to(torch.float64)
    eig, jx, n_unstable, classes = linearise(pop64, h, x, opts["margin"])
    with torch.no_grad():
        readout = pop64.readout_state(h)
    conditions = np.asarray(conditions, dtype=np.float64)
    points = []
    for k in range(h.shape[0]):
        sel = mask[k].cpu().numpy()
        xk = x[k].cpu().numpy()[sel]
        cond = np.abs(xk[:, None, :] - conditions[None]).sum(-1).argmin(1).astype(np.int64)
        points.append(Points(
            h=h[k].cpu().numpy()[sel], x=xk, q=result.for_network(k).q.cpu().numpy(), condition=cond,
            readout=readout[k].cpu().numpy()[sel], eigenvalues=eig.eigenvalues[k].cpu().numpy()[sel],
            right=eig.right[k].cpu().numpy()[sel], left=eig.left[k].cpu().numpy()[sel],
            input_jacobian=jx[k].cpu().numpy()[sel], n_unstable=n_unstable[k].cpu().numpy()[sel],
            stability=classes[k][sel],
        ))
    return points, result
