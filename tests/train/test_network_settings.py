"""Network settings in training: frozen parameters, structural masks, leak and noise, and the
train stage's ``network`` block (defaults bit-identical to no settings)."""

import json

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
    assert torch.equal(inputs, x) and noise.shape == (3, 20, 8, 16)
    assert 0.4 < float(noise.std()) < 0.6


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
