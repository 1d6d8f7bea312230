"""Summary statistics across networks: t-intervals for means and paired differences, and
silhouettes of a grouping with a permutation p-value.

Used to report study-level effects (e.g. trained − initial, per network) with honest
uncertainty: NaNs are dropped and counted, and fewer than two values give no interval.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats as _st


def mean_ci(values: Any, level: float = 0.95) -> dict[str, float | int | None]:
    """Mean with a two-sided Student-t confidence interval.

    Returns ``{"n", "n_nan", "mean", "sd", "ci_low", "ci_high"}``: ``n`` finite values used
    (NaNs dropped, counted in ``n_nan``), ``sd`` the sample SD (ddof 1). ``mean`` is None for
    n = 0; ``sd`` and the bounds are None for n < 2. ±inf values raise ValueError.
    """
    if not 0 < level < 1:
        raise ValueError("level must lie in (0, 1)")
    x = np.asarray(values, dtype=np.float64).ravel()
    nan = np.isnan(x)
    x = x[~nan]
    if np.any(np.isinf(x)):
        raise ValueError("values contain ±inf")
    n = int(x.size)
    out: dict[str, float | int | None] = {
        "n": n, "n_nan": int(nan.sum()), "mean": None, "sd": None,
        "ci_low": None, "ci_high": None,
    }
    if n == 0:
        return out
    mean = float(x.mean())
    out["mean"] = mean
    if n < 2:
        return out
    sd = float(x.std(ddof=1))
    half = float(_st.t.ppf(0.5 + level / 2, df=n - 1)) * sd / np.sqrt(n)
    out.update(sd=sd, ci_low=mean - half, ci_high=mean + half)
    return out


def paired_difference(a: Any, b: Any, level: float = 0.95) -> dict[str, float | int | None]:
    """:func:`mean_ci` of the per-item differences a − b, plus Cohen's d_z.

    Pairs with a NaN on either side are dropped (counted in ``n_nan``). ``effect_size`` =
    mean(a − b) / sd(a − b) (d_z); None when n < 2 or when every difference is the same
    (sd = 0), so the result stays JSON-safe.
    """
    x = np.asarray(a, dtype=np.float64).ravel()
    y = np.asarray(b, dtype=np.float64).ravel()
    if x.shape != y.shape:
        raise ValueError(f"a and b must have the same length, got {x.size} and {y.size}")
    out = mean_ci(x - y, level=level)
    mean, sd = out["mean"], out["sd"]
    if mean is None or sd is None or sd == 0:
        out["effect_size"] = None
    else:
        out["effect_size"] = float(mean) / float(sd)
    return out


def welch_difference(a: Any, b: Any, level: float = 0.95) -> dict[str, float | int | None]:
    """Difference of means mean(a) − mean(b) of two independent groups with Welch's t-interval
    (Welch–Satterthwaite degrees of freedom) and its two-sided p-value.

    Returns ``{"n_a", "n_b", "difference", "ci_low", "ci_high", "p_value"}``; NaNs are dropped;
    the interval and p are None unless both groups have at least two values and not both
    have zero spread.
    """
    x = np.asarray(a, dtype=np.float64).ravel()
    y = np.asarray(b, dtype=np.float64).ravel()
    x, y = x[~np.isnan(x)], y[~np.isnan(y)]
    if np.any(np.isinf(x)) or np.any(np.isinf(y)):
        raise ValueError("values contain ±inf")
    out: dict[str, float | int | None] = {"n_a": int(x.size), "n_b": int(y.size), "difference": None,
                                          "ci_low": None, "ci_high": None, "p_value": None}
    if x.size == 0 or y.size == 0:
        return out
    diff = float(x.mean() - y.mean())
    out["difference"] = diff
    if x.size < 2 or y.size < 2:
        return out
    va, vb = x.var(ddof=1) / x.size, y.var(ddof=1) / y.size
    se2 = va + vb
    if se2 == 0:
        return out
    df = se2**2 / (va**2 / (x.size - 1) + vb**2 / (y.size - 1))
    half = float(_st.t.ppf(0.5 + level / 2, df=df)) * float(np.sqrt(se2))
    p = 2.0 * float(_st.t.sf(abs(diff) / np.sqrt(se2), df=df))
    out.update(ci_low=diff - half, ci_high=diff + half, p_value=p)
    return out


def silhouettes(distance: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Mean silhouette of each labelling in ``labels`` ([P, n] integer codes, or [n]) over the
    precomputed distances (n, n), all at once: the same value as sklearn's ``silhouette_score``
    (a point alone in its group scores 0), vectorised so that a permutation test costs a few
    matrix products instead of P calls."""
    D = np.asarray(distance, dtype=np.float64)
    L = np.atleast_2d(np.asarray(labels))
    n_groups = int(L.max()) + 1
    onehot = (L[:, :, None] == np.arange(n_groups)).astype(np.float64)  # (P, n, g)
    sums = np.einsum("ij,pjg->pig", D, onehot)  # distance of each point to each group, summed
    sizes = onehot.sum(axis=1)[:, None, :]  # (P, 1, g)
    own = np.take_along_axis(sizes[:, 0, :], L, axis=1)  # (P, n): the point's own group size
    a = np.take_along_axis(sums, L[:, :, None], axis=2)[:, :, 0] / np.maximum(own - 1, 1)
    others = np.where(onehot > 0, np.inf, sums / np.where(sizes > 0, sizes, 1.0))
    others = np.where(sizes > 0, others, np.inf)
    b = others.min(axis=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        s = np.where(own > 1, (b - a) / np.maximum(a, b), 0.0)
    return np.nan_to_num(s, nan=0.0).mean(axis=1)


def silhouette_test(distance: np.ndarray, labels: Any, n_permutations: int = 1000,
                    seed: int = 0) -> dict[str, Any]:
    """Silhouette of ``labels`` on ``distance`` with a one-sided permutation p-value.

    The labels are shuffled ``n_permutations`` times (seeded); ``p_value`` =
    (1 + #{shuffled >= observed}) / (1 + n_permutations), the chance that a grouping with
    the same group sizes but no relation to the networks separates them as well. Undefined
    (None) with fewer than 3 points, one group, or every point in its own group.
    """
    names, codes = np.unique(np.asarray(labels).astype(str), return_inverse=True)
    n = codes.size
    out: dict[str, Any] = {"silhouette": None, "p_value": None, "n": int(n), "n_permutations": int(n_permutations),
                           "groups": {str(k): int(v) for k, v in zip(names, np.bincount(codes))}}
    if n < 3 or not 2 <= names.size <= n - 1:
        return out
    observed = float(silhouettes(distance, codes)[0])
    out["silhouette"] = observed
    if n_permutations > 0:
        rng = np.random.default_rng(seed)
        shuffled = np.stack([rng.permutation(codes) for _ in range(n_permutations)])
        null = np.concatenate([silhouettes(distance, chunk) for chunk in np.array_split(shuffled, max(1, n_permutations // 200))])
        out["p_value"] = float((1 + np.sum(null >= observed - 1e-12)) / (1 + n_permutations))
    return out
