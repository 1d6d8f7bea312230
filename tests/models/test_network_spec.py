"""NetworkSpec's per-task network settings: defaults change nothing, others are stored and read back."""

import dataclasses
import math

import numpy as np
import pytest
import torch

from rnnatlas.ids import NETWORK_DEFAULTS, NETWORK_SETTINGS, NetworkSpec, parse_network_id
from rnnatlas.models import RNNPopulation
from rnnatlas.store.model_file import ModelRecord, population_from_records, read_model, write_model

SPEC = NetworkSpec("flipflop", "gru", "tanh", 16, 1e-4, 7)
SETTINGS = {"alpha": 0.2, "noise_rec": 0.05, "noise_in": 0.1, "trainable": ["weight_hh", "weight_out"],
            "mask": "zero_diagonal", "init": "uniform"}


def test_defaults_leave_id_and_config_as_they_were():
    assert SPEC.id == "gru-tanh-n16-l2_1e-04-s07" and SPEC.twin().id == "gru-tanh-n16-l2_1e-04-s07-untrained"
    assert SPEC.as_config() == {"task": "flipflop", "arch": "gru", "activation": "tanh", "units": 16, "l2": 1e-4,
                                "seed": 7, "trained": True, "net_id": "gru-tanh-n16-l2_1e-04-s07"}
    assert list(SPEC.as_config()) == ["task", "arch", "activation", "units", "l2", "seed", "trained", "net_id"]
    assert parse_network_id(SPEC.id, "flipflop") == SPEC
    defaults = {f.name: f.default for f in dataclasses.fields(NetworkSpec) if f.name in NETWORK_SETTINGS}
    assert defaults == NETWORK_DEFAULTS and SPEC.network_settings == NETWORK_DEFAULTS
    # explicit defaults, as a config file may spell them, are the same spec
    same = SPEC.with_network_settings({"alpha": 1, "noise_rec": 0, "trainable": [], "mask": "", "init": "uniform"})
    assert same == SPEC and same.as_config() == SPEC.as_config() and hash(same) == hash(SPEC)


def test_settings_are_carried_but_not_in_the_id():
    spec = SPEC.with_network_settings(SETTINGS)
    assert spec.id == SPEC.id and spec.cell_id == SPEC.cell_id and spec.trained_id == SPEC.id
    assert spec.twin().alpha == 0.2 and spec.twin().id.endswith("-untrained")
    assert spec.trainable == ("weight_hh", "weight_out")  # a sorted tuple: hashable, order-free
    config = spec.as_config()
    assert {k: config[k] for k in ("alpha", "noise_rec", "noise_in", "trainable", "mask")} == {
        "alpha": 0.2, "noise_rec": 0.05, "noise_in": 0.1, "trainable": ["weight_hh", "weight_out"], "mask": "zero_diagonal"}
    assert "init" not in config  # at its default
    assert SPEC.with_network_settings({"init": "other"}).as_config()["init"] == "other"


@pytest.mark.parametrize("settings,match", [
    ({"tau": 10}, r"unknown network setting\(s\) \['tau'\]; allowed: alpha, noise_rec"),
    ({"alpha": 0}, "alpha"), ({"alpha": 1.5}, "alpha"), ({"alpha": "0.1"}, "alpha"),
    ({"noise_rec": -1.0}, "noise_rec"), ({"noise_in": float("nan")}, "noise_in"),
    ({"trainable": "weight_hh"}, "trainable"), ({"mask": None}, "mask"),
])
def test_bad_settings_are_named(settings, match):
    with pytest.raises(ValueError, match=match):
        SPEC.with_network_settings(settings)


def _record(spec, pop, k=0):
    summary = {"accepted": True, "failed": False, "failure_reason": "", "final_train_loss": 0.0, "final_val_loss": 0.0,
               "accept_threshold": 1.0, "iterations_run": 1, "wall_time_s": 0.0, "pack_size": 1}
    config = {**spec.as_config(), "n_inputs": pop.n_inputs, "n_outputs": pop.n_outputs, "readout": "linear"}
    params = {n: v.numpy() for n, v in pop.network_params(k).items()}
    return ModelRecord(spec, config, params, np.zeros(1), np.zeros(0, dtype=np.int64), np.zeros(0), {}, summary)


@pytest.mark.parametrize("settings", [{}, SETTINGS])
def test_model_file_round_trips_the_settings(tmp_path, settings):
    spec = SPEC.with_network_settings(settings)
    pop = RNNPopulation("gru", "tanh", 1, 3, 16, 3, alpha=spec.alpha).initialize([1])
    write_model(tmp_path / "model.h5", _record(spec, pop))
    back = read_model(tmp_path / "model.h5")
    assert back.spec == spec and back.spec.network_settings == spec.network_settings
    stacked = population_from_records([back, back], dtype=torch.float64)
    assert stacked.alpha == spec.alpha and stacked.n_networks == 2


def test_networks_of_different_leaks_do_not_stack(tmp_path):
    pop = RNNPopulation("gru", "tanh", 1, 3, 16, 3).initialize([1])
    records = [_record(SPEC, pop), _record(SPEC.with_network_settings({"alpha": 0.5}), pop)]
    with pytest.raises(ValueError, match="different shapes"):
        population_from_records(records)


RATE = {"alpha": 0.1, "noise_rec": math.sqrt(20) * 0.01, "trainable": ["weight_hh"], "mask": "zero_diagonal",
        "init": "rate_gaussian", "init_options": {"recurrent": "std_rsqrt_n", "input_std": 0.5}}


def test_init_options_are_sorted_pairs_and_hashable():
    spec = SPEC.with_network_settings(RATE)
    assert spec.init_options == (("input_std", 0.5), ("recurrent", "std_rsqrt_n"))
    again = SPEC.with_network_settings({**RATE, "init_options": [("recurrent", "std_rsqrt_n"), ("input_std", 0.5)]})
    assert again == spec and hash(again) == hash(spec) and {spec, again} == {spec}
    assert spec.id == SPEC.id  # not part of the id
    assert spec.as_config()["init_options"] == {"input_std": 0.5, "recurrent": "std_rsqrt_n"}
    assert "init_options" not in SPEC.with_network_settings({"init_options": {}}).as_config()  # at its default
    listed = SPEC.with_network_settings({"init_options": {"gains": [1, 2]}})
    assert listed.init_options == (("gains", (1, 2)),) and listed.as_config()["init_options"] == {"gains": [1, 2]}
    hash(listed)


@pytest.mark.parametrize("options", ["input_std", 5, {1: 2.0}, {"x": {"nested": 1}}, [("a", 1), ("a", 2)]])
def test_bad_init_options_are_refused(options):
    with pytest.raises(ValueError, match="init_option"):
        SPEC.with_network_settings({"init_options": options})


def test_model_file_round_trips_init_options(tmp_path):
    spec = NetworkSpec("perception", "vanilla", "relu", 8, 0.0, 1).with_network_settings(RATE)
    pop = RNNPopulation("vanilla", "relu", 1, 1, 8, 1, alpha=0.1).initialize([1], spec.init, dict(spec.init_options))
    write_model(tmp_path / "model.h5", _record(spec, pop))
    back = read_model(tmp_path / "model.h5")
    assert back.spec == spec and back.spec.init_options == spec.init_options
    assert back.snapshots == {} and back.snapshot_info == {}  # none recorded
