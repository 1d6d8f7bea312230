"""Stage ``toy2d``: train one population of 2-D continuous-time RNNs and classify each solution.

Study S, supplement §1: K networks dx/dt = −x + W φ(x) with W iid U(−1.5, 1.5), trained at
once by normalised gradient descent (rnnatlas.train.toy2d), then each network's solution
type from its long-run trajectory and fixed points (rnnatlas.features.toy2d). Writes
``results/toy2d/<activation>/solutions.h5``.
"""

from __future__ import annotations

import numpy as np
import torch

from ..features.toy2d import class_counts, classify_solutions
from ..models.ctrnn2d import CTRNN2DPopulation, trace_determinant
from ..runtime import pick_device, stable_seed
from ..store.toy2d_file import write_solutions
from ..train.toy2d import Toy2DSettings, Toy2DTask, train_toy2d
from .common import log


def network_seeds(activation: str, seed: int, n: int) -> list[int]:
    """Initialisation seed of each network: from the activation, the config's seed and its index."""
    return [stable_seed("toy2d", activation, seed, i) for i in range(n)]


def run(activation: str, settings: dict, out: str, device_name: str = "cpu") -> None:
    device = pick_device(device_name)
    task = Toy2DTask(x0=tuple(settings["x0"]), target=tuple(settings["target"]), t_final=float(settings["t_final"]))
    train_settings = Toy2DSettings(epochs=int(settings["epochs"]), learning_rate=float(settings["learning_rate"]),
                                   accept_loss=float(settings["accept_loss"]), dt=float(settings["dt"]))
    n = int(settings["networks"])
    pop = CTRNN2DPopulation.from_seeds(network_seeds(activation, int(settings["seed"]), n), activation).to(device)
    log.info("toy2d %s: training %d networks for %d epochs on %s", activation, n, train_settings.epochs, device)
    result = train_toy2d(pop, task, train_settings)
    log.info("toy2d %s: %d/%d accepted (L < %g), %d failed, %.1fs", activation, int(result.accepted.sum()), n,
             train_settings.accept_loss, int(result.failed.sum()), result.wall_time)
    solutions = classify_solutions(result.weight, activation, task.x0, task.t_final)
    # linearisation at the origin, −I + W φ'(0) with φ'(0) = 1 (tanh; relu in its active orthant)
    trace, det = trace_determinant(torch.as_tensor(result.weight) - torch.eye(2, dtype=torch.float64))
    arrays = {
        "weight_init": result.weight_init, "weight": result.weight, "loss_curve": result.loss_curve.astype(np.float32),
        "final_loss": result.final_loss, "accepted": result.accepted, "failed": result.failed,
        "failure_reason": np.array(result.failure_reason, dtype=object),
        "label": solutions.label, "origin_saddle": solutions.origin_saddle,
        "origin_eigenvalues": solutions.origin_eigenvalues, "n_fixed_points": solutions.n_fixed_points,
        "final_state": solutions.final_state, "peak_norm": solutions.peak_norm,
        "trace": trace.numpy(), "determinant": det.numpy(),
    }
    config = {"study": "space_of_solutions", "model": "ctrnn2d", "activation": activation, **settings}
    write_solutions(out, config, arrays, {"activation": activation, "wall_time_s": result.wall_time, "options": settings})
    counts = class_counts(solutions.label[result.accepted])
    log.info("toy2d %s: accepted solutions by type %s", activation, counts)
