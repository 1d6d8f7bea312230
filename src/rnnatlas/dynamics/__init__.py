"""Reverse-engineering populations of RNNs: fixed points, slow points and their linearisation.

``rnnatlas.dynamics.linearize`` is the module (Jacobians, eigendecomposition, stability);
its all-in-one helper is exported as ``linearize_points`` so the name stays the module's.
"""

from .fixed_points import FixedPointResult, NetworkFixedPoints, find_fixed_points, sample_initial_states
from .linearize import (
    STABILITY_CLASSES,
    Eigendecomposition,
    Linearization,
    count_unstable,
    eigendecompose,
    euler_to_continuous,
    jacobian,
    linearize_points,
    stability,
)

__all__ = [
    "STABILITY_CLASSES",
    "Eigendecomposition",
    "FixedPointResult",
    "Linearization",
    "NetworkFixedPoints",
    "count_unstable",
    "eigendecompose",
    "euler_to_continuous",
    "find_fixed_points",
    "jacobian",
    "linearize_points",
    "sample_initial_states",
    "stability",
]
