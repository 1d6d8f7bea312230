"""Binary topological features A–E of Ready-Set-Go networks and the solution classes they
define (seed 000 §2.4, Fig. 5), from simulations outside the training set.

Works on any population through two callables: ``step(state [K, M, S], x [K, M, I]) →
[K, M, S]`` (one update of every network) and ``readout(state [K, ..., S]) → [K, ..., O]``,
e.g. ``RNNPopulation.step`` and ``RNNPopulation.readout_state``. Use float64 parameters: the
fixed-point threshold 1e-6 is near float32 round-off for tens of units.

Protocol (supplement §2.4):

1. From the initial state, ``ready_onset`` steps without input, then the Ready pulse
   (``pulse`` steps on the Ready channel), then no input; in total ``settle_steps`` (5,000)
   steps counted from the Ready onset. **E**: the Go output exceeds ``go_threshold`` within
   ``go_window`` (200) steps of the Ready onset (a Go without any Set). **D**: the speed
   q(h_F) = ‖F(h_F, 0) − h_F‖ at the final state h_F is below ``fixed_point_tol`` (1e-6).
2. From h_F, ``free_steps`` (1,000) more steps without input. **B**: the Go output exceeds the
   threshold somewhere in this run (the final state transitions to Go). **C**: the run is
   periodic (see :func:`is_periodic`).
3. **A**: Ready-Set and Set-Go are different objects: a linear SVM separates their states
   (training accuracy ≥ ``min_accuracy``; see :mod:`rnnatlas.features.separation`).

Solution class = the combination of the five bits, e.g. ``"A1B0C0D1E0"``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

StepFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
ReadoutFn = Callable[[torch.Tensor], torch.Tensor]
FEATURES = ("A", "B", "C", "D", "E")


@dataclass
class TopologySettings:
    ready_onset: int = 20
    pulse: int = 10
    ready_channel: int = 0
    go_channel: int = 0
    go_threshold: float = 0.5  # half the Go pulse's height
    settle_steps: int = 5000
    free_steps: int = 1000
    go_window: int = 200
    fixed_point_tol: float = 1e-6
    cycle_window: int = 500  # last steps of the free run examined for periodicity
    cycle_tol: float = 0.05  # return distance, relative to the excursion, that counts as a return
    cycle_min_extent: float = 1e-4  # smaller excursions count as resting, not cycling
    min_accuracy: float = 0.99  # SVM training accuracy that counts as separable (feature A)


@dataclass
class Topology:
    """Per-network results of the simulations, each ``[K]``."""

    go_after_ready: np.ndarray  # E
    fixed_point: np.ndarray  # D
    go_from_final: np.ndarray  # B
    limit_cycle: np.ndarray  # C
    final_speed: np.ndarray
    final_state: np.ndarray  # [K, S]


def is_periodic(states, tol: float = 0.05, min_extent: float = 1e-4, n_anchors: int = 5) -> np.ndarray:
    """Whether each trajectory ``[K, W, S]`` returns close to where it was after leaving it.

    For the last ``n_anchors`` states h_a, d(p) = mean_a ‖h_a − h_{a−p}‖. A trajectory is
    periodic when for some lag p ≥ 2, d(p) < tol · max_{q<p} d(q) while max_{q<p} d(q) >
    min_extent: it went away and came back. A fixed point (no excursion) and a monotone
    drift (d increasing) are not periodic; a period-2 flip and a closed orbit are, and so is
    a spiral that decays too slowly to tell from a cycle within the window.
    """
    h = np.asarray(states.detach().cpu().numpy() if hasattr(states, "detach") else states, dtype=np.float64)
    k, w, _ = h.shape
    max_lag = w - n_anchors
    anchors = h[:, w - n_anchors :, :]  # [K, A, S]
    d = np.zeros((k, max_lag))
    for p in range(1, max_lag):
        d[:, p] = np.linalg.norm(anchors - h[:, w - n_anchors - p : w - p, :], axis=-1).mean(-1)
    running = np.maximum.accumulate(d, axis=1)
    prev_max = np.concatenate([np.zeros((k, 1)), running[:, :-1]], axis=1)  # max_{q<p} d(q)
    lag = np.arange(max_lag)
    hit = (lag >= 2) & (d < tol * prev_max) & (prev_max > min_extent)
    return hit.any(axis=1)


@torch.no_grad()
def simulate_topology(
    step: StepFn, readout: ReadoutFn, state0: torch.Tensor, n_inputs: int, settings: TopologySettings | None = None
) -> Topology:
    """Run the §2.4 protocol on every network from ``state0 [K, S]``; features B–E."""
    s = settings or TopologySettings()
    h = state0.unsqueeze(1)  # [K, 1, S]
    k = h.shape[0]
    zero = torch.zeros(k, 1, n_inputs, dtype=h.dtype, device=h.device)
    ready = zero.clone()
    ready[..., s.ready_channel] = 1.0

    def go(state: torch.Tensor) -> torch.Tensor:
        return readout(state)[:, 0, s.go_channel]

    for _ in range(s.ready_onset):
        h = step(h, zero)
    max_out = torch.full((k,), -torch.inf, dtype=h.dtype, device=h.device)
    for t in range(s.settle_steps):
        h = step(h, ready if t < s.pulse else zero)
        if t < s.go_window:
            max_out = torch.maximum(max_out, torch.nan_to_num(go(h), nan=-torch.inf))
    go_after_ready = (max_out > s.go_threshold).cpu().numpy()
    final = h
    q = torch.linalg.vector_norm(step(final, zero) - final, dim=-1)[:, 0]
    final_speed = torch.nan_to_num(q, nan=torch.inf).cpu().numpy()
    fixed_point = final_speed < s.fixed_point_tol
    window = min(s.cycle_window, s.free_steps)
    kept = []
    max_free = torch.full((k,), -torch.inf, dtype=h.dtype, device=h.device)
    for t in range(s.free_steps):
        h = step(h, zero)
        max_free = torch.maximum(max_free, torch.nan_to_num(go(h), nan=-torch.inf))
        if t >= s.free_steps - window:
            kept.append(h[:, 0])
    traj = torch.stack(kept, dim=1)
    finite = torch.isfinite(traj).all(dim=(1, 2)).cpu().numpy()
    cycle = is_periodic(torch.nan_to_num(traj), s.cycle_tol, s.cycle_min_extent) & finite & ~fixed_point
    return Topology(
        go_after_ready=go_after_ready, fixed_point=fixed_point, go_from_final=(max_free > s.go_threshold).cpu().numpy(),
        limit_cycle=cycle, final_speed=final_speed, final_state=final[:, 0].cpu().numpy(),
    )


def separable(svm_accuracy, min_accuracy: float = 0.99) -> np.ndarray:
    """Feature A: Ready-Set and Set-Go are distinct objects (linear SVM accuracy ≥ threshold)."""
    return np.asarray(svm_accuracy, dtype=np.float64) >= min_accuracy


def topological_features(topology: Topology, svm_accuracy, min_accuracy: float = 0.99) -> dict[str, np.ndarray]:
    """The five binary features A–E, each a bool array ``[K]``."""
    return {
        "A": separable(svm_accuracy, min_accuracy),
        "B": np.asarray(topology.go_from_final, dtype=bool),
        "C": np.asarray(topology.limit_cycle, dtype=bool),
        "D": np.asarray(topology.fixed_point, dtype=bool),
        "E": np.asarray(topology.go_after_ready, dtype=bool),
    }


def solution_classes(features: dict[str, np.ndarray]) -> np.ndarray:
    """Class label per network: the bits in order A–E, e.g. ``"A1B0C0D1E0"``."""
    bits = [np.asarray(features[f], dtype=bool) for f in FEATURES]
    return np.array(["".join(f"{f}{int(b[i])}" for f, b in zip(FEATURES, bits)) for i in range(len(bits[0]))])
