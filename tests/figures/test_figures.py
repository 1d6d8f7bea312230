"""Every figure function writes its PDF and PNG, on complete and on incomplete results."""
from __future__ import annotations

from pathlib import Path

import pytest

from rnnatlas.figures import (figure_cdi, figure_flipflop, figure_losses, figure_sine,
                              figure_untrained)
from tests.figures.conftest import build_task

FIGS = {"flipflop": figure_flipflop, "sine": figure_sine, "cdi": figure_cdi}


def _written(files: list[str]) -> None:
    assert sorted(Path(f).suffix for f in files) == [".pdf", ".png"]
    for f in files:
        assert Path(f).stat().st_size > 1000


@pytest.mark.parametrize("task", ["flipflop", "sine", "cdi"])
def test_task_figure(results, tmp_path, task):
    c = FIGS[task](results / task, tmp_path / f"fig_{task}")
    _written(c.files)
    assert c.shown["networks_accepted"] == 8
    assert c.shown["pca_trajectories"] == 4          # 2 archs × 2 nonlinearities present
    assert c.shown["svcca_mds_tanh"] == 4 and c.shown["svcca_mds_vanilla"] == 4
    assert c.shown["graph_mds_tanh"] == 4 and c.shown["graph_mds_vanilla"] == 4  # gru-relu-s01 aside
    assert "gru-relu-n6-l2_1e-04-s01" in c.set_aside


def test_untrained_and_losses(results, tmp_path):
    c = figure_untrained(results / "cdi", tmp_path / "fig4")
    _written(c.files)
    assert c.shown["untrained_tanh"] == 2 and c.shown["trained_relu"] == 2 and c.shown["mds"] == 8
    c = figure_losses({t: results / t for t in FIGS}, tmp_path / "losses")
    _written(c.files)
    assert c.shown == {"flipflop": 8, "sine": 8, "cdi": 8}


def test_missing_data_never_crashes(tmp_path):
    """No similarity files and only one accepted cell: figures are still drawn, with notes."""
    for task in FIGS:
        build_task(tmp_path / "r", task, with_similarity=False, accept_all=False)
    for task, f in FIGS.items():
        c = f(tmp_path / "r" / task, tmp_path / "out" / task)
        _written(c.files)
        assert c.shown["pca_trajectories"] == 1
        assert c.shown["svcca_mds_tanh"] == 0
    _written(figure_untrained(tmp_path / "r" / "cdi", tmp_path / "out" / "fig4").files)
    (tmp_path / "empty" / "sine").mkdir(parents=True)
    _written(figure_sine(tmp_path / "empty" / "sine", tmp_path / "out" / "empty").files)
