"""The leak α (state_t = (1 − α) state_{t−1} + α F) and recurrent noise (in the pre-activations) in the population."""

import pytest
import torch

from rnnatlas.models import CELLS, RNNPopulation

T, B, I, N, O = 6, 4, 3, 5, 2
ARCHS = list(CELLS)


def _pair(arch, alpha, activation="tanh"):
    """The same weights as a plain population and as a leaky one."""
    plain = RNNPopulation(arch, activation, 2, I, N, O, dtype=torch.float64).initialize([4, 5])
    leaky = RNNPopulation.from_network_params(arch, activation, [plain.network_params(k) for k in range(2)],
                                              dtype=torch.float64, alpha=alpha)
    return plain, leaky


def test_alpha_one_is_the_plain_cell_bit_for_bit():
    pop = RNNPopulation("gru", "tanh", 2, I, N, O).initialize([1, 2])
    same = RNNPopulation("gru", "tanh", 2, I, N, O, alpha=1).initialize([1, 2])
    x = torch.randn(T, B, I)
    out, states = pop(x, return_states=True)
    out1, states1 = same(x, return_states=True)
    assert torch.equal(out, out1) and torch.equal(states, states1)
    assert "Recurrence" in type(states1.grad_fn).__name__  # still the fast hand-written path


@pytest.mark.parametrize("arch", ARCHS)
def test_leaky_forward_matches_an_explicit_loop(arch):
    plain, leaky = _pair(arch, 0.2)
    x = torch.randn(2, T, B, I, dtype=torch.float64)
    _, states = leaky(x, return_states=True)
    state = torch.zeros(2, B, plain.state_dim, dtype=torch.float64)
    expected = []
    with torch.no_grad():
        for t in range(T):
            state = (1 - 0.2) * state + 0.2 * plain.step(state, x[:, t])
            expected.append(state)
    torch.testing.assert_close(states, torch.stack(expected, 1), atol=1e-13, rtol=0)
    # step itself is leaky, so its fixed points are those of the plain cell
    s = torch.randn(2, 3, plain.state_dim, dtype=torch.float64)
    u = torch.randn(2, 3, I, dtype=torch.float64)
    torch.testing.assert_close(leaky.step(s, u), 0.8 * s + 0.2 * plain.step(s, u), atol=1e-14, rtol=0)


def test_leaky_vanilla_written_out():
    """h_t = (1 − α) h_{t−1} + α tanh(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh), per network."""
    _, pop = _pair("vanilla", 0.1)
    x = torch.randn(T, B, I, dtype=torch.float64)
    out, states = pop(x, return_states=True)
    p = {k: v.detach() for k, v in pop.params.items()}
    for k in range(2):
        h = torch.zeros(B, N, dtype=torch.float64)
        for t in range(T):
            h = 0.9 * h + 0.1 * torch.tanh(x[t] @ p["weight_ih"][k].T + p["bias_ih"][k] + h @ p["weight_hh"][k].T + p["bias_hh"][k])
            torch.testing.assert_close(states[k, t], h, atol=1e-13, rtol=0)
        torch.testing.assert_close(out[k, -1], h @ p["weight_out"][k].T + p["bias_out"][k], atol=1e-13, rtol=0)


@pytest.mark.parametrize("arch", ARCHS)
def test_leaky_gradients(arch):
    _, pop = _pair(arch, 0.4)
    x = torch.randn(3, 2, I, dtype=torch.float64)
    w = pop.params["weight_hh"]

    def loss(weight_hh):
        with torch.no_grad():
            w.copy_(weight_hh)
        out, _ = pop(x)
        return out.pow(2).sum()

    pop.zero_grad()
    loss(w.detach().clone()).backward()
    grad = w.grad.clone()
    eps, idx = 1e-6, (1, 2, 3)
    base = w.detach().clone()
    up, down = base.clone(), base.clone()
    up[idx] += eps
    down[idx] -= eps
    with torch.no_grad():
        fd = (loss(up) - loss(down)) / (2 * eps)
    assert abs(float(fd) - float(grad[idx])) < 1e-6


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("alpha", [1.0, 0.5])
def test_recurrent_noise_enters_the_preactivations(arch, alpha):
    """state_t = (1 − α) state_{t−1} + α update(state_{t−1}, W_ih x_t + b_ih + ξ_t), ξ ``[K, T, B, G·N]``."""
    plain, pop = _pair(arch, alpha)
    x = torch.randn(T, B, I, dtype=torch.float64)
    noise = 0.1 * torch.randn(2, T, B, pop.preactivation_dim, dtype=torch.float64)
    assert pop.preactivation_dim == CELLS[arch].gates * N
    _, states = pop(x, return_states=True, noise=noise)
    p = {k: v.detach() for k, v in plain.params.items()}
    state = torch.zeros(2, B, pop.state_dim, dtype=torch.float64)
    with torch.no_grad():
        for t in range(T):
            xp = torch.baddbmm(p["bias_ih"].unsqueeze(1), x[t].expand(2, B, I), p["weight_ih"].transpose(1, 2))
            cell_params = {**p, "weight_hh_t": p["weight_hh"].transpose(1, 2)}
            new = CELLS[arch].update(cell_params, state, xp + noise[:, t], plain.phi, N)
            state = (1 - alpha) * state + alpha * new
            torch.testing.assert_close(states[:, t], state, atol=1e-13, rtol=0)
    with pytest.raises(ValueError, match="pre-activations' shape"):
        pop(x, noise=noise[..., :N] if CELLS[arch].gates > 1 else noise[..., :1])


def test_noisy_leaky_vanilla_written_out():
    """The note's step: r_t = (1 − α) r_{t−1} + α relu(W_rec r_{t−1} + W_in u_t + b + ξ_t)."""
    _, pop = _pair("vanilla", 0.1, activation="relu")
    x = torch.randn(T, B, I, dtype=torch.float64)
    noise = 0.3 * torch.randn(2, T, B, N, dtype=torch.float64)
    _, states = pop(x, return_states=True, noise=noise)
    p = {k: v.detach() for k, v in pop.params.items()}
    for k in range(2):
        r = torch.zeros(B, N, dtype=torch.float64)
        for t in range(T):
            pre = r @ p["weight_hh"][k].T + p["bias_hh"][k] + x[t] @ p["weight_ih"][k].T + p["bias_ih"][k] + noise[k, t]
            r = 0.9 * r + 0.1 * torch.relu(pre)
            torch.testing.assert_close(states[k, t], r, atol=1e-13, rtol=0)


@pytest.mark.parametrize("arch", ARCHS)
def test_noise_keeps_the_fast_recurrence_without_leak(arch):
    """With α = 1 a noisy run takes the hand-written recurrence and matches the autograd loop."""
    pop = RNNPopulation(arch, "relu", 2, I, N, O, dtype=torch.float64).initialize([7, 8])
    x = torch.randn(T, B, I, dtype=torch.float64)
    noise = 0.2 * torch.randn(2, T, B, pop.preactivation_dim, dtype=torch.float64)
    out, states = pop(x, return_states=True, noise=noise)
    assert "Recurrence" in type(states.grad_fn).__name__
    out.pow(2).sum().backward()
    fast_grads = {n: q.grad.clone() for n, q in pop.params.items()}
    pop.zero_grad()
    loop = pop._autograd_states(pop.project_inputs(x) + noise, None, True)
    torch.testing.assert_close(loop, states, atol=0, rtol=0)
    pop.readout(loop[..., :N]).pow(2).sum().backward()
    for n, q in pop.params.items():
        torch.testing.assert_close(q.grad, fast_grads[n], atol=1e-10, rtol=0, msg=n)


@pytest.mark.parametrize("alpha", [0.0, -0.1, 1.5, True, "0.5"])
def test_alpha_outside_zero_one_is_refused(alpha):
    with pytest.raises(ValueError, match="alpha"):
        RNNPopulation("vanilla", "tanh", 1, I, N, O, alpha=alpha)
