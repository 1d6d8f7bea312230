"""``results/<task>/nets/<net-id>/features.h5``: one RSG network's features (study S).

Scalar datasets: every neural feature of :data:`rnnatlas.features.rsg.FEATURE_NAMES` plus
``rs_sg_svm_accuracy``; the topological bits ``A`` … ``E`` (bool); ``final_speed`` (q at the
state reached 5,000 steps after Ready) and ``final_state`` [S]. Attributes: ``config``,
``solution_class`` (e.g. ``"A1B0C0D1E0"``), ``accepted``, ``analysed`` and ``reason`` (a
failed network is not analysed), ``options`` (JSON: the topology settings).
"""

from __future__ import annotations

import os
from typing import Any

from .h5io import read_arrays, write_arrays

KIND = "features"


def write_features(path: str | os.PathLike, config: dict, arrays: dict, attrs: dict[str, Any]) -> None:
    write_arrays(path, KIND, config, arrays, attrs)


def read_features(path: str | os.PathLike) -> tuple[dict, dict, dict]:
    """(config, arrays, attrs); scalars come back as 0-d arrays."""
    return read_arrays(path, KIND)
