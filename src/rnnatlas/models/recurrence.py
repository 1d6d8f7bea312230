"""The whole recurrence as one autograd node with a hand-written backward (training speed).

Autograd through the plain time loop records every cell operation at every step, and its
backward runs two small batched matmuls per step (∂/∂h and ∂/∂W_hh) plus a walk over many
small graph nodes. :class:`Recurrence` instead

* forms the input projection xp = x W_ihᵀ + b_ih (+ noise) itself, as
  ``RNNPopulation.project_inputs`` does, and runs the forward time loop without a graph,
  keeping the few values per step that the backward needs;
* propagates δ = ∂L/∂state back through time with ONE batched matmul per step (d_gh W_hh)
  plus the cell's elementwise derivatives;
* gets ∂L/∂W_hh, ∂L/∂b and ∂L/∂W_ih from one batched matmul, Σ_t ∂L/∂xp_tᵀ [h_{t−1} | 1 | x_t]
  (LSTM: SUM_STEPS steps at a time, while their ∂L/∂xp is in cache; the others: once over
  all T·B rows).

Each forward step repeats the operations of its cell's update in :mod:`.cells` one for one,
on operands laid out as there (vectorised and scalar code of σ and φ may round differently,
and so may a matmul on differently strided operands), so the states are bit-identical to the
plain loop's (and to ``step``); gradients differ from autograd's only by float rounding.
Everything is deterministic on CPU and per network (a network's numbers do not depend on its
pack-mates). LSTM has its own whole-sequence loops (:func:`_lstm_forward_loop`,
:func:`_lstm_backward_loop`) writing into preallocated buffers.

LSTM also runs its networks a cache-sized group at a time (:func:`_chunks`).

The large per-call buffers come from :data:`WORKSPACE`, which hands a CPU buffer out again
once nothing else references it: a fresh multi-megabyte tensor costs page faults on every
training step, which at the default sizes cost about as much as the arithmetic. Supported
cells are in :data:`FAST_CELLS` and activations in :data:`ACTIVATION_GRADS`; anything else
runs the plain autograd loop (see :func:`fast_path_for`). The backward is not itself
differentiable (no double backward).
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import torch

from . import cells
from .activations import ACTIVATIONS, Activation
from .batched_matmul import pack_bmm

Tensor = torch.Tensor
aten = torch.ops.aten


# ---------------------------------------------------------------------------- workspace
class Workspace:
    """Reusable CPU buffers of at least ``min_bytes`` (smaller ones, and other devices, are
    plain ``new_empty``). :meth:`empty` returns a tensor on a kept storage that nothing else
    references any more (a fresh tensor, not a view), else on a new storage that it keeps; it
    keeps at most ``max_buffers`` storages and ``max_bytes`` in all (the oldest are dropped,
    which frees them once unused). :meth:`clear` drops all. Reuse needs torch's storage use
    count (``torch._C._storage_Use_Count``); without it every call allocates."""

    def __init__(self, max_buffers: int = 12, max_bytes: int = 1 << 30, min_bytes: int = 1 << 20) -> None:
        self.max_buffers, self.max_bytes, self.min_bytes = max_buffers, max_bytes, min_bytes
        self._storages: list[torch.UntypedStorage] = []
        self._lock = threading.Lock()
        self._use_count = getattr(torch._C, "_storage_Use_Count", None)

    def empty(self, shape: Sequence[int], like: Tensor) -> Tensor:
        nbytes = math.prod(shape) * like.element_size()
        if like.device.type != "cpu" or nbytes < self.min_bytes or self._use_count is None:
            return like.new_empty(shape)
        with self._lock:
            for storage in self._storages:
                # 1: only this list holds it (a tensor, view or saved tensor on it adds one)
                if storage.nbytes() == nbytes and self._use_count(storage._cdata) == 1:
                    break
            else:
                storage = torch.UntypedStorage(nbytes, device=like.device)
                self._storages.append(storage)
                while len(self._storages) > 1 and (len(self._storages) > self.max_buffers
                                                   or sum(x.nbytes() for x in self._storages) > self.max_bytes):
                    del self._storages[0]
            return like.new_empty(0).set_(storage, 0, tuple(shape))

    def clear(self) -> None:
        with self._lock:
            self._storages.clear()


WORKSPACE = Workspace()
SUM_STEPS = 2  # time steps per matmul of LSTM's per-block parameter-gradient sums
CHUNK_BYTES = 512 << 10  # a group of networks' gates per step (see _chunks)


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
    out_fn: Callable | None = None  # fn with an ``out=`` argument (same numbers), if any

    def apply(self, x: Tensor, out: Tensor) -> Tensor:
        """out = φ(x) (``out`` may be ``x``). φ's rounding can depend on the layout of its
        operands: callers give the layout the cell's own φ call sees."""
        if self.out_fn is not None:
            return self.out_fn(x, out=out)
        return out if out is x and self.op is None else out.copy_(self.fn(x))

    def backward(self, grad: Tensor, kept: Tensor, out: Tensor | None = None) -> Tensor:
        if self.op is None:
            return grad if out is None else out.copy_(grad)
        if out is None:
            return self.op.default(grad, kept, *self.extra)
        return self.op.grad_input(grad, kept, *self.extra, grad_input=out)


def _relu_out(x: Tensor, out: Tensor) -> Tensor:
    return torch.clamp_min(x, 0, out=out)  # what torch.relu computes on CPU and CUDA


ACTIVATION_GRADS: dict[str, ActivationGrad] = {
    "tanh": ActivationGrad(ACTIVATIONS["tanh"], aten.tanh_backward, out_fn=torch.tanh),
    "sigmoid": ActivationGrad(ACTIVATIONS["sigmoid"], aten.sigmoid_backward, out_fn=torch.sigmoid),
    "relu": ActivationGrad(ACTIVATIONS["relu"], aten.threshold_backward, (0,), out_fn=_relu_out),
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
    alpha: float = 1.0  # the leak: state_t = (1 − α) state_{t−1} + α F(state_{t−1}, x_t) (leaky cells only)


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

    A cell may give whole time loops instead (LSTM): ``forward_loop(ctx, xp, state0, kept,
    h_out, c_out)`` writes h_t into ``h_out[t]``, the values backward needs into the buffers
    ``kept`` (laid out by ``kept_layout(act, n, k, t, b)``: (shape, network dim) each; None:
    no graph, then c_t goes into ``c_out[t]`` unless None; with a graph c is
    ``kept[kept_c]``); ``backward_loop(ctx, kept, grad_h, grad_c, d_xp, need_state0, state0,
    sums=None, d_param=None)`` writes ∂L/∂xp_t into ``d_xp[t]`` from the gradients of the
    outputs (lists over t; ``grad_c`` None: no loss on c), after step t adds a @ b to
    ``d_param`` for ``(a, b) = sums[t]`` unless None, and returns ∂L/∂state0 or None.
    """

    mirrors: Callable
    forward_step: Callable[..., None] | None
    backward_step: Callable[..., tuple[Tensor, Tensor | None]] | None
    gates: int  # G, as in cells.Cell
    kept: int  # blocks of N kept per step (without the pre-activation block)
    extra: int = 0
    state_factor: int = 1
    forward_loop: Callable[..., None] | None = None
    backward_loop: Callable[..., Tensor | None] | None = None
    kept_layout: Callable[..., tuple[tuple[tuple[int, ...], int], ...]] | None = None
    kept_c: int | None = None

    def kept_width(self, act: ActivationGrad, n: int) -> int:
        return (self.kept + int(act.uses_input)) * n

    def buffers(self, act: ActivationGrad, n: int, k: int, t: int, b: int) -> tuple[tuple[tuple[int, ...], int], ...]:
        """(shape, network dim) of each kept buffer for K networks, T steps, batch B."""
        if self.kept_layout is not None:
            return self.kept_layout(act, n, k, t, b)
        width = self.kept_width(act, n)
        return (((k, t, b, width), 0),) if width else ()


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


def _leaky_vanilla_forward(c: StepContext, state: Tensor, xp: Tensor, out: Tensor, keep: Tensor | None) -> None:
    # as RNNPopulation._leak(state, cells._vanilla(...)): (1 − α)·state + α·φ(xp + h W_hhᵀ + b_hh)
    pre = xp + _recurrent(c, state)
    f = c.phi(pre)
    torch.add((1.0 - c.alpha) * state, c.alpha * f, out=out)
    _store(keep, c.n, f, *((pre,) if c.act.uses_input else ()))


def _leaky_vanilla_backward(c, delta, prev, new, keep, grad_prev, d_xp, d_extra):
    # ∂L/∂f = α δ; ∂L/∂xp = φ'(pre) α δ; the leak passes (1 − α) δ straight to the previous state
    c.act.backward(c.alpha * delta, _block(keep, 1 if c.act.uses_input else 0, c.n), out=d_xp)
    return grad_prev + (1.0 - c.alpha) * delta, None


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


def _lstm_layout(act: ActivationGrad, n: int, k: int, t: int, b: int) -> tuple[tuple[tuple[int, ...], int], ...]:
    """LSTM's kept buffers: the gate activations [i, f, g, o] (+ g's pre-activation when φ's
    backward needs its input) ``[K, T, B, 4N(+N)]``, and φ(c_t) and c_t, each ``[T, K, B, N]``."""
    return ((k, t, b, (4 + int(act.uses_input)) * n), 0), ((t, k, b, n), 1), ((t, k, b, n), 1)


def _lstm_forward_loop(
    c: StepContext, xp: Tensor, state0: Tensor | None, kept: tuple[Tensor, ...] | None, h_out: Sequence[Tensor],
    c_out: Tensor | None,
) -> None:
    """LSTM's forward time loop, cells._lstm op for op, into preallocated buffers: h_t into
    ``h_out[t]``, the values backward needs into ``kept`` (:func:`_lstm_layout`) or, without
    them, c_t into ``c_out[t]`` (``[T, K, B, N]``; None: not returned)."""
    k, t_len, b, _ = xp.shape
    n, act = c.n, c.act
    width = (4 + int(act.uses_input)) * n
    sigmoid, mul, apply = torch.sigmoid, torch.mul, act.apply
    keep = kept is not None
    with torch.no_grad():
        state = state0 if state0 is not None else xp.new_zeros(k, b, 2 * n)
        if keep:
            acts_t, phi_t, c_t = kept[0].unbind(1), kept[1].unbind(0), kept[2].unbind(0)
        else:
            acts_t, phi_t = [xp.new_empty(k, b, width)] * t_len, [xp.new_empty(k, b, n)] * t_len
            c_t = c_out.unbind(0) if c_out is not None else [xp.new_empty(k, b, n), xp.new_empty(k, b, n)] * t_len
        blocks = [[a[..., j * n : (j + 1) * n] for a in acts_t] for j in range(4)] if keep else \
            [[acts_t[0][..., j * n : (j + 1) * n]] * t_len for j in range(4)]
        gh, i_g = xp.new_empty(k, b, 4 * n), xp.new_empty(k, b, n)
        # h_t also in a contiguous [K, B, 2N] buffer, laid out as the update's [h; c] (what the
        # next step's matmul reads: BLAS results may depend on the operands' layout)
        hc = (xp.new_empty(k, b, 2 * n), xp.new_empty(k, b, 2 * n))
        h, c_prev = state[..., :n], state[..., n:]
        for t, xp_t in enumerate(xp.unbind(1)):
            if c.bias_hh is None:
                torch.bmm(h, c.weight_hh_t, out=gh)
            else:
                torch.baddbmm(c.bias_hh, h, c.weight_hh_t, out=gh)
            a = acts_t[t]
            torch.add(xp_t, gh, out=a[..., : 4 * n])
            if act.uses_input:
                a[..., 4 * n :].copy_(a[..., 2 * n : 3 * n])
            i, f, g, o = blocks[0][t], blocks[1][t], blocks[2][t], blocks[3][t]
            sigmoid(i, out=i)
            sigmoid(f, out=f)
            apply(g, out=g)
            sigmoid(o, out=o)
            c_new = c_t[t]
            mul(f, c_prev, out=c_new)
            c_new.add_(mul(i, g, out=i_g))  # c_t = f c + i g, contiguous as in the update
            apply(c_new, out=phi_t[t])
            h_new = hc[t % 2][..., :n]
            mul(o, phi_t[t], out=h_new)
            h_out[t].copy_(h_new)
            h, c_prev = h_new, c_new


def _lstm_backward_loop(
    c: StepContext, kept: tuple[Tensor, ...], grad_h: Sequence[Tensor], grad_c: Sequence[Tensor] | None,
    d_xp: Sequence[Tensor], need_state0: bool, state0: Tensor | None = None,
    sums: Sequence[tuple[Tensor, Tensor] | None] | None = None, d_param: Tensor | None = None,
) -> Tensor | None:
    """LSTM's backward through time: ∂L/∂xp_t into ``d_xp[t]``, per step one baddbmm for
    ∂L/∂h_{t−1} and the elementwise derivatives of the update; after step t, ``d_param`` +=
    a @ b for ``(a, b) = sums[t]`` unless None (the parameter gradients, while the ∂L/∂xp
    just written are in cache)."""
    acts, phi_c, cells_ = kept
    k, t_len, b, _ = acts.shape
    n, act, w = c.n, c.act, c.weight_hh
    mul, addcmul, baddbmm, act_backward = torch.mul, torch.addcmul, torch.baddbmm, act.backward
    i_t, f_t, g_t, o_t = (acts[..., j * n : (j + 1) * n].unbind(1) for j in range(4))
    if_t, phi_t = acts[..., : 2 * n].unbind(1), phi_c.unbind(0)
    g_kept = acts[..., 4 * n :].unbind(1) if act.uses_input else g_t
    c_kept = cells_.unbind(0) if act.uses_input else phi_t
    c0 = state0[..., n:] if state0 is not None else acts.new_zeros(k, b, n)
    c_prev = (c0,) + cells_[:-1].unbind(0)
    dx_t = d_xp
    dx_i, dx_f, dx_g, dx_o = ([d[..., j * n : (j + 1) * n] for d in d_xp] for j in range(4))
    dx_if = [d[..., : 2 * n] for d in d_xp]
    d_c, tmp = acts.new_empty(k, b, n), acts.new_empty(k, b, n)
    d_h_buf = (acts.new_empty(k, b, n), acts.new_empty(k, b, n))
    d_c_buf = (acts.new_empty(k, b, n), acts.new_empty(k, b, n))
    d_h = grad_h[-1]  # ∂L/∂h_t
    d_c_next = None if grad_c is None else grad_c[-1]  # ∂L/∂c_t through everything but h_t
    for t in range(t_len - 1, -1, -1):
        act_backward(mul(d_h, o_t[t], out=tmp), c_kept[t], out=d_c)
        if d_c_next is not None:
            d_c.add_(d_c_next)  # ∂L/∂c_t, total
        mul(d_c, g_t[t], out=dx_i[t])
        mul(d_c, c_prev[t], out=dx_f[t])
        mul(d_h, phi_t[t], out=dx_o[t])
        _dsigmoid(dx_if[t], if_t[t], out=dx_if[t])
        _dsigmoid(dx_o[t], o_t[t], out=dx_o[t])
        act_backward(mul(d_c, i_t[t], out=tmp), g_kept[t], out=dx_g[t])
        if sums is not None and sums[t] is not None:
            d_param.baddbmm_(*sums[t])
        if t > 0:
            if grad_c is None:
                d_c_next = mul(d_c, f_t[t], out=d_c_buf[t % 2])
            else:
                d_c_next = addcmul(grad_c[t - 1], d_c, f_t[t], out=d_c_buf[t % 2])
            d_h = baddbmm(grad_h[t - 1], dx_t[t], w, out=d_h_buf[t % 2])
    if not need_state0:
        return None
    return torch.cat([torch.bmm(dx_t[0], w), d_c * f_t[0]], dim=-1)


# Cells with a leak α < 1 written by hand (the others run the autograd loop when leaky).
LEAKY_FAST_CELLS: dict[str, FastCell] = {
    "vanilla": FastCell(cells._vanilla, _leaky_vanilla_forward, _leaky_vanilla_backward, gates=1, kept=1),
}

FAST_CELLS: dict[str, FastCell] = {
    "vanilla": FastCell(cells._vanilla, _vanilla_forward, _vanilla_backward, gates=1, kept=0),
    "ugrnn": FastCell(cells._ugrnn, _ugrnn_forward, _ugrnn_backward, gates=2, kept=2),
    "gru": FastCell(cells._gru, _gru_forward, _gru_backward, gates=3, kept=4, extra=1),
    "lstm": FastCell(cells._lstm, None, None, gates=4, kept=6, state_factor=2, forward_loop=_lstm_forward_loop,
                     backward_loop=_lstm_backward_loop, kept_layout=_lstm_layout, kept_c=2),
}


def fast_path_for(
    cell: cells.Cell, activation: str, phi: Activation | None = None, alpha: float = 1.0,
) -> tuple[FastCell, ActivationGrad] | None:
    """The fast recurrence for this cell and activation (with leak ``alpha``: the leaky version,
    :data:`LEAKY_FAST_CELLS`), or None (use the plain autograd loop).

    A fast cell or activation backward serves only the very function it was written for, so a
    cell or activation replaced or added in the registries later, or a nonlinearity ``phi``
    that is not the registered ``activation`` itself (e.g. one from
    ``RNNPopulation.with_activation``), falls back to autograd instead of silently getting a
    wrong derivative.
    """
    fast = (FAST_CELLS if alpha == 1.0 else LEAKY_FAST_CELLS).get(cell.name)
    act = ACTIVATION_GRADS.get(activation)
    if fast is None or act is None or act.fn is not ACTIVATIONS.get(activation):
        return None
    if phi is not None and phi is not act.fn:
        return None
    if fast.mirrors is not cell.update or (fast.gates, fast.state_factor) != (cell.gates, cell.state_factor):
        return None
    return fast, act


# ---------------------------------------------------------------------------- the node
def recurrence(
    fast: FastCell, act: ActivationGrad, phi: Activation, xp: Tensor | None, state0: Tensor | None,
    weight_hh: Tensor, bias_hh: Tensor | None, hidden_only: bool = False,
    projection: tuple[Tensor, Tensor, Tensor, Tensor | None] | None = None, alpha: float = 1.0,
) -> Tensor:
    """All states ``[K, T, B, S]`` from xp ``[K, T, B, G·N]``, state0 ``[K, B, S]`` (None = 0),
    W_hh ``[K, G·N, N]`` and b_hh ``[K, G·N]`` (None for cells without it).

    ``projection`` = (inputs ``[K, T, B, I]``, W_ih ``[K, G·N, I]``, b_ih ``[K, G·N]``, noise
    ``[K, T, B, G·N]`` or None), with ``xp`` None, forms xp = baddbmm(b_ih, x, W_ihᵀ) (+ noise)
    inside, as ``RNNPopulation.project_inputs`` does, and W_ih and b_ih get their gradients
    from the same matmul as W_hh. With ``hidden_only`` the result is only the hidden part
    ``[K, T, B, N]``, possibly not contiguous. Through :class:`Recurrence` when a gradient is
    wanted, else the same forward loop keeping nothing. ``alpha`` is the leak of a leaky fast
    cell (:data:`LEAKY_FAST_CELLS`).
    """
    spec = _Spec(fast, act, phi, hidden_only, float(alpha))
    args = (xp, *(projection or (None, None, None, None)), state0, weight_hh, bias_hh)
    if torch.is_grad_enabled() and any(x is not None and x.requires_grad for x in args):
        return Recurrence.apply(*args, spec)
    return _run_forward(spec, *args, keep=False)[0]


@dataclass(frozen=True)
class _Spec:
    """The non-tensor arguments of :class:`Recurrence`."""

    fast: FastCell
    act: ActivationGrad
    phi: Activation
    hidden_only: bool
    alpha: float = 1.0


class Recurrence(torch.autograd.Function):
    """The autograd node behind :func:`recurrence`: xp, inputs, W_ih, b_ih, noise, state0,
    W_hh, b_hh (None where absent), then a :class:`_Spec`.

    Its backward gets ∂L/∂W_hh, ∂L/∂b and ∂L/∂W_ih together as Σ_t ∂L/∂xp_tᵀ [h_{t−1} | 1 | x_t]
    (∂L/∂b_ih = ∂L/∂b_hh: ∂L/∂gh = ∂L/∂xp for every cell but GRU). A cell with whole loops
    (LSTM) sums that a few steps at a time, while their ∂L/∂xp is in cache, unless ∂L/∂xp
    itself is wanted.
    """

    @staticmethod
    def forward(ctx, xp, inputs, weight_ih, bias_ih, noise, state0, weight_hh, bias_hh, spec: _Spec) -> Tensor:
        out, z, kept = _run_forward(spec, xp, inputs, weight_ih, bias_ih, noise, state0, weight_hh, bias_hh, keep=True)
        ctx.spec = spec
        ctx.save_for_backward(z, state0, weight_ih, weight_hh, *kept)
        return out

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_out: Tensor):
        z, state0, weight_ih, weight_hh, *kept = ctx.saved_tensors
        spec, needs = ctx.spec, ctx.needs_input_grad
        fast, n = spec.fast, weight_hh.shape[-1]
        k, t_len, b, width = z.shape[0], z.shape[1] - 1, z.shape[2], z.shape[3]
        gn = fast.gates * n
        dims = [dim for _, dim in fast.buffers(spec.act, n, k, t_len, b)]
        chunks = _chunks(fast, k, b, n, z)
        rows = z[:, :t_len]  # [h_{t−1} | 1 | x_t]
        col_1 = n  # the column of g_ih (∂L/∂xpᵀ rows) that holds ∂L/∂b_ih
        d_state0 = [] if needs[5] else None
        if fast.backward_loop is not None and not (needs[0] or needs[1] or needs[4]):
            # ∂L/∂xp is not returned: ∂L/∂xp_t into a scratch block of SUM_STEPS steps, summed
            # into the parameter gradients g when the block is full
            d_xp = None
            g_hh = g_ih = grad_out.new_zeros(k, gn, width)
            block = grad_out.new_empty(chunks[0].stop, SUM_STEPS, b, gn)
        else:
            d_xp = WORKSPACE.empty((k, t_len, b, gn), grad_out)
            d_gh = WORKSPACE.empty((k, t_len, b, fast.extra * n), grad_out) if fast.extra else None
        for sl in chunks:
            kc = sl.stop - sl.start
            step = _context(spec.act, spec.phi, weight_hh[sl], None, spec.alpha)
            kept_c = tuple(x.narrow(dim, sl.start, kc) for x, dim in zip(kept, dims))
            grad_h = grad_out[sl, ..., :n].unbind(1)
            grad_c = grad_out[sl, ..., n:].unbind(1) if grad_out.shape[-1] > n else None
            s0 = None if state0 is None else state0[sl]
            if d_xp is None:
                blk = block[:kc]
                sums = [None] * t_len
                for t0 in range(0, t_len, SUM_STEPS):
                    m = min(SUM_STEPS, t_len - t0)
                    sums[t0] = (blk[:, :m].reshape(kc, m * b, gn).transpose(1, 2), rows[sl, t0 : t0 + m].reshape(kc, m * b, width))
                scratch = [blk[:, t % SUM_STEPS] for t in range(t_len)]
                d_s0 = fast.backward_loop(step, kept_c, grad_h, grad_c, scratch, needs[5], s0, sums, g_hh[sl])
            elif fast.backward_loop is not None:
                d_s0 = fast.backward_loop(step, kept_c, grad_h, grad_c, d_xp[sl].unbind(1), needs[5], s0)
            else:
                hs = (z[sl, 0, :, :n],) + z[sl, 1:, :, :n].unbind(1)
                d_s0 = _step_backward_loop(fast, step, kept_c, grad_h, hs, d_xp[sl], None if d_gh is None else d_gh[sl], needs[5])
            if d_state0 is not None:
                d_state0.append(d_s0)
        if d_xp is not None:
            rows, flat_d = rows.reshape(k, t_len * b, width), d_xp.view(k, t_len * b, gn)
            if d_gh is None:
                g_hh = g_ih = torch.bmm(flat_d.transpose(1, 2), rows)
            else:  # GRU: ∂L/∂gh's last blocks differ from ∂L/∂xp's
                shared = (fast.gates - fast.extra) * n
                blocks = [flat_d[..., :shared], d_gh.view(k, t_len * b, -1)]
                g_hh = torch.cat([torch.bmm(d.transpose(1, 2), rows[..., : n + 1]) for d in blocks], dim=1)
                g_ih = torch.bmm(flat_d.transpose(1, 2), rows[..., n:]) if needs[2] or needs[3] else None
                col_1 = 0  # g_ih's columns are [1 | x] here
        d_inputs = torch.bmm(d_xp.view(k, t_len * b, gn), weight_ih).view(k, t_len, b, -1) if needs[1] else None
        if d_state0 is not None:
            d_state0 = d_state0[0] if len(d_state0) == 1 else torch.cat(d_state0)
        return (d_xp if needs[0] else None, d_inputs, g_ih[..., col_1 + 1 :] if needs[2] else None,
                g_ih[..., col_1].clone() if needs[3] else None, d_xp if needs[4] else None, d_state0,
                g_hh[..., :n] if needs[6] else None, g_hh[..., n] if needs[7] else None, None)


def _context(act: ActivationGrad, phi: Activation, weight_hh: Tensor, bias_hh: Tensor | None,
             alpha: float = 1.0) -> StepContext:
    bias = None if bias_hh is None else bias_hh.unsqueeze(1)
    return StepContext(weight_hh, weight_hh.transpose(1, 2), bias, phi, act, weight_hh.shape[-1], alpha)


def _chunks(fast: FastCell, k: int, b: int, n: int, like: Tensor) -> list[slice]:
    """The networks in groups whose step's gates ``[C, B, G·N]`` take about CHUNK_BYTES, so that
    a step's working set stays in cache: for cells with whole loops (LSTM; the step cells'
    per-step overhead outweighs it), on one CPU thread. Each group's φ(c) must start on a
    vector boundary of the whole population's contiguous c (C·B·N a multiple of 32 elements),
    so that the numbers stay the same; else one group."""
    c = max(1, CHUNK_BYTES // (b * fast.gates * n * like.element_size()))
    while c < k and (c * b * n) % 32:
        c -= 1
    if c >= k or c == 0 or fast.forward_loop is None or like.device.type != "cpu" or torch.get_num_threads() != 1:
        return [slice(0, k)]
    return [slice(k0, min(k, k0 + c)) for k0 in range(0, k, c)]


def _run_forward(
    spec: _Spec, xp: Tensor | None, inputs: Tensor | None, weight_ih: Tensor | None, bias_ih: Tensor | None,
    noise: Tensor | None, state0: Tensor | None, weight_hh: Tensor, bias_hh: Tensor | None, keep: bool,
) -> tuple[Tensor, Tensor | None, tuple[Tensor, ...]]:
    """The forward without a graph: (output, z, kept buffers), a group of networks at a time
    (:func:`_chunks`).

    With ``keep`` the hidden states go into z ``[K, T+1, B, N+1(+I)]``, whose rows are
    [h_{t−1} | 1 | x_t] (h_{−1}: state0's h or 0), the backward's matmul rows; the output is
    then an alias of z's h part (``hidden_only``) or a copy. Else straight into the output.
    """
    fast, n = spec.fast, weight_hh.shape[-1]
    s = fast.state_factor * n
    with torch.no_grad():
        if xp is None:
            xp = _project(inputs, weight_ih, bias_ih, noise)
        k, t_len, b, _ = xp.shape
        z = None
        if keep:
            z = WORKSPACE.empty((k, t_len + 1, b, n + 1 + (0 if inputs is None else inputs.shape[-1])), xp)
            if state0 is None:
                z[:, 0, :, :n].zero_()
            else:
                z[:, 0, :, :n].copy_(state0[..., :n])
            z[:, :t_len, :, n].fill_(1.0)
            if inputs is not None:
                z[:, :t_len, :, n + 1 :].copy_(inputs)
            h_view = z[:, 1:, :, :n]
            out = _alias(h_view) if spec.hidden_only else WORKSPACE.empty((k, t_len, b, s), xp)
        else:
            out = WORKSPACE.empty((k, t_len, b, n if spec.hidden_only else s), xp)
            h_view = out[..., :n]
        layout = fast.buffers(spec.act, n, k, t_len, b)
        kept = tuple(WORKSPACE.empty(shape, xp) for shape, _ in layout) if keep else ()
        c_all = None
        if out.shape[-1] > n:  # LSTM's c, returned
            c_all = kept[fast.kept_c] if keep else WORKSPACE.empty((t_len, k, b, n), xp)
        for sl in _chunks(fast, k, b, n, xp):
            step = _context(spec.act, spec.phi, weight_hh[sl], None if bias_hh is None else bias_hh[sl], spec.alpha)
            kept_c = tuple(x.narrow(dim, sl.start, sl.stop - sl.start) for x, (_, dim) in zip(kept, layout))
            s0, h_out = None if state0 is None else state0[sl], h_view[sl].unbind(1)
            if fast.forward_loop is not None:
                c_c = None if keep or c_all is None else c_all[:, sl]
                fast.forward_loop(step, xp[sl], s0, kept_c if keep else None, h_out, c_c)
            else:
                _step_forward_loop(fast, step, xp[sl], s0, kept_c if keep else None, h_out)
        if keep and not spec.hidden_only:
            out[..., :n].copy_(h_view)
        if c_all is not None:
            out[..., n:].copy_(c_all.transpose(0, 1))
    return out, z, kept


def _project(inputs: Tensor, weight_ih: Tensor, bias_ih: Tensor, noise: Tensor | None) -> Tensor:
    """xp = baddbmm(b_ih, x, W_ihᵀ) (+ noise), ``[K, T, B, G·N]``, as RNNPopulation.project_inputs."""
    k, t_len, b, i = inputs.shape
    xp = WORKSPACE.empty((k, t_len * b, weight_ih.shape[1]), weight_ih)
    pack_bmm(inputs.reshape(k, t_len * b, i), weight_ih.transpose(1, 2), bias_ih.unsqueeze(1), out=xp)
    if noise is not None:
        xp.add_(noise.reshape(xp.shape).to(xp.dtype))
    return xp.view(k, t_len, b, -1)


def _alias(t: Tensor) -> Tensor:
    """A new tensor on ``t``'s memory that is not a view of it (an autograd output of its own)."""
    return t.new_empty(0).set_(t.untyped_storage(), t.storage_offset(), t.shape, t.stride())


def _step_forward_loop(
    fast: FastCell, step: StepContext, xp: Tensor, state0: Tensor | None, kept: tuple[Tensor, ...] | None,
    h_out: Sequence[Tensor],
) -> None:
    """The time loop of a step cell: state_t into ``h_out[t]``, the values backward needs into
    ``kept`` (one ``[K, T, B, kept·N]`` buffer, or none; None: no graph)."""
    k, t_len, b, _ = xp.shape
    state = state0 if state0 is not None else xp.new_zeros(k, b, fast.state_factor * step.n)
    kept_t = kept[0].unbind(1) if kept else [None] * t_len
    new = (xp.new_empty(state.shape), xp.new_empty(state.shape))  # contiguous, as the update's result
    for t, xp_t in enumerate(xp.unbind(1)):
        fast.forward_step(step, state, xp_t, new[t % 2], kept_t[t])
        state = new[t % 2]
        h_out[t].copy_(state)


def _step_backward_loop(
    fast: FastCell, step: StepContext, kept: Sequence[Tensor], grad_h: Sequence[Tensor], hs: Sequence[Tensor],
    d_xp: Tensor, d_extra: Tensor | None, need_state0: bool,
) -> Tensor | None:
    """δ from the last step to the first, one bmm per step, into ``d_xp`` (and ``d_extra``,
    the ``extra`` blocks of ∂L/∂gh that differ from it); ``hs[t]`` is the state before step t.
    Returns ∂L/∂state0 (or None)."""
    kept_t = kept[0].unbind(1) if kept else [None] * len(grad_h)
    dx_t = d_xp.unbind(1)
    extra_t = d_extra.unbind(1) if d_extra is not None else [None] * len(grad_h)
    shared = (fast.gates - fast.extra) * step.n
    delta = grad_h[-1]
    for t in range(len(grad_h) - 1, -1, -1):
        grad_prev = grad_h[t - 1] if t > 0 else torch.zeros_like(delta)  # the loss's own gradient at state0
        base_h, base_rest = fast.backward_step(step, delta, hs[t], hs[t + 1], kept_t[t], grad_prev, dx_t[t], extra_t[t])
        if t == 0 and not need_state0:
            return None
        d_gh = dx_t[t] if extra_t[t] is None else torch.cat([dx_t[t][..., :shared], extra_t[t]], dim=-1)
        delta = torch.baddbmm(base_h, d_gh, step.weight_hh)
        if base_rest is not None:
            delta = torch.cat([delta, base_rest], dim=-1)
    return delta
