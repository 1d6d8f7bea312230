"""What the atlas takes from each result file: per-network *fields* (colour, hover and axis
values) and *card parts* (the panels of a network's card).

Two registries keep this open to new studies without editing the page code:

- :data:`FILE_READERS`, keyed by a per-network file name (``model.h5``, ``probe.h5``, …):
  ``reader(paths, options) -> (fields, parts)`` where ``paths`` maps every file name the
  network has to its path (a reader may use several: the trajectory panel draws the probe
  states with the fixed points);
- :data:`POPULATIONS`, keyed by a reader name that a section's ``population`` names:
  ``reader(path, options) -> Population`` for thousands of networks in one file.

A card part is a dict with a ``kind`` the page knows how to draw: ``table`` (rows of key and
value), ``curves`` (named x/y series), ``trajectories`` (2-D lines and points in PC space),
``eigenvalues`` (complex plane with the stability boundary), ``matrices`` (small heatmaps).
Numbers are rounded to 4 significant digits: the page is for looking, the files keep the
full values.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from ..registry import Registry

Fields = dict[str, Any]
Part = dict[str, Any]
FileReader = Callable[[dict[str, str], dict], tuple[Fields, list[Part]]]

FILE_READERS: Registry[FileReader] = Registry("atlas file reader")

DEFAULT_OPTIONS = {"trajectory_trials": 12, "trajectory_points": 100, "fixed_points": 200, "curve_points": 300}


def rounded(values, digits: int = 4) -> list:
    """``values`` as a (nested) list of floats with ``digits`` significant digits; non-finite
    values become None (JSON has no NaN)."""
    a = np.asarray(values, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        scale = 10.0 ** (digits - 1 - np.floor(np.log10(np.abs(a))))
        out = np.where(np.isfinite(a) & (a != 0), np.round(a * scale) / scale, 0.0)
    return np.where(np.isfinite(a), out, None).tolist()


def scalar(value: Any) -> Any:
    """A JSON-ready field value: numbers rounded, containers as JSON text."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return rounded(value) if np.isfinite(value) else None
    return json.dumps(value, sort_keys=True, default=str)


def evenly(n: int, k: int) -> np.ndarray:
    """At most ``k`` indices spread evenly over ``range(n)`` (first and last included)."""
    if n <= k:
        return np.arange(n)
    return np.unique(np.round(np.linspace(0, n - 1, k)).astype(int))


def table(title: str, rows: dict[str, Any]) -> Part:
    return {"kind": "table", "title": title, "rows": [[k, scalar(v)] for k, v in rows.items()]}


# ---------------------------------------------------------------------- model.h5
def read_model_file(paths: dict[str, str], options: dict) -> tuple[Fields, list[Part]]:
    """Configuration, training outcome and loss curves."""
    from ..store.model_file import read_model

    record = read_model(paths["model.h5"])
    spec = record.spec.as_config()
    summary = record.summary
    fields: Fields = {k: scalar(v) for k, v in spec.items() if k not in ("net_id", "task")}
    fields["cell"] = record.spec.cell_id
    for key in ("accepted", "failed", "final_val_loss", "final_train_loss", "iterations_run"):
        fields[key] = scalar(summary.get(key))
    hyper = {f"hp_{k}": v for k, v in (record.hyperparameters or {}).items() if k != "l2"}
    fields.update({k: scalar(v) for k, v in hyper.items()})
    n = len(record.train_loss)
    keep = evenly(n, options["curve_points"])
    curves = [{"name": "training loss", "x": (keep + 1).tolist(), "y": rounded(record.train_loss[keep])}]
    if len(record.val_loss):
        curves.append({"name": "validation loss", "x": np.asarray(record.val_iterations).tolist(),
                       "y": rounded(record.val_loss)})
    parts = [
        table("Network", {**spec, **{k: summary.get(k) for k in summary}, **(record.hyperparameters or {})}),
        {"kind": "curves", "title": "Loss", "x_label": "iteration", "y_label": "loss", "log_y": True,
         "series": curves, "threshold": scalar(summary.get("accept_threshold"))},
    ]
    return fields, parts


# ---------------------------------------------------------------------- probe.h5 (+ fixed points)
def principal_axes(states: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mean [S], axes [S, k], explained-variance fractions [k]) of ``states`` [n, S]."""
    mean = states.mean(axis=0)
    _, s, vt = np.linalg.svd(states - mean, full_matrices=False)
    k = min(k, vt.shape[0])
    variance = s**2
    total = variance.sum()
    explained = variance[:k] / total if total > 0 else np.zeros(k)
    return mean, vt[:k].T, explained


def chosen_point(arrays: dict[str, np.ndarray]) -> int | None:
    """The fixed point whose linearisation the card shows: the stable point the most forward
    runs reached, else the slowest fixed (not slow) point, else the slowest point."""
    n = len(arrays["q"])
    if n == 0:
        return None
    stability = arrays.get("stability", np.full(n, ""))
    runs = arrays.get("n_forward_runs", np.zeros(n, int))
    stable = np.flatnonzero(stability == "stable")
    if stable.size:
        return int(stable[np.argmax(runs[stable])])
    fixed = np.flatnonzero(~arrays.get("is_slow", np.zeros(n, bool)))
    pool = fixed if fixed.size else np.arange(n)
    return int(pool[np.argmin(arrays["q"][pool])])


def fixed_point_counts(arrays: dict[str, np.ndarray]) -> Fields:
    n = len(arrays["q"])
    slow = arrays.get("is_slow", np.zeros(n, bool))
    stability = arrays.get("stability", np.full(n, ""))
    return {"n_fixed_points": int((~slow).sum()), "n_stable": int((stability == "stable").sum()),
            "n_saddles": int((stability == "saddle").sum()), "n_slow_points": int(slow.sum())}


def read_probe_file(paths: dict[str, str], options: dict) -> tuple[Fields, list[Part]]:
    """Probe trajectories in the top principal components of the full state, with the fixed
    points (when the network has them) projected on the same axes."""
    from ..store.probe_file import read_probe_states

    states = read_probe_states(paths["probe.h5"])  # [trials, T, S]
    trials, steps, size = states.shape
    flat = states.reshape(-1, size).astype(np.float64)
    finite = bool(np.isfinite(flat).all())
    if not finite or trials * steps < 2:
        return {}, [{"kind": "note", "title": "Probe trajectories", "text": "probe states are not finite"}]
    mean, axes, explained = principal_axes(flat, 3)
    pick_trials = evenly(trials, options["trajectory_trials"])
    pick_steps = evenly(steps, options["trajectory_points"])
    projected = (states[np.ix_(pick_trials, pick_steps)] - mean) @ axes  # [t, s, k]
    part: Part = {"kind": "trajectories", "title": "Probe trajectories and fixed points",
                  "explained": rounded(explained), "trials": [rounded(p.T) for p in projected],
                  "trial_index": pick_trials.tolist(), "n_trials": trials, "points": None}
    fields: Fields = {}
    parts: list[Part] = [part]
    if "fixed_points.h5" in paths:
        from ..store.fixed_point_file import read_fixed_points

        _, arrays, attrs = read_fixed_points(paths["fixed_points.h5"])
        fields.update(fixed_point_counts(arrays))
        h = arrays["h"]
        if len(h) and h.shape[1] == size:
            order = np.lexsort((arrays["q"], arrays.get("is_slow", np.zeros(len(h), bool))))
            keep = np.sort(order[: options["fixed_points"]])
            xy = (h[keep] - mean) @ axes
            part["points"] = {"coords": rounded(xy.T), "stability": [str(s) for s in arrays["stability"][keep]],
                              "q": rounded(arrays["q"][keep]), "index": keep.tolist(), "total": int(len(h))}
        i = chosen_point(arrays)
        if i is not None:
            eig = arrays["eigenvalues"][i]
            parts.append({"kind": "eigenvalues", "title": f"Linearisation at fixed point {i}",
                          "detail": f"{arrays['stability'][i]}, q = {float(arrays['q'][i]):.3g}, "
                                    f"{int(arrays['n_unstable'][i])} unstable modes",
                          "re": rounded(eig.real), "im": rounded(eig.imag), "boundary": "unit_circle"})
        elif not attrs.get("analysed", True):
            parts.append({"kind": "note", "title": "Fixed points", "text": f"not analysed: {attrs.get('reason', '')}"})
    return fields, parts


# ---------------------------------------------------------------------- features.h5 (study S)
def read_features_file(paths: dict[str, str], options: dict) -> tuple[Fields, list[Part]]:
    """RSG features and the topological solution class (A–E bits)."""
    from ..store.features_file import read_features

    _, arrays, attrs = read_features(paths["features.h5"])
    scalars = {k: v.item() for k, v in arrays.items() if np.ndim(v) == 0}
    fields = {"solution_class": attrs.get("solution_class") or "not analysed"}
    fields.update({k: scalar(v) for k, v in scalars.items()})
    rows = {"solution class": fields["solution_class"], **scalars}
    if not attrs.get("analysed", True):
        rows["not analysed because"] = attrs.get("reason", "")
    return fields, [table("Features and solution class", rows)]


FILE_READERS.add("model.h5", read_model_file)
FILE_READERS.add("probe.h5", read_probe_file)
FILE_READERS.add("features.h5", read_features_file)


# ---------------------------------------------------------------------- populations
@dataclass
class Population:
    """Networks held together in one file: ids, fields, views (name → (label, x, y, axis
    names)) and one card each."""

    ids: list[str]
    fields: dict[str, list]
    views: list[dict] = field(default_factory=list)
    cards: dict[str, list[Part]] = field(default_factory=dict)


POPULATIONS: Registry[Callable[[str, dict], Population]] = Registry("atlas population reader")
POPULATION_CURVE_POINTS = 60  # a 2-D network's loss curve (300 points each made the default atlas 22 MB)


def toy2d_trajectories(weight: np.ndarray, activation: str, config: dict) -> np.ndarray:
    """Every network's trajectory from x0 over [0, t_final], ``[K, steps + 1, 2]``: the whole
    population at once with the model's own RK4 at the training step ``dt`` (what it was
    trained on; non-finite where a network diverges)."""
    import torch

    from ..models.ctrnn2d import CTRNN2DPopulation

    population = CTRNN2DPopulation(torch.as_tensor(weight, dtype=torch.float64), activation)
    with torch.no_grad():
        _, trajectory = population(torch.as_tensor(config["x0"], dtype=torch.float64), float(config["t_final"]),
                                   float(config["dt"]), return_trajectory=True)
    return trajectory[:, :, 0].numpy()  # [K, steps + 1, B = 1, 2] → one start each


def read_toy2d(path: str, options: dict) -> Population:
    """Study S's 2-D networks: placed by trace and determinant of the linearisation at the
    origin; each card has W before and after training, its eigenvalues, loss and trajectory."""
    from ..store.toy2d_file import read_solutions

    config, arrays, attrs = read_solutions(path, with_curves=True)
    activation = attrs["activation"]
    k = len(arrays["label"])
    ids = [f"toy2d-{activation}-{i:05d}" for i in range(k)]
    fields = {
        "activation": [activation] * k,
        "solution_type": [str(v) for v in arrays["label"]],
        "accepted": [bool(v) for v in arrays["accepted"]],
        "final_loss": [scalar(float(v)) for v in arrays["final_loss"]],
        "n_fixed_points": [int(v) for v in arrays["n_fixed_points"]],
        "origin_saddle": [bool(v) for v in arrays["origin_saddle"]],
        "trace": rounded(arrays["trace"]), "determinant": rounded(arrays["determinant"]),
        "peak_norm": rounded(arrays["peak_norm"]),
    }
    views = [{"name": "trace_det", "label": "trace–determinant at the origin", "x": fields["trace"],
              "y": fields["determinant"], "x_label": "trace", "y_label": "determinant", "members": list(range(k))}]
    curves = arrays.get("loss_curve")
    if curves is not None:  # a thousand networks per page: a short curve each
        keep = evenly(curves.shape[1], min(options["curve_points"], POPULATION_CURVE_POINTS))
    trajectories = toy2d_trajectories(arrays["weight"], activation, config)
    target = config["target"]
    cards = {}
    for i, net in enumerate(ids):
        weight = arrays["weight"][i]
        parts: list[Part] = [table("Network", {"id": net, **{name: values[i] for name, values in fields.items()},
                                               "failure_reason": arrays["failure_reason"][i]})]
        parts.append({"kind": "matrices", "title": "Weights W", "matrices": [
            {"name": "initial", "values": rounded(arrays["weight_init"][i])}, {"name": "trained", "values": rounded(weight)}]})
        if curves is not None:
            parts.append({"kind": "curves", "title": "Loss", "x_label": "epoch", "y_label": "loss", "log_y": True,
                          "series": [{"name": "loss", "x": (keep + 1).tolist(), "y": rounded(curves[i, keep])}],
                          "threshold": scalar(float(config["accept_loss"]))})
        if np.isfinite(trajectories[i]).all():
            parts.append({"kind": "trajectories", "title": "Trajectory from x0 (target marked)",
                          "explained": None, "axis": ["x1", "x2"], "trials": [rounded(trajectories[i].T)],
                          "trial_index": [0], "n_trials": 1,
                          "points": {"coords": [[target[0]], [target[1]]], "stability": ["target"], "q": [0.0],
                                     "index": [0], "total": 1}})
        eig = arrays["origin_eigenvalues"][i]
        parts.append({"kind": "eigenvalues", "title": "Linearisation at the origin", "detail": "tanh: of W − I; relu: of the orthant where the trajectory ends",
                      "re": rounded(eig.real), "im": rounded(eig.imag), "boundary": "imaginary_axis"})
        cards[net] = parts
    return Population(ids, fields, views, cards)


POPULATIONS.add("toy2d", read_toy2d)
