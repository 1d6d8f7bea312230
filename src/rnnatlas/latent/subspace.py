"""Activity subspaces: DCA (maximally predictive) and PCA (maximal variance), and angles.

DCA is fitted with the ``dca`` package (BouchardLab, PyPI DynamicalComponentsAnalysis):
maximise PI of the d-dimensional projection over an orthonormal basis, L-BFGS-B with
torch gradients in float64. Torch's thread settings are left as they are.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.linalg

from ._data import Activity, as_trials


def _pca_basis(trials: list[np.ndarray], k: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Top-k principal axes [D, k], their variances [k] and the total variance."""
    allx = np.concatenate(trials)
    xc = allx - allx.mean(axis=0)
    cov = xc.T @ xc / max(len(xc) - 1, 1)
    vals, vecs = np.linalg.eigh(0.5 * (cov + cov.T))
    order = np.argsort(vals)[::-1][:k]
    v = vecs[:, order]
    # Deterministic signs: the largest-magnitude entry of each axis is positive.
    idx = np.argmax(np.abs(v), axis=0)
    v = v * np.sign(v[idx, np.arange(v.shape[1])])
    return v, vals[order], float(np.clip(vals, 0, None).sum())


def pca_subspace(x: Activity, d: int) -> tuple[np.ndarray, float]:
    """Top-d principal subspace of x ([trials, time, N] or list of [time, N]).

    Returns (V [N, d] orthonormal, fraction of the total variance it explains).
    """
    trials = as_trials(x)
    n = trials[0].shape[1]
    if not 1 <= d <= n:
        raise ValueError(f"d must lie in [1, {n}], got {d}")
    v, var, total = _pca_basis(trials, d)
    frac = float(np.clip(var, 0, None).sum() / total) if total > 0 else float("nan")
    return v, frac


def dca_subspace(
    x: Activity,
    d: int,
    window: int,
    n_init: int = 1,
    seed: int = 0,
    max_dim: int | None = None,
) -> tuple[np.ndarray, float]:
    """Maximally predictive d-dimensional subspace of x by DCA, and its PI (nats).

    ``x`` is [trials, time, N] or a list of [time, N] trials (passed to DCA as a list, so
    lags never cross trials); ``window`` is DCA's T (past = future length; trials must be
    longer than 2T). ``n_init`` random orthogonal restarts, best PI kept, seeded by ``seed``.
    ``max_dim``: fit inside the top-``max_dim`` PCs first (speed for large N); this changes
    nothing when those PCs contain the predictive dynamics, but can miss a low-variance
    predictive direction outside them. Returns (V [N, d] orthonormal, PI in nats): the PI
    DCA maximised, i.e. ``gaussian_predictive_information(x, window, proj=V)`` (with
    pre-projection: of the PC-space data). Caveat: on non-stationary trials (transients)
    the block-Toeplitz estimate can be indefinite, and DCA (and the PI here, with
    ``rectify``) then adds (1e-6 − λ_min)·I to the lag-0 covariance of the space fitted,
    which can lower PI a lot and differs between the full and the pre-projected space.
    """
    from dca import DynamicalComponentsAnalysis

    trials = as_trials(x)
    n = trials[0].shape[1]
    if not 1 <= d <= n:
        raise ValueError(f"d must lie in [1, {n}], got {d}")
    if window < 1 or n_init < 1:
        raise ValueError("window and n_init must be >= 1")
    pre: np.ndarray | None = None
    fit_trials = trials
    if max_dim is not None:
        if max_dim < d:
            raise ValueError(f"max_dim ({max_dim}) must be >= d ({d})")
        if max_dim < n:
            pre, _, _ = _pca_basis(trials, max_dim)
            fit_trials = [t @ pre for t in trials]
    model = DynamicalComponentsAnalysis(d=d, T=window, n_init=n_init, rng_or_seed=seed)
    with warnings.catch_warnings():
        # dca passes L-BFGS-B's deprecated `disp` option (SciPy >= 1.15); harmless.
        warnings.filterwarnings("ignore", message=".*disp.*iprint.*", category=DeprecationWarning)
        model.fit(fit_trials)
    # The objective DCA maximised, from its own (rectified) lagged covariances; equals
    # gaussian_predictive_information(x, window, proj=V) when max_dim is None.
    pi = float(model.score())
    v = np.asarray(model.coef_, dtype=np.float64)
    if pre is not None:
        v = pre @ v
    v, _ = np.linalg.qr(v)  # already orthonormal up to rounding; make it exact
    return v, pi


def subspace_angles(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Principal angles (radians, ascending) between span(a) and span(b), a [N, p], b [N, q].

    min(p, q) angles; the bases need not be orthonormal (scipy orthonormalises).
    """
    a2 = np.asarray(a, dtype=np.float64)
    b2 = np.asarray(b, dtype=np.float64)
    a2 = a2[:, None] if a2.ndim == 1 else a2
    b2 = b2[:, None] if b2.ndim == 1 else b2
    if a2.shape[0] != b2.shape[0]:
        raise ValueError(f"bases live in different spaces: {a2.shape} vs {b2.shape}")
    return np.sort(scipy.linalg.subspace_angles(a2, b2))


def angle_to_vector(v_basis: np.ndarray, w: np.ndarray) -> float | np.ndarray:
    """Angle (radians, in [0, π/2]) between vector w [N] and span(v_basis [N, d]).

    0 when w lies in the subspace, π/2 when orthogonal to it. ``w`` may be [m, N] (e.g.
    readout rows), giving [m] angles.
    """
    v = np.asarray(v_basis, dtype=np.float64)
    v = v[:, None] if v.ndim == 1 else v
    q = scipy.linalg.orth(v)
    wv = np.asarray(w, dtype=np.float64)
    single = wv.ndim == 1
    wm = wv[None] if single else wv
    if wm.shape[1] != q.shape[0]:
        raise ValueError(f"w has length {wm.shape[1]}, basis has {q.shape[0]} rows")
    inside = wm @ q @ q.T
    out = np.arctan2(np.linalg.norm(wm - inside, axis=1), np.linalg.norm(inside, axis=1))
    if np.any(np.linalg.norm(wm, axis=1) == 0):
        raise ValueError("angle to a zero vector is undefined")
    return float(out[0]) if single else out
