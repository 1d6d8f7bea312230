"""Study S stages on networks with known answers: RSG features and classes, the summary, toy2d."""

import json

import numpy as np
import pandas as pd
import pytest

from rnnatlas.features.rsg import FEATURE_NAMES
from rnnatlas.ids import NetworkSpec
from rnnatlas.models import RNNPopulation
from rnnatlas.stages import rsg_features, space_of_solutions, toy2d
from rnnatlas.stages.common import finite_or_none
from rnnatlas.store.features_file import read_features
from rnnatlas.store.model_file import ModelRecord, write_model
from rnnatlas.store.task_data import build_task_data, write_task_data
from rnnatlas.store.toy2d_file import read_solutions

RSG = {"interval_min": 13, "interval_max": 20, "pulse": 5, "ready_min": 5, "ready_max": 8, "n_train": 16, "probe_ready": 5}
TOPOLOGY = {"settle_steps": 400, "free_steps": 100, "go_window": 50, "fixed_point_tol": 1e-6, "go_threshold": 0.5,
            "min_svm_accuracy": 0.99}


def _write_network(path, seed, bias_out, failed=False):
    """A vanilla network with all weights 0: its state stays at 0, its output is ``bias_out``."""
    spec = NetworkSpec("rsg", "vanilla", "tanh", 4, 0.0, seed)
    pop = RNNPopulation("vanilla", "tanh", 1, 2, 4, 1).initialize([seed])
    params = {name: np.zeros_like(v.numpy()) for name, v in pop.network_params(0).items()}
    params["bias_out"][:] = bias_out
    summary = {"accepted": not failed, "failed": failed, "failure_reason": "non-finite loss" if failed else "",
               "final_train_loss": 0.0, "final_val_loss": 0.0, "accept_threshold": 1.0, "iterations_run": 1,
               "wall_time_s": 0.0, "pack_size": 3}
    write_model(path, ModelRecord(spec, {**spec.as_config(), "n_inputs": 2, "n_outputs": 1, "readout": "linear"},
                                  params, np.zeros(1), np.zeros(0, dtype=np.int64), np.zeros(0), {}, summary))


@pytest.fixture(scope="module")
def rsg_pack(tmp_path_factory):
    root = tmp_path_factory.mktemp("rsg")
    write_task_data(root / "task_data.h5", build_task_data("rsg", RSG, 16, 0), 0)
    models = [root / f"m{i}.h5" for i in range(3)]
    for i, (bias, failed) in enumerate([(0.0, False), (1.0, False), (0.0, True)]):
        _write_network(models[i], i, bias, failed)
    outs = [root / f"f{i}.h5" for i in range(3)]
    rsg_features.run(str(root / "task_data.h5"), list(map(str, models)), list(map(str, outs)), TOPOLOGY, "cpu")
    return [read_features(p) for p in outs]


def test_a_silent_network_rests_at_a_fixed_point_and_never_says_go(rsg_pack):
    _, arrays, attrs = rsg_pack[0]
    # states stay at 0: Ready-Set and Set-Go coincide (A0), a fixed point (D1), no Go (B0, E0), no cycle
    assert attrs["solution_class"] == "A0B0C0D1E0"
    assert float(arrays["final_speed"]) == 0.0 and np.all(arrays["final_state"] == 0)
    assert set(FEATURE_NAMES) <= set(arrays)


def test_a_network_whose_output_is_always_one_says_go_from_everywhere(rsg_pack):
    assert rsg_pack[1][2]["solution_class"] == "A0B1C0D1E1"


def test_a_failed_network_is_recorded_not_analysed(rsg_pack):
    _, arrays, attrs = rsg_pack[2]
    assert attrs["analysed"] is False or attrs["analysed"] == 0
    assert "non-finite" in attrs["reason"] and attrs["solution_class"] == "" and not arrays


def _table(n_per_arch=40, seed=0, random_classes=False):
    """Networks whose class is decided by one feature's sign (a tree finds it: κ ≈ 1), or drawn
    independently of the features (κ ≈ 0)."""
    rng = np.random.default_rng(seed)
    rows = []
    for arch in ("gru", "lstm"):
        for i in range(n_per_arch):
            x = rng.normal(size=len(FEATURE_NAMES))
            decider = rng.normal() if random_classes else x[0]
            cls = "A1B0C0D1E0" if decider > 0 else "A0B0C0D1E0"
            rows.append({"net_id": f"{arch}-{i}", "arch": arch, "activation": "tanh", "units": 4, "seed": i,
                         "accepted": True, "analysed": True, "reason": "", "solution_class": cls,
                         **dict(zip(FEATURE_NAMES, x))})
    rows.append({**rows[0], "net_id": "gru-rare", "solution_class": "A1B1C1D0E0"})  # one member: N/A
    rows.append({**rows[1], "net_id": "gru-not-accepted", "accepted": False, "solution_class": "A1B1C1D1E1"})
    return pd.DataFrame(rows)


def test_summary_classifies_accepted_networks_per_architecture_and_combined():
    classifier = {"model": "tree", "n_repeats": 10, "test_size": 0.3, "min_members": 5, "networks": "accepted", "seed": 0}
    summary = finite_or_none(space_of_solutions.rsg_summary(_table(), classifier))
    assert summary["networks"]["gru"] == {"trained": 42, "accepted": 41, "analysed": 42, "used": 41}
    assert "A1B1C1D1E1" not in summary["class_counts"]["all"]  # the not-accepted network is not used
    assert sum(summary["class_counts"]["all"].values()) == 81
    assert summary["kappa"]["lstm"]["mean"] > 0.9 and summary["kappa"]["all"]["mean"] > 0.9
    chance = space_of_solutions.rsg_summary(_table(random_classes=True), classifier)
    assert abs(chance["kappa"]["all"]["mean"]) < 0.3
    gru = summary["classification"]["gru"]
    rare = gru["classes"].index("A1B1C1D0E0")
    assert gru["available"][rare] is False and gru["confusion_mean"][rare][rare] is None
    json.dumps(summary, allow_nan=False)  # strict JSON: undefined numbers are null


def test_toy2d_stage_trains_and_classifies_a_population(tmp_path):
    settings = {"activations": ["tanh"], "networks": 12, "epochs": 300, "learning_rate": 0.03, "accept_loss": 1e-3,
                "x0": [1.0, 0.0], "target": [0.0, 2.0], "t_final": 5.0, "dt": 0.1, "seed": 0}
    out = tmp_path / "tanh" / "solutions.h5"
    toy2d.run("tanh", settings, str(out), "cpu")
    config, arrays, attrs = read_solutions(out, with_curves=True)
    assert attrs["activation"] == "tanh" and config["networks"] == 12
    w = arrays["weight"]
    assert w.shape == (12, 2, 2) and arrays["loss_curve"].shape == (12, 300)
    np.testing.assert_allclose(arrays["trace"], w[:, 0, 0] + w[:, 1, 1] - 2)  # trace of W − I
    np.testing.assert_allclose(arrays["determinant"], np.linalg.det(w - np.eye(2)), atol=1e-12)
    assert np.all(np.abs(arrays["weight_init"]) <= 1.5)
    assert arrays["accepted"].sum() > 0 and np.all(arrays["final_loss"][arrays["accepted"]] < 1e-3)
    again = tmp_path / "again.h5"
    toy2d.run("tanh", settings, str(again), "cpu")
    np.testing.assert_array_equal(read_solutions(again)[1]["weight"], w)  # reproducible from the seed
