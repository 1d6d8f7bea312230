"""The Go task family (study M) against Yang et al.'s timings, encodings, mask and criterion."""

import math

import numpy as np
import pytest
import torch

from rnnatlas.tasks import make_task
from rnnatlas.tasks.go_family import (
    N_INPUTS,
    PREFERRED,
    RULE_START,
    RULES,
    GoFamily,
    performance,
    population_vector,
    trial_ends,
)

STEP_MS = 20


def timings(rule: str, n: int = 300):
    task = GoFamily(rules=[rule])
    gen = torch.Generator().manual_seed(0)
    return task, [task.draw_timing(rule, gen) for _ in range(n)]


def test_go_timing_ranges():
    _, draws = timings("go")
    on = np.array([t.stim_on for t in draws])
    wait = np.array([t.response - t.stim_on for t in draws])
    assert on.min() >= 300 // STEP_MS and on.max() < 700 // STEP_MS
    assert wait.min() >= 500 // STEP_MS - 1 and wait.max() < 1500 // STEP_MS
    assert all(t.end - t.response == 500 // STEP_MS and t.stim_off == t.end for t in draws)  # stimulus stays on
    assert np.ptp(on) > 10 and np.ptp(wait) > 30  # actually drawn, not fixed


def test_rt_timing_keeps_fixation_input_on():
    task, draws = timings("rt_go")
    on = np.array([t.stim_on for t in draws])
    assert on.min() >= 500 // STEP_MS and on.max() < 2500 // STEP_MS
    t = draws[0]
    assert t.response == t.stim_on and t.end == t.stim_on + 25 and t.fixation_input_off == t.end
    batch = task.trials("rt_go", t, torch.tensor([1.0]), torch.tensor([1]))
    assert torch.all(batch.inputs[:, 0, 0] == 1.0)  # fixation input on throughout
    fix_target = batch.targets[:, 0, 0].numpy()
    np.testing.assert_allclose(fix_target[: t.response], 0.8)  # the fixation target goes off at stimulus onset
    np.testing.assert_allclose(fix_target[t.response :], 0.05)


def test_dly_timing_takes_the_reference_values():
    _, draws = timings("dly_anti")
    assert {t.stim_on for t in draws} == {15, 25, 35}
    assert {t.stim_off - t.stim_on for t in draws} == {10, 20, 30}
    assert {t.response - t.stim_off for t in draws} == {10, 20, 40, 80}
    assert {t.end - t.response for t in draws} == {25}


def test_stimulus_bump_peaks_at_its_angle_in_its_modality_only():
    task = GoFamily(rules=["dly_go"])
    timing = task.test_timing("dly_go")
    angles = torch.tensor([0.3, 2.0, 5.5])
    batch = task.trials("dly_go", timing, angles, torch.tensor([1, 2, 2]))
    x = batch.inputs[timing.stim_on]
    for b, (angle, mod) in enumerate(zip(angles.tolist(), [1, 2, 2])):
        ring = x[b, 1 + (mod - 1) * 32 : 1 + mod * 32].numpy()
        other = x[b, 1 + (2 - mod) * 32 : 1 + (3 - mod) * 32].numpy()
        assert np.all(other == 0)
        d = np.abs(np.angle(np.exp(1j * (PREFERRED - angle))))
        np.testing.assert_allclose(ring, 0.8 * np.exp(-0.5 * (d / (math.pi / 8)) ** 2), rtol=1e-6)
        assert np.argmax(ring) == np.argmin(d)
        assert float(population_vector(torch.as_tensor(ring))) == pytest.approx(angle, abs=1e-3)
    # off outside [stim_on, stim_off): before and during the delay
    assert torch.all(batch.inputs[timing.stim_on - 1, :, 1:65] == 0)
    assert torch.all(batch.inputs[timing.stim_off, :, 1:65] == 0)
    # the rule unit, one-hot for the whole trial
    rule_cols = batch.inputs[: timing.end, :, RULE_START:]
    assert torch.all(rule_cols[..., RULES.index("dly_go")] == 1) and float(rule_cols.sum()) == timing.end * 3


@pytest.mark.parametrize("rule, shift", [("go", 0.0), ("anti", math.pi), ("dly_anti", math.pi), ("rt_go", 0.0)])
def test_response_target_at_the_stimulus_or_opposite(rule, shift):
    task = GoFamily(rules=[rule])
    timing = task.test_timing(rule)
    angles = torch.tensor([0.7, 4.0])
    batch = task.trials(rule, timing, angles, torch.tensor([1, 2]))
    before, after = batch.targets[timing.response - 1], batch.targets[timing.response]
    assert torch.allclose(before[:, 1:], torch.full_like(before[:, 1:], 0.05))
    assert torch.allclose(before[:, 0], torch.full_like(before[:, 0], 0.8))
    assert torch.allclose(after[:, 0], torch.full_like(after[:, 0], 0.05))
    got = population_vector(after[:, 1:] - 0.05).numpy()
    want = np.remainder(angles.numpy() + shift, 2 * math.pi)
    np.testing.assert_allclose(np.angle(np.exp(1j * (got - want))), 0.0, atol=1e-3)
    assert float(after[:, 1:].max()) == pytest.approx(0.05 + 0.8, abs=0.02)


def test_cost_mask_values():
    task = GoFamily(rules=["go"])
    timing = task.test_timing("go")  # stimulus 25, response 75, end 100
    m = task.trials("go", timing, torch.tensor([1.0]), torch.tensor([1])).mask[:, 0]
    ring, fix = m[:, 1:], m[:, 0]
    assert torch.all(m[:5] == 0)  # first 100 ms unscored
    assert torch.all(ring[5:75] == 1) and torch.all(fix[5:75] == 2)
    assert torch.all(m[75:80] == 0)  # 100 ms grace after the go cue
    assert torch.all(ring[80:100] == 5) and torch.all(fix[80:100] == 10)


def test_performance_criterion_on_constructed_outputs():
    task = make_task("go_family", {"n_probe_angles": 8, "n_condition_angles": 4})
    val = task.validation_set(96, torch.Generator().manual_seed(3))
    ends = trial_ends(val.mask) - 1
    b = torch.arange(val.inputs.shape[1])
    assert torch.all(performance(val.targets, val.targets, val.mask) == 1)
    turned = val.targets.clone()
    target_angle = population_vector(val.targets[ends, b, 1:] - 0.05)
    for delta, correct in ((math.radians(30), 1.0), (math.radians(40), 0.0), (math.pi / 2, 0.0)):
        bump = torch.stack([torch.as_tensor(0.05 + 0.8 * np.exp(-0.5 * (np.abs(np.angle(np.exp(
            1j * (PREFERRED - float(a) - delta)))) / (math.pi / 8)) ** 2)) for a in target_angle]).float()
        turned[ends, b, 1:] = bump
        assert torch.all(performance(turned, val.targets, val.mask) == correct), delta
    broken = val.targets.clone()
    broken[ends, b, 0] = 0.6  # still fixating at the end: wrong however good the angle
    assert torch.all(performance(broken, val.targets, val.mask) == 0)
    # a leading network dimension
    stacked = torch.stack([val.targets, broken])
    assert performance(stacked, val.targets, val.mask).mean(-1).tolist() == [1.0, 0.0]


def test_batches_share_a_timing_and_validation_pads_with_unscored_steps():
    task = make_task("go_family", {})
    gen = torch.Generator().manual_seed(1)
    lengths = {task.sample(4, gen).inputs.shape[0] for _ in range(30)}
    assert len(lengths) > 5 and max(lengths) <= task.n_steps
    val = task.validation_set(100, gen)
    assert val.inputs.shape == (task.n_steps, 100, N_INPUTS)
    ends = trial_ends(val.mask)
    for b in range(100):
        assert torch.all(val.mask[ends[b] :, b] == 0) and torch.all(val.inputs[ends[b] :, b] == 0)
    # one rule per group of validation_batch trials
    rules = val.inputs[0, :, RULE_START : RULE_START + 6].argmax(-1)
    assert len(set(rules[:64].tolist())) == 1 and rules[64] != rules[0]


def test_probe_conditions_name_the_input_each_step_receives():
    task = make_task("go_family", {"n_probe_angles": 8, "n_condition_angles": 4})
    x_star, labels = task.conditions()
    assert len({x.tobytes() for x in x_star}) == len(x_star)  # distinct inputs
    assert {"fixation,delay"} <= set(labels["epochs"][labels["rule"] == "dly_go"])
    probe = task.probe_set()
    cond = task.probe_conditions(probe.labels)
    inputs = probe.batch.inputs.numpy()  # [T, B, I]
    b, t = np.nonzero(cond >= 0)
    np.testing.assert_array_equal(x_star[cond[b, t]], inputs[t, b].astype(np.float64))
    # every condition is used by some step, modality-2 stimulus steps are by none
    assert set(np.unique(cond[cond >= 0])) == set(range(len(x_star)))
    mod2 = probe.labels["modality"] == 2
    assert np.all(cond[mod2][inputs[:, mod2, 33:65].transpose(1, 0, 2).sum(-1) > 0] == -1)


def test_bad_parameters_are_refused():
    with pytest.raises(ValueError, match="unknown Go-family rule"):
        GoFamily(rules=["go", "dm1"])
    with pytest.raises(ValueError, match="must divide"):
        GoFamily(n_probe_angles=10, n_condition_angles=4)
    with pytest.raises(ValueError, match="duplicates"):
        GoFamily(rules=["go", "go"])
