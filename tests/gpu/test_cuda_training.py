"""Population training on CUDA gives the CPU's losses and parameters (a few steps, same seeds).

The trainer draws every batch (and every network's training noise) from CPU generators and
moves it to the population's device, so both runs see identical data; only the arithmetic
differs. Short runs keep float32 rounding from compounding: 6 steps, tolerance rtol 1e-4 /
atol 1e-5 in float32 and 1e-9 / 1e-11 in float64 (the trainer trains float32 populations;
float64 is checked on the optimizer alone).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from gpu_helpers import assert_close

from rnnatlas.models import RNNPopulation
from rnnatlas.tasks import make_task
from rnnatlas.train import Hyperparameters, PopulationOptimizer, PopulationTrainer, TrainSettings
from rnnatlas.train.trainer import masked_mse

pytestmark = pytest.mark.gpu

TASK = make_task("flipflop", {"n_steps": 25})
SEEDS = [0, 1, 2, 3]
LEARNING_RATES = [0.05, 0.1, 0.2, 0.02]
STEPS = 6
TOL = {torch.float32: dict(rtol=1e-4, atol=1e-5), torch.float64: dict(rtol=1e-9, atol=1e-11)}


def _trainer(device, arch, activation, dtype, *, alpha=1.0, optimizer="sgd", noise_rec=0.0, noise_in=0.0):
    pop = RNNPopulation(arch, activation, len(SEEDS), TASK.n_inputs, 16, TASK.n_outputs, dtype=dtype,
                        device=device, alpha=alpha).initialize(SEEDS)
    lrs = [lr / 50 for lr in LEARNING_RATES] if optimizer == "adam" else LEARNING_RATES
    hp = Hyperparameters.from_records(
        [dict(learning_rate=lr, momentum=0.9, clip=1.0, decay=0.5, l2=1e-4) for lr in lrs])
    validation = TASK.sample(32, torch.Generator().manual_seed(99))
    settings = TrainSettings(iterations=STEPS, batch_size=16, eval_every=3, optimizer=optimizer)
    return PopulationTrainer(pop, TASK, [s + 1000 for s in SEEDS], hp, settings, validation,
                             noise_rec=noise_rec, noise_in=noise_in)


def _compare(cpu_tr, cuda_tr, dtype, cuda):
    tol = TOL[dtype]
    assert cuda_tr.population.params["weight_hh"].device.type == cuda.type
    assert cpu_tr.population.params["weight_hh"].device.type == "cpu"
    assert not cpu_tr.failed.any() and not cuda_tr.failed.any(), (cpu_tr.failure_reason, cuda_tr.failure_reason)
    assert_close(cuda_tr.train_loss, cpu_tr.train_loss, what="training loss per network and step", **tol)
    assert cuda_tr.val_iterations == cpu_tr.val_iterations
    assert_close(np.stack(cuda_tr.val_loss), np.stack(cpu_tr.val_loss), what="validation loss", **tol)
    for name, p in cpu_tr.population.params.items():
        q = cuda_tr.population.params[name]
        assert q.dtype == p.dtype == dtype
        assert_close(q, p, what=f"parameter {name} after {STEPS} steps", **tol)
    # the runs moved the parameters (the comparison is not of two initialisations)
    init = RNNPopulation(cpu_tr.population.arch, cpu_tr.population.activation, len(SEEDS), TASK.n_inputs, 16,
                         TASK.n_outputs, dtype=dtype, alpha=cpu_tr.population.alpha).initialize(SEEDS)
    assert not torch.equal(init.params["weight_hh"], cpu_tr.population.params["weight_hh"])


@pytest.mark.parametrize(
    "arch,activation,dtype",
    [("vanilla", "tanh", torch.float32), ("vanilla", "relu", torch.float32), ("gru", "tanh", torch.float32),
     ("lstm", "tanh", torch.float32), ("ugrnn", "tanh", torch.float32)],
)
def test_sgd_training_steps_match_cpu(cuda, arch, activation, dtype):
    """The hand-written recurrence (no leak) and its backward, SGD with momentum and clipping."""
    cpu_tr, cuda_tr = _trainer("cpu", arch, activation, dtype), _trainer(cuda, arch, activation, dtype)
    cpu_tr.run(STEPS)
    cuda_tr.run(STEPS)
    _compare(cpu_tr, cuda_tr, dtype, cuda)


def test_leaky_noisy_training_matches_cpu(cuda):
    """Leak α < 1 (the autograd time loop) with input and recurrent training noise."""
    kw = dict(alpha=0.5, noise_rec=0.1, noise_in=0.05)
    cpu_tr = _trainer("cpu", "vanilla", "tanh", torch.float32, **kw)
    cuda_tr = _trainer(cuda, "vanilla", "tanh", torch.float32, **kw)
    cpu_tr.run(STEPS)
    cuda_tr.run(STEPS)
    _compare(cpu_tr, cuda_tr, torch.float32, cuda)


def test_adam_training_matches_cpu(cuda):
    """Adam with small learning rates (its first steps are ~lr·sign(g), so a rounding
    difference in a tiny gradient entry moves a parameter by at most a fraction of lr)."""
    cpu_tr = _trainer("cpu", "lstm", "tanh", torch.float32, optimizer="adam")
    cuda_tr = _trainer(cuda, "lstm", "tanh", torch.float32, optimizer="adam")
    cpu_tr.run(STEPS)
    cuda_tr.run(STEPS)
    _compare(cpu_tr, cuda_tr, torch.float32, cuda)


@pytest.mark.parametrize("algorithm,dtype", [("sgd", torch.float32), ("sgd", torch.float64), ("adam", torch.float64)])
def test_optimizer_steps_on_a_shared_batch_match_cpu(cuda, algorithm, dtype):
    """PopulationOptimizer alone (as bench_training drives it): one batch, four updates."""
    batch = TASK.sample(16, torch.Generator().manual_seed(5))
    lr = 0.05 if algorithm == "sgd" else 1e-3
    results = []
    for device in (torch.device("cpu"), cuda):
        pop = RNNPopulation("gru", "tanh", 8, TASK.n_inputs, 24, TASK.n_outputs, dtype=dtype,
                            device=device).initialize(list(range(8)))
        hp = Hyperparameters.from_records([dict(learning_rate=lr, momentum=0.9, clip=1.0, decay=0.5, l2=1e-4)] * 8)
        opt = PopulationOptimizer(dict(pop.params.items()), hp.to(device), algorithm=algorithm, decay_steps=100)
        active = torch.ones(8, dtype=torch.bool, device=device)
        b = batch.to(device=device, dtype=dtype)
        losses, norms = [], []
        for it in range(4):
            out, _ = pop(b.inputs)
            loss = masked_mse(out, b.targets, b.mask)
            pop.zero_grad()
            loss.sum().backward()
            norm, diverged = opt.step(it, active)
            assert not diverged.any()
            losses.append(loss.detach().cpu())
            norms.append(norm.cpu())
        results.append((torch.stack(losses), torch.stack(norms), {n: p.detach().cpu() for n, p in pop.params.items()}))
    (l_cpu, n_cpu, p_cpu), (l_gpu, n_gpu, p_gpu) = results
    assert_close(l_gpu, l_cpu, what="losses", **TOL[dtype])
    assert_close(n_gpu, n_cpu, what="gradient norms before clipping", **TOL[dtype])
    for name in p_cpu:
        assert_close(p_gpu[name], p_cpu[name], what=name, **TOL[dtype])
