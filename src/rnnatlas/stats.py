"""Summary statistics across networks: t-intervals for means and paired differences.

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
