"""RSG neural features on synthetic trajectories whose answers are known in closed form."""

import numpy as np
import pytest

from rnnatlas.features.rsg import (
    FEATURE_NAMES, feature_matrix, ready_set_features, ready_set_vs_set_go_features, rsg_features,
    set_go_aspect_ratios, set_go_length_slope, single_neuron_time_error,
)
from rnnatlas.tasks import make_task
from rnnatlas.tasks.rsg import RSGEvents

R, V, C, A = 2.0, 0.05, 0.01, 0.02
DTHETA = 0.02


@pytest.fixture(scope="module")
def events():
    return make_task("rsg").probe_trials()[1]


def synthetic(ev, remaining_time_neuron=False):
    """Ready-Set: an arc of radius R (dims 0, 1). Set-Go: a line along dim 2 at speed V, offset
    C·t_s along dim 3 (so initial states of the trials are spread along dim 3); optionally
    dim 4 = A·(time until Go)."""
    b_n, t_n = len(ev.interval), 340
    h = np.zeros((b_n, t_n, 5))
    for b in range(b_n):
        t = np.arange(ev.ready[b] + 10, ev.set[b])
        th = DTHETA * (t - t[0])
        h[b, t, 0], h[b, t, 1] = R * np.cos(th), R * np.sin(th)
        t = np.arange(ev.set[b], t_n)
        h[b, t, 2] = V * (t - ev.set[b] - 10)
        h[b, t, 3] = 1.0 + C * ev.interval[b]
        if remaining_time_neuron:
            h[b, t, 4] = A * (ev.go[b] - t)
    return h


def test_ready_set_arc(events):
    f = ready_set_features(synthetic(events), events)
    assert np.isclose(f["rs_curvature_min"], np.log10(1 / R)) and np.isclose(f["rs_curvature_max"], np.log10(1 / R))
    assert np.isclose(f["rs_end_speed"], np.log10(2 * R * np.sin(DTHETA / 2)))
    assert np.isclose(f["rs_speed_ratio"], 0.0, atol=1e-9)


def test_ready_set_slowing_down_gives_positive_ratio(events):
    h = synthetic(events)
    b = int(np.argmax(events.interval))
    t = np.arange(events.ready[b] + 10, events.set[b])
    h[b, t, 0] = 1.0 - np.exp(-0.05 * (t - t[0]))  # a straight line that decelerates
    h[b, t, 1] = 0.0
    f = ready_set_features(h, events)
    q = 0.05 * 1.0 * np.exp(-0.05 * np.arange(len(t)))  # ≈ per-step speed
    assert f["rs_curvature_max"] < -6  # straight
    assert np.isclose(f["rs_speed_ratio"], np.log10(np.exp(0.05 * (len(t) - 2))), rtol=1e-3)
    assert q[0] > q[-1]


def test_set_go_aspect_ratios_and_length_slope(events):
    h = synthetic(events)
    f = set_go_aspect_ratios(h, events)
    span = events.interval.max() - events.interval.min()  # 90 steps of t_s
    longest = V * (events.interval.max() - 20 - 1)
    assert np.isclose(f["sg_aspect_ratio_initial"], C * span / longest)
    assert np.isclose(f["sg_aspect_ratio_final"], span * np.hypot(V, C) / longest)
    assert f["sg_aspect_ratio_slope"] > 0  # the manifold widens from its start to its end
    assert np.isclose(set_go_length_slope(h, events)["sg_length_slope"], V)


def test_single_neuron_time_error_finds_a_time_coding_neuron(events):
    without = single_neuron_time_error(synthetic(events), events)["sg_single_neuron_error"]
    with_neuron = single_neuron_time_error(synthetic(events, True), events)["sg_single_neuron_error"]
    assert with_neuron < 1e-4 < 1.0 < without


def one_trial_events():
    return RSGEvents(ready=np.array([0]), set=np.array([60]), go=np.array([120]), interval=np.array([60]), pulse=10)


def line_trials(sg_start, sg_end):
    """Ready-Set runs from a to b over 50 steps; Set-Go from sg_start to sg_end over 40."""
    a, b = np.array([0.0, 0.0, 1.0]), np.array([2.0, 1.0, 1.0])
    h = np.zeros((1, 130, 3))
    h[0, 10:60] = a + np.linspace(0, 1, 50)[:, None] * (b - a)
    h[0, 70:110] = sg_start + np.linspace(0, 1, 40)[:, None] * (sg_end - sg_start)
    return h, a, b


def test_parallel_identical_segments():
    ev = one_trial_events()
    h, a, b = line_trials(np.array([0.0, 0.0, 1.0]), np.array([2.0, 1.0, 1.0]))
    f = ready_set_vs_set_go_features(h, ev)
    assert np.isclose(f["rs_sg_correlation"], 1.0) and np.isclose(f["rs_sg_angle"], 0.0, atol=1e-5)
    assert np.isclose(f["rs_sg_speed_ratio"], np.log10(39 / 49))  # same length, 49 vs 39 steps
    assert f["rs_sg_svm_accuracy"] < 0.9  # the same object: not separable


def test_reversed_and_shifted_segments():
    ev = one_trial_events()
    h, a, b = line_trials(np.array([2.0, 1.0, 1.0]), np.array([0.0, 0.0, 1.0]))
    f = ready_set_vs_set_go_features(h, ev)
    assert np.isclose(f["rs_sg_angle"], 180.0) and f["rs_sg_correlation"] < 0
    shift = np.array([0.0, 0.0, 0.7])  # orthogonal to both segments
    h, a, b = line_trials(a + shift, b + shift)
    f = ready_set_vs_set_go_features(h, ev)
    assert f["rs_sg_svm_accuracy"] == 1.0 and abs(f["rs_sg_svm_margin"] - 0.7) < 0.01


def test_population_batching_matches_single_networks(events):
    h = np.stack([synthetic(events), synthetic(events, True)])  # [K=2, B, T, N]
    both = rsg_features(h, events)
    for k in range(2):
        one = rsg_features(h[k], events)
        for name in FEATURE_NAMES:
            assert np.isclose(both[name][k], one[name]), name
    assert feature_matrix(both).shape == (2, len(FEATURE_NAMES))
