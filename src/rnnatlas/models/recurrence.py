"""The whole recurrence as one autograd node with a hand-written backward (training speed).

Autograd through the plain time loop records every cell operation at every step, and its
backward runs two small batched matmuls per step (∂/∂h and ∂/∂W_hh) plus a walk over many
small graph nodes. :class:`Recurrence` instead

* runs the forward time loop without a graph, writing the states into one ``[K, T, B, S]``
  tensor and keeping the few gate values per step that the backward needs;
* propagates δ = ∂L/∂state back through time with ONE batched matmul per step (d_gh W_hh)
  plus the cell's elementwise derivatives, written straight into one ``[K, T, B, G·N]``
  tensor ∂L/∂xp (W_ih and b_ih then get their gradients from ordinary autograd through the
  input projection);
* computes ∂L/∂W_hh once, after the loop, as a single batched matmul over all T·B rows, and
  ∂L/∂b_hh as one sum.

Each forward step repeats the operations of its cell's update in :mod:`.cells` one for one,
so the states are bit-identical to the plain loop's (and to ``step``); gradients differ from
autograd's only by float rounding (summation order). Everything is deterministic on CPU.
Supported cells are in :data:`FAST_CELLS` and activations in :data:`ACTIVATION_GRADS`;
anything else runs the plain autograd loop (see :func:`fast_path_for`). The backward is not
itself differentiable (no double backward).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import torch

from . import cells
from .activations import ACTIVATIONS, Activation

Tensor = torch.Tensor
aten = torch.ops.aten


# ---------------------------------------------------------------------------- activations
@dataclass(frozen=True)
class ActivationGrad:
    """φ's backward, ``grad · φ'``, from φ's output (or its input when ``uses_input``), with
    the aten kernel autograd uses; ``out`` lets it write into a slice of a buffer. ``fn`` is
    the registered φ it differentiates."""

    fn: Activation
    op: Any  # an aten *_backward op with .default and .grad_input overloads; None = identity
    extra: tuple = ()
    uses_input: bool = False

    def backward(self, grad: Tensor, kept: Tensor, out: Tensor | None = None) -> Tensor:
        if self.op is None:
            return grad if out is None else out.copy_(grad)
        if out is None:
            return self.op.default(grad, kept, *self.extra)
        return self.op.grad_input(grad, kept, *self.extra, grad_input=out)


ACTIVATION_GRADS: dict[str, ActivationGrad] = {
    "tanh": ActivationGrad(ACTIVATIONS["tanh"], aten.tanh_backward),
    "sigmoid": ActivationGrad(ACTIVATIONS["sigmoid"], aten.sigmoid_backward),
    "relu": ActivationGrad(ACTIVATIONS["relu"], aten.threshold_backward, (0,)),
    # F.softplus defaults beta=1, threshold=20; its backward needs the input
    "softplus": ActivationGrad(ACTIVATIONS["softplus"], aten.softplus_backward, (1, 20), uses_input=True),
    "linear": ActivationGrad(ACTIVATIONS["linear"], None),
}


def _dsigmoid(grad: Tensor, sig: Tensor, out: Tensor) -> Tensor:
    """out = grad · σ(1 − σ) (``out`` may be ``grad`` itself)."""
    return aten.sigmoid_backward.grad_input(grad, sig, grad_input=out)


# ---------------------------------------------------------------------------- cells
@dataclass(frozen=True)
class StepContext:
    """What every step needs besides the tensors of that step."""

    weight_hh: Tensor  # W_hh [K, G·N, N]
    weight_hh_t: Tensor  # its transpose, for the forward matmul
    bias_hh: Tensor | None  # [K, 1, G·N] (None for cells without it)
    phi: Activation
    act: ActivationGrad
    n: int


@dataclass(frozen=True)
class FastCell:
    """A cell's update written by hand twice: forward and backward of one step.

    ``forward_step(ctx, state, xp_t, out, keep)`` writes the new state into ``out`` and, unless
    ``keep`` is None, the values backward needs into ``keep`` (``[K, B, kept·N]``, blocks of N;
    one more block for the pre-activation when φ's backward needs its input).
    ``backward_step(ctx, δ, prev, new, keep, grad_prev, d_xp, d_extra)`` writes ∂L/∂xp_t into
    ``d_xp``; where ∂L/∂(h W_hhᵀ + b_hh) differs from it — its last ``extra`` blocks (GRU's
    candidate, whose recurrent part is scaled by r) — it writes those into ``d_extra``. It
    returns ∂L/∂state_prev without the W_hh path (``grad_prev``, the loss's own gradient at
    the previous state, plus the paths that bypass W_hh) as (hidden part, rest or None).
    ``mirrors`` is the update in :mod:`.cells` that the forward step repeats op for op.
    """

    mirrors: Callable
    forward_step: Callable[..., None]
    backward_step: Callable[..., tuple[Tensor, Tensor | None]]
    gates: int  # G, as in cells.Cell
    kept: int  # blocks of N kept per step (without the pre-activation block)
    extra: int = 0
    state_factor: int = 1

    def kept_width(self, act: ActivationGrad, n: int) -> int:
        return (self.kept + int(act.uses_input)) * n


def _recurrent(c: StepContext, h: Tensor) -> Tensor:
    """h W_hhᵀ (+ b_hh), exactly as cells._recurrent computes it."""
    if c.bias_hh is None:
        return torch.bmm(h, c.weight_hh_t)
    return torch.baddbmm(c.bias_hh, h, c.weight_hh_t)


def _store(keep: Tensor | None, n: int, *blocks: Tensor) -> None:
    """Copy blocks of N columns into ``keep`` (no-op without a graph)."""
    if keep is not None:
        for j, block in enumerate(blocks):
            keep[..., j * n : (j + 1) * n].copy_(block)


def _block(keep: Tensor, j: int, n: int) -> Tensor:
    return keep[..., j * n : (j + 1) * n]


def _vanilla_forward(c: StepContext, state: Tensor, xp: Tensor, out: Tensor, keep: Tensor | None) -> None:
    pre = xp + _recurrent(c, state)
    out.copy_(c.phi(pre))
    if c.act.uses_input:
        _store(keep, c.n, pre)


def _vanilla_backward(c, delta, prev, new, keep, grad_prev, d_xp, d_extra):
    c.act.backward(delta, _block(keep, 0, c.n) if c.act.uses_input else new, out=d_xp)
    return grad_prev, None


def _ugrnn_forward(c: StepContext, state: Tensor, xp: Tensor, out: Tensor, keep: Tensor | None) -> None:
    n = c.n
    pre = xp + _recurrent(c, state)
    g = torch.sigmoid(pre[..., :n] + 1.0)
    cand = c.phi(pre[..., n:])
    torch.add(cand, g * (state - cand), out=out)
    _store(keep, n, g, cand, *([pre[..., n:]] if c.act.uses_input else []))


def _ugrnn_backward(c, delta, prev, new, keep, grad_prev, d_xp, d_extra):
    n = c.n
    g, cand = _block(keep, 0, n), _block(keep, 1, n)
    _dsigmoid(torch.mul(delta, prev - cand, out=d_xp[..., :n]), g, out=d_xp[..., :n])
    cand_kept = _block(keep, 2, n) if c.act.uses_input else cand
    c.act.backward(torch.addcmul(delta, delta, g, value=-1), cand_kept, out=d_xp[..., n:])
    return torch.addcmul(grad_prev, delta, g), None


def _gru_forward(c: StepContext, state: Tensor, xp: Tensor, out: Tensor, keep: Tensor | None) -> None:
    n = c.n
    gh = _recurrent(c, state)
    r = torch.sigmoid(xp[..., :n] + gh[..., :n])
    z = torch.sigmoid(xp[..., n : 2 * n] + gh[..., n : 2 * n])
    n_pre = xp[..., 2 * n :] + r * gh[..., 2 * n :]
    cand = c.phi(n_pre)
    torch.add(cand, z * (state - cand), out=out)
    _store(keep, n, r, z, gh[..., 2 * n :], cand, *([n_pre] if c.act.uses_input else []))


def _gru_backward(c, delta, prev, new, keep, grad_prev, d_xp, d_extra):
    n = c.n
    r, z, gh_n, cand = (_block(keep, j, n) for j in range(4))
    cand_kept = _block(keep, 4, n) if c.act.uses_input else cand
    d_n = c.act.backward(torch.addcmul(delta, delta, z, value=-1), cand_kept, out=d_xp[..., 2 * n :])
    _dsigmoid(torch.mul(d_n, gh_n, out=d_xp[..., :n]), r, out=d_xp[..., :n])
    _dsigmoid(torch.mul(delta, prev - cand, out=d_xp[..., n : 2 * n]), z, out=d_xp[..., n : 2 * n])
    torch.mul(d_n, r, out=d_extra)  # the candidate's recurrent part is r ⊙ (W_hn h + b_hn)
    return torch.addcmul(grad_prev, delta, z), None


def _lstm_forward(c: StepContext, state: Tensor, xp: Tensor, out: Tensor, keep: Tensor | None) -> None:
    n = c.n
    gates = xp + _recurrent(c, state[..., :n])
    i = torch.sigmoid(gates[..., :n])
    f = torch.sigmoid(gates[..., n : 2 * n])
    g = c.phi(gates[..., 2 * n : 3 * n])
    o = torch.sigmoid(gates[..., 3 * n :])
    c_next = f * state[..., n:] + i * g
    phi_c = c.phi(c_next)  # on a contiguous tensor, as in the update (φ's rounding may depend on layout)
    torch.mul(o, phi_c, out=out[..., :n])
    out[..., n:].copy_(c_next)
    _store(keep, n, i, f, g, o, phi_c, *([gates[..., 2 * n : 3 * n]] if c.act.uses_input else []))


def _lstm_backward(c, delta, prev, new, keep, grad_prev, d_xp, d_extra):
    n = c.n
    i, f, g, o, phi_c = (_block(keep, j, n) for j in range(5))
    g_kept, c_kept = (_block(keep, 5, n), new[..., n:]) if c.act.uses_input else (g, phi_c)
    d_h = delta[..., :n]
    d_c = c.act.backward(d_h * o, c_kept).add_(delta[..., n:])  # ∂L/∂c_next, total
    _dsigmoid(torch.mul(d_c, g, out=d_xp[..., :n]), i, out=d_xp[..., :n])
    _dsigmoid(torch.mul(d_c, prev[..., n:], out=d_xp[..., n : 2 * n]), f, out=d_xp[..., n : 2 * n])
    _dsigmoid(torch.mul(d_h, phi_c, out=d_xp[..., 3 * n :]), o, out=d_xp[..., 3 * n :])
    c.act.backward(d_c * i, g_kept, out=d_xp[..., 2 * n : 3 * n])
    return grad_prev[..., :n], torch.addcmul(grad_prev[..., n:], d_c, f)


FAST_CELLS: dict[str, FastCell] = {
    "vanilla": FastCell(cells._vanilla, _vanilla_forward, _vanilla_backward, gates=1, kept=0),
    "ugrnn": FastCell(cells._ugrnn, _ugrnn_forward, _ugrnn_backward, gates=2, kept=2),
    "gru": FastCell(cells._gru, _gru_forward, _gru_backward, gates=3, kept=4, extra=1),
    "lstm": FastCell(cells._lstm, _lstm_forward, _lstm_backward, gates=4, kept=5, state_factor=2),
}


def fast_path_for(
    cell: cells.Cell, activation: str, phi: Activation | None = None,
) -> tuple[FastCell, ActivationGrad] | None:
    """The fast recurrence for this cell and activation, or None (use the plain autograd loop).

    A fast cell or activation backward serves only the very function it was written for, so a
    cell or activation replaced or added in the registries later, or a nonlinearity ``phi``
    that is not the registered ``activation`` itself (e.g. one from
    ``RNNPopulation.with_activation``), falls back to autograd instead of silently getting a
    wrong derivative.
    """
    fast, act = FAST_CELLS.get(cell.name), ACTIVATION_GRADS.get(activation)
    if fast is None or act is None or act.fn is not ACTIVATIONS.get(activation):
        return None
    if phi is not None and phi is not act.fn:
        return None
    if fast.mirrors is not cell.update or (fast.gates, fast.state_factor) != (cell.gates, cell.state_factor):
        return None
    return fast, act


# ---------------------------------------------------------------------------- the node
def recurrence(
    fast: FastCell, act: ActivationGrad, phi: Activation, xp: Tensor, state0: Tensor | None,
    weight_hh: Tensor, bias_hh: Tensor | None,
) -> Tensor:
    """All states ``[K, T, B, S]`` from xp ``[K, T, B, G·N]``, state0 ``[K, B, S]`` (None = 0),
    W_hh ``[K, G·N, N]`` and b_hh ``[K, G·N]`` (None for cells without it). Through
    :class:`Recurrence` when a gradient is wanted, else the same forward loop keeping nothing."""
    inputs = [x for x in (xp, state0, weight_hh, bias_hh) if x is not None]
    if torch.is_grad_enabled() and any(x.requires_grad for x in inputs):
        return Recurrence.apply(xp, state0, weight_hh, bias_hh, fast, act, phi)
    return _forward_loop(fast, _context(act, phi, weight_hh, bias_hh), xp, state0, keep=False)[0]


class Recurrence(torch.autograd.Function):
    """The autograd node behind :func:`recurrence` (same arguments)."""

    @staticmethod
    def forward(ctx, xp: Tensor, state0: Tensor | None, weight_hh: Tensor, bias_hh: Tensor | None,
                fast: FastCell, act: ActivationGrad, phi: Activation) -> Tensor:
        step = _context(act, phi, weight_hh, bias_hh)
        states, kept = _forward_loop(fast, step, xp, state0, keep=True)
        ctx.fast, ctx.step, ctx.has_state0 = fast, step, state0 is not None
        ctx.save_for_backward(states, kept, state0)
        return states

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_states: Tensor):
        states, kept, state0 = ctx.saved_tensors
        fast, n = ctx.fast, ctx.step.n
        if state0 is None:
            state0 = states.new_zeros(states.shape[0], states.shape[2], states.shape[3])
        needs = ctx.needs_input_grad
        d_xp, d_extra, d_state0 = _backward_through_time(fast, ctx.step, kept, grad_states, states, state0, needs[1])
        d_gh = [d_xp[..., : (fast.gates - fast.extra) * n]] + ([d_extra] if fast.extra else [])
        d_w = _weight_grad(d_gh, states, state0, n, ctx.has_state0) if needs[2] else None
        d_b = torch.cat([d.sum(dim=(1, 2)) for d in d_gh], dim=-1) if needs[3] else None
        return d_xp, d_state0, d_w, d_b, None, None, None


def _context(act: ActivationGrad, phi: Activation, weight_hh: Tensor, bias_hh: Tensor | None) -> StepContext:
    bias = None if bias_hh is None else bias_hh.unsqueeze(1)
    return StepContext(weight_hh, weight_hh.transpose(1, 2), bias, phi, act, weight_hh.shape[-1])


def _forward_loop(
    fast: FastCell, step: StepContext, xp: Tensor, state0: Tensor | None, keep: bool,
) -> tuple[Tensor, Tensor | None]:
    """The time loop without a graph: states ``[K, T, B, S]`` and, if ``keep``, the values
    backward needs, ``[K, T, B, kept·N]`` (None if nothing is kept)."""
    k, t_len, b, _ = xp.shape
    width = fast.kept_width(step.act, step.n)
    with torch.no_grad():
        state = state0 if state0 is not None else xp.new_zeros(k, b, fast.state_factor * step.n)
        states = xp.new_empty(k, t_len, b, state.shape[-1])
        kept = xp.new_empty(k, t_len, b, width) if keep and width else None
        for t, xp_t in enumerate(xp.unbind(1)):
            fast.forward_step(step, state, xp_t, states[:, t], None if kept is None else kept[:, t])
            state = states[:, t]
    return states, kept


def _backward_through_time(
    fast: FastCell, step: StepContext, kept: Tensor | None, grad_states: Tensor, states: Tensor,
    state0: Tensor, need_state0: bool,
) -> tuple[Tensor, Tensor | None, Tensor | None]:
    """δ from the last step to the first, one bmm per step. Returns ∂L/∂xp ``[K, T, B, G·N]``,
    the ``extra`` blocks of ∂L/∂gh that differ from it (or None) and ∂L/∂state0 (or None)."""
    k, t_len, b, s = states.shape
    n = step.n
    d_xp = grad_states.new_empty(k, t_len, b, fast.gates * n)
    d_extra = grad_states.new_empty(k, t_len, b, fast.extra * n) if fast.extra else None
    shared = (fast.gates - fast.extra) * n
    no_grad = grad_states.new_zeros(k, b, s)  # the loss's own gradient at state0
    delta = grad_states[:, -1]
    for t in range(t_len - 1, -1, -1):
        prev, grad_prev = (states[:, t - 1], grad_states[:, t - 1]) if t > 0 else (state0, no_grad)
        extra_t = None if d_extra is None else d_extra[:, t]
        base_h, base_rest = fast.backward_step(
            step, delta, prev, states[:, t], None if kept is None else kept[:, t], grad_prev, d_xp[:, t], extra_t)
        if t == 0 and not need_state0:
            return d_xp, d_extra, None
        d_gh = d_xp[:, t] if extra_t is None else torch.cat([d_xp[:, t, :, :shared], extra_t], dim=-1)
        delta = torch.baddbmm(base_h, d_gh, step.weight_hh)
        if base_rest is not None:
            delta = torch.cat([delta, base_rest], dim=-1)
    return d_xp, d_extra, delta


def _weight_grad(d_gh: list[Tensor], states: Tensor, state0: Tensor, n: int, has_state0: bool) -> Tensor:
    """∂L/∂W_hh = Σ_t d_ghₜᵀ h_{t−1}, ∂L/∂gh given as column blocks ``[K, T, B, ·]``: one bmm
    per block over all (T−1)·B rows, plus the h0 term when an initial state was given."""
    k, t_len, b, _ = states.shape
    h_prev = states[:, :-1, :, :n].reshape(k, (t_len - 1) * b, n)  # a view, also for LSTM's [h; c]
    rows = []
    for d in d_gh:
        d_w = torch.bmm(d[:, 1:].reshape(k, (t_len - 1) * b, d.shape[-1]).transpose(1, 2), h_prev)
        if has_state0:
            d_w = torch.baddbmm(d_w, d[:, 0].transpose(1, 2), state0[..., :n])
        rows.append(d_w)
    return rows[0] if len(rows) == 1 else torch.cat(rows, dim=1)
