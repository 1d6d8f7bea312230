"""Pointwise nonlinearities by name; the registry is open to new ones (e.g. softplus for study M).

:func:`leaky_relu_at_angle` builds unregistered ones, for re-running a trained network with a
more linear nonlinearity (``RNNPopulation.with_activation``).
"""

from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F

Activation = Callable[[torch.Tensor], torch.Tensor]

ACTIVATIONS: dict[str, Activation] = {
    "tanh": torch.tanh,
    "relu": torch.relu,
    "softplus": F.softplus,
    "sigmoid": torch.sigmoid,
    "linear": lambda x: x,
}


def get_activation(name: str) -> Activation:
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; allowed: {', '.join(sorted(ACTIVATIONS))}")
    return ACTIVATIONS[name]


def leaky_relu_at_angle(theta: float) -> Activation:
    """Leaky ReLU whose negative branch makes the angle θ with the x-axis: f(x) = x for x > 0,
    tan(θ)·x otherwise (seed 001, Figs. 5–6). θ = 0 is the ReLU, θ = π/4 the identity; θ must be
    in [0, π/2). The slope is tan θ rounded to 15 significant digits, so that π/4 (whose
    floating-point tangent is 1 − 1.1e-16) gives exactly the identity."""
    theta = float(theta)
    if not (0.0 <= theta < math.pi / 2):
        raise ValueError(f"leaky ReLU angle theta must be in [0, pi/2), got {theta!r}")
    slope = float(f"{math.tan(theta):.15g}")

    def leaky_relu(x: torch.Tensor) -> torch.Tensor:
        return F.leaky_relu(x, slope)

    leaky_relu.__name__ = f"leaky_relu_theta_{theta:.6g}"
    leaky_relu.slope = slope  # type: ignore[attr-defined]
    return leaky_relu
