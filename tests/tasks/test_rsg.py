"""Ready-Set-Go: shapes, pulse timing (checked trial by trial), Go at Ready + 2·t_s, determinism."""

import numpy as np
import pytest
import torch

from rnnatlas.tasks import make_task


def onsets(channel: np.ndarray) -> list[int]:
    """Onset steps of the pulses in a 0/1 trace."""
    rising = np.flatnonzero(np.diff(np.concatenate([[0.0], channel])) > 0)
    return rising.tolist()


def test_shapes_and_trial_length():
    task = make_task("rsg")
    assert task.n_steps == 2 * 120 + 100
    b = task.sample(64, torch.Generator().manual_seed(0))
    assert b.inputs.shape == (340, 64, 2) and b.targets.shape == b.mask.shape == (340, 64, 1)
    assert torch.all(b.mask == 1)


def test_pulse_timing_and_go_at_ready_plus_twice_interval():
    task = make_task("rsg")
    batch, ev = task.training_set()
    x, y = batch.inputs.numpy(), batch.targets.numpy()
    assert set(np.unique(x)) == {0.0, 1.0} and set(np.unique(y)) == {0.0, 1.0}
    for b in range(0, 512, 7):
        (r,), (s,), (g,) = onsets(x[:, b, 0]), onsets(x[:, b, 1]), onsets(y[:, b, 0])
        assert 20 <= r <= 30 and 30 <= s - r <= 120
        assert g == r + 2 * (s - r)
        assert (r, s, g) == (ev.ready[b], ev.set[b], ev.go[b])
        for ch, on in ((x[:, b, 0], r), (x[:, b, 1], s), (y[:, b, 0], g)):
            assert ch.sum() == 10 and np.all(ch[on : on + 10] == 1)
        assert task.n_steps - g >= 70


def test_training_set_is_fixed_and_covers_intervals():
    task = make_task("rsg")
    _, ev = task.training_set()
    _, again = make_task("rsg").training_set()
    assert np.array_equal(ev.interval, again.interval) and np.array_equal(ev.ready, again.ready)
    _, other = make_task("rsg", {"train_seed": 1}).training_set()
    assert not np.array_equal(ev.interval, other.interval)
    assert ev.interval.min() >= 30 and ev.interval.max() <= 120
    assert len(np.unique(ev.interval)) > 80  # 512 draws over 91 intervals
    assert set(np.unique(ev.ready)) == set(range(20, 31))


def test_sampling_is_deterministic_by_seed_and_draws_from_the_training_set():
    task = make_task("rsg")
    a = task.sample(16, torch.Generator().manual_seed(3))
    b = task.sample(16, torch.Generator().manual_seed(3))
    c = task.sample(16, torch.Generator().manual_seed(4))
    assert torch.equal(a.inputs, b.inputs) and not torch.equal(a.inputs, c.inputs)
    train, _ = task.training_set()
    flat = train.inputs.permute(1, 0, 2).reshape(512, -1)
    for trial in a.inputs.permute(1, 0, 2).reshape(16, -1):
        assert (flat == trial).all(dim=1).any()
    seen = torch.cat([bt.inputs for bt in task.epoch_batches(64, torch.Generator().manual_seed(0))], dim=1)
    assert seen.shape[1] == 512 and torch.equal(seen.sum(dim=1), train.inputs.sum(dim=1))


def test_probe_set_covers_every_interval_once():
    task = make_task("rsg")
    probe = task.probe_set()
    assert np.array_equal(probe.labels["interval"], np.arange(30, 121))
    assert np.all(probe.labels["go"] == 20 + 2 * probe.labels["interval"])
    x_star, labels = task.conditions()
    assert x_star.shape == (1, 2) and np.all(x_star == 0)


@pytest.mark.parametrize("bad", [{"interval_min": 50, "interval_max": 40}, {"pulse": 0}, {"pulse": 14}, {"colour": 1}])
def test_bad_parameters_are_rejected(bad):
    with pytest.raises(ValueError):
        make_task("rsg", bad)
