"""``results/<task>/nets/<net-id>/graph.h5``: one network's fixed-point graph.

``adjacency`` [n, n] (row i: transition fractions from node i, or 0/1 nearest-neighbour
links), nodes in canonical order with ``node_h`` [n, S], ``node_x`` [n, I], ``node_q`` [n],
``node_readout`` [n, O], ``node_condition`` [n], ``node_point`` [n] (row in fixed_points.h5,
−1 for points of the line-attractor search), ``node_eigenvalues`` [n, S], ``node_n_unstable``
[n]; per kind also ``unsettled`` [n] (transition), ``node_frequency`` and
``condition_frequency`` [n] (sine), ``mode_response`` [n, S] (CDI). Attributes: ``config``,
``graph_kind``, ``n_nodes``, ``analysed``, ``reason``, ``accepted``, ``options`` (JSON).
"""

from __future__ import annotations

import os
from typing import Any

from .h5io import read_arrays, write_arrays

KIND = "graph"


def write_graph(path: str | os.PathLike, config: dict, arrays: dict, attrs: dict[str, Any]) -> None:
    write_arrays(path, KIND, config, arrays, attrs)


def read_graph(path: str | os.PathLike) -> tuple[dict, dict, dict]:
    """(config, arrays, attrs) of a graph file; ``arrays["adjacency"]`` is [n_nodes, n_nodes]."""
    return read_arrays(path, KIND, ("adjacency",))
