"""K same-shape recurrent networks as one module with stacked parameters.

Every parameter has a leading network dimension K, so a population trains, runs and is
analysed with batched matmuls; K = 1 is simply a population of one. Networks never interact:
row k of every output depends only on network k's parameters and inputs.

With a leak α < 1 (``alpha``, α = Δt/τ) every cell becomes its leaky-integrator version,
state_t = (1 − α) state_{t−1} + α F(state_{t−1}, x_t); α = 1 is the plain cell. The
hand-written recurrence of :mod:`.recurrence` serves every cell without a leak and the vanilla
cell with one; it needs the registered activation (a population re-run with another
nonlinearity, :meth:`RNNPopulation.with_activation`, takes the autograd loop and autograd
Jacobians). Recurrent noise (training) is added to every
step's pre-activations, the input projection xp_t = W_ih x_t + b_ih.
"""

from __future__ import annotations

import numbers
from typing import Any, Mapping, Sequence

import torch
from torch import nn

from .activations import Activation, get_activation
from .batched_matmul import pack_bmm
from .cells import Params, get_cell
from .init import check_init_options, get_initialisation
from .jacobians import autograd_jacobians, cell_jacobians, has_analytic_jacobian
from .recurrence import WORKSPACE, fast_path_for, recurrence

READOUT_ACTIVATIONS = ("linear", "sigmoid")


class RNNPopulation(nn.Module):
    """A population of K recurrent networks with a (linear or sigmoid) readout.

    Inputs are either shared by all networks, ``[T, B, I]``, or per network, ``[K, T, B, I]``.
    ``forward`` returns outputs ``[K, T, B, O]`` and, on request, states ``[K, T, B, S]``;
    the initial state is 0 unless given. ``alpha`` is the leak (1 = no leak), the same for all
    networks of the population.
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
        alpha: float = 1.0,
    ) -> None:
        super().__init__()
        if readout not in READOUT_ACTIVATIONS:
            raise ValueError(f"unknown readout {readout!r}; allowed: {', '.join(READOUT_ACTIVATIONS)}")
        if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not 0.0 < float(alpha) <= 1.0:
            raise ValueError(f"leak alpha must be a number in (0, 1], got {alpha!r}")
        self.alpha = float(alpha)
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

    @property
    def preactivation_dim(self) -> int:
        """G·N: the width of the input projection xp, where recurrent noise is added."""
        return self.cell.gates * self.n_units

    def with_activation(self, phi: Activation, name: str | None = None) -> "RNNPopulation":
        """The same networks run with the nonlinearity ``phi`` instead of their own (e.g.
        :func:`.activations.leaky_relu_at_angle`), sharing this population's parameters (no
        copy: training one trains the other). ``name`` (default ``phi.__name__``) labels it;
        unless ``phi`` is the registered activation of that name, the fast recurrence and the
        closed-form Jacobians do not apply and the autograd paths serve it."""
        new = type(self).__new__(type(self))
        nn.Module.__init__(new)
        for key, value in vars(self).items():
            if not key.startswith("_") and key != "training":
                object.__setattr__(new, key, value)
        new.params = self.params  # the same ParameterDict, registered as new's submodule
        new.train(self.training)
        new.phi = phi
        new.activation = name if name is not None else getattr(phi, "__name__", "custom")
        return new

    def initialize(self, seeds: Sequence[int], scheme: str = "uniform",
                   options: Mapping[str, Any] | None = None) -> "RNNPopulation":
        """Per-network initialisation from its own seed, so a network's weights never depend on
        its pack-mates, by the named scheme of :mod:`.init` with its ``options`` (default
        "uniform", which takes none: cell weights and biases and the readout weights
        ~ U(−1/√N, 1/√N), PyTorch's RNN/GRU/LSTM default, readout bias 0)."""
        if len(seeds) != self.n_networks:
            raise ValueError(f"{len(seeds)} seeds for a population of {self.n_networks}")
        options = dict(options or {})
        check_init_options(scheme, options)
        init = get_initialisation(scheme)
        with torch.no_grad():
            for k, seed in enumerate(seeds):
                values = init(self, int(seed), **options)
                missing = sorted(set(self.params) - set(values))
                if missing:
                    raise ValueError(f"initialisation {scheme!r} gave no values for {missing}")
                for name, p in self.params.items():
                    p[k].copy_(values[name].to(p.dtype))
        return self

    @classmethod
    def from_network_params(
        cls, arch: str, activation: str, params: Sequence[dict[str, torch.Tensor]], readout: str = "linear",
        dtype: torch.dtype = torch.float32, device: torch.device | str = "cpu", alpha: float = 1.0,
    ) -> "RNNPopulation":
        """Stack per-network parameter dicts (e.g. read from model.h5 files) into a population."""
        first = params[0]
        n_units = first["weight_hh"].shape[-1]
        pop = cls(arch, activation, len(params), first["weight_ih"].shape[-1], n_units,
                  first["weight_out"].shape[0], readout=readout, dtype=dtype, device=device, alpha=alpha)
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
        x = self._network_inputs(inputs)
        k, t, b, i = x.shape
        w_t = self.params["weight_ih"].transpose(1, 2)
        bias = self.params["bias_ih"].unsqueeze(1)
        # shared inputs are expanded (no copy; same numbers as matmul + bias)
        return _Projection.apply(x.reshape(k, t * b, i), w_t, bias).reshape(k, t, b, -1)

    def _network_inputs(self, inputs: torch.Tensor) -> torch.Tensor:
        """Inputs as ``[K, T, B, I]`` (shared ones expanded, not copied)."""
        if inputs.dim() == 3:
            return inputs.unsqueeze(0).expand(self.n_networks, *inputs.shape)
        if inputs.dim() == 4:
            return inputs
        raise ValueError(f"inputs must be [T, B, I] or [K, T, B, I], got shape {tuple(inputs.shape)}")

    def initial_state(self, batch: int) -> torch.Tensor:
        p = self.params["weight_hh"]
        return torch.zeros(self.n_networks, batch, self.state_dim, dtype=p.dtype, device=p.device)

    def forward(
        self, inputs: torch.Tensor, state0: torch.Tensor | None = None, return_states: bool = False,
        noise: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Outputs ``[K, T, B, O]`` (and states ``[K, T, B, S]`` if ``return_states``).

        ``noise`` ``[K, T, B, G·N]`` (:attr:`preactivation_dim`), if given, is recurrent noise
        added to every step's pre-activations, i.e. to the input projection
        xp_t = W_ih x_t + b_ih (vanilla: h_t = φ(W_hh h_{t−1} + b_hh + W_ih x_t + b_ih + ξ_t),
        inside the nonlinearity and, with a leak, before it). As xp is formed before the
        recurrence, the hand-written fast recurrence serves noisy runs too.
        """
        x = self._network_inputs(inputs)
        shape = (self.n_networks, *x.shape[1:3], self.preactivation_dim)
        if noise is not None and noise.shape != shape:
            raise ValueError(f"recurrent noise must have the pre-activations' shape {shape}, got {tuple(noise.shape)}")
        fast = self._fast_path()
        if fast is None:
            xp = self.project_inputs(inputs)
            if noise is not None:
                xp = xp + noise.to(xp.dtype)
            states = self._autograd_states(xp, state0, return_states)
        else:  # the same states with a hand-written backward (see recurrence.py), projection included
            cell, act = fast
            p = self.params
            states = recurrence(cell, act, self.phi, None, state0, p["weight_hh"], p.get("bias_hh"),
                                hidden_only=not return_states, projection=(x, p["weight_ih"], p["bias_ih"], noise),
                                alpha=self.alpha)
        hidden = states if states.shape[-1] == self.n_units else states[..., : self.n_units]
        return self.readout(hidden), (states if return_states else None)

    def _fast_path(self):
        """The hand-written recurrence for this cell, φ and leak (None: the autograd loop): only
        for the registered activation it was written for, and with a leak only for the cells
        of :data:`.recurrence.LEAKY_FAST_CELLS`."""
        return fast_path_for(self.cell, self.activation, self.phi, self.alpha)

    def _autograd_states(self, xp: torch.Tensor, state0: torch.Tensor | None, all_states: bool) -> torch.Tensor:
        """The plain time loop, differentiated by autograd: states ``[K, T, B, S]``, or only
        the hidden parts ``[K, T, B, N]`` unless ``all_states`` (LSTM's c is then not stacked).
        Serves every cell, any leak and any activation."""
        params = self._cell_params()
        state = self.initial_state(xp.shape[2]) if state0 is None else state0
        n = self.n_units
        out = []
        # unbind, not xp[:, t]: indexing inside the loop makes backward quadratic in T.
        for xp_t in xp.unbind(1):
            new = self.cell.update(params, state, xp_t, self.phi, n)
            state = new if self.alpha == 1.0 else self._leak(state, new)
            out.append(state if all_states else state[..., :n])
        return torch.stack(out, dim=1)

    def _leak(self, state: torch.Tensor, new: torch.Tensor) -> torch.Tensor:
        """(1 − α) state + α new: the leaky integration of a cell's update."""
        return (1.0 - self.alpha) * state + self.alpha * new

    def _step_with(self, params: Params, state: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """:meth:`step` with the given parameters ``[K, ...]`` (the Jacobian fallback
        differentiates this with respect to state and x, one network and point at a time)."""
        xp = pack_bmm(x, params["weight_ih"].transpose(1, 2), params["bias_ih"].unsqueeze(1))
        cell_params = {**params, "weight_hh_t": params["weight_hh"].transpose(1, 2)}
        new = self.cell.update(cell_params, state, xp, self.phi, self.n_units)
        return new if self.alpha == 1.0 else self._leak(state, new)

    def step(self, state: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """One update F(state, x) with state ``[K, M, S]`` and raw inputs ``[K, M, I]``
        (with the leak, when α < 1).

        This is the map whose fixed points F(h*, x*) = h* the dynamics analyses look for.
        """
        return self._step_with(dict(self.params.items()), state, x)

    def jacobians(self, state: torch.Tensor, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """∂F/∂state ``[K, M, S, S]`` and ∂F/∂x ``[K, M, S, I]`` of :meth:`step`: closed forms
        where :mod:`.jacobians` has them for this cell and activation, else autograd (so a new
        cell needs no hand-written Jacobian). With a leak, (1 − α) I + α J and α J_x."""
        params = {name: p.detach() for name, p in self.params.items()}
        if not has_analytic_jacobian(self.arch, self.activation, self.phi):
            return autograd_jacobians(self._step_with, params, state, x)
        j, jx = cell_jacobians(self.arch, self.phi, self.activation, params, state, x)
        if self.alpha != 1.0:
            j = j * self.alpha
            j.diagonal(dim1=-2, dim2=-1).add_(1.0 - self.alpha)
            jx = jx * self.alpha
        return j, jx

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


class _Projection(torch.autograd.Function):
    """torch.baddbmm(bias, x, w) (the input projection of the autograd path), written into a
    buffer of :data:`.recurrence.WORKSPACE`: the same numbers, without the page faults of a
    fresh ``[K, T·B, G·N]`` tensor on every training step."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, weight_t: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x, weight_t)
        out = WORKSPACE.empty((weight_t.shape[0], x.shape[1], weight_t.shape[2]), weight_t)
        return pack_bmm(x, weight_t, bias, out=out)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        x, weight_t = ctx.saved_tensors
        d_x = pack_bmm(grad, weight_t.transpose(1, 2)) if ctx.needs_input_grad[0] else None
        d_w = pack_bmm(x.transpose(1, 2), grad) if ctx.needs_input_grad[1] else None
        d_b = grad.sum(dim=1, keepdim=True) if ctx.needs_input_grad[2] else None
        return d_x, d_w, d_b


class _Affine(torch.autograd.Function):
    """y = x Wᵀ + b per network (x ``[K, M, N]``, W ``[K, O, N]``, b ``[K, O]``), as baddbmm.

    Only the backward differs from autograd's: ∂L/∂W = gᵀ x is computed in that orientation,
    which MKL runs about 3× faster than autograd's xᵀ g when O is small (the readout).
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x, weight)
        return pack_bmm(x, weight.transpose(1, 2), bias.unsqueeze(1))

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        x, weight = ctx.saved_tensors
        d_x = None
        if ctx.needs_input_grad[0]:  # into a reused buffer (as the recurrence's, see WORKSPACE)
            d_x = pack_bmm(grad, weight, out=WORKSPACE.empty((*grad.shape[:2], weight.shape[2]), grad))
        d_w = pack_bmm(grad.transpose(1, 2), x) if ctx.needs_input_grad[1] else None
        d_b = grad.sum(dim=1) if ctx.needs_input_grad[2] else None
        return d_x, d_w, d_b
