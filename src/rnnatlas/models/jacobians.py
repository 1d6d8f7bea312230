"""Analytic Jacobians ∂F/∂state and ∂F/∂x of every cell's one-step map, batched over points.

Autograd needs S backward passes per point for a full Jacobian; these closed forms need one
forward pass and a batched matmul, and they are exact (they are checked against autograd to
1e-10 in float64 in the tests). Convention: row i is ∂F_i/∂·, shapes ``[K, P, S, S]`` and
``[K, P, S, I]``; state ``[K, P, S]`` and raw inputs ``[K, P, I]``. For LSTM the state is
[h; c] (S = 2N). Derivatives of relu at exactly 0 are taken as 0, as in autograd.

Every gate pre-activation is ``xp + W_hh h (+ b_hh)`` with ``xp = W_ih x + b_ih``, so the
map's derivative with respect to the recurrent projection gives ∂F/∂h by one matmul with W_hh
and ∂F/∂x by one matmul with W_ih; only GRU's candidate, where the reset gate multiplies the
recurrent part alone, treats the two projections differently.

A cell or activation without closed forms (or one replaced in the registries after its closed
form was written) gets its Jacobians from :func:`autograd_jacobians`: ``torch.func.jacrev``
of the one-step map, vectorised with ``vmap`` over networks and points.
"""

from __future__ import annotations

from typing import Callable

import torch

from .activations import ACTIVATIONS
from .cells import CELLS, Params

# (params [K, ...], state [K, M, S], x [K, M, I]) -> F(state, x) [K, M, S]
StepWithParams = Callable[[Params, torch.Tensor, torch.Tensor], torch.Tensor]

Derivative = Callable[[torch.Tensor], torch.Tensor]

# φ'(a) for each activation in the registry, as a function of the pre-activation a.
DERIVATIVES: dict[str, Derivative] = {
    "tanh": lambda a: 1 - torch.tanh(a) ** 2,
    "relu": lambda a: (a > 0).to(a.dtype),
    "softplus": torch.sigmoid,
    "sigmoid": lambda a: torch.sigmoid(a) * (1 - torch.sigmoid(a)),
    "linear": torch.ones_like,
}


def _dsigmoid(a: torch.Tensor) -> torch.Tensor:
    s = torch.sigmoid(a)
    return s * (1 - s)


def _blocks(*diagonals: torch.Tensor | None, like: torch.Tensor) -> torch.Tensor:
    """Dense ``[K, P, N, G·N]`` from G diagonal blocks ``[K, P, N]`` (None = zero block)."""
    return torch.cat([torch.diag_embed(torch.zeros_like(like) if d is None else d) for d in diagonals], dim=-1)


def _recurrent(params: Params, h: torch.Tensor) -> torch.Tensor:
    out = torch.matmul(h, params["weight_hh"].transpose(1, 2))
    return out + params["bias_hh"].unsqueeze(1) if "bias_hh" in params else out


def _input_projection(params: Params, x: torch.Tensor) -> torch.Tensor:
    return torch.baddbmm(params["bias_ih"].unsqueeze(1), x, params["weight_ih"].transpose(1, 2))


# Each returns (d_xp, d_gh, direct): ∂F/∂xp and ∂F/∂(W_hh h) as [K, P, S, G·N], and the part of
# ∂F/∂state that does not pass through W_hh, [K, P, S, S].
def _vanilla(params, state, xp, phi, dphi, n):
    a = xp + _recurrent(params, state)
    d = _blocks(dphi(a), like=a)
    return d, d, torch.zeros(*state.shape, state.shape[-1], dtype=state.dtype, device=state.device)


def _ugrnn(params, state, xp, phi, dphi, n):
    pre = xp + _recurrent(params, state)
    g_a, c_a = pre[..., :n] + 1.0, pre[..., n:]
    g, c = torch.sigmoid(g_a), phi(c_a)
    d = _blocks((state - c) * _dsigmoid(g_a), (1 - g) * dphi(c_a), like=g)
    return d, d, torch.diag_embed(g)


def _gru(params, state, xp, phi, dphi, n):
    gh = _recurrent(params, state)
    r_a, z_a = xp[..., :n] + gh[..., :n], xp[..., n : 2 * n] + gh[..., n : 2 * n]
    r, z = torch.sigmoid(r_a), torch.sigmoid(z_a)
    n_a = xp[..., 2 * n :] + r * gh[..., 2 * n :]
    cand = phi(n_a)
    dn = (1 - z) * dphi(n_a)  # ∂F/∂n_a
    d_r = dn * gh[..., 2 * n :] * _dsigmoid(r_a)
    d_z = (state - cand) * _dsigmoid(z_a)
    d_xp = _blocks(d_r, d_z, dn, like=r)
    d_gh = _blocks(d_r, d_z, dn * r, like=r)
    return d_xp, d_gh, torch.diag_embed(z)


def _lstm(params, state, xp, phi, dphi, n):
    h, c = state[..., :n], state[..., n:]
    gates = xp + _recurrent(params, h)
    i_a, f_a, g_a, o_a = (gates[..., j * n : (j + 1) * n] for j in range(4))
    i, f, g, o = torch.sigmoid(i_a), torch.sigmoid(f_a), phi(g_a), torch.sigmoid(o_a)
    c_next = f * c + i * g
    dh_dc = o * dphi(c_next)  # ∂h'/∂c' (diagonal)
    dc = [g * _dsigmoid(i_a), c * _dsigmoid(f_a), i * dphi(g_a), None]  # ∂c'/∂gates
    dc_dgates = _blocks(*dc, like=c)
    dh_dgates = _blocks(*(None if d is None else dh_dc * d for d in dc[:3]), phi(c_next) * _dsigmoid(o_a), like=c)
    d = torch.cat([dh_dgates, dc_dgates], dim=-2)  # [K, P, 2N, 4N]
    direct = torch.zeros(*state.shape, state.shape[-1], dtype=state.dtype, device=state.device)
    direct[..., :n, n:] = torch.diag_embed(dh_dc * f)  # ∂h'/∂c
    direct[..., n:, n:] = torch.diag_embed(f)  # ∂c'/∂c
    return d, d, direct


_PARTS = {
    "vanilla": _vanilla,
    "ugrnn": _ugrnn,
    "gru": _gru,
    "lstm": _lstm,
}

# The update / activation each closed form was written for: a cell or activation replaced in
# its registry later must not silently get the old derivative (it falls back to autograd).
_WRITTEN_FOR: dict[str, Callable] = {arch: CELLS[arch].update for arch in _PARTS}
_DERIVATIVE_OF: dict[str, Callable] = {name: ACTIVATIONS[name] for name in DERIVATIVES}


def register_cell_jacobian(arch: str, parts: Callable, update: Callable | None = None) -> None:
    """Add the analytic derivative parts of a new cell (see the module docstring), written for
    the cell update ``update`` (default: the one registered under ``arch`` now)."""
    _PARTS[arch] = parts
    update = update if update is not None else (CELLS[arch].update if arch in CELLS else None)
    if update is None:
        _WRITTEN_FOR.pop(arch, None)
    else:
        _WRITTEN_FOR[arch] = update


def register_activation_derivative(name: str, derivative: Callable) -> None:
    """Add φ' for activation ``name`` (registered in ACTIVATIONS) as a function of the pre-activation."""
    DERIVATIVES[name] = derivative
    _DERIVATIVE_OF[name] = ACTIVATIONS[name]


def has_analytic_jacobian(arch: str, activation: str, phi: Callable | None = None) -> bool:
    """Whether :func:`cell_jacobians` has closed forms for this cell and activation, written for
    the update and activation function registered under those names now (and, when ``phi``
    is given, whether it is that registered activation: a custom nonlinearity, e.g. from
    ``RNNPopulation.with_activation``, gets autograd Jacobians)."""
    if arch not in _PARTS or activation not in DERIVATIVES:
        return False
    if phi is not None and phi is not ACTIVATIONS.get(activation):
        return False
    if arch in _WRITTEN_FOR and (arch not in CELLS or CELLS[arch].update is not _WRITTEN_FOR[arch]):
        return False
    if activation in _DERIVATIVE_OF and ACTIVATIONS.get(activation) is not _DERIVATIVE_OF[activation]:
        return False
    return True


def cell_jacobians(
    arch: str, activation: Callable, activation_name: str, params: Params, state: torch.Tensor, x: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(∂F/∂state ``[K, P, S, S]``, ∂F/∂x ``[K, P, S, I]``) of cell ``arch`` at (state, x)."""
    if not has_analytic_jacobian(arch, activation_name, activation):
        raise ValueError(f"no analytic Jacobian for {arch!r} with {activation_name!r}; "
                         f"cells: {sorted(_PARTS)}, activations: {sorted(DERIVATIVES)}")
    n = params["weight_hh"].shape[-1]
    xp = _input_projection(params, x)
    d_xp, d_gh, direct = _PARTS[arch](params, state, xp, activation, DERIVATIVES[activation_name], n)
    j_state = direct.clone()
    j_state[..., :n] += _per_network_matmul(d_gh, params["weight_hh"])
    j_x = _per_network_matmul(d_xp, params["weight_ih"])
    return j_state, j_x


def _per_network_matmul(a: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """``[K, P, S, G·N] @ [K, G·N, M]`` as one bmm over K, whatever K is: a broadcast 4-D
    matmul folds K = 1 into a single mm and rounds differently from K > 1, which would make a
    network's Jacobian depend on its pack."""
    k, p, s, gn = a.shape
    return torch.bmm(a.reshape(k, p * s, gn), w).reshape(k, p, s, w.shape[-1])


# Numbers one vectorised chunk of points may hold in its largest intermediates (about S × the
# per-point width per point and network): bounds memory whatever K, P and S are.
_FALLBACK_BUDGET = 1 << 24


def autograd_jacobians(
    step: StepWithParams, params: Params, state: torch.Tensor, x: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(∂F/∂state ``[K, P, S, S]``, ∂F/∂x ``[K, P, S, I]``) of any one-step map, by autograd.

    ``step(params, state, x)`` is the batched map (parameters ``[K, ...]``, state ``[K, M, S]``,
    inputs ``[K, M, I]``); it is evaluated per network and point as a population of one at one
    point, differentiated with ``torch.func.jacrev`` and vectorised with ``vmap`` over points,
    then networks (in chunks of points, so memory stays bounded). Exact up to float rounding;
    slower than the closed forms, and independent of how the map is written.
    """
    k, p, s = state.shape
    x = x.expand(k, p, x.shape[-1])
    i = x.shape[-1]
    params = {name: v.detach() for name, v in params.items()}
    if p == 0:
        return state.new_zeros(k, 0, s, s), state.new_zeros(k, 0, s, i)

    def one(par: Params, h: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        single = {name: v.unsqueeze(0) for name, v in par.items()}
        return step(single, h.reshape(1, 1, s), u.reshape(1, 1, i)).reshape(s)

    per_point = torch.func.vmap(torch.func.jacrev(one, argnums=(1, 2)), in_dims=(None, 0, 0))
    per_network = torch.func.vmap(per_point, in_dims=(0, 0, 0))
    width = s + i + sum(v[0].numel() for v in params.values()) // max(1, s)
    chunk = max(1, _FALLBACK_BUDGET // max(1, k * s * width))
    parts = [per_network(params, state[:, a : a + chunk].detach(), x[:, a : a + chunk].detach())
             for a in range(0, p, chunk)]
    j_state = torch.cat([j for j, _ in parts], dim=1)
    j_x = torch.cat([jx for _, jx in parts], dim=1)
    return j_state, j_x
