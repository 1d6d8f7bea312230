"""Trajectory geometry against closed forms: a circle's curvature is 1/r, a line's is 0."""

import numpy as np

from rnnatlas.features.geometry import menger_curvature, path_length, resample, safe_log10, speed


def circle(r, n=50, dim=5, seed=0):
    """Points on a circle of radius r embedded in a random plane of R^dim."""
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(dim, 2)))
    t = np.linspace(0, 1.5 * np.pi, n)
    return (r * np.stack([np.cos(t), np.sin(t)], -1)) @ q.T + 3.0


def test_circle_curvature_is_inverse_radius_in_any_plane():
    for r in (0.2, 1.0, 7.0):
        assert np.allclose(menger_curvature(circle(r)), 1.0 / r, rtol=1e-9)


def test_line_has_zero_curvature_and_uneven_steps_do_not_matter():
    t = np.cumsum(np.random.default_rng(1).uniform(0.1, 2.0, 30))
    line = t[:, None] * np.array([1.0, -2.0, 0.5])
    assert np.allclose(menger_curvature(line), 0.0, atol=1e-7)


def test_speed_and_length_and_batching():
    h = np.zeros((2, 3, 4, 2))
    h[..., 1, 0] = 3.0
    h[..., 2, :] = [3.0, 4.0]
    h[..., 3, :] = [3.0, 4.0]
    assert np.allclose(speed(h), [3.0, 4.0, 0.0]) and speed(h).shape == (2, 3, 3)
    assert np.allclose(path_length(h), 7.0)
    r = 2.0
    c = circle(r, n=2000)
    assert np.isclose(path_length(c), r * 1.5 * np.pi, rtol=1e-5)


def test_safe_log_and_resample():
    assert np.allclose(safe_log10([0.0, 100.0]), [-12.0, 2.0])
    h = np.arange(11.0)[:, None] * np.array([1.0, 2.0])
    assert np.allclose(resample(h, 6), np.arange(0, 11.0, 2)[:, None] * np.array([1.0, 2.0]))
