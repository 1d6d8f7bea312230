"""Training settings study M needs: element-wise clipping, the reference loss, batches of
different lengths, the sigmoid readout as a network setting."""

import math

import numpy as np
import pytest
import torch

from rnnatlas.ids import NetworkSpec
from rnnatlas.models import RNNPopulation
from rnnatlas.tasks import make_task
from rnnatlas.train import Hyperparameters, PopulationTrainer, TrainSettings
from rnnatlas.train.optim import PopulationOptimizer
from rnnatlas.train.trainer import LOSSES, _pad_time


def test_value_clip_clamps_every_entry_per_network():
    p = torch.nn.Parameter(torch.zeros(2, 3))
    hp = Hyperparameters.from_records([{"learning_rate": 1.0, "momentum": 0.0, "clip": c, "decay": 1.0, "l2": 0.0}
                                       for c in (0.5, 2.0)])
    opt = PopulationOptimizer({"weight_hh": p}, hp, algorithm="sgd", clip_mode="value", penalized=())
    p.grad = torch.tensor([[3.0, -0.2, -4.0], [3.0, -0.2, -4.0]])
    opt.step(0, torch.ones(2, dtype=torch.bool))
    torch.testing.assert_close(p.detach(), torch.tensor([[-0.5, 0.2, 0.5], [-2.0, 0.2, 2.0]]))
    with pytest.raises(ValueError, match="clip mode"):
        PopulationOptimizer({"weight_hh": p}, hp, clip_mode="elementwise")


def test_weighted_error_is_the_reference_loss_and_ignores_padding():
    task = make_task("go", {})
    batch = task.sample(5, torch.Generator().manual_seed(0))
    out = torch.rand(2, *batch.targets.shape, generator=torch.Generator().manual_seed(1))
    total, count = LOSSES["weighted_error"](out, batch.targets, batch.mask, task.n_steps)
    t, b, o = batch.targets.shape
    want = (((out - batch.targets) * batch.mask) ** 2).sum(dim=(1, 2, 3)) / (b * o * task.n_steps)
    torch.testing.assert_close(total / count, want)
    # on a trial of the longest length this is exactly the reference's mean((mask·error)²)
    padded = _pad_time(batch, task.n_steps)
    out_p = torch.cat([out, torch.rand(2, task.n_steps - t, b, o)], dim=1)
    total_p, count_p = LOSSES["weighted_error"](out_p, padded.targets, padded.mask, task.n_steps)
    torch.testing.assert_close(total_p / count_p, want)
    torch.testing.assert_close(total_p / count_p, (((out_p - padded.targets) * padded.mask) ** 2).mean(dim=(1, 2, 3)))


def test_trainer_pads_batches_of_different_lengths_and_a_network_is_the_same_in_any_pack():
    task = make_task("go_family", {"n_probe_angles": 4, "n_condition_angles": 2})

    def train(seeds):
        k = len(seeds)
        pop = RNNPopulation("vanilla", "softplus", k, 85, 8, 33, readout="sigmoid", alpha=0.2)
        pop.initialize(seeds, scheme="yang_rate")
        hp = Hyperparameters.from_records([{"learning_rate": 1e-2, "momentum": 0, "clip": 1.0, "decay": 1.0,
                                            "l2": 0.0}] * k)
        settings = TrainSettings(iterations=6, batch_size=4, optimizer="adam", eval_every=3, loss="weighted_error",
                                 clip_mode="value")
        trainer = PopulationTrainer(pop, task, [100 + s for s in seeds], hp, settings,
                                    task.validation_set(8, torch.Generator().manual_seed(0)),
                                    noise_rec=0.05 * math.sqrt(10), noise_in=0.01 * math.sqrt(10))
        trainer.run(6)
        return pop, trainer

    pop2, tr2 = train([0, 1])
    pop1, tr1 = train([1])
    assert np.isfinite(tr2.train_loss).all()
    for name in pop1.params:
        torch.testing.assert_close(pop1.params[name][0], pop2.params[name][1], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(tr1.train_loss[0], tr2.train_loss[1], rtol=1e-5)


def test_readout_is_a_network_setting():
    spec = NetworkSpec("go", "vanilla", "softplus", 8, 0.0, 0).with_network_settings({"readout": "sigmoid"})
    assert spec.as_config()["readout"] == "sigmoid"
    assert "readout" not in NetworkSpec("go", "vanilla", "softplus", 8, 0.0, 0).as_config()
    with pytest.raises(ValueError, match="readout"):
        RNNPopulation("vanilla", "softplus", 1, 85, 8, 33, readout=spec.readout + "x")
