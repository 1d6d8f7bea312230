"""Task generators: shapes, value sets and targets checked against independent computations."""

import numpy as np
import pytest
import torch

from rnnatlas.tasks import TASKS, make_task


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("name", ["flipflop", "sine", "cdi"])
def test_shapes_and_reproducibility(name):
    task = make_task(name)
    b = task.sample(9, gen(1))
    T = task.n_steps
    assert b.inputs.shape == (T, 9, task.n_inputs)
    assert b.targets.shape == b.mask.shape == (T, 9, task.n_outputs)
    again = task.sample(9, gen(1))
    assert torch.equal(b.inputs, again.inputs) and torch.equal(b.targets, again.targets)
    p1, p2 = task.probe_set(), task.probe_set()
    assert torch.equal(p1.batch.inputs, p2.batch.inputs)
    x_star, labels = task.conditions()
    assert x_star.shape[1] == task.n_inputs
    assert all(len(v) == len(x_star) for v in labels.values())


def test_flipflop_values_and_held_targets():
    task = make_task("flipflop", {"n_steps": 200})
    b = task.sample(32, gen(2))
    assert set(np.unique(b.inputs.numpy())) <= {-1.0, 0.0, 1.0}
    rate = float((b.inputs != 0).float().mean())
    assert abs(rate - 0.05) < 0.01
    x = b.inputs.numpy()
    for trial in range(32):
        for k in range(3):
            last = 0.0
            for t in range(200):
                if x[t, trial, k] != 0:
                    last = x[t, trial, k]
                assert b.targets[t, trial, k] == last
                assert b.mask[t, trial, k] == (1.0 if last != 0 else 0.0)


def test_flipflop_condition_is_zero_input():
    x_star, _ = make_task("flipflop").conditions()
    assert np.array_equal(x_star, np.zeros((1, 3)))


def test_sine_frequency_follows_the_command():
    task = make_task("sine")
    b = task.sample(16, gen(3))
    command = b.inputs[0, :, 0] - task.input_offset
    assert torch.all((command >= 0) & (command <= 1))
    assert torch.all(b.inputs == b.inputs[0])  # static input
    omega = 0.04 * command.double() + 0.01
    for i in range(16):
        y = b.targets[:, i, 0].double().numpy()
        spectrum = np.abs(np.fft.rfft(y, n=20 * len(y)))
        peak = np.fft.rfftfreq(20 * len(y))[np.argmax(spectrum)]
        assert abs(peak - float(omega[i])) < 2e-3  # cycles per step
        assert y[0] == 0.0


def test_sine_conditions_match_probe_commands():
    task = make_task("sine")
    x_star, labels = task.conditions()
    probe = task.probe_set()
    assert np.allclose(x_star[:, 0], probe.batch.inputs[0, :, 0].numpy())
    assert np.allclose(labels["frequency"], 0.04 * np.linspace(0, 1, 11) + 0.01)


def test_cdi_target_is_cumulative_sum_of_cued_stream():
    task = make_task("cdi")
    b = task.sample(64, gen(4))
    x = b.inputs.numpy()
    ctx = x[0, :, :2]
    assert np.all(ctx.sum(1) == 1) and np.all(x[:, :, :2] == x[0, :, :2])  # static one-hot context
    cued = np.argmax(ctx, axis=1)
    streams = x[:, :, 2:]
    expected = np.cumsum(streams[:, np.arange(64), cued], axis=0)
    assert np.allclose(b.targets[..., 0].numpy(), expected, atol=1e-4)
    # per-trial stream means near U(-1, 1) draws: residual noise has unit variance
    resid = streams - streams.mean(0, keepdims=True)
    assert abs(resid.std() - 1.0) < 0.1


def test_cdi_conditions_are_contexts_with_zero_streams():
    x_star, labels = make_task("cdi").conditions()
    assert np.array_equal(x_star, np.array([[1, 0, 0, 0], [0, 1, 0, 0]], dtype=float))
    assert list(labels["context"]) == [0, 1]


def test_unknown_task_parameters_are_rejected():
    with pytest.raises(ValueError, match="unknown parameter"):
        make_task("flipflop", {"n_bitz": 3})
    with pytest.raises(ValueError, match="allowed: "):
        make_task("nope")
    assert {"flipflop", "sine", "cdi"} <= set(TASKS)
