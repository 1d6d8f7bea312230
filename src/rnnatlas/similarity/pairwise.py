"""All-pairs distance matrices between networks, and blocks of them.

``pairwise(reps, metric)`` = ``prepare`` once per network + blocked batched
products (see ``_engine``). For a workflow that splits the n x n matrix into
jobs::

    tasks = block_ranges(n, 500)                 # upper-triangle blocks
    # job (i0, i1, j0, j1):
    pa = prepare(reps[i0:i1], metric)            # or Prepared.load(...)
    pb = pa if (i0, i1) == (j0, j1) else prepare(reps[j0:j1], metric)
    D = pairwise_block(pa, pb)                   # (i1 - i0, j1 - j0)
    # gather:
    full = assemble_blocks(n, [((i0, j0), D), ...])

Passing the *same* Prepared object twice gives an exactly symmetric block with
zero diagonal; ``assemble_blocks`` mirrors the upper triangle so the full
matrix is exactly symmetric. Inputs that are exactly identical always get
distance exactly 0, whichever block they fall in.
"""

from __future__ import annotations

from typing import Any, Optional, Union

import numpy as np
import torch

from ._engine import factor_cross, gram_cross
from .distance import SIM_BOTH_CONSTANT, SIM_ONE_CONSTANT, to_distance
from .prepared import Prepared, prepare

_METHODS = ("auto", "factor", "gram")


def _check_compatible(a: Prepared, b: Prepared) -> None:
    if a.metric != b.metric or a.params != b.params:
        raise ValueError(
            f"prepared sets differ: {a.metric} {a.params} vs {b.metric} {b.params}"
        )
    if len(a) and len(b) and a.n_samples != b.n_samples:
        raise ValueError(
            f"prepared sets have different sample counts: {a.n_samples} vs {b.n_samples}"
        )
    if a.device != b.device or a.dtype != b.dtype:
        raise ValueError(f"prepared sets on different device/dtype: {a.device}/{a.dtype} vs {b.device}/{b.dtype}")


def _linear_method(a: Prepared, b: Prepared, method: str) -> str:
    if method != "auto":
        return method
    if a.params.get("debiased"):
        return "gram"
    # factor: 2 m w_a w_b flops per pair; Gram: about m^2 (upper triangle).
    wa = float(np.mean(a.widths)) if len(a) else 0.0
    wb = float(np.mean(b.widths)) if len(b) else 0.0
    return "factor" if wa * wb <= a.n_samples / 2 else "gram"


def similarity_block(
    prep_a: Prepared,
    prep_b: Optional[Prepared] = None,
    *,
    block_size: Optional[int] = None,
    method: str = "auto",
) -> np.ndarray:
    """Similarity matrix (len(prep_a), len(prep_b)) in float64.

    ``prep_b=None`` or ``prep_b is prep_a`` computes each unordered pair once
    and mirrors it (exact symmetry, diagonal exactly 1). ``block_size`` caps
    the networks per block (working memory grows with it; the factor path also
    keeps each product tile under 2**25 elements). ``method`` selects the
    linear-CKA kernel: "factor" (cost ~ samples x units_i x units_j per pair),
    "gram" (~ samples^2 / 2 per pair) or "auto" (cheaper of the two).
    """
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}; got {method!r}")
    if block_size is not None and int(block_size) < 1:
        raise ValueError(f"block_size must be a positive integer; got {block_size}")
    symmetric = prep_b is None or prep_b is prep_a
    prep_b = prep_a if prep_b is None else prep_b
    _check_compatible(prep_a, prep_b)
    n_a, n_b = len(prep_a), len(prep_b)
    if n_a == 0 or n_b == 0:
        return np.zeros((n_a, n_b))
    if prep_a.metric in ("svcca", "procrustes"):
        cross = factor_cross(prep_a, prep_b, symmetric, block_size, "nuclear")
        if prep_a.metric == "svcca":
            denom = np.minimum.outer(prep_a.widths, prep_b.widths).astype(np.float64)
        else:  # unit-norm shape factors
            denom = np.outer(prep_a.norms, prep_b.norms)
    else:
        if prep_a.metric == "cka_linear" and _linear_method(prep_a, prep_b, method) == "factor":
            cross = factor_cross(prep_a, prep_b, symmetric, block_size, "fro2")
        else:
            cross = gram_cross(prep_a, prep_b, symmetric, block_size)
        denom = np.outer(prep_a.norms, prep_b.norms)
    valid = denom > 0
    sim = np.full((n_a, n_b), SIM_ONE_CONSTANT)
    sim[valid] = cross[valid] / denom[valid]
    lo = -1.0 if prep_a.params.get("debiased") else 0.0
    np.clip(sim, lo, 1.0, out=sim)
    sim[np.logical_and.outer(prep_a.constant, prep_b.constant)] = SIM_BOTH_CONSTANT
    da = np.asarray(prep_a.digests)
    db = np.asarray(prep_b.digests)
    sim[da[:, None] == db[None, :]] = 1.0
    if symmetric:
        np.fill_diagonal(sim, 1.0)
    return sim


def pairwise_block(
    prep_a: Prepared,
    prep_b: Optional[Prepared] = None,
    *,
    block_size: Optional[int] = None,
    angular: bool = False,
    method: str = "auto",
) -> np.ndarray:
    """Distance matrix (len(prep_a), len(prep_b)): 1 - similarity, or arccos(similarity)
    with ``angular=True``. Procrustes is always angular, and its pairs near 0 are recomputed
    from their alignment residual in float64 (:func:`rnnatlas.similarity.procrustes.refine_near`).
    See :func:`similarity_block` for the arguments."""
    sim = similarity_block(prep_a, prep_b, block_size=block_size, method=method)
    procrustes = prep_a.metric == "procrustes"
    dist = np.asarray(to_distance(sim, angular or procrustes), dtype=np.float64)
    other = prep_a if prep_b is None else prep_b
    if procrustes:
        from .procrustes import refine_near

        refine_near(prep_a.factors, other.factors, sim, dist, symmetric=other is prep_a)
        dist[np.asarray(prep_a.digests)[:, None] == np.asarray(other.digests)[None, :]] = 0.0
    if other is prep_a:
        np.fill_diagonal(dist, 0.0)
    return dist


def pairwise(
    reps: Any,
    metric: str,
    *,
    variance: float = 0.99,
    sigma_fraction: float = 0.8,
    debiased: bool = False,
    alpha: float = 1.0,
    block_size: Optional[int] = None,
    device: Union[str, torch.device] = "cpu",
    dtype: torch.dtype = torch.float32,
    angular: bool = False,
    method: str = "auto",
) -> np.ndarray:
    """(n, n) distance matrix between n networks, exactly symmetric, zero diagonal.

    reps: sequence of n (samples, units) arrays (same samples, units may
    differ) or a stacked (n, samples, units) array, numpy or torch.
    metric: "svcca", "cka_linear", "cka_rbf" or "procrustes". Distances are
    1 - similarity, or arccos(similarity) with ``angular=True`` (Procrustes: always the angle,
    with partial whitening ``alpha``).
    Per-network work (float64) happens once in :func:`prepare`; the big
    products run in ``dtype`` on ``device`` and the small k x k stage in float64.
    """
    prep = prepare(
        reps,
        metric,
        variance=variance,
        sigma_fraction=sigma_fraction,
        debiased=debiased,
        alpha=alpha,
        device=device,
        dtype=dtype,
    )
    return pairwise_block(prep, prep, block_size=block_size, angular=angular, method=method)


