"""Perception and decision tasks of seed 001: targets and masks against independent
computations, input noise, probe sets and their conditions, config round trips."""

import json

import jsonschema
import numpy as np
import pytest
import torch

from rnnatlas.config import build_schema
from rnnatlas.tasks import TASKS, make_task


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("name", ["perception", "decision"])
def test_shapes_reproducibility_and_registration(name):
    task = make_task(name)
    assert name in TASKS and task.graph_kind == "condition_chain" and task.dt_ms == 10.0
    b = task.sample(9, gen(1))
    assert b.inputs.shape == (100, 9, task.n_inputs) and b.targets.shape == b.mask.shape == (100, 9, 1)
    again = task.sample(9, gen(1))
    assert torch.equal(b.inputs, again.inputs) and torch.equal(b.targets, again.targets)
    assert not torch.equal(b.inputs, task.sample(9, gen(2)).inputs)


def test_perception_targets_masks_and_noise():
    task = make_task("perception")
    b = task.sample(4000, gen(3))
    x, y, m = (a[..., 0].numpy().astype(np.float64) for a in (b.inputs, b.targets, b.mask))
    level = np.round(x.mean(0), 1)  # the trial's level: 100 noisy steps average to within 0.02
    assert set(np.unique(level)) == {0.5, 0.8}
    assert abs((level == 0.8).mean() - 0.5) < 0.03  # both levels equally likely
    expected = np.where(level == 0.8, 0.5, 0.8)
    assert np.all(m[:10] == 0) and np.all(m[10:] == 1)
    assert np.all(y[:10] == 0) and np.allclose(y[10:], expected[None, :], atol=1e-7)
    resid = x - level[None, :]
    assert abs(resid.std() / 0.05 - 1) < 0.01 and abs(resid.mean()) < 1e-3
    quiet = make_task("perception", {"input_noise": 0.0}).sample(8, gen(3))
    assert torch.all(quiet.inputs == quiet.inputs[0])


def test_perception_probe_set():
    task = make_task("perception")
    p1, p2 = task.probe_set(), task.probe_set()
    assert torch.equal(p1.batch.inputs, p2.batch.inputs) and all(np.array_equal(p1.labels[k], p2.labels[k]) for k in p1.labels)
    x = p1.batch.inputs[..., 0].numpy().astype(np.float64)
    labels = p1.labels
    assert x.shape == (100, 12) and labels["switching"].dtype == bool
    assert labels["switching"].tolist() == [False] * 8 + [True] * 4
    constant = x[:, :8]
    assert np.all(constant == constant[0]) and sorted(constant[0].round(6).tolist()) == [0.5] * 4 + [0.8] * 4
    for i in range(8, 12):
        trial = x[:, i].astype(np.float64)
        switches = np.flatnonzero(np.diff(trial)) + 1
        assert switches.tolist() == [25, 50, 75]
        assert set(np.round(trial, 6)) == {0.5, 0.8}
        assert labels["level"][i] == pytest.approx(trial[-1]) and labels["start_level"][i] == pytest.approx(trial[0])
        # target = the mapped level of the current input; unscored for 10 steps after each change
        target, mask = p1.batch.targets[:, i, 0].numpy(), p1.batch.mask[:, i, 0].numpy()
        for t in range(100):
            since = t - max([0] + [s for s in switches if s <= t])
            assert mask[t] == (since >= 10)
            assert target[t] == pytest.approx((0.5 if round(trial[t], 1) == 0.8 else 0.8) * mask[t])
    assert {round(v, 6) for v in labels["start_level"][8:]} == {0.5, 0.8}  # starting at either level


def test_perception_conditions():
    task = make_task("perception")
    x_star, labels = task.conditions()
    assert np.array_equal(x_star, np.array([[0.8], [0.5]])) and labels["level"].tolist() == [0.8, 0.5]
    probe = task.probe_set()
    cond = task.probe_conditions(probe.labels)
    last = probe.batch.inputs[-1, :, 0].numpy()
    assert np.allclose(x_star[cond, 0], last, atol=1e-7)
    assert cond.dtype == np.int64 and set(cond.tolist()) == {0, 1}


def test_decision_targets_masks_and_noise():
    task = make_task("decision")
    b = task.sample(3000, gen(4))
    x, y, m = b.inputs.numpy().astype(np.float64), b.targets[..., 0].numpy(), b.mask[..., 0].numpy()
    u = x.mean(0)  # [B, 2]; noise averages out to ~0.005
    assert u.min() > 0.2 - 0.03 and u.max() < 0.8 + 0.03
    assert abs(u.mean() - 0.5) < 0.01 and abs(u.std() - 0.6 / np.sqrt(12)) < 0.01  # U(0.2, 0.8)
    assert np.all(m[:10] == 0) and np.all(m[10:] == 1) and np.all(y[:10] == 0)
    final = y[-1].astype(np.float64)
    assert set(np.round(final, 6)) == {0.2, 0.8}
    clear = np.abs(u[:, 0] - u[:, 1]) > 0.03  # where the noisy estimate of the sign is safe
    assert np.array_equal(final[clear] > 0.5, u[clear, 0] > u[clear, 1])
    assert np.all(y[10:] == y[-1])
    resid = x - u[None]
    assert abs(resid.std() / 0.05 - 1) < 0.01


def test_decision_probe_isocontours_and_conditions():
    task = make_task("decision")
    p1, p2 = task.probe_set(), task.probe_set()
    assert torch.equal(p1.batch.inputs, p2.batch.inputs)
    labels = p1.labels
    x = p1.batch.inputs.numpy()
    assert x.shape == (100, 42, 2) and np.all(x == x[0])  # noise-free, constant
    values, held = np.linspace(0.2, 0.8, 7), np.linspace(0.2, 0.8, 3)
    for varying in (1, 2):
        sel = labels["varying"] == varying
        assert sel.sum() == 21
        moving, fixed = (labels["u1"], labels["u2"]) if varying == 1 else (labels["u2"], labels["u1"])
        assert np.allclose(np.sort(np.unique(labels["held_value"][sel])), held)
        assert np.allclose(fixed[sel], labels["held_value"][sel])
        for h in np.unique(labels["held_value"][sel]):
            assert np.allclose(np.sort(moving[sel & (labels["held_value"] == h)]), values)
    assert np.allclose(x[0, :, 0], labels["u1"]) and np.allclose(x[0, :, 1], labels["u2"])
    target = p1.batch.targets[-1, :, 0].numpy()
    assert np.allclose(target, np.where(labels["u1"] > labels["u2"], 0.8, 0.2))
    x_star, cond_labels = task.conditions()
    pairs = {(a, b) for a, b in zip(labels["u1"].tolist(), labels["u2"].tolist())}
    assert len(x_star) == len(pairs) == 33 and {tuple(r) for r in x_star.tolist()} == pairs  # 42 trials, 9 shared pairs
    assert np.array_equal(cond_labels["u1"], x_star[:, 0]) and np.array_equal(cond_labels["u2"], x_star[:, 1])
    cond = task.probe_conditions(labels)
    assert np.array_equal(x_star[cond], np.stack([labels["u1"], labels["u2"]], 1))


@pytest.mark.parametrize("name,params", [
    ("perception", {"levels": [0.2, 0.4, 0.9], "targets": [1, 2, 3], "n_steps": 50, "grace_steps": 0, "switch_every": 7}),
    ("decision", {"input_min": 0.0, "input_max": 1.0, "high": 1.0, "low": -1.0, "n_probe_values": 5, "n_probe_held": 2}),
])
def test_config_round_trip_and_schema(name, params):
    task = make_task(name, params)
    again = make_task(name, json.loads(json.dumps(task.params())))  # as task_data.h5 stores them
    assert again.params() == task.params()
    assert make_task(name).params() == make_task(name, json.loads(json.dumps(make_task(name).params()))).params()
    schema = build_schema()
    section = schema["properties"]["tasks"]["properties"][name]
    common = {"validation_trials": 64, "accept_val_loss": 0.01, "data_seed": 0}
    resolver = {"$defs": schema["$defs"], **section}
    for candidate in (make_task(name).params(), task.params(), {}):
        jsonschema.Draft202012Validator(resolver).validate({**common, **candidate})
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(resolver).validate({**common, "n_stepz": 3})
    batch = task.sample(3, gen(0))
    assert batch.inputs.shape == (task.n_steps, 3, task.n_inputs)
    probe = task.probe_set()
    x_star, _ = task.conditions()
    cond = task.probe_conditions(probe.labels)
    assert cond.min() >= 0 and cond.max() < len(x_star)


def test_perception_with_three_levels_cycles_through_them():
    task = make_task("perception", {"levels": [0.2, 0.4, 0.9], "targets": [1, 2, 3], "n_steps": 50, "switch_every": 7,
                                    "n_probe_switching": 3})
    x = task.probe_set().batch.inputs[:, -3:, 0].numpy()
    assert np.allclose(x[:7, 0], 0.2) and np.allclose(x[7:14, 0], 0.4) and np.allclose(x[14:21, 0], 0.9)
    assert np.allclose(x[0], [0.2, 0.4, 0.9])  # the trials start at each level in turn


@pytest.mark.parametrize("name,params,match", [
    ("perception", {"targets": [0.5]}, "one value per level"),
    ("perception", {"levels": [0.5, 0.5]}, "distinct"),
    ("perception", {"grace_steps": 100}, "grace_steps"),
    ("perception", {"levels": [0.5], "targets": [0.8]}, "at least two levels"),
    ("perception", {"levels": "0.5"}, "list of numbers"),
    ("decision", {"input_min": 0.8, "input_max": 0.2}, "input_min"),
    ("decision", {"n_probe_held": 1}, "at least 2"),
    ("decision", {"colour": 1}, "unknown parameter"),
])
def test_bad_parameters_are_rejected(name, params, match):
    with pytest.raises(ValueError, match=match):
        make_task(name, params)


@pytest.mark.parametrize("name", ["perception", "decision"])
def test_task_data_file_keeps_probe_conditions(name, tmp_path):
    from rnnatlas.store.task_data import build_task_data, read_task_data, write_task_data

    data = build_task_data(name, {}, 8, 0)
    write_task_data(tmp_path / "td.h5", data, 0)
    back = read_task_data(tmp_path / "td.h5", name)
    assert back.task.params() == data.task.params()
    assert np.array_equal(back.task.probe_conditions(back.probe.labels), data.task.probe_conditions(data.probe.labels))
    assert np.array_equal(back.conditions, data.conditions)
    for key, value in data.probe.labels.items():
        assert np.array_equal(back.probe.labels[key], value) and back.probe.labels[key].dtype == value.dtype
