"""Analytic cell Jacobians against autograd (float64, 1e-10), and the autograd fallback for
cells without closed forms."""

import dataclasses

import numpy as np
import pytest
import torch

from rnnatlas.dynamics.linearize import step_jacobians
from rnnatlas.ids import NetworkSpec
from rnnatlas.models import jacobians as jac_module
from rnnatlas.models.activations import ACTIVATIONS
from rnnatlas.models.cells import CELLS, Cell
from rnnatlas.models.jacobians import autograd_jacobians, has_analytic_jacobian
from rnnatlas.models.population import RNNPopulation
from rnnatlas.stages import fixed_points, task_data, train
from rnnatlas.store.fixed_point_file import read_fixed_points


@pytest.mark.parametrize("arch", ["vanilla", "ugrnn", "gru", "lstm"])
@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_analytic_jacobians_equal_autograd(arch, activation):
    k, p, n, i = 3, 5, 7, 4
    pop = RNNPopulation(arch, activation, k, i, n, 2, dtype=torch.float64).initialize([11, 12, 13])
    with torch.no_grad():  # larger weights: gates away from their linear regime, relu units on and off
        for par in pop.params.values():
            par.mul_(3.0)
    gen = torch.Generator().manual_seed(0)
    state = torch.randn(k, p, pop.state_dim, generator=gen, dtype=torch.float64)
    x = torch.randn(k, p, i, generator=gen, dtype=torch.float64)
    _, j_auto, jx_auto = step_jacobians(pop.step, state, x, wrt_input=True)
    j, jx = pop.jacobians(state, x)
    assert j.shape == (k, p, pop.state_dim, pop.state_dim) and jx.shape == (k, p, pop.state_dim, i)
    torch.testing.assert_close(j, j_auto, atol=1e-10, rtol=0)
    torch.testing.assert_close(jx, jx_auto, atol=1e-10, rtol=0)


def test_jacobian_is_per_network():
    """Network k's Jacobian depends only on network k's weights."""
    pop = RNNPopulation("gru", "tanh", 2, 3, 5, 1, dtype=torch.float64).initialize([1, 2])
    single = RNNPopulation.from_network_params("gru", "tanh", [pop.network_params(1)], dtype=torch.float64)
    state = torch.randn(2, 4, 5, dtype=torch.float64)
    x = torch.randn(2, 4, 3, dtype=torch.float64)
    j, jx = pop.jacobians(state, x)
    j1, jx1 = single.jacobians(state[1:], x[1:])
    torch.testing.assert_close(j[1:], j1, atol=1e-14, rtol=0)
    torch.testing.assert_close(jx[1:], jx1, atol=1e-14, rtol=0)


# ---------------------------------------------------------------- the autograd fallback
ANALYTIC = [(a, f) for a in CELLS for f in ACTIVATIONS if has_analytic_jacobian(a, f)]


def _random_population(arch, activation, alpha=1.0, k=3, i=4, n=6, scale=3.0):
    pop = RNNPopulation(arch, activation, k, i, n, 2, dtype=torch.float64, alpha=alpha).initialize(list(range(21, 21 + k)))
    with torch.no_grad():  # larger weights: gates away from their linear regime, relu units on and off
        for par in pop.params.values():
            par.mul_(scale)
    return pop


def _points(pop, p=6, seed=0):
    gen = torch.Generator().manual_seed(seed)
    state = torch.randn(pop.n_networks, p, pop.state_dim, generator=gen, dtype=torch.float64)
    x = torch.randn(pop.n_networks, p, pop.n_inputs, generator=gen, dtype=torch.float64)
    return state, x


def _per_point_jacobians(pop, state, x):
    """Brute force: torch.autograd.functional.jacobian of step at one network and point at a time."""
    k, p, s = state.shape
    j = torch.empty(k, p, s, s, dtype=torch.float64)
    jx = torch.empty(k, p, s, x.shape[-1], dtype=torch.float64)
    for a in range(k):
        single = RNNPopulation.from_network_params(pop.arch, pop.activation, [pop.network_params(a)],
                                                   dtype=torch.float64, alpha=pop.alpha)
        for b in range(p):
            f = lambda h, u: single.step(h.view(1, 1, -1), u.view(1, 1, -1)).view(-1)  # noqa: E731
            j[a, b], jx[a, b] = torch.autograd.functional.jacobian(f, (state[a, b], x[a, b]))
    return j, jx


def test_the_built_in_cells_have_analytic_jacobians():
    assert {(a, f) for a in ("vanilla", "ugrnn", "gru", "lstm") for f in ACTIVATIONS} <= set(ANALYTIC)


@pytest.mark.parametrize("alpha", [1.0, 0.3])
@pytest.mark.parametrize("arch,activation", ANALYTIC)
def test_analytic_jacobians_equal_the_autograd_fallback(arch, activation, alpha):
    """Every registered cell × activation with closed forms, with and without a leak (float64, 1e-10)."""
    pop = _random_population(arch, activation, alpha)
    state, x = _points(pop)
    j, jx = pop.jacobians(state, x)
    j_auto, jx_auto = autograd_jacobians(pop._step_with, dict(pop.params.items()), state, x)
    assert j_auto.shape == j.shape == (3, 6, pop.state_dim, pop.state_dim)
    assert jx_auto.shape == jx.shape == (3, 6, pop.state_dim, pop.n_inputs)
    torch.testing.assert_close(j, j_auto, atol=1e-10, rtol=0)
    torch.testing.assert_close(jx, jx_auto, atol=1e-10, rtol=0)


def _mgu(params, state, xp, phi, n):
    """A minimal gated unit (not one of the built-in cells): f = σ(·); h' = (1 − f) h + f φ(W_x x + W_h (f h))."""
    w_t = params["weight_hh_t"]
    f = torch.sigmoid(xp[..., :n] + torch.bmm(state, w_t[..., :n]) + params["bias_hh"][:, None, :n])
    cand = phi(xp[..., n:] + torch.bmm(f * state, w_t[..., n:]) + params["bias_hh"][:, None, n:])
    return (1 - f) * state + f * cand


@pytest.mark.parametrize("alpha", [1.0, 0.5])
def test_a_cell_without_analytic_jacobian_gets_autograd_jacobians(monkeypatch, alpha):
    """A new cell registered in CELLS works in the fixed-point stage's Jacobian call unchanged."""
    monkeypatch.setitem(CELLS, "mgu", Cell("mgu", gates=2, state_factor=1, has_bias_hh=True, update=_mgu))
    assert not has_analytic_jacobian("mgu", "tanh")
    pop = _random_population("mgu", "tanh", alpha, scale=2.0)
    state, x = _points(pop, p=4, seed=1)
    with torch.no_grad():  # as the stage calls it
        j, jx = pop.jacobians(state, x)
    j_ref, jx_ref = _per_point_jacobians(pop, state, x)
    torch.testing.assert_close(j, j_ref, atol=1e-12, rtol=0)
    torch.testing.assert_close(jx, jx_ref, atol=1e-12, rtol=0)
    # and a finite-difference check of one column, independent of autograd
    eps = 1e-6
    e = torch.zeros(pop.state_dim, dtype=torch.float64)
    e[2] = eps
    with torch.no_grad():
        fd = (pop.step(state + e, x) - pop.step(state - e, x)) / (2 * eps)
    torch.testing.assert_close(j[..., 2], fd, atol=1e-8, rtol=0)


def test_a_replaced_cell_or_activation_falls_back_to_autograd(monkeypatch):
    """Closed forms serve only the update and activation they were written for."""
    gru = CELLS["gru"].update
    with monkeypatch.context() as m:
        m.setitem(ACTIVATIONS, "tanh", lambda a: torch.tanh(a))
        assert not has_analytic_jacobian("gru", "tanh")
    halved = lambda p, s, xp, phi, n: 0.5 * gru(p, s, xp, phi, n)  # noqa: E731
    monkeypatch.setitem(CELLS, "gru", dataclasses.replace(CELLS["gru"], update=halved))
    assert not has_analytic_jacobian("gru", "tanh")
    pop = _random_population("gru", "tanh")
    state, x = _points(pop, p=3)
    j, jx = pop.jacobians(state, x)
    j_ref, jx_ref = _per_point_jacobians(pop, state, x)
    torch.testing.assert_close(j, j_ref, atol=1e-12, rtol=0)
    torch.testing.assert_close(jx, jx_ref, atol=1e-12, rtol=0)


def test_fallback_in_chunks_and_with_no_points(monkeypatch):
    pop = _random_population("lstm", "relu")
    state, x = _points(pop, p=7)
    whole = autograd_jacobians(pop._step_with, dict(pop.params.items()), state, x)
    monkeypatch.setattr(jac_module, "_FALLBACK_BUDGET", 1)  # one point per chunk
    chunked = autograd_jacobians(pop._step_with, dict(pop.params.items()), state, x)
    for a, b in zip(whole, chunked):
        torch.testing.assert_close(a, b, atol=1e-15, rtol=0)
    j, jx = autograd_jacobians(pop._step_with, dict(pop.params.items()), state[:, :0], x[:, :0])
    assert j.shape == (3, 0, pop.state_dim, pop.state_dim) and jx.shape == (3, 0, pop.state_dim, pop.n_inputs)


def test_fixed_point_stage_on_a_cell_without_analytic_jacobians(monkeypatch, tmp_path):
    """A leaky cell registered in CELLS without hand-written Jacobians runs through the train and
    fixed-points stages: its Jacobians come from the autograd fallback."""
    monkeypatch.setitem(CELLS, "mgu", Cell("mgu", gates=2, state_factor=1, has_bias_hh=True, update=_mgu))
    settings = {"iterations": 30, "batch_size": 16, "eval_every": 10, "optimizer": "sgd", "accept_val_loss": 10.0,
                "data_seed": 0, "hyperparameters": {"learning_rate": 0.1, "momentum": 0.9, "clip": 1.0, "decay": 0.3},
                "network": {"alpha": 0.5}}
    options = {"n_initial_states": 32, "max_iters": 300, "n_perturbations": 4, "transition_steps": 50}
    data = str(tmp_path / "task_data.h5")
    task_data.run("flipflop", {"n_steps": 30, "n_probe_trials": 8}, 32, 0, data)
    spec = NetworkSpec("flipflop", "mgu", "tanh", 6, 1e-4, 0)
    train.run("flipflop", data, [spec], [], settings, str(tmp_path / "nets"), [], "cpu")
    net = tmp_path / "nets" / spec.id
    fixed_points.run("flipflop", data, [str(net / "model.h5")], [str(net / "fixed_points.h5")],
                     [str(net / "graph.h5")], options, "cpu")
    _, fp, attrs = read_fixed_points(net / "fixed_points.h5")
    assert attrs["analysed"] and attrs["found"]
    assert np.isfinite(fp["eigenvalues"]).all() and fp["eigenvalues"].shape[-1] == 6
