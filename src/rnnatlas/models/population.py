"""K same-shape recurrent networks as one module with stacked parameters.

Every parameter has a leading network dimension K, so a population trains, runs and is
analysed with batched matmuls; K = 1 is simply a population of one. Networks never interact:
row k of every output depends only on network k's parameters and inputs.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import nn

from .activations import get_activation
from .cells import get_cell
from .recurrence import fast_path_for, recurrence

READOUT_ACTIVATIONS = ("linear", "sigmoid")


class RNNPopulation(nn.Module):
    """A population of K recurrent networks with a (linear or sigmoid) readout.

    Inputs are either shared by all networks, ``[T, B, I]``, or per network, ``[K, T, B, I]``.
    ``forward`` returns outputs ``[K, T, B, O]`` and, on request, states ``[K, T, B, S]``;
    the initial state is 0 unless given.
    """

    def __init__(
        self,
        arch: str,
        activation: str,
        n_networks: int,
        n_inputs: int,
        n_units: int,
        n_outputs: int,
        readout: str = "linear",
        dtype: torch.dtype = torch.float32,
        device: torch.device | str = "cpu",
    ) -> None:
        super().__init__()
        if readout not in READOUT_ACTIVATIONS:
            raise ValueError(f"unknown readout {readout!r}; allowed: {', '.join(READOUT_ACTIVATIONS)}")
        self.arch, self.activation, self.readout_activation = arch, activation, readout
        self.cell = get_cell(arch)
        self.phi = get_activation(activation)
        self.n_networks, self.n_inputs, self.n_units, self.n_outputs = n_networks, n_inputs, n_units, n_outputs
        shapes = {**self.cell.param_shapes(n_inputs, n_units), "weight_out": (n_outputs, n_units), "bias_out": (n_outputs,)}
        self.params = nn.ParameterDict(
            {name: nn.Parameter(torch.zeros((n_networks, *shape), dtype=dtype, device=device)) for name, shape in shapes.items()}
        )

    # ----------------------------------------------------------------- construction
    @property
    def state_dim(self) -> int:
        return self.cell.state_dim(self.n_units)

    def initialize(self, seeds: Sequence[int]) -> "RNNPopulation":
        """Per-network initialisation from its own seed, so a network's weights never depend on
        its pack-mates: cell weights and biases and the readout weights ~ U(−1/√N, 1/√N)
        (PyTorch's RNN/GRU/LSTM default), readout bias 0."""
        if len(seeds) != self.n_networks:
            raise ValueError(f"{len(seeds)} seeds for a population of {self.n_networks}")
        bound = 1.0 / math.sqrt(self.n_units)
        with torch.no_grad():
            for k, seed in enumerate(seeds):
                gen = torch.Generator().manual_seed(int(seed))
                for name, p in self.params.items():
                    values = torch.rand(p.shape[1:], generator=gen, dtype=torch.float64) * 2 * bound - bound
                    if name == "bias_out":
                        values.zero_()
                    p[k].copy_(values.to(p.dtype))
        return self

    @classmethod
    def from_network_params(
        cls, arch: str, activation: str, params: Sequence[dict[str, torch.Tensor]], readout: str = "linear",
        dtype: torch.dtype = torch.float32, device: torch.device | str = "cpu",
    ) -> "RNNPopulation":
        """Stack per-network parameter dicts (e.g. read from model.h5 files) into a population."""
        first = params[0]
        n_units = first["weight_hh"].shape[-1]
        pop = cls(arch, activation, len(params), first["weight_ih"].shape[-1], n_units,
                  first["weight_out"].shape[0], readout=readout, dtype=dtype, device=device)
        with torch.no_grad():
            for name, p in pop.params.items():
                p.copy_(torch.stack([torch.as_tensor(q[name]) for q in params]).to(p))
        return pop

    def network_params(self, k: int) -> dict[str, torch.Tensor]:
        """Network k's parameters, detached, as a dict of tensors without the K dimension."""
        return {name: p[k].detach().clone() for name, p in self.params.items()}

    # ----------------------------------------------------------------- dynamics
    def _cell_params(self) -> dict[str, torch.Tensor]:
        params = dict(self.params.items())
        params["weight_hh_t"] = params["weight_hh"].transpose(1, 2)
        return params

    def project_inputs(self, inputs: torch.Tensor) -> torch.Tensor:
        """x W_ihᵀ + b_ih for every time step and network: ``[K, T, B, G·N]``."""
        w_t = self.params["weight_ih"].transpose(1, 2)
        bias = self.params["bias_ih"].unsqueeze(1)
        if inputs.dim() == 3:  # shared by all networks (expand: no copy; same numbers as matmul + bias)
            t, b, i = inputs.shape
            flat = inputs.reshape(1, t * b, i).expand(self.n_networks, t * b, i)
        elif inputs.dim() == 4:
            k, t, b, i = inputs.shape
            flat = inputs.reshape(k, t * b, i)
        else:
            raise ValueError(f"inputs must be [T, B, I] or [K, T, B, I], got shape {tuple(inputs.shape)}")
        return torch.baddbmm(bias, flat, w_t).reshape(self.n_networks, t, b, -1)

    def initial_state(self, batch: int) -> torch.Tensor:
        p = self.params["weight_hh"]
        return torch.zeros(self.n_networks, batch, self.state_dim, dtype=p.dtype, device=p.device)

    def forward(
        self, inputs: torch.Tensor, state0: torch.Tensor | None = None, return_states: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        xp = self.project_inputs(inputs)
        fast = fast_path_for(self.cell, self.activation)
        if fast is None:
            states = self._autograd_states(xp, state0, return_states)
        else:  # the same states with a hand-written backward (see recurrence.py)
            cell, act = fast
            states = recurrence(cell, act, self.phi, xp, state0, self.params["weight_hh"], self.params.get("bias_hh"))
        hidden = states if states.shape[-1] == self.n_units else states[..., : self.n_units]
        return self.readout(hidden), (states if return_states else None)

    def _autograd_states(self, xp: torch.Tensor, state0: torch.Tensor | None, all_states: bool) -> torch.Tensor:
        """The plain time loop, differentiated by autograd: states ``[K, T, B, S]``, or only
        the hidden parts ``[K, T, B, N]`` unless ``all_states`` (LSTM's c is then not stacked)."""
        params = self._cell_params()
        state = self.initial_state(xp.shape[2]) if state0 is None else state0
        n = self.n_units
        out = []
        # unbind, not xp[:, t]: indexing inside the loop makes backward quadratic in T.
        for xp_t in xp.unbind(1):
            state = self.cell.update(params, state, xp_t, self.phi, n)
            out.append(state if all_states else state[..., :n])
        return torch.stack(out, dim=1)

    def step(self, state: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """One update F(state, x) with state ``[K, M, S]`` and raw inputs ``[K, M, I]``.

        This is the map whose fixed points F(h*, x*) = h* the dynamics analyses look for.
        """
        xp = torch.baddbmm(self.params["bias_ih"].unsqueeze(1), x, self.params["weight_ih"].transpose(1, 2))
        return self.cell.update(self._cell_params(), state, xp, self.phi, self.n_units)

    def jacobians(self, state: torch.Tensor, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Analytic ∂F/∂state ``[K, M, S, S]`` and ∂F/∂x ``[K, M, S, I]`` of :meth:`step`."""
        from .jacobians import cell_jacobians

        params = {name: p.detach() for name, p in self.params.items()}
        return cell_jacobians(self.arch, self.phi, self.activation, params, state, x)

    def readout(self, hidden: torch.Tensor) -> torch.Tensor:
        """z = W_out h + b_out (then σ for a sigmoid readout); hidden ``[K, ..., N]``."""
        k = hidden.shape[0]
        flat = hidden.reshape(k, -1, self.n_units)
        z = _Affine.apply(flat, self.params["weight_out"], self.params["bias_out"])
        if self.readout_activation == "sigmoid":
            z = torch.sigmoid(z)
        return z.reshape(*hidden.shape[:-1], self.n_outputs)

    def readout_state(self, state: torch.Tensor) -> torch.Tensor:
        """Readout of full states ``[K, ..., S]`` (uses the hidden part of LSTM's [h; c])."""
        return self.readout(state[..., : self.n_units])


class _Affine(torch.autograd.Function):
    """y = x Wᵀ + b per network (x ``[K, M, N]``, W ``[K, O, N]``, b ``[K, O]``), as baddbmm.

    Only the backward differs from autograd's: ∂L/∂W = gᵀ x is computed in that orientation,
    which MKL runs about 3× faster than autograd's xᵀ g when O is small (the readout).
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x, weight)
        return torch.baddbmm(bias.unsqueeze(1), x, weight.transpose(1, 2))

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        x, weight = ctx.saved_tensors
        d_x = torch.bmm(grad, weight) if ctx.needs_input_grad[0] else None
        d_w = torch.bmm(grad.transpose(1, 2), x) if ctx.needs_input_grad[1] else None
        d_b = grad.sum(dim=1) if ctx.needs_input_grad[2] else None
        return d_x, d_w, d_b
