"""Topological features B–E on hand-built dynamical systems, run as one batched population."""

import math

import numpy as np
import torch

from rnnatlas.features.topology import (
    TopologySettings, is_periodic, simulate_topology, solution_classes, topological_features,
)

THETA = 2 * math.pi / 37.3  # an irrational-looking period, so the orbit never repeats exactly


def rotate(h, gain_to_unit_circle=True):
    c, s = math.cos(THETA), math.sin(THETA)
    x, y = h[..., 0], h[..., 1]
    r = torch.sqrt(x * x + y * y)
    g = 1 + 0.2 * (1 - r)
    return torch.stack([g * (c * x - s * y), g * (s * x + c * y)], -1)


def step(h, x):
    """Network 0: contraction to 0. 1: limit cycle of radius 1. 2: a timer that ramps after
    Ready and stops at 3. 3: the same limit cycle. 4: contraction to (2, 0)."""
    ready = x[..., 0:1]
    out = torch.empty_like(h)
    out[0] = 0.5 * h[0] + ready[0] * torch.tensor([0.0, 1.0], dtype=h.dtype)
    out[1] = rotate(h[1]) + ready[1] * torch.tensor([0.05, 0.0], dtype=h.dtype)
    c = h[2, ..., 0]
    ramp = torch.where(c > 0, torch.clamp(c + 0.01, max=3.0), c)
    out[2] = torch.stack([ramp + 0.01 * ready[2, ..., 0], torch.zeros_like(c)], -1)
    out[3] = rotate(h[3]) + ready[3] * torch.tensor([0.05, 0.0], dtype=h.dtype)
    out[4] = torch.tensor([2.0, 0.0], dtype=h.dtype) + 0.5 * (h[4] - torch.tensor([2.0, 0.0], dtype=h.dtype))
    return out


def readout(h):
    """Go output: small copies of the state for 0, 1; a bump around c = 1 for the timer;
    the cycle's first coordinate for 3; 0.4·h0 for 4 (0.8 at its fixed point)."""
    scale = torch.tensor([0.1, 0.3, 0.0, 1.0, 0.4], dtype=h.dtype).view(-1, *([1] * (h.dim() - 1)))
    z = scale * h[..., 0:1]
    z[2] = torch.exp(-(((h[2, ..., 0:1] - 1.0) / 0.05) ** 2))
    return z


def test_hand_built_systems():
    topo = simulate_topology(step, readout, torch.zeros(5, 2, dtype=torch.float64), n_inputs=2, settings=TopologySettings())
    f = topological_features(topo, svm_accuracy=np.array([1.0, 1.0, 0.5, 1.0, 1.0]))
    #                 stable  cycle  timer  go-cycle  go-fp
    assert f["D"].tolist() == [True, False, True, False, True]
    assert f["C"].tolist() == [False, True, False, True, False]
    assert f["E"].tolist() == [False, False, True, True, True]
    assert f["B"].tolist() == [False, False, False, True, True]
    assert f["A"].tolist() == [True, True, False, True, True]
    assert solution_classes(f).tolist() == ["A1B0C0D1E0", "A1B0C1D0E0", "A0B0C0D1E1", "A1B1C1D0E1", "A1B1C0D1E1"]
    assert np.allclose(topo.final_state[2], [3.0, 0.0]) and np.allclose(topo.final_state[4], [2.0, 0.0])


def test_timer_go_outside_the_window_is_not_counted():
    """The timer reaches c = 1 after ~90 steps: with a 50-step window there is no Go."""
    s = TopologySettings(go_window=50, settle_steps=400, free_steps=200, cycle_window=150)
    topo = simulate_topology(step, readout, torch.zeros(5, 2, dtype=torch.float64), 2, s)
    assert not topo.go_after_ready[2] and topo.go_after_ready[3]


def test_is_periodic_cases():
    t = np.arange(300)
    cycle = np.stack([np.cos(THETA * t), np.sin(THETA * t)], -1)
    flip = np.stack([(-1.0) ** t, np.zeros(300)], -1)
    drift = np.stack([0.01 * t, np.zeros(300)], -1)
    rest = np.ones((300, 2)) + 1e-9 * np.random.default_rng(0).normal(size=(300, 2))
    decay = 0.9 ** t[:, None] * cycle  # a fast-decaying spiral (nothing left to see)
    assert is_periodic(np.stack([cycle, flip, drift, rest, decay])).tolist() == [True, True, False, False, False]
