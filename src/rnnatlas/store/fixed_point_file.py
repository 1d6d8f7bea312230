"""``results/<task>/nets/<net-id>/fixed_points.h5``: one network's fixed and slow points.

Datasets, one row per point (n points, state size S, I inputs, O outputs): ``h`` [n, S],
``x`` [n, I] (the static input x*), ``q`` [n], ``is_slow`` [n], ``condition`` [n] (index of
x* in the task's conditions), ``readout`` [n, O], ``eigenvalues`` [n, S] (complex, sorted by
decreasing |λ|), ``n_unstable`` [n], ``stability`` [n] ("stable" | "saddle" | "marginal" for
fixed points; "slow" for slow points, whose ``n_unstable`` is -1: stability is defined only at
fixed points, so ``n_unstable == 0`` counts stable fixed points and nothing else),
``n_forward_runs`` [n] (settled forward runs whose start ended at the point: the attractors the
network's own dynamics reach), ``input_jacobian`` [n, S, I] (∂F/∂x), and, unless switched off, ``right`` / ``left``
eigenvectors [n, S, S] (complex64; columns / rows, L R = I; NaN for slow points, to keep
files small where a line attractor yields hundreds of them). Attributes: ``config`` (the
network's), ``analysed`` and ``reason`` (a failed network is recorded, not dropped),
``found`` and ``best_q`` (lowest q reached, so "nothing below tolerance" is visible),
``accepted`` (the network met its training threshold), search counts, ``attractors`` (where
the forward runs went: settled, found at attracting fixed points, at slow points with their
speed, missed and at what, still moving with their speeds) and ``options`` (JSON).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from .h5io import read_arrays, write_arrays

KIND = "fixed_points"
REQUIRED = ("h", "x", "q", "eigenvalues", "n_unstable")


def write_fixed_points(path: str | os.PathLike, config: dict, arrays: dict[str, np.ndarray],
                       attrs: dict[str, Any]) -> None:
    write_arrays(path, KIND, config, arrays, attrs)


def read_fixed_points(path: str | os.PathLike, with_eigenvectors: bool = False) -> tuple[dict, dict, dict]:
    """(config, arrays, attrs); eigenvectors are read only on request (they are large)."""
    skip = frozenset() if with_eigenvectors else frozenset({"right", "left"})
    return read_arrays(path, KIND, REQUIRED, skip)
