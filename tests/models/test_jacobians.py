"""Analytic cell Jacobians against autograd (float64, 1e-10)."""

import pytest
import torch

from rnnatlas.dynamics.linearize import step_jacobians
from rnnatlas.models.population import RNNPopulation


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
