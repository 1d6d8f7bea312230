"""Batched products whose result for one network does not depend on how many share the call.

torch's batched matmul runs a matrix-vector kernel when a product has one row, one column or
an inner size of 1 (a readout to one output, a task with one input, its weight gradient), and
that kernel's summation order, and whether the bias is fused, changes with the batch size K. A
network trained alone and in a pack then drifted apart (up to 1e-7 in W_out after 30 steps on
the sine and CDI tasks, while the flip-flop's 3-in/3-out products were identical). Sizes of 1
are padded with zeros to 2, which keeps the matrix kernel; the padding contributes exact zeros
and is sliced off, so the numbers are those of the product, the same for any K.
"""

from __future__ import annotations

import torch


def _pad(t: torch.Tensor, dim: int) -> torch.Tensor:
    return torch.cat([t, torch.zeros_like(t)], dim)


def pack_bmm(a: torch.Tensor, b: torch.Tensor, bias: torch.Tensor | None = None,
             out: torch.Tensor | None = None) -> torch.Tensor:
    """``bias + a @ b`` per network (``a [K, M, I]``, ``b [K, I, N]``, ``bias`` broadcastable to
    ``[K, M, N]`` or None), bit-identical for any K; ``out`` is written in place unless a size
    is padded (then the result is copied into it)."""
    m, inner, n = a.shape[1], a.shape[2], b.shape[2]
    if m != 1 and n != 1:
        if inner == 1 and bias is not None:
            # one product per entry is exact in any kernel, a fused bias add is not: add it apart
            # (no padded copy of a [K, T·B, G·N] input projection)
            return torch.bmm(a, b, out=out).add_(bias)
        if bias is None:
            return torch.bmm(a, b, out=out)
        return torch.baddbmm(bias, a, b, out=out)
    # one row or one column (a small result): padded to 2, it keeps the matrix kernel
    if inner == 1:
        a, b = _pad(a, 2), _pad(b, 1)
    if m == 1:
        a = _pad(a, 1)
    if n == 1:
        b = _pad(b, 2)
        bias = None if bias is None else _pad(bias, 2)
    result = (torch.bmm(a, b) if bias is None else torch.baddbmm(bias, a, b))[:, :m, :n]
    if out is not None:
        return out.copy_(result)
    return result
