"""Geometry of sampled trajectories: speed, path length and discrete (Menger) curvature.

All functions take states ``[..., T, N]`` (any leading batch dimensions: networks, trials)
and work in float64, so one call serves a whole population.
"""

from __future__ import annotations

import numpy as np



def as_array(x) -> np.ndarray:
    """float64 numpy view of a numpy array or (detached, CPU) torch tensor."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=np.float64)


def speed(h) -> np.ndarray:
    """q(h_t) = ‖h_{t+1} − h_t‖₂ (seed 000 eq. 12): ``[..., T, N]`` → ``[..., T−1]``."""
    h = as_array(h)
    return np.linalg.norm(np.diff(h, axis=-2), axis=-1)


def path_length(h) -> np.ndarray:
    """Σ_t ‖h_{t+1} − h_t‖: the length of the polyline through the states, ``[...]``."""
    return speed(h).sum(axis=-1)


def menger_curvature(h) -> np.ndarray:
    """Curvature at each interior point: 1 / radius of the circle through h_{t−1}, h_t, h_{t+1}.

    κ = 4·area / (|a|·|b|·|a + b|) with a = h_t − h_{t−1}, b = h_{t+1} − h_t; the triangle's
    area comes from the component of one step orthogonal to the other, so it works in any
    dimension. Exact (1/r) for points
    on a circle of radius r at any spacing; 0 on a straight line. Degenerate triples (a
    repeated point) give 0. ``[..., T, N]`` → ``[..., T−2]``.
    """
    h = as_array(h)
    a = h[..., 1:-1, :] - h[..., :-2, :]
    b = h[..., 2:, :] - h[..., 1:-1, :]
    aa, bb, ab = (a * a).sum(-1), (b * b).sum(-1), (a * b).sum(-1)
    # |a × b| = |a|·|b⊥| with b⊥ the part of b orthogonal to a; computed this way rather than
    # as sqrt(|a|²|b|² − (a·b)²), whose cancellation puts a floor ~1e-8/|step| on κ.
    coef = np.where(aa > 0, ab / np.where(aa > 0, aa, 1.0), 0.0)
    b_perp = b - coef[..., None] * a
    twice_area = np.sqrt(aa) * np.linalg.norm(b_perp, axis=-1)
    denom = np.sqrt(aa * bb * (aa + bb + 2 * ab).clip(min=0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        kappa = np.where(denom > 0, 2.0 * twice_area / np.where(denom > 0, denom, 1.0), 0.0)
    return kappa


def safe_log10(x, floor: float = 1e-12) -> np.ndarray:
    """log10 with values below ``floor`` (including 0) clipped to it, so features stay finite."""
    return np.log10(np.maximum(as_array(x), floor))


def resample(h, n: int) -> np.ndarray:
    """Linear interpolation of ``[..., T, N]`` onto ``n`` points evenly spaced in normalised time."""
    h = as_array(h)
    t_old = np.linspace(0.0, 1.0, h.shape[-2])
    pos = np.interp(np.linspace(0.0, 1.0, n), t_old, np.arange(h.shape[-2], dtype=np.float64))
    lo = np.floor(pos).astype(int).clip(0, h.shape[-2] - 1)
    hi = np.minimum(lo + 1, h.shape[-2] - 1)
    w = (pos - lo)[:, None]
    return h[..., lo, :] * (1 - w) + h[..., hi, :] * w
