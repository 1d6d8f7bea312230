"""Solution type of each trained 2-D continuous-time RNN (seed 000 §1.2, Fig. 1–2).

Classes: ``stable_origin`` (the trajectory decays to the origin), ``transient_amplification``
(decays to the origin after its norm first grew by more than ``amplification`` × ‖x0‖),
``fixed_points`` (settles on a non-zero fixed point; for tanh the origin is then normally a
saddle, recorded in ``origin_saddle``), ``limit_cycle`` (keeps oscillating), ``divergence``
(grows without bound) and ``other`` (none of these within the horizon, e.g. very slow).

Decided from the trajectory from x0 continued to ``horizon`` (long after the task's end)
plus the fixed points: for tanh all of them by multi-start Newton (x = W tanh x); for relu
the network is linear in each orthant (dx/dt = (W D − I) x), so non-zero fixed points form
rays and exist only where W D − I is singular — a trained relu network "at a fixed point"
sits on such a (near-)marginal ray, which the trajectory criterion (relative speed below
``slow_rate``) detects.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..models.ctrnn2d import DT, CTRNN2DPopulation, jacobian, relu_orthant_matrices, tanh_fixed_points
from .topology import is_periodic

# The nonlinearities whose 2-D solutions this module classifies (the config schema's choices).
ACTIVATIONS = ("tanh", "relu")

CLASSES = ("stable_origin", "transient_amplification", "fixed_points", "limit_cycle", "divergence", "other")


@dataclass
class Toy2DClassSettings:
    horizon: float = 200.0  # time units simulated from x0
    dt: float = DT
    sample_every: float = 0.5  # time between recorded states for the tail analysis
    tail: float = 60.0  # last part of the run examined for periodicity / rest
    origin_tol: float = 1e-3  # ‖x‖ below this counts as at the origin
    slow_rate: float = 1e-3  # ‖dx/dt‖ / ‖x‖ below this counts as resting (per time unit)
    amplification: float = 1.5  # peak ‖x‖ / ‖x0‖ that counts as transient amplification
    divergence_factor: float = 10.0  # final ‖x‖ beyond this × the peak before t_final diverges
    cycle_tol: float = 0.05


@dataclass
class Toy2DClassification:
    label: np.ndarray  # [K] class names
    origin_saddle: np.ndarray  # [K] bool: the origin's Jacobian has one positive, one negative eigenvalue
    origin_eigenvalues: np.ndarray  # [K, 2] complex (tanh: −I + W; relu: of the orthant the end state is in)
    n_fixed_points: np.ndarray  # [K] (tanh: all isolated ones incl. the origin; relu: −1, rays)
    final_state: np.ndarray  # [K, 2]
    peak_norm: np.ndarray  # [K] max ‖x(t)‖ over the run


@torch.no_grad()
def classify_solutions(
    weight, activation: str, x0, t_final: float, settings: Toy2DClassSettings | None = None
) -> Toy2DClassification:
    """Class of every network ``weight [K, 2, 2]`` started from ``x0`` (task length ``t_final``)."""
    s = settings or Toy2DClassSettings()
    w = torch.as_tensor(np.asarray(weight), dtype=torch.float64)
    k = w.shape[0]
    pop = CTRNN2DPopulation(w, activation)
    every = max(1, int(round(s.sample_every / s.dt)))
    x0_t = torch.as_tensor(x0, dtype=torch.float64)
    _, traj = pop(x0_t, s.horizon, s.dt, return_trajectory=True, record_every=every)
    traj = traj[:, :, 0, :]  # [K, steps, 2]
    norms = torch.linalg.vector_norm(traj, dim=-1)
    finite = torch.isfinite(traj).all(dim=(1, 2))
    n_task = int(round(t_final / (s.dt * every))) + 1
    peak_task = torch.nan_to_num(norms[:, :n_task], nan=np.inf).max(dim=1).values
    peak = torch.nan_to_num(norms, nan=np.inf).max(dim=1).values
    final = torch.nan_to_num(traj[:, -1], nan=np.inf)
    final_norm = torch.linalg.vector_norm(final, dim=-1)
    diverged = ~finite | (final_norm > s.divergence_factor * peak_task.clamp(min=1e-12))

    n_tail = max(8, int(round(s.tail / (s.dt * every))))
    tail = torch.nan_to_num(traj[:, -n_tail:], nan=0.0, posinf=0.0, neginf=0.0)
    periodic = torch.as_tensor(is_periodic(tail, s.cycle_tol, min_extent=s.origin_tol))
    vel = pop.vector_field(final.unsqueeze(1).clamp(-1e6, 1e6))[:, 0]
    rel_speed = torch.linalg.vector_norm(vel, dim=-1) / final_norm.clamp(min=1e-300)
    x0_norm = float(torch.linalg.vector_norm(x0_t))

    labels = np.full(k, "other", dtype=object)
    at_origin = (final_norm < s.origin_tol).numpy()
    resting = (rel_speed < s.slow_rate).numpy() & ~at_origin
    amplified = (peak > s.amplification * x0_norm).numpy()
    labels[at_origin & amplified] = "transient_amplification"
    labels[at_origin & ~amplified] = "stable_origin"
    labels[resting] = "fixed_points"
    labels[periodic.numpy() & ~at_origin & ~resting] = "limit_cycle"
    labels[diverged.numpy()] = "divergence"

    if activation == "relu":
        # the orthant the trajectory ends in sets the linear dynamics near the origin along it
        pattern = (final[:, 0] > 0).long() + 2 * (final[:, 1] > 0).long()
        mats = relu_orthant_matrices(w)[torch.arange(k), pattern]
        n_fp = np.full(k, -1)
    else:
        mats = jacobian(w, torch.zeros(k, 1, 2, dtype=torch.float64), activation)[:, 0]
        n_fp = np.array([len(p) for p in tanh_fixed_points(w)]) if activation == "tanh" else np.full(k, -1)
    eig = torch.linalg.eigvals(mats).numpy()
    saddle = (np.abs(eig.imag).max(axis=1) < 1e-12) & (eig.real.max(axis=1) > 0) & (eig.real.min(axis=1) < 0)
    return Toy2DClassification(
        label=labels.astype(str), origin_saddle=saddle, origin_eigenvalues=eig, n_fixed_points=n_fp,
        final_state=final.numpy(), peak_norm=peak.numpy(),
    )


def class_counts(labels) -> dict[str, int]:
    """Number of networks per class, every class listed (0 where absent)."""
    labels = np.asarray(labels)
    return {c: int((labels == c).sum()) for c in CLASSES}
