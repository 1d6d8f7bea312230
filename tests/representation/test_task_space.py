"""Task variance, task vectors and compositionality on constructed activity."""

import numpy as np
import pytest

from rnnatlas.representation import compositionality, rule_variance, task_vectors

RULES = ["go", "dly_go", "anti", "dly_anti"]


def labels(n_per_rule=4, on=2, off=6, response=8, end=10):
    return {"rule": np.repeat(RULES, n_per_rule), "stim_on": np.full(4 * n_per_rule, on),
            "stim_off": np.full(4 * n_per_rule, off), "response": np.full(4 * n_per_rule, response),
            "end": np.full(4 * n_per_rule, end)}


def test_rule_variance_is_the_variance_across_trials_from_stimulus_onset():
    rng = np.random.default_rng(0)
    lab = labels()
    hidden = np.zeros((16, 12, 3))
    hidden[:4, :, 0] = rng.normal(size=(4, 12))  # unit 0 varies across go trials
    hidden[:4, :2, 1] = rng.normal(size=(4, 2)) * 100  # unit 1 only before stimulus onset: not counted
    hidden[:4, 10:, 2] = 50  # unit 2 differs only after the end: not counted
    var = rule_variance(hidden, lab, RULES)
    assert var[0, 0] == pytest.approx(hidden[:4, 2:10, 0].var(axis=0).mean())
    assert var[0, 1] == 0 and var[0, 2] == 0 and np.all(var[1:] == 0)


def test_task_vectors_take_the_last_stimulus_step():
    lab = labels()
    hidden = np.zeros((16, 12, 2))
    hidden[:, 5, 0] = np.arange(16)  # step off − 1 = 5
    v = task_vectors(hidden, lab, RULES)
    np.testing.assert_allclose(v[:, 0], [1.5, 5.5, 9.5, 13.5])
    rt = task_vectors(hidden, {**lab, "stim_on": lab["response"]}, RULES)  # RT: no stimulus epoch
    assert np.isnan(rt).all()


def test_compositionality_cosine():
    base = np.array([1.0, 0.0, 0.0, 0.0])
    delay = np.array([0.0, 2.0, 0.0, 0.0])
    anti = np.array([0.0, 0.0, 3.0, 0.0])
    parallel = np.stack([base, base + delay, anti, anti + delay])
    c = compositionality(parallel, RULES)
    assert c["cosine"] == pytest.approx(1.0) and c["cosine_pc2"] == pytest.approx(1.0)
    orthogonal = np.stack([base, base + delay, anti, anti + np.array([0, 0, 0, 2.0])])
    assert compositionality(orthogonal, RULES)["cosine"] == pytest.approx(0.0)
    assert np.isnan(compositionality(parallel[:2], RULES[:2])["cosine"])  # needs all four tasks
