"""Population cells against independent references: torch.nn modules and written-out equations."""

import functools

import pytest
import torch
from torch import nn

from rnnatlas.models import RNNPopulation

randn = functools.partial(torch.randn, dtype=torch.float64)
zeros = functools.partial(torch.zeros, dtype=torch.float64)
T, B, I, N, O = 7, 5, 3, 6, 2


def _copy_from_torch(pop: RNNPopulation, ref: nn.Module) -> None:
    with torch.no_grad():
        pop.params["weight_ih"][0].copy_(ref.weight_ih_l0)
        pop.params["weight_hh"][0].copy_(ref.weight_hh_l0)
        pop.params["bias_ih"][0].copy_(ref.bias_ih_l0)
        pop.params["bias_hh"][0].copy_(ref.bias_hh_l0)


@pytest.mark.parametrize("arch,activation,ref_cls,kwargs", [
    ("vanilla", "tanh", nn.RNN, {"nonlinearity": "tanh"}),
    ("vanilla", "relu", nn.RNN, {"nonlinearity": "relu"}),
    ("gru", "tanh", nn.GRU, {}),
    ("lstm", "tanh", nn.LSTM, {}),
])
def test_population_of_one_matches_torch_nn(arch, activation, ref_cls, kwargs):
    torch.manual_seed(0)
    ref = ref_cls(I, N, dtype=torch.float64, **kwargs)
    pop = RNNPopulation(arch, activation, 1, I, N, O, dtype=torch.float64).initialize([1])
    _copy_from_torch(pop, ref)
    x = randn(T, B, I)
    _, states = pop(x, return_states=True)
    ref_out, _ = ref(x)
    hidden = states[0, ..., :N]
    assert torch.allclose(hidden, ref_out, atol=1e-12, rtol=0)
    # gradients of the same scalar through both implementations
    weights = randn(T, B, N)
    (hidden * weights).sum().backward()
    (ref_out * weights).sum().backward()
    for name, ref_name in [("weight_ih", "weight_ih_l0"), ("weight_hh", "weight_hh_l0"), ("bias_ih", "bias_ih_l0"), ("bias_hh", "bias_hh_l0")]:
        assert torch.allclose(pop.params[name].grad[0], getattr(ref, ref_name).grad, atol=1e-6, rtol=0), name


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_ugrnn_matches_its_equations(activation):
    """Collins et al. 2017, written out per network with the concatenated weight W [x; h]."""
    pop = RNNPopulation("ugrnn", activation, 1, I, N, O, dtype=torch.float64).initialize([3])
    phi = torch.tanh if activation == "tanh" else torch.relu
    W = torch.cat([pop.params["weight_ih"][0], pop.params["weight_hh"][0]], dim=1).detach()  # [2N, I+N]
    b = pop.params["bias_ih"][0].detach()
    x = randn(T, B, I)
    h = zeros(B, N)
    expected = []
    for t in range(T):
        pre = torch.cat([x[t], h], dim=1) @ W.T + b
        g_a, c_a = pre[:, :N], pre[:, N:]
        g = torch.sigmoid(g_a + 1.0)
        h = g * h + (1 - g) * phi(c_a)
        expected.append(h)
    _, states = pop(x, return_states=True)
    assert torch.allclose(states[0], torch.stack(expected), atol=1e-12, rtol=0)


def test_lstm_relu_replaces_both_tanh():
    """φ = relu replaces the cell-input and the output nonlinearity; gates stay sigmoid."""
    pop = RNNPopulation("lstm", "relu", 1, I, N, O, dtype=torch.float64).initialize([4])
    p = {k: v[0].detach() for k, v in pop.params.items()}
    x = randn(T, B, I)
    h, c = zeros(B, N), zeros(B, N)
    for t in range(T):
        gates = x[t] @ p["weight_ih"].T + p["bias_ih"] + h @ p["weight_hh"].T + p["bias_hh"]
        i, f, g, o = gates.split(N, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.relu(g)
        h = torch.sigmoid(o) * torch.relu(c)
    _, states = pop(x, return_states=True)
    assert torch.allclose(states[0, -1], torch.cat([h, c], dim=1), atol=1e-12)


@pytest.mark.parametrize("arch", ["vanilla", "ugrnn", "gru", "lstm"])
@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_population_equals_separate_networks(arch, activation):
    """K networks stepped together give each network's own outputs and gradients."""
    K = 4
    seeds = [11, 12, 13, 14]
    pop = RNNPopulation(arch, activation, K, I, N, O, dtype=torch.float64).initialize(seeds)
    x = randn(K, T, B, I)
    out, _ = pop(x)
    out.pow(2).sum().backward()
    for k in range(K):
        single = RNNPopulation(arch, activation, 1, I, N, O, dtype=torch.float64).initialize([seeds[k]])
        for name in pop.params:
            assert torch.equal(single.params[name][0], pop.params[name][k].detach())
        out_k, _ = single(x[k : k + 1])
        out_k.pow(2).sum().backward()
        assert torch.allclose(out_k[0], out[k], atol=1e-12)
        for name, p in single.params.items():
            assert torch.allclose(p.grad[0], pop.params[name].grad[k], atol=1e-10), name


@pytest.mark.parametrize("arch", ["vanilla", "ugrnn", "gru", "lstm"])
def test_step_is_one_forward_step_and_readout_matches(arch):
    pop = RNNPopulation(arch, "tanh", 2, I, N, O, dtype=torch.float64).initialize([1, 2])
    x = randn(2, T, B, I)
    out, states = pop(x, return_states=True)
    stepped = pop.step(states[:, 2], x[:, 3])
    assert torch.allclose(stepped, states[:, 3], atol=1e-12)
    assert torch.allclose(pop.readout_state(states), out, atol=1e-12)


def test_shared_inputs_equal_broadcast_inputs():
    pop = RNNPopulation("gru", "tanh", 3, I, N, O, dtype=torch.float64).initialize([1, 2, 3])
    x = randn(T, B, I)
    a, _ = pop(x)
    b, _ = pop(x.expand(3, T, B, I))
    assert torch.allclose(a, b, atol=1e-12)


def test_initialisation_depends_only_on_own_seed():
    a = RNNPopulation("lstm", "tanh", 2, I, N, O).initialize([5, 6])
    b = RNNPopulation("lstm", "tanh", 3, I, N, O).initialize([9, 6, 5])
    for name in a.params:
        assert torch.equal(a.params[name][0], b.params[name][2])
        assert torch.equal(a.params[name][1], b.params[name][1])
    bound = 1 / N**0.5
    assert float(a.params["weight_hh"].detach().abs().max()) <= bound
    assert float(a.params["bias_out"].detach().abs().max()) == 0.0


def test_unknown_names_are_rejected_with_the_allowed_ones():
    with pytest.raises(ValueError, match="allowed: vanilla, ugrnn, gru, lstm"):
        RNNPopulation("rnn", "tanh", 1, I, N, O)
    with pytest.raises(ValueError, match="unknown activation 'elu'"):
        RNNPopulation("gru", "elu", 1, I, N, O)
