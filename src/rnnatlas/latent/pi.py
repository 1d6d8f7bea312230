"""Gaussian predictive information (PI) of a time series, as in DCA (Clark et al. 2019).

Under a stationary Gaussian model the mutual information between a past and a future
window of T steps is PI = log det Σ_T − ½ log det Σ_2T (nats), Σ_k being the block-Toeplitz
covariance of k consecutive steps. The lagged covariances are estimated the way DCA's
``calc_cross_cov_mats_from_data`` (method "toeplitzify") does, so the values agree with it:
windows of 2T steps inside each trial, one global mean, block averages over equal lags.
"""

from __future__ import annotations

import numpy as np

from ._data import Activity, as_trials


def lagged_cross_covariances(x: Activity, n_lags: int, rectify: bool = True) -> np.ndarray:
    """Cross-covariances C[k] = Cov(x(t+k), x(t)), k = 0 … n_lags−1, as [n_lags, D, D].

    Estimated from all windows of ``n_lags`` consecutive steps within each trial (never
    across trials), centred by the mean over all time points, normalised by
    (number of windows − 1), and averaged over the positions inside the window that have
    the same lag (symmetrised). With ``rectify``, if the block-Toeplitz matrix they form is
    not positive definite, ε − λ_min (ε = 1e-6) is added to C[0], as DCA does.
    """
    trials = as_trials(x)
    if n_lags < 1:
        raise ValueError("n_lags must be >= 1")
    for t in trials:
        if len(t) <= n_lags:
            raise ValueError(
                f"every trial must be longer than {n_lags} steps (2·window); got {len(t)}"
            )
    mean = np.concatenate(trials).mean(axis=0)
    d = trials[0].shape[1]
    sums = np.zeros((n_lags, d, d))
    n_windows = 0
    for trial in trials:
        xc = trial - mean
        length = len(xc)
        n_w = length - n_lags + 1
        n_windows += n_w
        # Window start s ∈ [0, n_w), position i ∈ [0, n_lags−k): the pair (u+k, u) with
        # u = s + i appears once per (s, i) with s + i = u.
        u = np.arange(length)
        for k in range(n_lags):
            m = n_lags - k
            lo = np.maximum(0, u - (n_w - 1))
            hi = np.minimum(m - 1, u)
            weight = np.clip(hi - lo + 1, 0, None)[: length - k].astype(np.float64)
            sums[k] += (xc[k:] * weight[:, None]).T @ xc[: length - k] / m
    cov = sums / (n_windows - 1.0)
    cov = _sym(cov)
    if rectify:
        big = block_toeplitz(cov)
        lam_min = float(np.linalg.eigvalsh(big)[0])
        if lam_min <= 0.0:
            cov[0] += (1e-6 - lam_min) * np.eye(d)
    return cov


def _sym(cov: np.ndarray) -> np.ndarray:
    """Make C[0] exactly symmetric (the higher lags are not symmetric by nature)."""
    out = cov.copy()
    out[0] = 0.5 * (cov[0] + cov[0].T)
    return out


def block_toeplitz(cross_covs: np.ndarray) -> np.ndarray:
    """Covariance of K stacked steps [x(1); …; x(K)] from C[0…K−1]: block (i, j) = C[i−j]
    for i ≥ j and C[j−i]ᵀ above the diagonal. [K·D, K·D]."""
    c = np.asarray(cross_covs, dtype=np.float64)
    k, d, _ = c.shape
    out = np.empty((k * d, k * d))
    for i in range(k):
        for j in range(k):
            blk = c[i - j] if i >= j else c[j - i].T
            out[i * d:(i + 1) * d, j * d:(j + 1) * d] = blk
    return out


def pi_from_cross_covs(cross_covs: np.ndarray, proj: np.ndarray | None = None) -> float:
    """PI (nats) for window T = len(cross_covs) // 2 from C[0…2T−1], optionally of the
    projection onto the columns of ``proj`` [D, d]."""
    c = np.asarray(cross_covs, dtype=np.float64)
    if len(c) % 2:
        raise ValueError("need an even number (2T) of lagged covariances")
    if proj is not None:
        p = np.asarray(proj, dtype=np.float64)
        if p.ndim == 1:
            p = p[:, None]
        c = np.einsum("ia,kij,jb->kab", p, c, p)
    t = len(c) // 2
    d = c.shape[1]
    big = block_toeplitz(c)
    s1, ld_t = np.linalg.slogdet(big[: t * d, : t * d])
    s2, ld_2t = np.linalg.slogdet(big)
    if s1 <= 0 or s2 <= 0:
        raise ValueError("lagged covariance is singular or indefinite; PI undefined")
    return float(ld_t - 0.5 * ld_2t)


def gaussian_predictive_information(
    x: Activity, window: int, proj: np.ndarray | None = None, rectify: bool = True
) -> float:
    """PI = log det Σ_T − ½ log det Σ_2T (nats) of x, T = ``window`` (past = future length).

    ``x`` is [trials, time, dims] (or a list of [time, dims] trials); lags never cross
    trials and each trial must be longer than 2T steps. With ``proj`` [dims, d], the PI of
    x·proj. ``rectify`` as in :func:`lagged_cross_covariances` (applied before projecting,
    as DCA does). PI ≥ 0 up to estimation noise.
    """
    if window < 1:
        raise ValueError("window must be >= 1")
    return pi_from_cross_covs(lagged_cross_covariances(x, 2 * window, rectify=rectify), proj)
