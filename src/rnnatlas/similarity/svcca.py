"""SVCCA between two representations (Raghu et al. 2017), per pair.

Each network is centered and reduced by SVD to the leading directions holding
``variance`` of its total variance (sum of s**2). CCA between two orthonormal
bases U_X, U_Y reduces to the singular values of U_X^T U_Y (the cosines of
the principal angles between the subspaces). Everything runs in float64.
For many networks use :func:`rnnatlas.similarity.pairwise`, which computes
each basis once instead of once per pair.
"""

from __future__ import annotations

import numpy as np
import torch

from ._linalg import network_basis
from ._validate import ArrayLike, check_variance, validate_pair
from .distance import constant_similarity


def canonical_correlations(X: ArrayLike, Y: ArrayLike, variance: float = 0.99) -> np.ndarray:
    """Canonical correlations (descending, length min(k_X, k_Y)) after SVD truncation.

    ``variance=1.0`` keeps the full numerical rank, giving textbook CCA.
    Empty when either network is constant.
    """
    variance = check_variance(variance)
    Xt, Yt = validate_pair(X, Y)
    Ux, Uy = network_basis(Xt, variance), network_basis(Yt, variance)
    if Ux.shape[1] == 0 or Uy.shape[1] == 0:
        return np.zeros(0)
    rho = torch.linalg.svdvals(Ux.T @ Uy)
    return rho[: min(Ux.shape[1], Uy.shape[1])].clamp(0.0, 1.0).numpy()


def svcca(X: ArrayLike, Y: ArrayLike, variance: float = 0.99) -> float:
    """Mean canonical correlation sum(rho) / min(k_X, k_Y), a similarity in [0, 1].

    X, Y: activations (samples, units), numpy or torch, same samples.
    variance: share of each network's variance kept (0 < variance <= 1).
    Identical inputs give exactly 1; a constant network gives 0 (1 if both
    are constant). Use :func:`rnnatlas.similarity.angular_distance` for the
    angular form.
    """
    variance = check_variance(variance)
    Xt, Yt = validate_pair(X, Y)
    if Xt.shape == Yt.shape and torch.equal(Xt, Yt):
        return 1.0
    Ux, Uy = network_basis(Xt, variance), network_basis(Yt, variance)
    kx, ky = Ux.shape[1], Uy.shape[1]
    if kx == 0 or ky == 0:
        return constant_similarity(kx == 0, ky == 0)
    total = float(torch.linalg.svdvals(Ux.T @ Uy).sum())
    return float(np.clip(total / min(kx, ky), 0.0, 1.0))
