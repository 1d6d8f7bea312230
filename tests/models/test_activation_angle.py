"""Leaky ReLU at angle θ and re-running a population with another nonlinearity."""

import math

import pytest
import torch

from rnnatlas.models import RNNPopulation
from rnnatlas.models.activations import leaky_relu_at_angle
from rnnatlas.models.jacobians import has_analytic_jacobian
from rnnatlas.models.recurrence import fast_path_for

T, B, I, N, O = 7, 3, 2, 6, 1


def _pop(alpha=0.1, arch="vanilla", k=2):
    pop = RNNPopulation(arch, "relu", k, I, N, O, dtype=torch.float64, alpha=alpha).initialize(list(range(1, k + 1)))
    with torch.no_grad():  # a strong recurrence and bias, so units are both on and off
        pop.params["weight_hh"].mul_(3.0)
        pop.params["bias_ih"].sub_(0.3)
    return pop


def test_the_two_ends_of_the_angle():
    x = torch.linspace(-3, 3, 601, dtype=torch.float64)
    assert torch.equal(leaky_relu_at_angle(0.0)(x), torch.relu(x))
    assert torch.equal(leaky_relu_at_angle(math.pi / 4)(x), x)
    assert torch.equal(leaky_relu_at_angle(math.pi / 4)(x.float()), x.float())
    theta = 0.3
    torch.testing.assert_close(leaky_relu_at_angle(theta)(x), torch.where(x > 0, x, math.tan(theta) * x), atol=1e-15, rtol=0)
    for bad in (-0.1, math.pi / 2, float("nan")):
        with pytest.raises(ValueError, match="theta"):
            leaky_relu_at_angle(bad)


def test_with_activation_shares_the_parameters():
    pop = _pop()
    other = pop.with_activation(leaky_relu_at_angle(0.2))
    assert all(other.params[n] is p for n, p in pop.params.items())
    assert other.phi is not pop.phi and pop.phi is torch.relu and other.alpha == pop.alpha
    assert other.activation.startswith("leaky_relu_theta") and pop.activation == "relu"
    with torch.no_grad():
        pop.params["weight_out"].add_(1.0)
    assert torch.equal(other.params["weight_out"], pop.params["weight_out"])  # no copy


@pytest.mark.parametrize("arch", ["vanilla", "gru"])
def test_angle_zero_is_the_relu_population(arch):
    pop = _pop(alpha=1.0, arch=arch)
    x = torch.randn(T, B, I, dtype=torch.float64)
    out, states = pop(x, return_states=True)
    assert "Recurrence" in type(states.grad_fn).__name__  # relu: the fast path
    at_zero = pop.with_activation(leaky_relu_at_angle(0.0))
    out0, states0 = at_zero(x, return_states=True)
    assert "Recurrence" not in type(states0.grad_fn).__name__  # a custom φ: the autograd loop
    torch.testing.assert_close(states0, states, atol=1e-14, rtol=0)
    torch.testing.assert_close(out0, out, atol=1e-14, rtol=0)


def test_angle_pi_over_4_is_the_linear_recurrence():
    """h_t = (1 − α) h_{t−1} + α (W_ih x_t + b_ih + W_hh h_{t−1} + b_hh), z = W_out h + b_out."""
    pop = _pop(alpha=0.1).with_activation(leaky_relu_at_angle(math.pi / 4))
    x = torch.randn(T, B, I, dtype=torch.float64)
    out, states = pop(x, return_states=True)
    p = {k: v.detach() for k, v in pop.params.items()}
    for k in range(2):
        h = torch.zeros(B, N, dtype=torch.float64)
        for t in range(T):
            h = 0.9 * h + 0.1 * (x[t] @ p["weight_ih"][k].T + p["bias_ih"][k] + h @ p["weight_hh"][k].T + p["bias_hh"][k])
            torch.testing.assert_close(states[k, t], h, atol=1e-13, rtol=0)
            torch.testing.assert_close(out[k, t], h @ p["weight_out"][k].T + p["bias_out"][k], atol=1e-13, rtol=0)


@pytest.mark.parametrize("theta", [0.0, 0.4, math.pi / 4])
@pytest.mark.parametrize("alpha", [1.0, 0.1])
def test_jacobians_at_an_angle_match_finite_differences(theta, alpha):
    pop = _pop(alpha=alpha).with_activation(leaky_relu_at_angle(theta))
    assert not has_analytic_jacobian(pop.arch, pop.activation, pop.phi)
    assert not has_analytic_jacobian("vanilla", "relu", pop.phi)  # even under a registered name
    assert fast_path_for(pop.cell, "relu", pop.phi) is None
    gen = torch.Generator().manual_seed(2)
    state = torch.randn(2, 4, N, generator=gen, dtype=torch.float64)
    x = torch.randn(2, 4, I, generator=gen, dtype=torch.float64)
    j, jx = pop.jacobians(state, x)
    eps = 1e-6
    with torch.no_grad():
        for i in range(N):
            d = torch.zeros(N, dtype=torch.float64)
            d[i] = eps
            fd = (pop.step(state + d, x) - pop.step(state - d, x)) / (2 * eps)
            torch.testing.assert_close(j[..., :, i], fd, atol=1e-7, rtol=0)
        for i in range(I):
            d = torch.zeros(I, dtype=torch.float64)
            d[i] = eps
            fd = (pop.step(state, x + d) - pop.step(state, x - d)) / (2 * eps)
            torch.testing.assert_close(jx[..., :, i], fd, atol=1e-7, rtol=0)


def test_a_registered_activation_under_its_name_keeps_the_fast_paths():
    pop = _pop(alpha=1.0)
    same = pop.with_activation(torch.relu, name="relu")
    assert same._fast_path() is not None and has_analytic_jacobian("vanilla", "relu", same.phi)
