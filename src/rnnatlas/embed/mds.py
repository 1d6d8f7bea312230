"""Metric MDS of a precomputed distance matrix to 2-D with scikit-learn's SMACOF.

SMACOF minimises the raw stress sum_{i<j} (||y_i - y_j|| - D_ij)^2 directly on the given
dissimilarities, so it needs no Euclidean (or even metric) input: 1 - CKA and 1 - mean rho,
which can violate the triangle inequality, are fine. It is run ``n_init`` times from random
starts drawn from ``random_state`` and the lowest-stress solution is kept; the result is
deterministic for a given matrix and settings. The orientation of the plot is arbitrary
(any rotation or reflection fits equally well).

Reported stress is Kruskal's stress-1, sqrt(sum (d_ij - D_ij)^2 / sum D_ij^2) over i < j
(0 = distances reproduced exactly; below ~0.1 is usually read as a good 2-D picture, above
~0.2 as a poor one), plus SMACOF's raw stress as sklearn returns it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial.distance import pdist, squareform
from sklearn.manifold import smacof


@dataclass
class MDSResult:
    positions: np.ndarray  # (n, n_components)
    stress: float  # Kruskal's stress-1
    raw_stress: float  # SMACOF's objective
    n_iter: int


def kruskal_stress(distance: np.ndarray, positions: np.ndarray) -> float:
    """sqrt(sum_{i<j} (||y_i - y_j|| - D_ij)^2 / sum_{i<j} D_ij^2); 0 when D is all zero."""
    target = squareform(np.asarray(distance, dtype=np.float64), checks=False)
    fitted = pdist(np.asarray(positions, dtype=np.float64))
    denom = float(np.sum(target**2))
    return float(np.sqrt(np.sum((fitted - target) ** 2) / denom)) if denom > 0 else 0.0


def mds_embedding(
    distance: np.ndarray,
    n_components: int = 2,
    *,
    n_init: int = 4,
    max_iter: int = 300,
    eps: float = 1e-6,
    random_state: int = 0,
) -> MDSResult:
    """Metric MDS (SMACOF) of a symmetric (n, n) distance matrix with zero diagonal.

    Fewer than two networks, or a matrix of zeros, give all-zero positions and stress 0.
    """
    D = np.asarray(distance, dtype=np.float64)
    if D.ndim != 2 or D.shape[0] != D.shape[1]:
        raise ValueError(f"distance matrix must be square; got shape {D.shape}")
    if not np.isfinite(D).all():
        raise ValueError("distance matrix contains NaN or infinite values")
    n = D.shape[0]
    if n < 2 or not np.any(D):
        return MDSResult(np.zeros((n, n_components)), 0.0, 0.0, 0)
    pos, raw, n_iter = smacof(
        D,
        metric=True,
        n_components=n_components,
        init=None,
        n_init=n_init,
        max_iter=max_iter,
        eps=eps,
        random_state=random_state,
        normalized_stress=False,
        return_n_iter=True,
    )
    return MDSResult(pos, kruskal_stress(D, pos), float(raw), int(n_iter))
