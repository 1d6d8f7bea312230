"""The initialisation of Yang et al.'s softplus rate network (study M)."""

import math

import pytest
import torch

from rnnatlas.models import RNNPopulation
from rnnatlas.models.init import check_init_options


def population(n=48, k=2, **options):
    pop = RNNPopulation("vanilla", "softplus", k, 85, n, 33, readout="sigmoid", dtype=torch.float64, alpha=0.2)
    return pop.initialize(list(range(k)), scheme="yang_rate", options=options)


def test_diag_is_half_the_identity_and_biases_are_zero():
    pop = population()
    for k in range(2):
        assert torch.equal(pop.params["weight_hh"][k], 0.5 * torch.eye(48, dtype=torch.float64))
    for name in ("bias_ih", "bias_hh", "bias_out"):
        assert torch.count_nonzero(pop.params[name]) == 0


def test_randortho_is_a_scaled_orthogonal_matrix_per_network():
    pop = population(recurrent="randortho", recurrent_gain=0.5)
    w = pop.params["weight_hh"]
    for k in range(2):
        torch.testing.assert_close(w[k] @ w[k].T, 0.25 * torch.eye(48, dtype=torch.float64), atol=1e-12, rtol=0)
    assert not torch.allclose(w[0], w[1])  # each network its own draw


def test_input_and_readout_scales():
    pop = population(n=256, k=1)
    w_in = pop.params["weight_ih"][0].detach()
    assert float(w_in.std()) == pytest.approx(1 / math.sqrt(85), rel=0.03)
    bound = math.sqrt(6 / (256 + 33))
    w_out = pop.params["weight_out"][0].detach()
    assert float(w_out.abs().max()) <= bound and float(w_out.abs().max()) > 0.95 * bound  # Glorot uniform


def test_same_seed_same_network_in_any_pack():
    a, b = population(k=1), population(k=2)
    for name in a.params:
        assert torch.equal(a.params[name][0], b.params[name][0])


def test_bad_options_are_refused():
    with pytest.raises(ValueError, match="not allowed"):
        check_init_options("yang_rate", {"recurrent": "eye"})
    with pytest.raises(ValueError, match="finite number > 0"):
        check_init_options("yang_rate", {"recurrent_gain": float("nan")})
    with pytest.raises(ValueError, match="single-gate"):
        RNNPopulation("gru", "tanh", 1, 85, 8, 33).initialize([0], scheme="yang_rate")


def test_the_leaky_softplus_step_is_the_written_out_equation():
    """r_t = (1−α) r + α softplus(W_rec r + W_in u + b), z = sigmoid(W_out r + b_out), α = 0.2."""
    pop = population(n=6, k=2, recurrent="randortho")
    with torch.no_grad():
        for p in pop.params.values():
            p.add_(0.3 * torch.randn(p.shape, generator=torch.Generator().manual_seed(5), dtype=p.dtype))
    u = torch.rand(7, 3, 85, generator=torch.Generator().manual_seed(6), dtype=torch.float64)
    out, states = pop(u, return_states=True)
    p = {k: v.detach() for k, v in pop.params.items()}
    for k in range(2):
        r = torch.zeros(3, 6, dtype=torch.float64)
        for t in range(7):
            pre = r @ p["weight_hh"][k].T + u[t] @ p["weight_ih"][k].T + p["bias_ih"][k] + p["bias_hh"][k]
            r = 0.8 * r + 0.2 * torch.log1p(torch.exp(pre))
            torch.testing.assert_close(states[k, t], r)
            torch.testing.assert_close(out[k, t], torch.sigmoid(r @ p["weight_out"][k].T + p["bias_out"][k]))
