"""``results/toy2d/<activation>/solutions.h5``: one population of 2-D continuous-time RNNs.

Thousands of four-parameter networks live in one file per nonlinearity (one file per network
would be thousands of tiny files). Datasets, first dimension K: ``weight_init``, ``weight``
[K, 2, 2]; ``loss_curve`` [K, epochs] (float32); ``final_loss``, ``accepted``, ``failed``,
``failure_reason``; the solution type ``label`` (:mod:`rnnatlas.features.toy2d`),
``origin_saddle``, ``origin_eigenvalues`` [K, 2], ``n_fixed_points``, ``final_state`` [K, 2],
``peak_norm``; ``trace`` and ``determinant`` of the linearisation at the origin, W − I.
Attributes: ``config`` (task and training), ``activation``, ``wall_time_s``, ``options``.
"""

from __future__ import annotations

import os
from typing import Any

from .h5io import read_arrays, write_arrays

KIND = "toy2d_solutions"
REQUIRED = ("weight", "accepted", "label", "trace", "determinant")


def write_solutions(path: str | os.PathLike, config: dict, arrays: dict, attrs: dict[str, Any]) -> None:
    write_arrays(path, KIND, config, arrays, attrs)


def read_solutions(path: str | os.PathLike, with_curves: bool = False) -> tuple[dict, dict, dict]:
    """(config, arrays, attrs); the loss curves are skipped unless asked for."""
    skip = frozenset() if with_curves else frozenset({"loss_curve"})
    return read_arrays(path, KIND, REQUIRED, skip)  # checks that the folder's activation is the file's
