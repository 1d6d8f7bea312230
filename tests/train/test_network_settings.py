"""Network settings in training: frozen parameters, structural masks, leak and noise, and the
train stage's ``network`` block (defaults bit-identical to no settings)."""

import json
import math

import h5py
import numpy as np
import pytest
import torch

from rnnatlas.ids import NetworkSpec
from rnnatlas.models import RNNPopulation
from rnnatlas.stages import task_data, train
from rnnatlas.store.model_file import read_model
from rnnatlas.tasks import make_task
from rnnatlas.train import Hyperparameters, PopulationOptimizer, PopulationTrainer, TrainSettings
from rnnatlas.train.trainer import snapshot_schedule

TASK = make_task("flipflop", {"n_steps": 20})
VAL = TASK.sample(32, torch.Generator().manual_seed(99))


def _trainer(seeds=(0, 1), arch="vanilla", iterations=6, alpha=1.0, optimizer="sgd", **network):
    pop = RNNPopulation(arch, "tanh", len(seeds), TASK.n_inputs, 8, TASK.n_outputs, alpha=alpha).initialize(list(seeds))
    hp = Hyperparameters.from_records([dict(learning_rate=0.1, momentum=0.9, clip=1.0, decay=0.5, l2=1e-2)] * len(seeds))
    settings = TrainSettings(iterations=iterations, batch_size=8, eval_every=3, optimizer=optimizer)
    return PopulationTrainer(pop, TASK, [s + 1000 for s in seeds], hp, settings, VAL, **network)


def _params(tr):
    return {n: p.detach().clone() for n, p in tr.population.params.items()}


def test_default_network_settings_train_bit_identically():
    plain, explicit = _trainer(arch="gru"), _trainer(arch="gru", trainable=(), mask="", noise_rec=0.0, noise_in=0.0)
    plain.run(6)
    explicit.run(6)
    for n, p in _params(plain).items():
        assert torch.equal(p, explicit.population.params[n]), n
    np.testing.assert_array_equal(plain.train_loss, explicit.train_loss)
    assert all(np.array_equal(a, b) for a, b in zip(plain.val_loss, explicit.val_loss))


@pytest.mark.parametrize("algorithm", ["sgd", "adam"])
def test_only_trainable_parameters_change(algorithm):
    tr = _trainer(arch="gru", trainable=("weight_hh",), optimizer=algorithm)
    before = _params(tr)
    tr.run(6)
    after = _params(tr)
    assert not torch.equal(before["weight_hh"], after["weight_hh"])
    for n in before:
        if n != "weight_hh":
            assert torch.equal(before[n], after[n]), n  # no L2 (l2 = 1e-2 here), no momentum, nothing
    assert set(tr.optimizer.params) == {"weight_hh"} and set(tr.optimizer.state) == {"weight_hh"}
    assert not tr.failed.any()


def test_unknown_trainable_names_are_refused():
    with pytest.raises(ValueError, match=r"'trainable' names unknown parameters \['bias_hh'\]"):
        _trainer(arch="ugrnn", trainable=("bias_hh",), seeds=(0,))  # UGRNN has no b_hh
    pop = RNNPopulation("vanilla", "tanh", 1, 2, 3, 1)
    hp = Hyperparameters.from_records([dict(learning_rate=0.1, momentum=0.9, clip=1.0, decay=0.5, l2=0.0)])
    with pytest.raises(ValueError, match="unknown parameters"):
        PopulationOptimizer(dict(pop.params.items()), hp, trainable=("weight_xx",))


@pytest.mark.parametrize("arch", ["vanilla", "lstm"])
def test_zero_diagonal_holds_after_every_step(arch):
    tr = _trainer(arch=arch, mask="zero_diagonal", iterations=8)
    n = tr.population.n_units

    def diagonals():
        w = tr.population.params["weight_hh"].detach()
        return torch.stack([w[:, g * n : (g + 1) * n].diagonal(dim1=1, dim2=2) for g in range(w.shape[1] // n)])

    assert (diagonals() == 0).all()  # zeroed when the trainer is built
    off = tr.population.params["weight_hh"].detach().clone()
    for it in range(8):
        tr.run(it + 1)
        assert tr.iteration == it + 1 and (diagonals() == 0).all()
    assert not torch.equal(off, tr.population.params["weight_hh"])  # the rest did train


def test_unknown_mask_is_refused():
    with pytest.raises(ValueError, match="unknown mask 'diagonal'"):
        _trainer(mask="diagonal")


def test_frozen_and_masked_survive_select():
    tr = _trainer(seeds=(0, 1, 2), trainable=("weight_hh", "bias_out"), mask="zero_diagonal")
    tr.run(2)
    sub = tr.select(torch.tensor([2, 0]))
    before = _params(sub)
    sub.run(6)
    for n, p in _params(sub).items():
        assert torch.equal(p, before[n]) == (n not in ("weight_hh", "bias_out")), n
    assert (sub.population.params["weight_hh"].detach().diagonal(dim1=1, dim2=2) == 0).all()


def test_leaky_population_trains_and_selects():
    tr = _trainer(seeds=(0, 1), alpha=0.25, iterations=6)
    tr.run(3)
    sub = tr.select(torch.tensor([1]))
    assert sub.population.alpha == 0.25
    sub.run(6)
    assert not sub.failed.any() and np.isfinite(sub.train_loss).all()


def test_noise_is_per_network_and_reproducible():
    noisy = _trainer(noise_rec=0.1, noise_in=0.2)
    again = _trainer(noise_rec=0.1, noise_in=0.2)
    alone = _trainer(seeds=(1,), noise_rec=0.1, noise_in=0.2)
    quiet = _trainer()
    for tr in (noisy, again, alone, quiet):
        tr.run(6)
    for n, p in _params(noisy).items():
        assert torch.equal(p, again.population.params[n])
        assert torch.allclose(p[1], alone.population.params[n][0], atol=1e-5)  # pack-independent
    assert not np.array_equal(noisy.train_loss, quiet.train_loss)
    # the noise stream is separate from the data stream: the batches are those of the quiet run
    assert torch.equal(noisy.sample_batch().inputs, quiet.sample_batch().inputs)
    with pytest.raises(ValueError, match="noise_rec"):
        _trainer(noise_rec=-0.1)


def test_training_noise_shapes_and_scales():
    tr = _trainer(seeds=(0, 1, 2), arch="lstm", noise_rec=0.5, noise_in=0.0)
    x = torch.zeros(3, 20, 8, TASK.n_inputs)
    inputs, noise = tr.training_noise(x)
    assert torch.equal(inputs, x) and noise.shape == (3, 20, 8, 4 * 8)  # LSTM: every gate's pre-activation
    assert 0.4 < float(noise.std()) < 0.6


def _linear_trainer(alpha, noise_rec, n=64):
    """Vanilla linear networks with W_hh = 0: the state is the input projection (leaky-filtered)."""
    pop = RNNPopulation("vanilla", "linear", 2, TASK.n_inputs, n, TASK.n_outputs, alpha=alpha).initialize([0, 1])
    with torch.no_grad():
        pop.params["weight_hh"].zero_()
    hp = Hyperparameters.from_records([dict(learning_rate=0.1, momentum=0.9, clip=1.0, decay=0.5, l2=0.0)] * 2)
    settings = TrainSettings(iterations=1, batch_size=8, eval_every=3)
    return PopulationTrainer(pop, TASK, [7, 8], hp, settings, VAL, noise_rec=noise_rec)


@pytest.mark.parametrize("alpha", [1.0, 0.1])
def test_preactivation_noise_has_the_documented_std(alpha):
    """noise_rec is the std of ξ in h_t = (1 − α) h_{t−1} + α φ(W_hh h + W_ih x + b + ξ_t): with
    W_hh = 0 and φ linear, state − noiseless state = ξ_t at α = 1, and with the note's scaling
    noise_rec = sqrt(2/α)·σ its stationary std is σ·sqrt(2/(2 − α)) (≈ σ) under a leak."""
    sigma = 0.01
    noise_rec = math.sqrt(2 / alpha) * sigma
    tr = _linear_trainer(alpha, noise_rec)
    x = torch.randn(2, 400, 8, TASK.n_inputs, generator=torch.Generator().manual_seed(0))
    inputs, noise = tr.training_noise(x)
    assert torch.equal(inputs, x)  # no input noise asked for
    with torch.no_grad():
        _, quiet = tr.population(x, return_states=True)
        _, noisy = tr.population(x, return_states=True, noise=noise)
    diff = (noisy - quiet).double()
    if alpha == 1.0:
        torch.testing.assert_close(diff, noise.double(), atol=1e-6, rtol=0)
        assert abs(float(diff.std()) / noise_rec - 1) < 0.01
    else:
        stationary = diff[:, 100:]  # (1 − α)^200 ≈ 7e-10 of the start is left
        assert abs(float(stationary.std()) / (sigma * math.sqrt(2 / (2 - alpha))) - 1) < 0.03
    assert abs(float(noise.double().std()) / noise_rec - 1) < 0.01 and abs(float(noise.double().mean())) < 1e-3


# ------------------------------------------------------------------------- snapshots
def _snapshot_trainer(iterations=10, count=4, **kw):
    pop = RNNPopulation("vanilla", "relu", 2, TASK.n_inputs, 8, TASK.n_outputs, alpha=0.5).initialize([0, 1])
    hp = Hyperparameters.from_records([dict(learning_rate=0.05, momentum=0.9, clip=1.0, decay=1.0, l2=0.0)] * 2)
    settings = TrainSettings(iterations=iterations, batch_size=8, eval_every=5, snapshot_params=("weight_hh", "weight_out"),
                             snapshot_count=count, **kw)
    return PopulationTrainer(pop, TASK, [11, 12], hp, settings, VAL, mask="zero_diagonal")


def test_snapshot_schedule():
    assert snapshot_schedule(4, 10).tolist() == [0, 3, 7, 10]
    assert snapshot_schedule(21, 2000).tolist() == list(range(0, 2001, 100))
    assert snapshot_schedule(2, 5).tolist() == [0, 5]
    assert snapshot_schedule(10, 3).tolist() == [0, 1, 2, 3]  # more asked than iterations: each once
    for bad in (1, 0, 2.0, True):
        with pytest.raises(ValueError, match="snapshot count"):
            snapshot_schedule(bad, 10)


def test_snapshots_from_initialisation_to_final():
    tr = _snapshot_trainer()
    init = _params(tr)
    tr.run(10)
    partial = _snapshot_trainer()
    partial.run(3)
    for k in range(2):
        snaps = tr.snapshots(k)
        assert snaps.complete and snaps.note == ""
        assert snaps.iterations.tolist() == [0, 3, 7, 10] and np.all(np.diff(snaps.iterations) > 0)
        for name in ("weight_hh", "weight_out"):
            s = snaps.params[name]
            assert s.shape == (4, *init[name].shape[1:]) and s.dtype == np.float32
            np.testing.assert_array_equal(s[0], init[name][k].numpy())  # the initialisation (masked)
            np.testing.assert_array_equal(s[-1], tr.population.params[name][k].detach().numpy())  # the final
            np.testing.assert_array_equal(s[1], partial.population.params[name][k].detach().numpy())  # after 3 updates
        assert (np.diagonal(snaps.params["weight_hh"], axis1=1, axis2=2) == 0).all()
        assert not np.array_equal(snaps.params["weight_hh"][0], snaps.params["weight_hh"][-1])
    assert set(tr.snapshots(0).params) == {"weight_hh", "weight_out"}
    assert _trainer().snapshots(0) is None  # none asked for


def test_snapshots_of_a_network_that_fails_or_stops():
    tr = _snapshot_trainer()
    tr.run(5)
    sample = tr.sample_batch

    def poisoned():  # network 1 gets a NaN batch at iteration 5: it fails with 5 updates applied
        batch = sample()
        batch.inputs[1] = float("nan")
        return batch

    tr.sample_batch = poisoned
    tr.run(6)
    tr.sample_batch = sample
    tr.run(10)
    ok, bad = tr.snapshots(0), tr.snapshots(1)
    assert ok.complete and ok.iterations.tolist() == [0, 3, 7, 10]
    assert not bad.complete and bad.iterations.tolist() == [0, 3, 5]
    assert "failed" in bad.note and "after 5 of 10 iterations" in bad.note
    np.testing.assert_array_equal(bad.params["weight_hh"][-1], tr.population.params["weight_hh"][1].detach().numpy())
    stopped = _snapshot_trainer(stop_loss=float("inf"))  # every loss is below: all stop after one update
    stopped.run(10)
    snaps = stopped.snapshots(0)
    assert snaps.iterations.tolist() == [0, 1] and not snaps.complete and "converged" in snaps.note
    np.testing.assert_array_equal(snaps.params["weight_out"][-1], stopped.population.params["weight_out"][0].detach().numpy())


def test_snapshots_survive_select_and_name_bad_parameters():
    tr = _snapshot_trainer()
    tr.run(4)
    sub = tr.select(torch.tensor([1]))
    sub.run(10)
    assert sub.snapshots(0).iterations.tolist() == [0, 3, 7, 10]
    np.testing.assert_array_equal(sub.snapshots(0).params["weight_hh"][1], tr.snapshots(1).params["weight_hh"][1])
    pop = RNNPopulation("vanilla", "relu", 1, TASK.n_inputs, 4, TASK.n_outputs).initialize([0])
    hp = Hyperparameters.from_records([dict(learning_rate=0.1, momentum=0.9, clip=1.0, decay=0.5, l2=0.0)])
    with pytest.raises(ValueError, match=r"snapshots name unknown parameters \['w_rec'\]; parameters of vanilla: "):
        PopulationTrainer(pop, TASK, [0], hp, TrainSettings(iterations=2, snapshot_params=("w_rec",), snapshot_count=2))


# ------------------------------------------------------------------------- the train stage
STAGE = {"iterations": 12, "batch_size": 8, "eval_every": 4, "optimizer": "sgd", "accept_val_loss": 0.05,
         "data_seed": 0, "hyperparameters": {"learning_rate": 0.1, "momentum": 0.9, "clip": 1.0, "decay": 0.3}}


@pytest.fixture(scope="module")
def data_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("td") / "task_data.h5"
    task_data.run("flipflop", {"n_steps": 20, "n_probe_trials": 4}, 32, 0, str(path))
    return str(path)


def _stage(data_path, out, settings, arch="gru"):
    nets = [NetworkSpec("flipflop", arch, "tanh", 6, 1e-4, s) for s in (0, 1)]
    train.run("flipflop", data_path, nets, [n.twin() for n in nets], settings, str(out), [], "cpu")
    return {p.parent.name: p for p in sorted(out.glob("*/model.h5"))}


def _config(path):
    with h5py.File(path) as f:
        return json.loads(f.attrs["config"])


def test_stage_with_default_network_settings_is_bit_identical(data_path, tmp_path):
    plain = _stage(data_path, tmp_path / "a", STAGE)
    defaults = {"alpha": 1.0, "noise_rec": 0.0, "noise_in": 0.0, "trainable": [], "mask": "", "init": "uniform"}
    explicit = _stage(data_path, tmp_path / "b", {**STAGE, "network": defaults})
    assert list(plain) == list(explicit) and len(plain) == 4
    for net_id in plain:
        a, b = read_model(plain[net_id]), read_model(explicit[net_id])
        assert a.spec == b.spec
        for n in a.params:
            np.testing.assert_array_equal(a.params[n], b.params[n])
        np.testing.assert_array_equal(a.train_loss, b.train_loss)
        np.testing.assert_array_equal(a.val_loss, b.val_loss)
        ca, cb = _config(plain[net_id]), _config(explicit[net_id])
        assert cb.pop("training") == {**ca.pop("training"), "network": defaults}
        assert ca == cb  # spec fields identical: settings at their defaults are not written


def test_stage_applies_and_records_network_settings(data_path, tmp_path):
    network = {"alpha": 0.5, "trainable": ["weight_hh", "weight_out", "bias_out"], "mask": "zero_diagonal",
               "noise_rec": 0.01}
    files = _stage(data_path, tmp_path / "c", {**STAGE, "network": network}, arch="vanilla")
    plain = _stage(data_path, tmp_path / "d", STAGE, arch="vanilla")
    assert list(files) == list(plain)  # ids and paths unchanged
    for net_id, path in files.items():
        rec = read_model(path)
        assert rec.spec.alpha == 0.5 and rec.spec.mask == "zero_diagonal" and rec.spec.noise_rec == 0.01
        assert rec.spec.trainable == ("bias_out", "weight_hh", "weight_out")
        assert _config(path)["trainable"] == ["bias_out", "weight_hh", "weight_out"]
        assert (np.diag(rec.params["weight_hh"]) == 0).all()  # the twin's initialisation too
        if rec.spec.trained:
            twin = read_model(files[rec.spec.twin().id])
            for n in ("weight_ih", "bias_ih", "bias_hh"):  # frozen: still the initialisation
                np.testing.assert_array_equal(rec.params[n], twin.params[n])
            assert not np.array_equal(rec.params["weight_hh"], twin.params["weight_hh"])
    with pytest.raises(ValueError, match="unknown network setting"):
        _stage(data_path, tmp_path / "e", {**STAGE, "network": {"tau": 2.0}})


def test_stage_writes_snapshots(data_path, tmp_path):
    files = _stage(data_path, tmp_path / "s", {**STAGE, "snapshots": {"params": ["weight_hh"], "count": 4}})
    for net_id, path in files.items():
        rec = read_model(path)
        if not rec.spec.trained:
            assert rec.snapshots == {} and rec.snapshot_info == {}  # the twin is snapshot 0 itself
            continue
        twin = read_model(files[rec.spec.twin().id])
        snaps = rec.snapshots
        assert set(snaps) == {"iterations", "weight_hh"}
        assert snaps["iterations"].dtype == np.int64 and snaps["iterations"].tolist() == [0, 4, 8, 12]
        assert snaps["weight_hh"].dtype == np.float32 and snaps["weight_hh"].shape == (4, 18, 6)  # GRU: 3N × N
        np.testing.assert_array_equal(snaps["weight_hh"][0], twin.params["weight_hh"])
        np.testing.assert_array_equal(snaps["weight_hh"][-1], rec.params["weight_hh"])
        assert rec.snapshot_info == {"count": 4, "complete": True, "note": ""}
        with h5py.File(path) as f:
            assert f["snapshots/weight_hh"].compression == "gzip"
    plain = _stage(data_path, tmp_path / "p", STAGE)
    for net_id in plain:  # snapshots change nothing else
        a, b = read_model(plain[net_id]), read_model(files[net_id])
        for n in a.params:
            np.testing.assert_array_equal(a.params[n], b.params[n])
    for bad in ({"params": "weight_hh", "count": 3}, {"params": ["weight_hh"]}, {"params": ["weight_hh"], "count": 1},
                {"params": ["w"], "count": 3}):
        with pytest.raises(ValueError, match="snapshot"):
            _stage(data_path, tmp_path / "bad", {**STAGE, "snapshots": bad})


def test_stage_trains_the_rate_rnn_of_study_h(tmp_path):
    """Leaky ReLU rate networks (α = 0.1, pre-activation noise sqrt(2/α)·σ, only W_rec trains with
    a zero diagonal, the note's initialisation) on the perception task, with snapshots."""
    path = tmp_path / "task_data.h5"
    task_data.run("perception", {"n_steps": 30, "grace_steps": 5}, 16, 0, str(path))
    network = {"alpha": 0.1, "noise_rec": math.sqrt(20) * 0.01, "trainable": ["weight_hh"], "mask": "zero_diagonal",
               "init": "rate_gaussian", "init_options": {"recurrent": "variance_rsqrt_n", "input_std": 1 / math.sqrt(3)}}
    settings = {**STAGE, "iterations": 6, "optimizer": "adam", "network": network,
                "hyperparameters": {"learning_rate": 1e-3, "momentum": 0.0, "clip": None, "decay": 1.0},
                "snapshots": {"params": ["weight_hh"], "count": 3}}
    nets = [NetworkSpec("perception", "vanilla", "relu", 16, 0.0, s) for s in (0, 1)]
    train.run("perception", str(path), nets, [n.twin() for n in nets], settings, str(tmp_path / "nets"), [], "cpu")
    for spec in nets:
        rec, twin = (read_model(tmp_path / "nets" / s.id / "model.h5") for s in (spec, spec.twin()))
        assert rec.spec.init_options == (("input_std", 1 / math.sqrt(3)), ("recurrent", "variance_rsqrt_n"))
        assert _config(tmp_path / "nets" / spec.id / "model.h5")["init_options"]["input_std"] == 1 / math.sqrt(3)
        assert not rec.summary["failed"] and rec.snapshots["iterations"].tolist() == [0, 3, 6]
        for n in ("weight_ih", "bias_ih", "weight_out"):
            np.testing.assert_array_equal(rec.params[n], twin.params[n])  # frozen
        assert (rec.params["bias_hh"] == 0).all() and (rec.params["bias_out"] == 0).all()
        assert (np.diag(rec.params["weight_hh"]) == 0).all()
        assert not np.array_equal(rec.params["weight_hh"], twin.params["weight_hh"])
