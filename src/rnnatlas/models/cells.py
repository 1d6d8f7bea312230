"""Recurrent cells written over stacked weights ``[K, ...]`` (K networks at once).

Each cell is a set of pure functions of a parameter dict, so the same code serves training
(a whole population), fixed-point search (``step``) and Jacobians. Conventions follow PyTorch
(gate order, the GRU reset gate applied after ``W_hn h``) so that a population of one matches
``torch.nn.RNN/GRU/LSTM`` with copied weights. Shapes: state ``[K, B, S]``; the input
projection ``xp = x W_ihᵀ + b_ih`` is ``[K, B, G·N]`` and is computed for all time steps at
once outside the recurrence (one large batched matmul instead of T small ones).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

from .activations import Activation

Params = dict[str, torch.Tensor]


@dataclass(frozen=True)
class Cell:
    """One architecture: parameter shapes, its one-step update and how to read its state."""

    name: str
    gates: int  # G: blocks of N rows in W_ih / W_hh
    state_factor: int  # S = state_factor · N (LSTM carries [h; c])
    has_bias_hh: bool
    update: Callable[[Params, torch.Tensor, torch.Tensor, Activation, int], torch.Tensor]

    def param_shapes(self, n_inputs: int, n_units: int) -> dict[str, tuple[int, ...]]:
        gn = self.gates * n_units
        shapes = {"weight_ih": (gn, n_inputs), "weight_hh": (gn, n_units), "bias_ih": (gn,)}
        if self.has_bias_hh:
            shapes["bias_hh"] = (gn,)
        return shapes

    def state_dim(self, n_units: int) -> int:
        return self.state_factor * n_units

    @staticmethod
    def hidden(state: torch.Tensor, n_units: int) -> torch.Tensor:
        """The part of the state the readout sees (h; for LSTM the first N of [h; c])."""
        return state[..., :n_units]


def _recurrent(params: Params, h: torch.Tensor) -> torch.Tensor:
    """h W_hhᵀ (+ b_hh), batched over networks. ``weight_hh_t`` is W_hhᵀ, precomputed once."""
    w = params["weight_hh_t"]
    if "bias_hh" in params:
        return torch.baddbmm(params["bias_hh"].unsqueeze(-2), h, w)
    return torch.bmm(h, w)


def _vanilla(params: Params, state: torch.Tensor, xp: torch.Tensor, phi: Activation, n: int) -> torch.Tensor:
    return phi(xp + _recurrent(params, state))


def _ugrnn(params: Params, state: torch.Tensor, xp: torch.Tensor, phi: Activation, n: int) -> torch.Tensor:
    # Collins et al. 2017: [g_a, c_a] = W [x; h] + b; g = σ(g_a + 1); h' = g h + (1 − g) φ(c_a)
    pre = xp + _recurrent(params, state)
    g = torch.sigmoid(pre[..., :n] + 1.0)
    c = phi(pre[..., n:])
    return c + g * (state - c)


def _gru(params: Params, state: torch.Tensor, xp: torch.Tensor, phi: Activation, n: int) -> torch.Tensor:
    gh = _recurrent(params, state)
    r = torch.sigmoid(xp[..., :n] + gh[..., :n])
    z = torch.sigmoid(xp[..., n : 2 * n] + gh[..., n : 2 * n])
    cand = phi(xp[..., 2 * n :] + r * gh[..., 2 * n :])
    return cand + z * (state - cand)


def _lstm(params: Params, state: torch.Tensor, xp: torch.Tensor, phi: Activation, n: int) -> torch.Tensor:
    h, c = state[..., :n], state[..., n:]
    gates = xp + _recurrent(params, h)
    i = torch.sigmoid(gates[..., :n])
    f = torch.sigmoid(gates[..., n : 2 * n])
    g = phi(gates[..., 2 * n : 3 * n])
    o = torch.sigmoid(gates[..., 3 * n :])
    c_next = f * c + i * g
    return torch.cat([o * phi(c_next), c_next], dim=-1)


CELLS: dict[str, Cell] = {
    "vanilla": Cell("vanilla", gates=1, state_factor=1, has_bias_hh=True, update=_vanilla),
    "ugrnn": Cell("ugrnn", gates=2, state_factor=1, has_bias_hh=False, update=_ugrnn),
    "gru": Cell("gru", gates=3, state_factor=1, has_bias_hh=True, update=_gru),
    "lstm": Cell("lstm", gates=4, state_factor=2, has_bias_hh=True, update=_lstm),
}


def get_cell(name: str) -> Cell:
    if name not in CELLS:
        raise ValueError(f"unknown architecture {name!r}; allowed: {', '.join(CELLS)}")
    return CELLS[name]
