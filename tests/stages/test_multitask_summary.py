"""Study M's summary measures and verdict on constructed per-network files."""

import numpy as np
import pytest

from rnnatlas.stages.multitask_summary import network_measures, open_question, verdict


def arrays(closest, n_fixed_inputs, rules=("go", "go", "anti")):
    return {"epoch_rule": np.asarray(rules), "n_conditions": np.array([1, 8, 8]),
            "n_conditions_with_fixed": np.asarray(n_fixed_inputs), "n_conditions_with_stable": np.asarray(n_fixed_inputs),
            "closest_fixed": np.asarray(closest, dtype=float), "trajectory_end_q": np.array([0.1, 0.2, 0.3])}


def test_network_measures_on_the_go_epochs_and_all_epochs():
    a = arrays([0.5, 1.0, 4.0], [1, 4, 8])
    go = network_measures(a, {"activity_scale": 2.0}, "go")
    assert go["share_inputs_with_fixed_point"] == pytest.approx(5 / 9)
    assert go["closest_fixed_relative"] == pytest.approx(np.median([0.25, 0.5]))
    assert go["share_epochs_reached"] == 0.0 and go["end_speed"] == pytest.approx(0.15)
    every = network_measures(a, {"activity_scale": 2.0})
    assert every["share_inputs_with_fixed_point"] == pytest.approx(13 / 17)


def test_verdict_needs_the_interval_on_one_side():
    closer = {"share_inputs_with_fixed_point": {"ci_low": -0.1, "ci_high": 0.1},
              "closest_fixed_relative": {"ci_low": -0.3, "ci_high": -0.1}}
    assert verdict(closer) == "multitask clearer"
    farther = {**closer, "closest_fixed_relative": {"ci_low": 0.1, "ci_high": 0.3}}
    assert verdict(farther) == "Go-only clearer"
    unsure = {**closer, "closest_fixed_relative": {"ci_low": -0.1, "ci_high": 0.3}}
    assert verdict(unsure) == "no difference detected"
    assert verdict({k: {"ci_low": None} for k in closer}) == "no difference detected"


def test_open_question_compares_the_groups():
    rng = np.random.default_rng(0)
    measures = {task: {scope: {"share_inputs_with_fixed_point": list(np.ones(4)),
                               "share_inputs_with_stable_point": list(np.ones(4)),
                               "closest_fixed_relative": list(rng.normal(mu, 0.01, 4)),
                               "share_epochs_reached": list(np.ones(4)), "end_speed": list(np.ones(4))}
                       for scope in ("go_epochs", "all_epochs")}
                for task, mu in (("go", 0.5), ("go_family", 0.1))}
    out = open_question(measures)
    d = out["multitask_minus_go_only"]["go_epochs"]["closest_fixed_relative"]
    assert d["difference"] == pytest.approx(-0.4, abs=0.03) and d["ci_high"] < 0
    assert out["verdict"] == "multitask clearer" and "Verdict: multitask clearer." in out["answer"]
    assert open_question({"go": measures["go"]})["answer"].startswith("needs both groups")
