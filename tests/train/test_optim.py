"""Population optimizers against torch.optim, and per-network independence of their updates."""

import pytest
import torch

from rnnatlas.models import RNNPopulation
from rnnatlas.train import Hyperparameters, PopulationOptimizer

I, N, O = 3, 5, 2
WEIGHTS = ("weight_ih", "weight_hh", "weight_out")


def _pop(k=1, seeds=None):
    return RNNPopulation("gru", "tanh", k, I, N, O, dtype=torch.float64).initialize(seeds or list(range(k)))


def _loss(pop, x):
    out, _ = pop(x)
    return out.pow(2).flatten(1).mean(1)


def _hp(k, **kw):
    base = dict(learning_rate=0.1, momentum=0.9, clip=1e9, decay=1.0, l2=0.0)
    base.update(kw)
    return Hyperparameters.from_records([base] * k)


def _reference_backward(ref, ref_params, x):
    """Load the reference parameters into the population ``ref`` and backpropagate its loss."""
    with torch.no_grad():
        for n, p in ref.params.items():
            p[0].copy_(ref_params[n])
    ref.zero_grad()
    _loss(ref, x).sum().backward()


@pytest.mark.parametrize("clip", [1e9, 0.05])
def test_sgd_momentum_matches_torch_sgd_with_clipping_and_l2(clip):
    torch.manual_seed(0)
    x = torch.randn(6, 4, I, dtype=torch.float64)
    ours, ref = _pop(), _pop()
    ref_params = {n: torch.nn.Parameter(p[0].detach().clone()) for n, p in ref.params.items()}
    l2 = 1e-2
    groups = [{"params": [ref_params[n] for n in ref_params if n in WEIGHTS], "weight_decay": 2 * l2},
              {"params": [ref_params[n] for n in ref_params if n not in WEIGHTS], "weight_decay": 0.0}]
    torch_opt = torch.optim.SGD(groups, lr=0.1, momentum=0.9)
    opt = PopulationOptimizer(dict(ours.params.items()), _hp(1, clip=clip, l2=l2), decay_steps=10)
    for it in range(5):
        ours.zero_grad()
        _loss(ours, x).sum().backward()
        opt.step(it, torch.ones(1, dtype=torch.bool))
        _reference_backward(ref, ref_params, x)  # the same network as plain tensors
        for n, p in ref_params.items():
            p.grad = ref.params[n].grad[0].clone() + (2 * l2 * p.detach() if n in WEIGHTS else 0)
        torch.nn.utils.clip_grad_norm_(list(ref_params.values()), clip)
        for group in torch_opt.param_groups:  # L2 already added before clipping, as in our optimizer
            group["weight_decay"] = 0.0
        torch_opt.step()
    for n, p in ours.params.items():
        assert torch.allclose(p[0], ref_params[n], atol=1e-12), n


def test_adam_matches_torch_adam():
    torch.manual_seed(1)
    x = torch.randn(6, 4, I, dtype=torch.float64)
    ours, ref = _pop(), _pop()
    ref_params = {n: torch.nn.Parameter(p[0].detach().clone()) for n, p in ref.params.items()}
    torch_opt = torch.optim.Adam(ref_params.values(), lr=1e-2)
    opt = PopulationOptimizer(dict(ours.params.items()), _hp(1, learning_rate=1e-2), algorithm="adam")
    for it in range(5):
        ours.zero_grad()
        _loss(ours, x).sum().backward()
        opt.step(it, torch.ones(1, dtype=torch.bool))
        _reference_backward(ref, ref_params, x)
        for n, p in ref_params.items():
            p.grad = ref.params[n].grad[0].clone()
        torch_opt.step()
    for n, p in ours.params.items():
        assert torch.allclose(p[0], ref_params[n], atol=1e-12), n


def test_clipping_and_learning_rates_are_per_network():
    """Network 1's huge gradient and rate must not change network 0's update."""
    x = torch.randn(6, 4, I, dtype=torch.float64)
    alone = _pop(1, [7])
    pair = _pop(2, [7, 8])
    with torch.no_grad():
        pair.params["weight_out"][1].mul_(1e4)  # a much larger gradient in network 1
    for pop, hp in ((alone, _hp(1, clip=0.5)), (pair, Hyperparameters.from_records(
            [dict(learning_rate=0.1, momentum=0.9, clip=0.5, decay=1.0, l2=0.0),
             dict(learning_rate=5.0, momentum=0.1, clip=50.0, decay=0.5, l2=1e-3)]))):
        opt = PopulationOptimizer(dict(pop.params.items()), hp, decay_steps=3)
        for it in range(4):
            pop.zero_grad()
            _loss(pop, x.unsqueeze(0).expand(pop.n_networks, *x.shape)).sum().backward()
            opt.step(it, torch.ones(pop.n_networks, dtype=torch.bool))
    for n in alone.params:
        assert torch.allclose(alone.params[n][0], pair.params[n][0], atol=1e-12), n


def test_learning_rate_decays_exponentially():
    opt = PopulationOptimizer(dict(_pop().params.items()), _hp(1, learning_rate=0.2, decay=0.5), decay_steps=100)
    assert float(opt.learning_rate(0)[0]) == pytest.approx(0.2)
    assert float(opt.learning_rate(100)[0]) == pytest.approx(0.1)
    assert float(opt.learning_rate(50)[0]) == pytest.approx(0.2 * 0.5**0.5)


def test_inactive_and_masked_parameters_do_not_move():
    pop = _pop(2, [1, 2])
    mask = torch.ones_like(pop.params["weight_hh"])
    mask[:, torch.arange(N), torch.arange(N)] = 0  # e.g. a zero self-connection
    with torch.no_grad():
        pop.params["weight_hh"].mul_(mask)
    before = {n: p.detach().clone() for n, p in pop.params.items()}
    opt = PopulationOptimizer(dict(pop.params.items()), _hp(2), masks={"weight_hh": mask})
    pop.zero_grad()
    _loss(pop, torch.randn(6, 4, I, dtype=torch.float64)).sum().backward()
    opt.step(0, torch.tensor([True, False]))
    for n, p in pop.params.items():
        assert torch.equal(p[1], before[n][1])  # inactive network untouched
    assert not torch.equal(pop.params["weight_hh"][0], before["weight_hh"][0])
    assert torch.all(pop.params["weight_hh"][0].diagonal() == 0)
