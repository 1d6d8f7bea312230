"""Decision-tree cross-validation: κ ≈ 1 on separable classes, ≈ 0 on shuffled labels; N/A rows."""

import numpy as np
import pytest

from rnnatlas.embed.classify import classify_by_group, classify_cv, finite_features


def separable(n=120, seed=0):
    rng = np.random.default_rng(seed)
    y = np.repeat(["a", "b", "c"], n // 3)
    x = rng.normal(size=(n, 4))
    x[:, 2] += 20.0 * (y == "b") + 40.0 * (y == "c")
    return x, y


def test_separable_classes_give_kappa_one_and_identity_confusion():
    x, y = separable()
    r = classify_cv(x, y, n_repeats=20)
    assert r.kappa_mean > 0.99 and r.kappa_se < 0.01
    assert np.allclose(r.confusion_mean, np.eye(3)) and r.classes.tolist() == ["a", "b", "c"]
    assert len(r.kappas) == 20


def test_shuffled_labels_give_kappa_near_zero():
    x, y = separable()
    y = np.random.default_rng(1).permutation(y)
    r = classify_cv(x, y, n_repeats=30)
    assert abs(r.kappa_mean) < 0.1
    assert np.allclose(np.nansum(r.confusion_mean, axis=1), 1.0)  # rows are normalised


def test_rare_class_is_not_available():
    x, y = separable()
    y = y.astype(object)
    y[:3] = "rare"
    r = classify_cv(x, y, n_repeats=10, min_members=5)
    i = r.classes.tolist().index("rare")
    assert not r.available[i] and r.counts[i] == 3
    assert np.all(np.isnan(r.confusion_mean[i])) and np.all(np.isnan(r.confusion_mean[:, i]))
    assert not np.isnan(r.confusion_mean[0, 0])


def test_groups_and_forest_and_infinite_features():
    x, y = separable()
    x[0, 0], x[1, 1] = np.inf, -np.inf
    g = np.tile(["gru", "lstm"], 60)
    out = classify_by_group(x, y, g, n_repeats=3, model="forest")
    assert set(out) == {"gru", "lstm", "all"} and all(r.kappa_mean > 0.95 for r in out.values())
    assert np.isfinite(finite_features(x)).all()
    with pytest.raises(ValueError):
        classify_cv(x, y, model="svm")
