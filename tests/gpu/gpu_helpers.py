"""Comparison helpers of the CUDA-versus-CPU tests (tests/gpu only)."""

from __future__ import annotations

import numpy as np
import torch


def to_numpy(x) -> np.ndarray:
    """A tensor on any device (or an array) as a float64/complex numpy array."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def assert_close(actual, expected, *, rtol: float, atol: float, what: str = "") -> None:
    """np.testing.assert_allclose on tensors from either device, with NaNs compared as equal."""
    np.testing.assert_allclose(to_numpy(actual), to_numpy(expected), rtol=rtol, atol=atol, equal_nan=True,
                               err_msg=what)


def match_points(a: np.ndarray, b: np.ndarray, tol: float, what: str = "points") -> np.ndarray:
    """Pair two sets of points one to one (nearest neighbour) and return ``order`` with
    ``b[order[i]]`` the partner of ``a[i]``; fails unless both sets have the same size and
    every point has a partner within ``tol`` (2-norm) that is no other point's partner."""
    assert a.shape == b.shape, f"{what}: {a.shape[0]} points on one device, {b.shape[0]} on the other"
    if len(a) == 0:
        return np.zeros(0, dtype=np.int64)
    d = np.linalg.norm(a[:, None, :] - b[None, :, :], axis=-1)
    order = d.argmin(1)
    assert len(set(order.tolist())) == len(order), f"{what}: two points share one nearest partner"
    worst = float(d[np.arange(len(a)), order].max())
    assert worst < tol, f"{what}: a point has no partner within {tol:g} (largest distance {worst:.3g})"
    return order
