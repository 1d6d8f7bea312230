"""Centered kernel alignment (Kornblith et al. 2019), per pair.

CKA(X, Y) = HSIC(K, L) / sqrt(HSIC(K, K) HSIC(L, L)): the cosine between the
centered Gram matrices of the two networks over the same samples.

* linear: K = X X^T, which on centered data equals
  ||Y^T X||_F^2 / (||X^T X||_F ||Y^T Y||_F).
* rbf: K_ij = exp(-||x_i - x_j||^2 / (2 sigma^2)) with
  sigma^2 = sigma_fraction^2 * median of the squared distances, the median
  taken over the full samples x samples matrix *including its zero diagonal*
  (as the reference implementation does; this biases sigma slightly low).
  sqrt(median(D^2)) is the median distance except that an even count averages
  the two middle squared distances.
* debiased=True: uses the unbiased HSIC estimator (Song et al. 2012), via
  U-centering of the Gram matrices with zeroed diagonal. It removes the
  positive finite-sample bias of CKA for unrelated networks, so the value can
  be slightly *negative* (range [-1, 1]); needs at least 4 samples.

All computations are float64. For many networks use
:func:`rnnatlas.similarity.pairwise`.
"""

from __future__ import annotations

import numpy as np
import torch

from ._linalg import center, drop_zero_columns, is_constant, network_gram
from ._validate import (
    KERNELS,
    ArrayLike,
    check_debiased_samples,
    check_sigma_fraction,
    validate_pair,
)
from .distance import constant_similarity


def _linear_biased(Xt: torch.Tensor, Yt: torch.Tensor) -> float:
    Xc, Yc = center(Xt), center(Yt)
    cx, cy = is_constant(Xt, Xc), is_constant(Yt, Yc)
    if cx or cy:
        return constant_similarity(cx, cy)
    Xc, Yc = drop_zero_columns(Xc), drop_zero_columns(Yc)
    cross = torch.linalg.matrix_norm(Yc.T @ Xc).square()
    norm_x = torch.linalg.matrix_norm(Xc.T @ Xc)
    norm_y = torch.linalg.matrix_norm(Yc.T @ Yc)
    return float(cross / (norm_x * norm_y))


def cka(
    X: ArrayLike,
    Y: ArrayLike,
    kernel: str = "linear",
    sigma_fraction: float = 0.8,
    debiased: bool = False,
) -> float:
    """CKA similarity of two (samples, units) representations.

    Range [0, 1] ([-1, 1] when ``debiased``). Identical inputs give exactly 1;
    a constant network gives 0 (1 if both are constant).
    """
    if kernel not in KERNELS:
        raise ValueError(f"unknown kernel {kernel!r}; expected one of {KERNELS}")
    sigma_fraction = check_sigma_fraction(sigma_fraction)
    Xt, Yt = validate_pair(X, Y)
    check_debiased_samples(Xt.shape[0], debiased)
    if Xt.shape == Yt.shape and torch.equal(Xt, Yt):
        return 1.0
    if kernel == "linear" and not debiased:
        sim = _linear_biased(Xt, Yt)
    else:
        gx = network_gram(Xt, kernel, sigma_fraction, debiased)
        gy = network_gram(Yt, kernel, sigma_fraction, debiased)
        if gx is None or gy is None:
            return constant_similarity(gx is None, gy is None)
        Kx, Ky = gx[0], gy[0]
        nx, ny = float(torch.linalg.matrix_norm(Kx)), float(torch.linalg.matrix_norm(Ky))
        if nx == 0.0 or ny == 0.0:  # no signal left after centering: treat as constant
            return constant_similarity(nx == 0.0, ny == 0.0)
        sim = float((Kx * Ky).sum()) / (nx * ny)
    lo = -1.0 if debiased else 0.0
    return float(np.clip(sim, lo, 1.0))
