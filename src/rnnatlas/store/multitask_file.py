"""``results/<task>/nets/<net-id>/multitask.h5``: one study-M network's task analyses.

Datasets (R rules of the task, N units, C fixed-point conditions, S snapshots, B probe trials,
T probe steps):

- ``rules`` [R]; ``performance`` [R]: share of correct noise-free test trials per rule (random
  timings, the reference's criterion); ``performance_iterations`` [S] and
  ``performance_over_training`` [S, R]: the same at each snapshot of the parameters.
- ``task_variance`` [R, N]: per rule, each unit's variance across the rule's probe trials from
  stimulus onset to the end, averaged over time; ``task_vectors`` [R, N] (NaN rows: rules without
  a stimulus epoch).
- ``epoch_rule``, ``epoch_name`` [E]: every (rule, epoch) of the task; per epoch, the points
  found under its inputs (its conditions in ``fixed_points.h5``, whose ``condition`` indexes the
  task's conditions): ``n_conditions``, ``n_fixed``, ``n_stable``, ``n_slow``, ``min_q`` (lowest
  q of any of them), ``n_conditions_with_fixed`` and ``n_conditions_with_stable`` (inputs under
  which a fixed / stable fixed point was found); and, as medians over the epoch's probe trials, ``closest_fixed`` and
  ``closest_any`` (smallest distance from the trial's steps in the epoch to a fixed point / any
  point of its own input; NaN when there is none), ``trajectory_min_q`` (lowest speed q in the
  epoch) and ``trajectory_end_q`` (q at the epoch's last step).
- ``trajectory_q`` [B, T]: the speed q_t along every probe trajectory (NaN after its end).

Attributes: ``config`` (the network's), ``analysed``/``reason``, ``accepted``, ``activity_scale``
(root mean squared distance of the probe states, up to each trial's end, from their mean:
the unit of the distances),
``compositionality`` (cosines, JSON) and ``options``.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from .h5io import read_arrays, write_arrays

KIND = "multitask"
REQUIRED = ("rules", "performance")


def write_multitask(path: str | os.PathLike, config: dict, arrays: dict[str, np.ndarray], attrs: dict[str, Any]) -> None:
    write_arrays(path, KIND, config, arrays, attrs)


def read_multitask(path: str | os.PathLike) -> tuple[dict, dict[str, np.ndarray], dict[str, Any]]:
    """(config, arrays, attrs)."""
    return read_arrays(path, KIND, REQUIRED)
