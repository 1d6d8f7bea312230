"""Neural features of Ready-Set-Go networks from their task activity (seed 000 §2.2–2.3).

Inputs: hidden states ``h [..., B, T, N]`` on a set of trials (leading dimensions, e.g. the K
networks of a population, are kept), and the trials' :class:`RSGEvents` (shared by all
networks). Speed is q(h_t) = ‖h_{t+1} − h_t‖ (eq. 12). Epoch windows (our reading of §2.3):

- Ready-Set(t_s): from the end of the Ready pulse to the Set onset, ``[ready + pulse, set)``;
  the state there evolves without input, and it is taken from the longest trial (t_s^max).
- Set-Go(t_s): "from 10 after the Set pulse until 10 before the Go pulse",
  ``[set + margin, go − margin)`` with ``margin`` = the pulse length (10).

Each family returns a dict of name → array of the leading shape. Ready-Set features are on a
log10 scale as in the supplement; the others are raw (a decision tree is invariant to
monotone rescaling, so this only matters for histograms).
"""

from __future__ import annotations

import numpy as np

from ..tasks.rsg import RSGEvents
from .geometry import as_array, menger_curvature, path_length, resample, safe_log10, speed
from .separation import linear_separation

SET_GO_MARGIN: int | None = None  # None: the pulse length (10 in the supplement)


def _longest(events: RSGEvents) -> int:
    return int(np.argmax(events.interval))


def ready_set_segment(h, events: RSGEvents, trial: int | None = None) -> np.ndarray:
    """Ready-Set states ``[..., L, N]`` of one trial (default: the longest interval)."""
    b = _longest(events) if trial is None else trial
    return as_array(h)[..., b, events.ready[b] + events.pulse : events.set[b], :]


def set_go_segment(h, events: RSGEvents, trial: int, margin: int | None = SET_GO_MARGIN) -> np.ndarray:
    """Set-Go states ``[..., L, N]`` of one trial: ``[set + margin, go − margin)``.

    ``margin`` defaults to the pulse length (the supplement's 10 with 10-step pulses).
    """
    m = events.pulse if margin is None else margin
    start, stop = events.set[trial] + m, events.go[trial] - m
    if stop - start < 3:
        raise ValueError(f"Set-Go window of trial {trial} has {stop - start} steps (interval {events.interval[trial]}, "
                         f"margin {m}); need at least 3: use a smaller margin or longer intervals")
    return as_array(h)[..., trial, start:stop, :]


# --------------------------------------------------------------------------- Ready-Set
def ready_set_features(h, events: RSGEvents) -> dict[str, np.ndarray]:
    """Ready-Set(t_s^max): min / max curvature, end speed and initial/final speed ratio, all log10.

    Curvature is the discrete (Menger) curvature along the trajectory; the end speed is q at
    the last step before Set; the ratio is q at the first Ready-Set step over the end speed.
    """
    rs = ready_set_segment(h, events)
    kappa = menger_curvature(rs)
    q = speed(rs)
    return {
        "rs_curvature_min": safe_log10(kappa.min(axis=-1)),
        "rs_curvature_max": safe_log10(kappa.max(axis=-1)),
        "rs_end_speed": safe_log10(q[..., -1]),
        "rs_speed_ratio": safe_log10(q[..., 0]) - safe_log10(q[..., -1]),
    }


# --------------------------------------------------------------------------- Set-Go
def _cross_trial_length(points: np.ndarray) -> np.ndarray:
    """Length of the polyline through one point per trial ``[..., B, N]`` (trials in t_s order)."""
    return path_length(points)


def set_go_aspect_ratios(h, events: RSGEvents, margin: int | None = SET_GO_MARGIN, n_times: int = 11) -> dict[str, np.ndarray]:
    """Aspect ratios of the Set-Go manifold (time × trials).

    Numerator: the cumulative length of the curve through the manifold's initial (resp. final)
    states of all trials, in order of t_s. Denominator: the length of the full Set-Go
    trajectory of the longest trial. ``sg_aspect_ratio_slope`` ("how this ratio changes as a
    function of time"; the supplement's sentence is cut off — our reading): the same ratio
    at ``n_times`` evenly spaced fractions of each trial's Set-Go epoch (0 = initial,
    1 = final), and the slope of a least-squares line of ratio vs fraction.
    """
    h = as_array(h)
    order = np.argsort(events.interval, kind="stable")
    segments = [set_go_segment(h, events, b, margin) for b in order]
    denom = path_length(segments[-1])
    fractions = np.linspace(0.0, 1.0, n_times)
    ratios = []
    for f in fractions:
        pts = np.stack([s[..., int(round(f * (s.shape[-2] - 1))), :] for s in segments], axis=-2)
        ratios.append(_cross_trial_length(pts) / denom)
    ratios = np.stack(ratios, axis=-1)  # [..., n_times]
    fc = fractions - fractions.mean()
    slope = (ratios * fc).sum(-1) / (fc * fc).sum()
    return {"sg_aspect_ratio_initial": ratios[..., 0], "sg_aspect_ratio_final": ratios[..., -1], "sg_aspect_ratio_slope": slope}


def set_go_length_slope(h, events: RSGEvents, margin: int | None = SET_GO_MARGIN) -> dict[str, np.ndarray]:
    """Slope of a linear fit of the Set-Go trajectory's length against t_s (state units per step).

    "Length" is the path length Σ q(h_t) of Set-Go(t_s) (our reading of the supplement's
    ‖Set-Go(t_s)‖: how far the trajectory travels while the interval is reproduced).
    """
    h = as_array(h)
    lengths = np.stack([path_length(set_go_segment(h, events, b, margin)) for b in range(len(events.interval))], axis=-1)
    ts = events.interval.astype(np.float64)
    tc = ts - ts.mean()
    return {"sg_length_slope": (lengths * tc).sum(-1) / (tc * tc).sum()}


def single_neuron_time_error(h, events: RSGEvents, margin: int | None = SET_GO_MARGIN) -> dict[str, np.ndarray]:
    """Best single-neuron linear regression of the time remaining until Go, over the manifold.

    For each neuron, least squares of (go − t) on its activity over all Set-Go points of all
    trials; the feature is the smallest root-mean-squared error across neurons (steps).
    """
    h = as_array(h)
    xs, ys = [], []
    for b in range(len(events.interval)):
        seg = set_go_segment(h, events, b, margin)
        xs.append(seg)
        m = events.pulse if margin is None else margin
        ys.append(events.go[b] - np.arange(events.set[b] + m, events.go[b] - m))
    x = np.concatenate(xs, axis=-2)  # [..., P, N]
    y = np.concatenate(ys).astype(np.float64)  # [P]
    xc = x - x.mean(axis=-2, keepdims=True)
    yc = y - y.mean()
    sxx = (xc * xc).sum(-2)
    sxy = (xc * yc[:, None]).sum(-2)
    explained = np.where(sxx > 0, sxy**2 / np.where(sxx > 0, sxx, 1.0), 0.0)  # per neuron
    sse = (yc * yc).sum() - explained
    rmse = np.sqrt(np.clip(sse, 0.0, None) / len(y))
    return {"sg_single_neuron_error": rmse.min(axis=-1)}


def set_go_features(h, events: RSGEvents, margin: int | None = SET_GO_MARGIN) -> dict[str, np.ndarray]:
    """All Set-Go features."""
    return {
        **set_go_aspect_ratios(h, events, margin),
        **set_go_length_slope(h, events, margin),
        **single_neuron_time_error(h, events, margin),
    }


# --------------------------------------------------------------------------- Ready-Set vs Set-Go
def ready_set_vs_set_go_features(h, events: RSGEvents, margin: int | None = SET_GO_MARGIN, svm_c: float = 1e3) -> dict[str, np.ndarray]:
    """Relations between Ready-Set(t_s^max) and Set-Go(t_s^max).

    - correlation: Pearson correlation of the two trajectories after resampling both to the
      same number of points in normalised time and flattening;
    - angle: between their overall directions (end − start), in degrees, 0–180;
    - speed ratio: log10(mean q over Ready-Set / mean q over Set-Go);
    - SVM margin: width 2/‖w‖ of a linear SVM separating their states (and its accuracy,
      which feature A of :mod:`rnnatlas.features.topology` thresholds).
    """
    b = _longest(events)
    rs = ready_set_segment(h, events, b)
    sg = set_go_segment(h, events, b, margin)
    lead = rs.shape[:-2]
    n = min(rs.shape[-2], sg.shape[-2])
    a_flat = resample(rs, n).reshape(*lead, -1)
    b_flat = resample(sg, n).reshape(*lead, -1)
    ac = a_flat - a_flat.mean(-1, keepdims=True)
    bc = b_flat - b_flat.mean(-1, keepdims=True)
    den = np.sqrt((ac * ac).sum(-1) * (bc * bc).sum(-1))
    corr = np.where(den > 0, (ac * bc).sum(-1) / np.where(den > 0, den, 1.0), 0.0)
    da, db = rs[..., -1, :] - rs[..., 0, :], sg[..., -1, :] - sg[..., 0, :]
    nab = np.linalg.norm(da, axis=-1) * np.linalg.norm(db, axis=-1)
    cos = np.where(nab > 0, (da * db).sum(-1) / np.where(nab > 0, nab, 1.0), 0.0)
    angle = np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))
    speed_ratio = safe_log10(speed(rs).mean(-1)) - safe_log10(speed(sg).mean(-1))
    margin_w = np.empty(lead)
    accuracy = np.empty(lead)
    for idx in np.ndindex(*lead):
        sep = linear_separation(rs[idx], sg[idx], c=svm_c)
        margin_w[idx], accuracy[idx] = sep.margin, sep.accuracy
    return {
        "rs_sg_correlation": corr,
        "rs_sg_angle": angle,
        "rs_sg_speed_ratio": speed_ratio,
        "rs_sg_svm_margin": margin_w,
        "rs_sg_svm_accuracy": accuracy,
    }


# --------------------------------------------------------------------------- all
FEATURE_NAMES = (
    "rs_curvature_min", "rs_curvature_max", "rs_end_speed", "rs_speed_ratio",
    "sg_aspect_ratio_initial", "sg_aspect_ratio_final", "sg_aspect_ratio_slope", "sg_length_slope",
    "sg_single_neuron_error",
    "rs_sg_correlation", "rs_sg_angle", "rs_sg_speed_ratio", "rs_sg_svm_margin",
)


def rsg_features(h, events: RSGEvents, margin: int | None = SET_GO_MARGIN) -> dict[str, np.ndarray]:
    """Every neural feature (plus ``rs_sg_svm_accuracy``) for ``h [..., B, T, N]``.

    A population's states ``[K, B, T, N]`` give arrays of length K; only the SVM fits loop
    over networks. ``FEATURE_NAMES`` lists the columns meant for the classifier.
    """
    return {
        **ready_set_features(h, events),
        **set_go_features(h, events, margin),
        **ready_set_vs_set_go_features(h, events, margin),
    }


def feature_matrix(features: dict[str, np.ndarray], names: tuple[str, ...] = FEATURE_NAMES) -> np.ndarray:
    """Stack per-network feature arrays into ``[K, F]`` in the order of ``names``."""
    return np.stack([np.atleast_1d(features[n]) for n in names], axis=-1)
