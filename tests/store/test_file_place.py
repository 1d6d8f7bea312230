"""Every per-network reader checks that a file holds the network its folder names: a file
copied over another network's is an error naming it, not a network counted twice."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from rnnatlas.store.features_file import read_features, write_features
from rnnatlas.store.fixed_point_file import REQUIRED as FP_REQUIRED
from rnnatlas.store.fixed_point_file import read_fixed_points
from rnnatlas.store.graph_file import read_graph, write_graph
from rnnatlas.store.h5io import ForeignFileError, write_arrays
from rnnatlas.store.probe_file import read_probe, write_probe
from rnnatlas.store.toy2d_file import read_solutions, write_solutions

A, B = "gru-tanh-n8-l2_0e+00-s00", "gru-tanh-n8-l2_0e+00-s01"


def _config(net_id: str, task: str = "flipflop") -> dict:
    return {"net_id": net_id, "task": task}


def _place(root: Path, net_id: str, name: str) -> Path:
    path = root / "flipflop" / "nets" / net_id / name
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


WRITERS = {
    "probe.h5": (lambda p, c: write_probe(p, c, np.zeros((2, 3, 8), np.float32), np.zeros((2, 3, 1), np.float32), 8),
                 read_probe),
    "graph.h5": (lambda p, c: write_graph(p, c, {"adjacency": np.zeros((2, 2))}, {}), read_graph),
    "features.h5": (lambda p, c: write_features(p, c, {"x": np.zeros(3)}, {}), read_features),
    "fixed_points.h5": (lambda p, c: write_arrays(p, "fixed_points", c, {k: np.zeros(1) for k in FP_REQUIRED}, {}),
                        read_fixed_points),
}


@pytest.mark.parametrize("name", sorted(WRITERS))
def test_a_file_copied_over_another_networks_is_refused(tmp_path: Path, name: str) -> None:
    write, read = WRITERS[name]
    own = _place(tmp_path, A, name)
    write(own, _config(A))
    read(own)  # in its own folder: fine
    other = _place(tmp_path, B, name)
    shutil.copy(own, other)
    with pytest.raises(ForeignFileError, match=re.escape(f"{other}: holds network {A}, but its folder stands for network {B}")):
        read(other)


def test_a_file_outside_a_nets_folder_is_not_checked(tmp_path: Path) -> None:
    path = tmp_path / "scratch" / "probe.h5"
    path.parent.mkdir()
    write_probe(path, _config(A), np.zeros((2, 3, 8), np.float32), np.zeros((2, 3, 1), np.float32), 8)
    assert read_probe(path)[0]["net_id"] == A


def test_a_toy2d_population_in_another_nonlinearitys_folder_is_refused(tmp_path: Path) -> None:
    arrays = {k: np.zeros(2) for k in ("accepted", "label", "trace", "determinant")} | {"weight": np.zeros((2, 2, 2))}
    own = tmp_path / "toy2d" / "tanh" / "solutions.h5"
    own.parent.mkdir(parents=True)
    write_solutions(own, {"activation": "tanh"}, arrays, {"activation": "tanh"})
    read_solutions(own)
    other = tmp_path / "toy2d" / "relu" / "solutions.h5"
    other.parent.mkdir()
    shutil.copy(own, other)
    with pytest.raises(ForeignFileError, match="holds the 'tanh' population, but its folder stands for the 'relu' population"):
        read_solutions(other)
