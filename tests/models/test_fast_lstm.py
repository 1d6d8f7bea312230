"""The fast recurrence as training uses it (input projection inside, only h returned, LSTM's
per-step parameter gradients) against autograd through the plain cell, and its buffer reuse."""

import itertools

import pytest
import torch

from rnnatlas.models import ACTIVATIONS, RNNPopulation
from rnnatlas.models import population as population_module
from rnnatlas.models import recurrence as recurrence_module
from rnnatlas.models.cells import CELLS
from rnnatlas.models.recurrence import (
    FAST_CELLS,
    Workspace,
    _chunks,
    fast_path_for,
    recurrence,
)

K, T, B, I, N, O = 3, 6, 4, 3, 5, 2
ARCHS = ["vanilla", "ugrnn", "gru", "lstm"]


def _population(arch, activation, seeds=(11, 12, 13), dtype=torch.float64, n=N):
    pop = RNNPopulation(arch, activation, len(seeds), I, n, O, dtype=dtype).initialize(list(seeds))
    with torch.no_grad():  # larger weights: saturated gates, relu units both on and off
        for p in pop.params.values():
            p.mul_(2.0)
    return pop


def _train_step(pop, inputs, state0, noise, plain, monkeypatch):
    """Outputs and gradients of one loss on the outputs only (the training call: no states),
    inputs and noise constant; state0, if given, with its gradient."""
    with monkeypatch.context() as m:
        if plain:
            m.setattr(population_module, "fast_path_for", lambda *args: None)
        pop.zero_grad()
        s0 = None if state0 is None else state0.clone().requires_grad_(True)
        out, _ = pop(inputs, s0, noise=noise)
    weights = torch.linspace(-1, 1, out.numel(), dtype=out.dtype).reshape(out.shape)
    ((out**2).sum() + (out * weights).sum()).backward()
    grads = {name: p.grad.clone() for name, p in pop.params.items()}
    if s0 is not None:
        grads["state0"] = s0.grad.clone()
    return out.detach(), grads


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("activation", ["tanh", "relu", "softplus"])
@pytest.mark.parametrize("shared_inputs", [True, False])
@pytest.mark.parametrize("with_state0", [False, True])
@pytest.mark.parametrize("with_noise", [False, True])
def test_training_call_gradients_equal_autograd(arch, activation, shared_inputs, with_state0, with_noise, monkeypatch):
    pop = _population(arch, activation)
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(*(() if shared_inputs else (K,)), T, B, I, generator=gen, dtype=torch.float64)
    s0 = torch.randn(K, B, pop.state_dim, generator=gen, dtype=torch.float64) if with_state0 else None
    noise = 0.3 * torch.randn(K, T, B, pop.preactivation_dim, generator=gen, dtype=torch.float64) if with_noise else None
    # no ∂L/∂xp wanted: LSTM sums the parameter gradients per step
    out_f, grads_f = _train_step(pop, x, s0, noise, plain=False, monkeypatch=monkeypatch)
    out_p, grads_p = _train_step(pop, x, s0, noise, plain=True, monkeypatch=monkeypatch)
    assert torch.equal(out_f, out_p)
    for name in grads_p:
        torch.testing.assert_close(grads_f[name], grads_p[name], atol=1e-10, rtol=0, msg=name)


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_gradients_of_inputs_state0_and_noise(arch, activation, monkeypatch):
    """With ∂L/∂inputs, ∂L/∂noise and ∂L/∂state0 wanted, ∂L/∂xp is formed whole."""
    pop = _population(arch, activation)
    gen = torch.Generator().manual_seed(4)
    x = torch.randn(T, B, I, generator=gen, dtype=torch.float64)
    s0 = torch.randn(K, B, pop.state_dim, generator=gen, dtype=torch.float64)
    noise = 0.3 * torch.randn(K, T, B, pop.preactivation_dim, generator=gen, dtype=torch.float64)
    results = []
    for plain in (False, True):
        with monkeypatch.context() as m:
            if plain:
                m.setattr(population_module, "fast_path_for", lambda *args: None)
            pop.zero_grad()
            leaves = [t.clone().requires_grad_(True) for t in (x, s0, noise)]
            out, _ = pop(leaves[0], leaves[1], noise=leaves[2])
        out.pow(2).sum().backward()
        results.append([t.grad.clone() for t in leaves] + [p.grad.clone() for p in pop.params.values()])
    for fast, plain in zip(*results):
        torch.testing.assert_close(fast, plain, atol=1e-10, rtol=0)


@pytest.mark.parametrize("activation", ["tanh", "relu", "softplus"])
@pytest.mark.parametrize("hidden_only", [True, False])
def test_lstm_projection_gradcheck(activation, hidden_only):
    """Every input of the node, by finite differences (float64)."""
    fast, act = fast_path_for(CELLS["lstm"], activation)
    phi = ACTIVATIONS[activation]
    gen = torch.Generator().manual_seed(5)
    k, t, b, n, i = 2, 4, 3, 3, 2

    def rand(*shape, scale=1.0):
        return (scale * torch.randn(*shape, generator=gen, dtype=torch.float64)).requires_grad_(True)

    args = (rand(k, t, b, i), rand(k, 4 * n, i), rand(k, 4 * n), rand(k, t, b, 4 * n, scale=0.3),
            rand(k, b, 2 * n), rand(k, 4 * n, n), rand(k, 4 * n))

    def f(x, w_ih, b_ih, noise, s0, w_hh, b_hh):
        return recurrence(fast, act, phi, None, s0, w_hh, b_hh, hidden_only=hidden_only, projection=(x, w_ih, b_ih, noise))

    assert torch.autograd.gradcheck(f, args)


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("activation", ["tanh", "relu"])
@pytest.mark.parametrize("n_units", [20, 32])
@pytest.mark.parametrize("batch", [9, 8])
def test_float32_states_are_bit_identical_to_the_plain_loop(arch, activation, n_units, batch, monkeypatch):
    """In float32, at the default run's sizes (vectorised φ and σ on whole rows), outputs and
    states of the fast path are exactly the plain loop's, with and without a graph (batch 8:
    LSTM's networks in groups of one)."""
    pop = RNNPopulation(arch, activation, 3, I, n_units, O).initialize([1, 2, 3])
    gen = torch.Generator().manual_seed(6)
    x = torch.randn(12, batch, I, generator=gen)
    s0 = torch.randn(3, batch, pop.state_dim, generator=gen)
    runs = []
    for plain in (False, True):
        with monkeypatch.context() as m:
            m.setattr(recurrence_module, "CHUNK_BYTES", 1)
            if plain:
                m.setattr(population_module, "fast_path_for", lambda *args: None)
            with torch.no_grad():
                out_ng, states_ng = pop(x, s0, return_states=True)
            out_g, states_g = pop(x, s0, return_states=True)
            out_h, _ = pop(x, s0)
        runs.append([out_ng, states_ng, out_g.detach(), states_g.detach(), out_h.detach()])
    for fast, plain in zip(*runs):
        assert torch.equal(fast, plain)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("activation", ["tanh", "relu", "softplus"])
@pytest.mark.parametrize("return_states", [False, True])
def test_lstm_run_in_groups_of_networks_gives_the_same_numbers(dtype, activation, return_states, monkeypatch):
    """LSTM runs its networks a cache-sized group at a time: one network per group here (B·N
    = 32, so every group starts on a vector boundary), against one group and the plain loop."""
    n = 8
    pop = _population("lstm", activation, seeds=(1, 2, 3, 4), dtype=dtype, n=n)
    gen = torch.Generator().manual_seed(9)
    x = torch.randn(T, B, I, generator=gen, dtype=dtype)
    s0 = torch.randn(4, B, pop.state_dim, generator=gen, dtype=dtype)
    assert len(_chunks(FAST_CELLS["lstm"], 4, B, n, x)) == 1
    runs = []
    for mode in ("groups", "one group", "plain"):
        with monkeypatch.context() as m:
            if mode == "groups":
                m.setattr(recurrence_module, "CHUNK_BYTES", 1)
                m.setattr(torch, "get_num_threads", lambda: 1)  # (tensors too small to be split among threads)
                assert len(_chunks(FAST_CELLS["lstm"], 4, B, n, x)) == 4
            if mode == "plain":
                m.setattr(population_module, "fast_path_for", lambda *args: None)
            pop.zero_grad()
            leaf = s0.clone().requires_grad_(True)
            out, states = pop(x, leaf, return_states=return_states)
            loss = out.pow(2).sum() + (states.pow(2).sum() if return_states else 0)
            loss.backward()
        runs.append(([out.detach()] + ([states.detach()] if return_states else []),
                     [leaf.grad] + [p.grad.clone() for p in pop.params.values()]))
    for fast in runs[:2]:
        for a, b in zip(fast[0], runs[2][0]):
            assert torch.equal(a, b)
        for a, b in zip(fast[1], runs[2][1]):
            torch.testing.assert_close(a, b, **({"atol": 1e-10, "rtol": 0} if dtype == torch.float64 else {}))


def test_groups_start_on_vector_boundaries(monkeypatch):
    lstm, like = FAST_CELLS["lstm"], torch.zeros(1)
    monkeypatch.setattr(torch, "get_num_threads", lambda: 1)
    for k, b, n in [(24, 64, 32), (24, 64, 64), (24, 7, 20), (5, 3, 5), (40, 64, 20)]:
        groups = _chunks(lstm, k, b, n, like)
        assert groups[0].start == 0 and groups[-1].stop == k
        assert all(g.stop == h.start for g, h in itertools.pairwise(groups))
        assert all((g.start * b * n) % 32 == 0 for g in groups)
    assert len(_chunks(lstm, 24, 64, 32, like)) > 1  # the default run's packs are split
    assert len(_chunks(FAST_CELLS["gru"], 24, 64, 32, like)) == 1  # step cells are not
    monkeypatch.setattr(torch, "get_num_threads", lambda: 2)
    assert len(_chunks(lstm, 24, 64, 32, like)) == 1


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_lstm_network_alone_or_in_any_pack_is_exactly_the_same(activation):
    """Outputs and gradients of a float32 LSTM do not depend on its pack-mates or position."""
    x = torch.randn(15, 8, I, generator=torch.Generator().manual_seed(7))

    def run(seeds):
        pop = RNNPopulation("lstm", activation, len(seeds), I, 32, O).initialize(seeds)
        out, _ = pop(x)
        out.pow(2).sum().backward()
        return out.detach(), {name: p.grad for name, p in pop.params.items()}

    alone_out, alone_grads = run([21])
    for seeds, k in (([21, 22, 23], 0), ([24, 21], 1), ([25, 26, 27, 28, 21], 4)):
        out, grads = run(seeds)
        assert torch.equal(out[k], alone_out[0])
        for name, g in grads.items():
            assert torch.equal(g[k], alone_grads[name][0]), name


def test_workspace_reuses_only_unreferenced_buffers():
    ws = Workspace(max_buffers=4, min_bytes=64)
    like = torch.zeros(1)
    a = ws.empty((8, 8), like)
    b = ws.empty((8, 8), like)
    assert a.data_ptr() != b.data_ptr()
    ptr = a.data_ptr()
    view = a[2:]
    del a
    assert ws.empty((8, 8), like).data_ptr() not in (ptr, b.data_ptr())  # a's view still holds it
    del view
    c = ws.empty((8, 8), like)
    assert c.data_ptr() == ptr and c._base is None and not c.requires_grad
    assert ws.empty((2,), like).data_ptr() not in (ptr, b.data_ptr())  # small: not pooled
    ws.clear()
    assert ws.empty((8, 8), like).data_ptr() != c.data_ptr()
    small = Workspace(max_bytes=300, min_bytes=64)  # keeps about one 256-byte buffer
    kept = [small.empty((8, 8), like) for _ in range(3)]
    assert len(small._storages) == 1 and len({t.data_ptr() for t in kept}) == 3


@pytest.mark.parametrize("arch", ["lstm", "gru"])
def test_results_held_by_the_caller_are_never_overwritten(arch):
    """States returned, outputs kept and graphs kept for a second backward survive later calls
    that reuse buffers."""
    pop = RNNPopulation(arch, "tanh", 4, I, 16, O).initialize([1, 2, 3, 4])
    gen = torch.Generator().manual_seed(8)
    x1, x2 = torch.randn(40, 32, I, generator=gen), torch.randn(40, 32, I, generator=gen)
    out1, states1 = pop(x1, return_states=True)
    copies = out1.detach().clone(), states1.detach().clone()
    out1.pow(2).sum().backward(retain_graph=True)
    first = {n: p.grad.clone() for n, p in pop.params.items()}
    for _ in range(2):  # other calls in between, with and without a graph
        out2, _ = pop(x2)
        out2.sum().backward()
        with torch.no_grad():
            pop(x2, return_states=True)
    assert torch.equal(out1.detach(), copies[0]) and torch.equal(states1.detach(), copies[1])
    pop.zero_grad()
    out1.pow(2).sum().backward()  # the retained graph's saved buffers are intact
    for n, p in pop.params.items():
        assert torch.equal(p.grad, first[n]), n
