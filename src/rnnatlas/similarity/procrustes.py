"""Generalized Procrustes shape distance (Williams, Kunz, Kornblith & Linderman 2021), per pair.

Each network is centered, scaled to unit RMS and partially whitened with
``alpha`` (1: plain Procrustes, no whitening; 0: full whitening, CCA-like; see
:func:`rnnatlas.similarity._linalg.shape_factor`). The angular shape distance is

    theta(X, Y) = arccos( max_Q <phi(X) Q, phi(Y)> / (||phi(X)|| ||phi(Y)||) ),   Q orthogonal,

with the narrower network zero-padded to the wider one's width. The maximum is the nuclear
norm of phi(X)^T phi(Y) (orthogonal Procrustes), and theta is a metric on networks modulo
rotations, reflections, translations and isotropic scaling (for one alpha).

Near 0 the angle is taken from the residual of the best alignment, ``theta = 2 arcsin(r / 2)``
with ``r = ||phi(X) Q* - phi(Y)||_F``, not from ``arccos`` of a similarity near 1 (which would
lose half the digits: arccos(1 - e) ~ sqrt(2 e)). :func:`refine_near` does this for the pairs
of a batched block whose fast value is near 0.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ._linalg import shape_factor
from ._validate import ArrayLike, validate_pair
from .options import check_alpha

NEAR = 1e-3  # pairs with 1 - similarity below this get the residual form in float64


def aligned_angle(Fx: torch.Tensor, Fy: torch.Tensor) -> float:
    """Angle between two unit-norm factors after their best orthogonal alignment (float64).

    Uses the arccos of the nuclear norm away from 0 and the alignment residual near 0.
    Zero-width factors (constant networks) are at pi/2 from everything, 0 from each other.
    """
    if Fx.shape[1] == 0 or Fy.shape[1] == 0:
        return 0.0 if Fx.shape[1] == Fy.shape[1] else math.pi / 2
    Fx, Fy = Fx.to(torch.float64), Fy.to(torch.float64)
    U, s, Vh = torch.linalg.svd(Fx.T @ Fy, full_matrices=False)
    sim = float(s.sum())
    if 1.0 - sim >= NEAR:
        return float(np.arccos(np.clip(sim, -1.0, 1.0)))
    residual = float(torch.linalg.matrix_norm(Fx @ (U @ Vh) - Fy))  # Q* = U V^T maximises <Fx Q, Fy>
    return 2.0 * math.asin(min(1.0, residual / 2.0))


def procrustes_distance(X: ArrayLike, Y: ArrayLike, alpha: float = 1.0) -> float:
    """Angular Procrustes shape distance in [0, pi/2] between two (samples, units) representations.

    Identical inputs give exactly 0; a constant network is at pi/2 from any other (0 from
    another constant one).
    """
    alpha = check_alpha(alpha)
    Xt, Yt = validate_pair(X, Y)
    if Xt.shape == Yt.shape and torch.equal(Xt, Yt):
        return 0.0
    return aligned_angle(shape_factor(Xt, alpha), shape_factor(Yt, alpha))


def refine_near(factors_a: list[torch.Tensor], factors_b: list[torch.Tensor], similarity: np.ndarray,
                distance: np.ndarray, symmetric: bool) -> None:
    """Recompute, in place, ``distance[i, j]`` for pairs whose ``similarity`` is within NEAR of 1
    by :func:`aligned_angle` (float64, residual form); ``symmetric``: a block of a set with itself,
    each pair once and mirrored. Few pairs in a population are that close (twins, near-copies);
    each costs one small SVD and one samples x width product."""
    near = similarity > 1.0 - NEAR
    if symmetric:
        near = np.triu(near, k=1)
    for i, j in zip(*np.nonzero(near)):
        distance[i, j] = aligned_angle(factors_a[int(i)], factors_b[int(j)])
        if symmetric:
            distance[j, i] = distance[i, j]
