"""Blocked, batched cross terms between two :class:`Prepared` sets.

Two kernels, both with working memory bounded by the block size, not by n:

* factor path (SVCCA; linear CKA when units are few): networks are sorted by
  factor width and grouped into blocks; the factors of a block are
  zero-padded to a common width and laid side by side, so one matmul gives
  every cross product F_i^T F_j of a block pair. Zero padding adds zero
  rows/columns, which changes neither singular values nor Frobenius norms.
  The k x k tiles are then reduced in float64: sum of singular values
  (SVCCA) or sum of squares (linear CKA).
* Gram path (CKA): <K_hat_i, K_hat_j> summed over samples x samples, with the
  transformed Gram matrices rebuilt in row chunks from the centered
  activations (upper triangle only, off-diagonal entries weighted by
  sqrt(2) on each side). Each chunk is generated once for all networks and
  then multiplied block by block. Cost per pair is samples^2 / 2 multiply-adds,
  independent of the unit counts; generation costs samples^2 x units / 2 per
  network, once.
"""

from __future__ import annotations

import math
from typing import Optional

import numpy as np
import torch

from ._linalg import sum_singular_values, thread_map
from .prepared import Prepared

TILE_BUDGET = 1 << 25  # elements of one block-pair product tile (factor path)
REDUCE_BUDGET = 1 << 22  # float64 elements per batch of k x k tiles
GRAM_BUFFER_BYTES = 1 << 28  # generated Gram row chunks, all networks of a call together
DEFAULT_GRAM_BLOCK = 128  # networks per GEMM block on the Gram path
WIDTH_RATIO = 1.25  # factor path: widest / narrowest factor within a block
# Wide factors (Procrustes keeps every direction): each pair's singular values of a padded
# w x w tile cost ~w^3, so padding waste matters more than the number of blocks.
WIDE = 64
WIDE_RATIO = 1.05
SQRT2 = math.sqrt(2.0)


def width_blocks(
    order: np.ndarray, widths: np.ndarray, block_size: int, max_cols: int, max_ratio: float = WIDTH_RATIO
) -> list[np.ndarray]:
    """Split ``order`` (ascending width) into blocks of at most ``block_size``
    networks, with padded width x size <= ``max_cols`` and widest <=
    ``max_ratio`` x narrowest (padding waste is paid per pair on this path)."""
    blocks: list[np.ndarray] = []
    cur: list[int] = []
    wmin = wmax = 0
    for idx in order:
        w = max(int(widths[idx]), 1)
        new_wmax = max(wmax, w)
        if cur and (
            len(cur) >= block_size or (len(cur) + 1) * new_wmax > max_cols or new_wmax > max_ratio * wmin
        ):
            blocks.append(np.array(cur, dtype=np.int64))
            cur, new_wmax = [], w
        if not cur:
            wmin = w
        cur.append(int(idx))
        wmax = new_wmax
    if cur:
        blocks.append(np.array(cur, dtype=np.int64))
    return blocks


def _pad_flat(prep: Prepared, idx: np.ndarray, width: int) -> torch.Tensor:
    """(samples, len(idx) * width) matrix of the block's factors, zero-padded.

    Built by one ``torch.cat`` (pads are views of one zero matrix): a column-slice
    assignment per network launches one small parallel copy each, which on a busy
    2-core machine cost ~15 ms apiece (threads waiting for each other).
    """
    zeros = torch.zeros(prep.n_samples, width, dtype=prep.dtype, device=prep.device)
    parts: list[torch.Tensor] = []
    for i in idx:
        f = prep.factors[int(i)]
        parts.append(f)
        if f.shape[1] < width:
            parts.append(zeros[:, : width - f.shape[1]])
    return torch.cat(parts, dim=1)


def _pair_indices(n_i: int, n_j: int, upper: bool, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    if upper:
        iu = torch.triu_indices(n_i, n_i, offset=1, device=device)
        return iu[0], iu[1]
    pi = torch.arange(n_i, device=device).repeat_interleave(n_j)
    pj = torch.arange(n_j, device=device).repeat(n_i)
    return pi, pj


def _reduce_tiles(T4: torch.Tensor, pi: torch.Tensor, pj: torch.Tensor, reduce: str) -> np.ndarray:
    """Reduce tiles T4[pi, pj] (each w_i x w_j) in float64 batches."""
    w_i, w_j = T4.shape[2], T4.shape[3]
    batch = max(1, REDUCE_BUDGET // max(1, w_i * w_j))
    out = []
    for s in range(0, pi.numel(), batch):
        sub = T4[pi[s : s + batch], pj[s : s + batch]].to(torch.float64)
        if reduce == "nuclear":
            out.append(sum_singular_values(sub))
        else:
            out.append(sub.square().sum(dim=(-2, -1)))
    return torch.cat(out).cpu().numpy() if out else np.zeros(0)


def factor_cross(
    prep_a: Prepared, prep_b: Prepared, symmetric: bool, block_size: Optional[int], reduce: str
) -> np.ndarray:
    """Sum of singular values ("nuclear") or squared Frobenius norm ("fro2") of
    F_a[i]^T F_b[j] for all pairs (only i < j, mirrored, when ``symmetric``)."""
    n_a, n_b = len(prep_a), len(prep_b)
    out = np.zeros((n_a, n_b), dtype=np.float64)
    cap = block_size if block_size else n_a + n_b + 1
    max_cols = math.isqrt(TILE_BUDGET)
    wide = reduce == "nuclear" and float(np.mean(np.r_[prep_a.widths, prep_b.widths])) > WIDE
    ratio = WIDE_RATIO if wide else WIDTH_RATIO
    blocks_a = width_blocks(np.argsort(prep_a.widths, kind="stable"), prep_a.widths, cap, max_cols, ratio)
    blocks_b = (
        blocks_a
        if symmetric
        else width_blocks(np.argsort(prep_b.widths, kind="stable"), prep_b.widths, cap, max_cols, ratio)
    )
    for bi, ia in enumerate(blocks_a):
        w_i = int(prep_a.widths[ia].max())
        if w_i == 0:
            continue
        A = _pad_flat(prep_a, ia, w_i)
        for bj in range(bi if symmetric else 0, len(blocks_b)):
            ib = blocks_b[bj]
            w_j = int(prep_b.widths[ib].max())
            if w_j == 0:
                continue
            same = symmetric and bj == bi
            if same and len(ia) < 2:
                continue
            B = A if same else _pad_flat(prep_b, ib, w_j)
            P = A.T @ B
            T4 = P.view(len(ia), w_i, len(ib), w_j).permute(0, 2, 1, 3)
            pi, pj = _pair_indices(len(ia), len(ib), same, P.device)
            vals = _reduce_tiles(T4, pi, pj, reduce)
            gi, gj = ia[pi.cpu().numpy()], ib[pj.cpu().numpy()]
            out[gi, gj] = vals
            if symmetric:
                out[gj, gi] = vals
    return out


def _fill_gram_rows(buf: torch.Tensor, prep: Prepared, sq: Optional[list], r0: int, r1: int) -> None:
    """Write rows r0:r1, columns r0: of each network's transformed Gram matrix
    into ``buf`` (n, >= (r1 - r0) * (samples - r0)), flattened, with columns
    >= r1 scaled by sqrt(2) so that one inner product covers the upper triangle."""
    m = prep.n_samples
    n_rows, n_cols = r1 - r0, m - r0
    debiased = bool(prep.params.get("debiased", False))
    diag = torch.arange(n_rows, device=prep.device)

    def fill(ids: range) -> None:
        for i in ids:
            X = prep.factors[i]
            G = buf[i, : n_rows * n_cols].view(n_rows, n_cols)
            if X.shape[1] == 0:  # constant network: masked by the caller
                G.zero_()
                continue
            torch.matmul(X[r0:r1], X[r0:].T, out=G)
            if sq is not None:  # RBF: squared distances from dot products, then the kernel
                G.mul_(-2.0).add_(sq[i][r0:r1, None]).add_(sq[i][None, r0:]).clamp_(min=0.0)
                G[diag, diag] = 0.0
                G.mul_(-float(prep.inv_two_sigma2[i])).exp_()
            if prep.row_terms is not None:
                a = prep.row_terms[i]
                G.sub_(a[r0:r1, None]).sub_(a[None, r0:]).add_(float(prep.const_terms[i]))
            if debiased:
                G[diag, diag] = 0.0
            if n_cols > n_rows:
                G[:, n_rows:].mul_(SQRT2)

    # small per-network products: one single-threaded worker per torch thread
    n = len(prep)
    parts = [range(s, e) for s, e in _contiguous_blocks(n, max(1, -(-n // torch.get_num_threads())))]
    thread_map(fill, parts, prep.device)


def _contiguous_blocks(n: int, size: int) -> list[tuple[int, int]]:
    return [(s, min(n, s + size)) for s in range(0, n, size)]


# A float32 product of Gram rows sums rows·m terms before it reaches the float64 accumulator;
# with all 1,600 rows at once (small n) that lost 6e-5 relative on similarities near 0.95
# (measured against float64); chunks of at most this many terms keep it near 1e-7.
MAX_LOW_PRECISION_TERMS = 1 << 15


def gram_cross(prep_a: Prepared, prep_b: Prepared, symmetric: bool, block_size: Optional[int]) -> np.ndarray:
    """<K_hat_a[i], K_hat_b[j]>_F for all pairs (i < j, mirrored, when ``symmetric``).

    Row chunks of every network's Gram matrix are generated once into a
    buffer of at most GRAM_BUFFER_BYTES and multiplied block by block
    (``block_size`` networks, upper block triangle only when symmetric). If
    even one row per network does not fit, the networks are split into
    super-blocks (each generated once per partner super-block).
    """
    n_a, n_b = len(prep_a), len(prep_b)
    m = prep_a.n_samples
    budget = GRAM_BUFFER_BYTES // prep_a.dtype.itemsize
    n_gen = n_a if symmetric else n_a + n_b
    if n_gen * m > budget:
        return _gram_cross_split(prep_a, prep_b, symmetric, block_size, max(1, budget // (2 * m)))
    rows = max(1, min(m, budget // (n_gen * m)))
    if prep_a.dtype != torch.float64:  # each product sums rows·m terms in its dtype: keep that short
        rows = max(1, min(rows, MAX_LOW_PRECISION_TERMS // m))
    rbf = prep_a.metric == "cka_rbf"
    size = block_size or DEFAULT_GRAM_BLOCK

    def squares(prep: Prepared) -> Optional[list]:
        return [X.square().sum(dim=1) for X in prep.factors] if rbf else None

    sq_a = squares(prep_a)
    sq_b = sq_a if symmetric else squares(prep_b)
    buf_a = torch.empty(n_a, rows * m, dtype=prep_a.dtype, device=prep_a.device)
    buf_b = buf_a if symmetric else torch.empty(n_b, rows * m, dtype=prep_b.dtype, device=prep_b.device)
    acc = torch.zeros(n_a, n_b, dtype=torch.float64, device=prep_a.device)
    blocks_a = _contiguous_blocks(n_a, size)
    blocks_b = blocks_a if symmetric else _contiguous_blocks(n_b, size)
    for r0 in range(0, m, rows):
        r1 = min(m, r0 + rows)
        width = (r1 - r0) * (m - r0)
        _fill_gram_rows(buf_a, prep_a, sq_a, r0, r1)
        if not symmetric:
            _fill_gram_rows(buf_b, prep_b, sq_b, r0, r1)
        ga, gb = buf_a[:, :width], buf_b[:, :width]
        for bi, (s0, s1) in enumerate(blocks_a):
            for t0, t1 in blocks_b[bi if symmetric else 0 :]:
                acc[s0:s1, t0:t1] += (ga[s0:s1] @ gb[t0:t1].T).to(torch.float64)
    out = acc.cpu().numpy()
    if symmetric:
        upper = np.triu(out, k=1)
        out = upper + upper.T
    return out


def _gram_cross_split(
    prep_a: Prepared, prep_b: Prepared, symmetric: bool, block_size: Optional[int], piece: int
) -> np.ndarray:
    """gram_cross over super-blocks of at most ``piece`` networks per side."""
    out = np.zeros((len(prep_a), len(prep_b)), dtype=np.float64)
    parts_a = _contiguous_blocks(len(prep_a), piece)
    parts_b = parts_a if symmetric else _contiguous_blocks(len(prep_b), piece)
    for bi, (s0, s1) in enumerate(parts_a):
        sub_a = prep_a.select(slice(s0, s1))
        for t0, t1 in parts_b[bi if symmetric else 0 :]:
            if symmetric and (t0, t1) == (s0, s1):
                out[s0:s1, s0:s1] = gram_cross(sub_a, sub_a, True, block_size)
                continue
            block = gram_cross(sub_a, prep_b.select(slice(t0, t1)), False, block_size)
            out[s0:s1, t0:t1] = block
            if symmetric:
                out[t0:t1, s0:s1] = block.T
    return out
