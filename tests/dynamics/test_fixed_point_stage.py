"""The fixed-points stage on a flip-flop network trained here, and its bad-input errors."""

import itertools

import numpy as np
import pytest
import torch

from rnnatlas.dynamics.population_analysis import probe_states
from rnnatlas.ids import NetworkSpec
from rnnatlas.stages import fixed_points, task_data, train
from rnnatlas.stages.common import read_pack
from rnnatlas.store.fixed_point_file import read_fixed_points
from rnnatlas.store.graph_file import read_graph
from rnnatlas.store.h5io import ForeignFileError
from rnnatlas.store.model_file import population_from_records

SETTINGS = {"iterations": 800, "batch_size": 64, "eval_every": 200, "optimizer": "sgd", "accept_val_loss": 0.05,
            "data_seed": 0, "hyperparameters": {"learning_rate": 0.1, "momentum": 0.9, "clip": 1.0, "decay": 0.3}}
OPTIONS = {"n_initial_states": 256, "max_iters": 2000, "n_perturbations": 20, "transition_steps": 400}


@pytest.fixture(scope="module")
def flipflop_net(tmp_path_factory):
    root = tmp_path_factory.mktemp("ff")
    task_data.run("flipflop", {"n_steps": 100, "n_probe_trials": 16}, 128, 0, str(root / "task_data.h5"))
    spec = NetworkSpec("flipflop", "gru", "tanh", 24, 1e-4, 0)
    train.run("flipflop", str(root / "task_data.h5"), [spec], [], SETTINGS, str(root / "nets"), [], "cpu")
    net = root / "nets" / spec.id
    fixed_points.run("flipflop", str(root / "task_data.h5"), [str(net / "model.h5")], [str(net / "fixed_points.h5")],
                     [str(net / "graph.h5")], OPTIONS, "cpu")
    return root, net


def test_trained_flipflop_has_eight_stable_points_at_cube_corners(flipflop_net):
    _, net = flipflop_net
    _, fp, attrs = read_fixed_points(net / "fixed_points.h5")
    assert attrs["accepted"] and attrs["analysed"] and attrs["found"]
    stable = (fp["stability"] == "stable") & ~fp["is_slow"]
    assert stable.sum() == 8
    corners = {tuple(c) for c in np.sign(fp["readout"][stable]).astype(int)}
    assert corners == set(itertools.product((-1, 1), repeat=3))
    np.testing.assert_allclose(np.abs(fp["readout"][stable]), 1.0, atol=0.25)
    # every kept point really is (nearly) fixed, and its class agrees with its eigenvalues
    assert (fp["q"][~fp["is_slow"]] <= 1e-12).all()
    assert (np.abs(fp["eigenvalues"][stable]).max(1) < 1).all()
    assert (fp["n_unstable"][fp["stability"] == "saddle"] >= 1).all()


def test_transition_graph_of_trained_flipflop(flipflop_net):
    _, net = flipflop_net
    _, g, attrs = read_graph(net / "graph.h5")
    a = g["adjacency"]
    assert attrs["graph_kind"] == "transition" and a.shape == (attrs["n_nodes"],) * 2
    stable = g["node_n_unstable"] == 0
    # stable nodes only return to themselves; every run from a saddle ends at another node
    np.testing.assert_allclose(np.diag(a)[stable], 1.0)
    assert (np.diag(a)[~stable] == 0).all()
    np.testing.assert_allclose(a.sum(1) + g["unsettled"], 1.0)
    # canonical order: readout codes are sorted lexicographically
    codes = [tuple(c) for c in np.clip(np.rint(g["node_readout"]), -1, 1)]
    assert codes == sorted(codes)


def test_every_attractor_that_simulation_reaches_is_a_stable_fixed_point(flipflop_net):
    """Independent of the stage's own bookkeeping: run every probe state forward (no input) for
    longer than the stage does; each settled end lies next to a stable fixed point in the file."""
    root, net = flipflop_net
    _, fp, attrs = read_fixed_points(net / "fixed_points.h5")
    data, records = read_pack("flipflop", str(root / "task_data.h5"), [str(net / "model.h5")])
    pop = population_from_records(records, dtype=torch.float64)
    states = probe_states(pop, data.probe.batch.inputs.to(torch.float64))  # [1, B, T, S]
    h = states[:, :, ::5].reshape(1, -1, states.shape[-1])
    x = torch.zeros(1, h.shape[1], data.conditions.shape[1], dtype=torch.float64)
    with torch.no_grad():
        for _ in range(2000):
            new = pop.step(h, x)
            speed = (new - h).pow(2).mean(-1).sqrt()
            h = new
    ends = h[0][speed[0] <= 5e-5].numpy()
    assert len(ends) > 0.9 * h.shape[1]
    stable = fp["h"][fp["stability"] == "stable"]
    nearest = np.linalg.norm(ends[:, None] - stable[None], axis=-1).min(1)
    assert nearest.max() < 1e-2
    # the stage's own check agrees, and each stable point is reached by some forward run
    check = attrs["attractors"]
    assert check["n_missed"] == 0 and check["n_settled"] > 0
    assert check["n_found"] == check["n_settled"] and check["n_fixed_points_reached"] == 8
    assert (fp["n_forward_runs"][fp["stability"] == "stable"] > 0).all()


def test_slow_points_carry_no_stability_class(flipflop_net):
    _, net = flipflop_net
    _, fp, _ = read_fixed_points(net / "fixed_points.h5")
    slow = fp["is_slow"]
    assert ((fp["stability"] == "slow") == slow).all()
    assert (fp["n_unstable"][slow] == -1).all() and (fp["n_unstable"][~slow] >= 0).all()
    # so counting n_unstable == 0 gives exactly the stable fixed points
    assert ((fp["n_unstable"] == 0) == ((fp["stability"] == "stable") & ~slow)).all()


def test_missing_or_foreign_model_file_is_named(flipflop_net, tmp_path):
    root, net = flipflop_net
    with pytest.raises(ForeignFileError, match="nope.h5"):
        fixed_points.run("flipflop", str(root / "task_data.h5"), [str(tmp_path / "nope.h5")],
                         [str(tmp_path / "fp.h5")], [str(tmp_path / "g.h5")], OPTIONS, "cpu")
    with pytest.raises(ForeignFileError, match="probe|fixed_points|model"):
        fixed_points.run("flipflop", str(root / "task_data.h5"), [str(net / "fixed_points.h5")],
                         [str(tmp_path / "fp.h5")], [str(tmp_path / "g.h5")], OPTIONS, "cpu")
    with pytest.raises(ValueError, match="unknown dynamics option"):
        fixed_points.run("flipflop", str(root / "task_data.h5"), [str(net / "model.h5")],
                         [str(tmp_path / "fp.h5")], [str(tmp_path / "g.h5")], {"tol": 1}, "cpu")
    assert not (tmp_path / "fp.h5").exists()
