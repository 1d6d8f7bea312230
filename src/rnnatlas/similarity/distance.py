"""Similarity -> distance conversions and the conventions for constant networks.

Conventions (shared by the per-pair functions and ``pairwise``):

* A *constant* network (zero after centering, up to rounding) carries no
  signal. Its similarity to any non-constant network is 0, and two constant
  networks have similarity 1 (any constant maps to any other by a shift, so
  they are the same representation under the invariances of SVCCA and CKA).
* Exactly identical inputs have similarity exactly 1 (distance exactly 0).
* Distances are ``1 - similarity`` or, with ``angular=True``,
  ``arccos(similarity)``. For CKA, ``arccos`` is the angle between the
  (vectorized, centered) Gram matrices and is a metric. For SVCCA it is the
  angle between the whitened, truncated representations after their best
  orthogonal alignment (Williams et al. 2021) and is a metric when both
  networks keep the same number of directions ``k``; with unequal ``k`` the
  mean over ``min(k_X, k_Y)`` makes it a pseudo-angle that may violate the
  triangle inequality. With the constant conventions above, the constant
  networks sit at angle pi/2 from everything else and 0 from each other,
  which keeps the triangle inequality for the CKA forms.
"""

from __future__ import annotations

from typing import Union

import numpy as np

SIM_BOTH_CONSTANT = 1.0
SIM_ONE_CONSTANT = 0.0


def angular_distance(similarity: Union[float, np.ndarray]) -> Union[float, np.ndarray]:
    """arccos of a similarity clipped to [-1, 1] (a metric for CKA; see module doc)."""
    out = np.arccos(np.clip(similarity, -1.0, 1.0))
    return float(out) if np.ndim(out) == 0 else out


def to_distance(similarity: Union[float, np.ndarray], angular: bool = False) -> Union[float, np.ndarray]:
    """``1 - similarity`` or, with ``angular=True``, :func:`angular_distance`."""
    if angular:
        return angular_distance(similarity)
    out = 1.0 - np.asarray(similarity, dtype=np.float64)
    return float(out) if np.ndim(out) == 0 else out


def constant_similarity(x_constant: bool, y_constant: bool) -> float:
    """Similarity when at least one network is constant (see module doc)."""
    return SIM_BOTH_CONSTANT if (x_constant and y_constant) else SIM_ONE_CONSTANT
