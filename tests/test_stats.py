"""mean_ci and paired_difference against hand computations."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rnnatlas.stats import mean_ci, paired_difference


def test_mean_ci_hand_computed() -> None:
    # values 1..5: mean 3, sd sqrt(2.5); t_{0.975, 4} = 2.7764451051977934
    out = mean_ci([1, 2, 3, 4, 5])
    half = 2.7764451051977934 * math.sqrt(2.5) / math.sqrt(5)
    assert out["n"] == 5 and out["n_nan"] == 0
    assert out["mean"] == pytest.approx(3.0)
    assert out["sd"] == pytest.approx(math.sqrt(2.5))
    assert out["ci_low"] == pytest.approx(3.0 - half, rel=1e-12)
    assert out["ci_high"] == pytest.approx(3.0 + half, rel=1e-12)


def test_mean_ci_level() -> None:
    # two values 0, 2: mean 1, sd sqrt(2); t_{0.95, 1} = 6.313751514675037
    out = mean_ci([0.0, 2.0], level=0.9)
    assert out["ci_high"] - 1.0 == pytest.approx(6.313751514675037 * math.sqrt(2) / math.sqrt(2))


def test_mean_ci_nans_dropped_and_counted() -> None:
    out = mean_ci([1.0, np.nan, 2.0, 3.0, np.nan])
    ref = mean_ci([1.0, 2.0, 3.0])
    assert out["n"] == 3 and out["n_nan"] == 2
    assert out["ci_low"] == pytest.approx(ref["ci_low"])


def test_mean_ci_small_n() -> None:
    one = mean_ci([4.0, np.nan])
    assert one == {"n": 1, "n_nan": 1, "mean": 4.0, "sd": None, "ci_low": None, "ci_high": None}
    none = mean_ci([])
    assert none["n"] == 0 and none["mean"] is None and none["ci_low"] is None


def test_mean_ci_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        mean_ci([1.0, np.inf])
    with pytest.raises(ValueError):
        mean_ci([1.0, 2.0], level=1.5)


def test_paired_difference_hand_computed() -> None:
    a = [10.0, 12.0, 9.0, 11.0]
    b = [9.0, 10.0, 9.0, 8.0]  # differences 1, 2, 0, 3: mean 1.5, sd sqrt(5/3)
    out = paired_difference(a, b)
    sd = math.sqrt(5 / 3)
    half = 3.1824463052837078 * sd / 2.0  # t_{0.975, 3}
    assert out["mean"] == pytest.approx(1.5)
    assert out["sd"] == pytest.approx(sd)
    assert out["ci_low"] == pytest.approx(1.5 - half, rel=1e-12)
    assert out["effect_size"] == pytest.approx(1.5 / sd)


def test_paired_difference_nan_pairs_and_degenerate() -> None:
    out = paired_difference([1.0, np.nan, 3.0, 5.0], [0.0, 1.0, np.nan, 4.0])
    assert out["n"] == 2 and out["n_nan"] == 2
    assert out["mean"] == pytest.approx(1.0) and out["effect_size"] is None  # sd = 0
    assert paired_difference([1.0], [0.0])["effect_size"] is None
    with pytest.raises(ValueError):
        paired_difference([1.0, 2.0], [1.0])


def test_welch_difference_matches_scipy():
    from scipy import stats as st

    from rnnatlas.stats import welch_difference

    rng = np.random.default_rng(4)
    a, b = rng.normal(1.0, 1.0, 7), rng.normal(0.0, 3.0, 5)
    out = welch_difference(a, b)
    assert out["difference"] == pytest.approx(a.mean() - b.mean())
    assert out["p_value"] == pytest.approx(st.ttest_ind(a, b, equal_var=False).pvalue)
    ci = st.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
    assert (out["ci_low"], out["ci_high"]) == pytest.approx((ci.low, ci.high))
    assert welch_difference([1.0], [2.0, 3.0])["p_value"] is None


def test_silhouettes_match_sklearn_for_many_labellings() -> None:
    from sklearn.metrics import silhouette_score

    from rnnatlas.stats import silhouettes

    rng = np.random.default_rng(0)
    X = rng.standard_normal((20, 3))
    D = np.linalg.norm(X[:, None] - X[None], axis=-1)
    labels = np.stack([rng.permutation(np.r_[np.zeros(9), np.ones(7), np.full(3, 2), [3]]).astype(int)
                       for _ in range(5)])  # group 3 is a singleton (its silhouette is 0)
    got = silhouettes(D, labels)
    assert np.allclose(got, [silhouette_score(D, lab, metric="precomputed") for lab in labels], atol=1e-12)


def test_silhouette_test_p_value() -> None:
    from rnnatlas.stats import silhouette_test

    rng = np.random.default_rng(1)
    X = np.r_[rng.normal(0, 1, (10, 2)), rng.normal(6, 1, (10, 2))]
    D = np.linalg.norm(X[:, None] - X[None], axis=-1)
    separated = silhouette_test(D, ["a"] * 10 + ["b"] * 10, n_permutations=500)
    assert separated["silhouette"] > 0.6 and separated["p_value"] < 0.01
    unrelated = [silhouette_test(D, rng.permutation(["a"] * 10 + ["b"] * 10), n_permutations=200, seed=s)["p_value"]
                 for s in range(20)]
    assert 0.2 < float(np.mean(unrelated)) < 0.8  # p-values of unrelated labels spread over (0, 1]
    assert silhouette_test(D, ["a"] * 20)["silhouette"] is None
