"""Linear SVM separation: separable clouds give the known gap; identical clouds cannot be separated."""

import numpy as np

from rnnatlas.features.separation import linear_separation


def test_separable_clouds_margin_is_the_gap():
    rng = np.random.default_rng(0)
    a = rng.uniform(-1, 1, size=(60, 3))
    b = rng.uniform(-1, 1, size=(60, 3))
    a[:, 0] = rng.uniform(-3, -1, 60)
    b[:, 0] = rng.uniform(1, 3, 60)
    a[0, 0], b[0, 0] = -1.0, 1.0  # the closest points along x0 are exactly 2 apart
    sep = linear_separation(a, b)
    assert sep.accuracy == 1.0
    assert abs(sep.margin - 2.0) < 0.02


def test_identical_clouds_are_not_separable():
    a = np.random.default_rng(1).normal(size=(80, 4))
    sep = linear_separation(a, a.copy())
    assert sep.accuracy < 0.8
    same = linear_separation(np.ones((5, 2)), np.ones((5, 2)))
    assert same.margin == 0.0 and same.accuracy == 0.5
