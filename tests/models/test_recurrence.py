"""The hand-written recurrence backward (models/recurrence.py) against autograd through the plain loop."""

import dataclasses

import pytest
import torch

from rnnatlas.models import ACTIVATIONS, RNNPopulation
from rnnatlas.models import population as population_module
from rnnatlas.models.cells import CELLS, Cell
from rnnatlas.models.recurrence import ACTIVATION_GRADS, FAST_CELLS, Recurrence, fast_path_for, recurrence

K, T, B, I, N, O = 3, 6, 4, 3, 5, 2
ARCHS = ["vanilla", "ugrnn", "gru", "lstm"]


def _population(arch, activation, seeds=(11, 12, 13)):
    pop = RNNPopulation(arch, activation, len(seeds), I, N, O, dtype=torch.float64).initialize(list(seeds))
    with torch.no_grad():  # larger weights: saturated gates, relu units both on and off
        for p in pop.params.values():
            p.mul_(2.0)
    return pop


def _run(pop, inputs, state0, plain, monkeypatch):
    """Outputs, states and all gradients of one scalar loss, by the fast or the plain path."""
    with monkeypatch.context() as m:
        if plain:
            m.setattr(population_module, "fast_path_for", lambda *args: None)
        pop.zero_grad()
        s0 = None if state0 is None else state0.clone().requires_grad_(True)
        out, states = pop(inputs, s0, return_states=True)
    weights = torch.linspace(-1, 1, states.numel(), dtype=states.dtype).reshape(states.shape)
    ((out**2).sum() + (states * weights).sum()).backward()  # gradients reach the states directly too (LSTM's c)
    grads = {name: p.grad.clone() for name, p in pop.params.items()}
    if s0 is not None:
        grads["state0"] = s0.grad.clone()
    return out.detach(), states.detach(), grads


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("activation", ["tanh", "relu"])
@pytest.mark.parametrize("shared_inputs", [True, False])
@pytest.mark.parametrize("with_state0", [False, True])
def test_fast_gradients_equal_autograd(arch, activation, shared_inputs, with_state0, monkeypatch):
    assert fast_path_for(CELLS[arch], activation) is not None
    pop = _population(arch, activation)
    gen = torch.Generator().manual_seed(0)
    inputs = torch.randn(*(() if shared_inputs else (K,)), T, B, I, generator=gen, dtype=torch.float64)
    state0 = torch.randn(K, B, pop.state_dim, generator=gen, dtype=torch.float64) if with_state0 else None
    out_f, states_f, grads_f = _run(pop, inputs, state0, plain=False, monkeypatch=monkeypatch)
    out_p, states_p, grads_p = _run(pop, inputs, state0, plain=True, monkeypatch=monkeypatch)
    # the forward repeats the cell's operations one for one: bit-identical states
    assert torch.equal(states_f, states_p) and torch.equal(out_f, out_p)
    assert grads_f.keys() == grads_p.keys()
    for name in grads_p:
        torch.testing.assert_close(grads_f[name], grads_p[name], atol=1e-10, rtol=0, msg=name)


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
@pytest.mark.parametrize("alpha", [0.2, 0.5])
def test_leaky_vanilla_fast_path_equals_autograd(activation, alpha, monkeypatch):
    """With a leak (studies H and M), the vanilla cell's hand-written recurrence gives the plain
    loop's states bit for bit and its gradients; other leaky cells fall back to autograd."""
    pop = _population("vanilla", activation)
    pop.alpha = alpha
    assert pop._fast_path() is not None
    gen = torch.Generator().manual_seed(2)
    inputs = torch.randn(K, T, B, I, generator=gen, dtype=torch.float64)
    state0 = torch.randn(K, B, pop.state_dim, generator=gen, dtype=torch.float64)
    out_f, states_f, grads_f = _run(pop, inputs, state0, plain=False, monkeypatch=monkeypatch)
    out_p, states_p, grads_p = _run(pop, inputs, state0, plain=True, monkeypatch=monkeypatch)
    assert torch.equal(states_f, states_p) and torch.equal(out_f, out_p)
    for name in grads_p:
        torch.testing.assert_close(grads_f[name], grads_p[name], atol=1e-10, rtol=1e-12, msg=name)
    for arch in ("ugrnn", "gru", "lstm"):
        assert fast_path_for(CELLS[arch], "tanh", None, alpha) is None


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_every_registered_activation(arch, activation, monkeypatch):
    """Every activation either has a fast backward that matches autograd, or falls back."""
    pop = _population(arch, activation)
    inputs = torch.randn(K, T, B, I, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    if activation not in ACTIVATION_GRADS:
        assert fast_path_for(pop.cell, activation) is None
        return
    _, states_f, grads_f = _run(pop, inputs, None, plain=False, monkeypatch=monkeypatch)
    _, states_p, grads_p = _run(pop, inputs, None, plain=True, monkeypatch=monkeypatch)
    assert torch.equal(states_f, states_p)
    for name in grads_p:
        torch.testing.assert_close(grads_f[name], grads_p[name], atol=1e-10, rtol=1e-12, msg=name)


@pytest.mark.parametrize("arch,activation", [("vanilla", "tanh"), ("vanilla", "softplus"), ("ugrnn", "tanh"),
                                             ("gru", "tanh"), ("gru", "softplus"), ("lstm", "tanh"), ("lstm", "softplus")])
def test_gradcheck(arch, activation):
    fast, act = fast_path_for(CELLS[arch], activation)
    phi = ACTIVATIONS[activation]
    gen = torch.Generator().manual_seed(2)
    k, t, b, n = 2, 4, 3, 3
    gn, s = CELLS[arch].gates * n, CELLS[arch].state_dim(n)

    def rand(*shape):
        return torch.randn(*shape, generator=gen, dtype=torch.float64, requires_grad=True)

    xp, state0, w = rand(k, t, b, gn), rand(k, b, s), rand(k, gn, n)
    bias = rand(k, gn) if CELLS[arch].has_bias_hh else None
    args = (xp, state0, w) + ((bias,) if bias is not None else ())
    assert torch.autograd.gradcheck(lambda x, s0, w_, *bb: recurrence(fast, act, phi, x, s0, w_, bb[0] if bb else None), args)


def test_no_graph_forward_equals_graph_forward():
    pop = _population("lstm", "tanh")
    x = torch.randn(T, B, I, dtype=torch.float64)
    out, states = pop(x, return_states=True)
    assert out.grad_fn is not None
    with torch.no_grad():
        out0, states0 = pop(x, return_states=True)
    assert torch.equal(out, out0) and torch.equal(states, states0)


@pytest.mark.parametrize("arch", ARCHS)
def test_bit_reproducible(arch):
    pop = RNNPopulation(arch, "tanh", 4, I, N, O).initialize([1, 2, 3, 4])  # float32, as in training
    x = torch.randn(4, 20, 8, I)
    runs = []
    for _ in range(2):
        pop.zero_grad()
        out, _ = pop(x)
        out.pow(2).sum().backward()
        runs.append([p.grad.clone() for p in pop.params.values()])
    assert all(torch.equal(a, b) for a, b in zip(*runs))


def test_unregistered_cell_or_activation_falls_back_to_autograd(monkeypatch):
    """A cell whose update is not the one a fast cell was written for, or an activation without
    a registered backward, trains through the plain autograd loop."""
    custom = dataclasses.replace(CELLS["vanilla"], name="vanilla", update=lambda p, s, xp, phi, n: CELLS["vanilla"].update(p, s, xp, phi, n) * 0.5)
    assert fast_path_for(custom, "tanh") is None
    assert fast_path_for(CELLS["gru"], "no-such-activation") is None
    with monkeypatch.context() as m:  # an activation re-registered under a known name
        m.setitem(ACTIVATIONS, "tanh", lambda a: torch.tanh(a))
        assert fast_path_for(CELLS["gru"], "tanh") is None
    monkeypatch.setitem(CELLS, "halfrnn", Cell("halfrnn", gates=1, state_factor=1, has_bias_hh=True, update=custom.update))
    pop = RNNPopulation("halfrnn", "tanh", 2, I, N, O, dtype=torch.float64).initialize([1, 2])
    out, _ = pop(torch.randn(T, B, I, dtype=torch.float64))
    out.pow(2).sum().backward()
    assert "Recurrence" not in type(out.grad_fn).__name__
    assert pop.params["weight_hh"].grad.abs().sum() > 0


def test_fast_cells_are_the_registered_updates():
    for name, fast in FAST_CELLS.items():
        cell = CELLS[name]
        assert fast.mirrors is cell.update and (fast.gates, fast.state_factor) == (cell.gates, cell.state_factor)


def test_recurrence_node_is_used_for_training():
    pop = _population("gru", "tanh")
    _, states = pop(torch.randn(T, B, I, dtype=torch.float64), return_states=True)
    assert type(states.grad_fn).__name__ == Recurrence.__name__ + "Backward"
