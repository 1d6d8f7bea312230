"""Linearisation around (fixed) points: autograd Jacobians, eigendecomposition, stability classes.

Conventions. Populations step as ``F(h, x)`` with h ``[K, P, S]`` and x ``[K, P, I]``; the
Jacobians returned here are per point: ``∂F/∂h`` ``[K, P, S, S]`` (row i = ∂F_i/∂h) and
``∂F/∂x`` ``[K, P, S, I]``. For discrete maps a direction is unstable when |λ| > 1 + margin;
for continuous-time systems dh/dt = f(h) (``time="continuous"``, J = ∂f/∂h) when
Re λ > margin. Classes: "stable" (every |λ| < 1 − margin, resp. Re λ < −margin), "saddle"
(k ≥ 1 unstable directions; a pure repeller, k = S, is also "saddle" — tell them apart with
``n_unstable``), "marginal" (none unstable but at least one eigenvalue within the margin of
the boundary, e.g. the directions along a line attractor). The default margin 1e-3 matches
the precision of float32-trained weights and of Jacobians at points with q ≈ 1e-12.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Callable, Literal

import numpy as np
import torch

StepFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
TimeKind = Literal["discrete", "continuous"]
STABILITY_CLASSES = ("stable", "saddle", "marginal")
DEFAULT_MARGIN = 1e-3

# Batched vector-Jacobian products: at most this many numbers in one batch of cotangents.
_VJP_BUDGET = 1 << 24


def _expand_inputs(x: torch.Tensor, k: int, p: int) -> torch.Tensor:
    x = torch.as_tensor(x)
    if x.dim() == 1:
        x = x.view(1, 1, -1)
    return x.expand(k, p, x.shape[-1])


def step_jacobians(
    step: StepFn, h: torch.Tensor, x: torch.Tensor, wrt_input: bool = False
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """F(h, x), ∂F/∂h and (optionally) ∂F/∂x in the dtype of ``h``, by reverse mode.

    Networks and points are independent, so one backward pass with the cotangent e_i on every
    point gives row i of every point's Jacobian: S passes in all, batched with vmap
    (``is_grads_batched``) when the step allows it and a plain loop otherwise.
    """
    k, p, s = h.shape
    with torch.enable_grad():
        h = h.detach().clone().requires_grad_(True)
        x = _expand_inputs(x, k, p).detach().clone().requires_grad_(wrt_input)
        out = step(h, x)
        inputs = (h, x) if wrt_input else (h,)
        rows = [torch.empty((s, k, p, t.shape[-1]), dtype=h.dtype, device=h.device) for t in inputs]
        if s == 0:
            return out.detach(), rows[0].permute(1, 2, 0, 3), (rows[1].permute(1, 2, 0, 3) if wrt_input else None)
        eye = torch.eye(s, dtype=out.dtype, device=out.device)
        chunk = max(1, min(s, _VJP_BUDGET // max(1, k * p * s)))
        try:
            for a in range(0, s, chunk):
                b = min(s, a + chunk)
                cot = eye[a:b, None, None, :].expand(b - a, k, p, s)
                grads = torch.autograd.grad(out, inputs, grad_outputs=cot, retain_graph=True,
                                            is_grads_batched=True, allow_unused=True)
                for r, g in zip(rows, grads):
                    r[a:b] = 0 if g is None else g
        except (RuntimeError, NotImplementedError):  # no vmap rule for some op: one pass per row
            for i in range(s):
                cot = eye[i].expand(k, p, s)
                grads = torch.autograd.grad(out, inputs, grad_outputs=cot, retain_graph=True, allow_unused=True)
                for r, g in zip(rows, grads):
                    r[i] = 0 if g is None else g
    j_h = rows[0].permute(1, 2, 0, 3)
    j_x = rows[1].permute(1, 2, 0, 3) if wrt_input else None
    return out.detach(), j_h, j_x


def jacobian(
    step: StepFn, h: torch.Tensor, x: torch.Tensor, wrt_input: bool = True
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """∂F/∂h ``[K, P, S, S]`` and ∂F/∂x ``[K, P, S, I]`` at states h ``[K, P, S]``, inputs x.

    Generic autograd fallback, computed in float64; x may be ``[K, P, I]`` or broadcastable
    (``[K, 1, I]``, ``[I]``). If ``step`` cannot take float64 inputs (e.g. a float32
    population) it is evaluated in h's own dtype, with a warning, and the result cast to float64.
    """
    h64 = torch.as_tensor(h).detach().to(torch.float64)
    x64 = torch.as_tensor(x).detach().to(torch.float64)
    try:
        _, j_h, j_x = step_jacobians(step, h64, x64, wrt_input)
    except (RuntimeError, TypeError):
        h = torch.as_tensor(h).detach()
        if h.dtype == torch.float64:
            raise
        warnings.warn("step rejects float64 inputs; Jacobian computed in the step's own dtype", stacklevel=2)
        _, j_h, j_x = step_jacobians(step, h, torch.as_tensor(x).to(h.dtype), wrt_input)
    return j_h.to(torch.float64), (j_x.to(torch.float64) if j_x is not None else None)


def euler_to_continuous(j_step: torch.Tensor, dt: float) -> torch.Tensor:
    """Jacobian of f for dh/dt = f(h) from that of its Euler map h + dt·f(h): (J − I)/dt."""
    eye = torch.eye(j_step.shape[-1], dtype=j_step.dtype, device=j_step.device)
    return (j_step - eye) / dt


@dataclass
class Eigendecomposition:
    """J = R diag(λ) L with L R = I, batched over leading dimensions.

    ``eigenvalues`` ``[..., S]`` (complex), ``right`` ``[..., S, S]`` (columns: J r = λ r, unit
    2-norm), ``left`` ``[..., S, S]`` (rows: l J = λ l, scaled so that L R = I).
    """

    eigenvalues: torch.Tensor
    right: torch.Tensor
    left: torch.Tensor


def eigendecompose(j: torch.Tensor, sort: Literal["abs", "real", "none"] = "abs") -> Eigendecomposition:
    """Eigenvalues with right and left eigenvectors of (non-normal) J ``[..., S, S]``.

    Left eigenvectors are the rows of R⁻¹, so L R = I holds by construction (the biorthogonal
    pair needed to project onto modes of a non-normal J); near-defective J makes R
    ill-conditioned and L correspondingly large. Modes are sorted by decreasing |λ| ("abs",
    discrete time), decreasing Re λ ("real", continuous time) or left in LAPACK order.
    """
    j = torch.as_tensor(j)
    if not j.is_complex():
        j = j.to(torch.float64)
    lam, right = _robust_eig(j)
    if sort != "none":
        key = lam.abs() if sort == "abs" else lam.real
        order = torch.argsort(key, dim=-1, descending=True, stable=True)
        lam = torch.gather(lam, -1, order)
        right = torch.gather(right, -1, order.unsqueeze(-2).expand_as(right))
    left, info = torch.linalg.inv_ex(right)
    left = torch.where((info != 0)[..., None, None], torch.full_like(left, complex("nan")), left)
    return Eigendecomposition(lam, right, left)


def _robust_eig(j: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Batched eig that never raises on a bad matrix: a Jacobian with non-finite entries, or one
    LAPACK fails on, gets NaN eigenvalues and eigenvectors (recorded, not a crashed job)."""
    s = j.shape[-1]
    flat = j.reshape(-1, s, s)
    finite = torch.isfinite(flat).all(-1).all(-1)
    safe = torch.where(finite[:, None, None], flat, torch.zeros_like(flat))
    try:
        lam, right = torch.linalg.eig(safe)
    except RuntimeError:  # one ill-conditioned matrix fails the whole batch: go one by one
        lam = torch.empty(flat.shape[:-1], dtype=torch.complex128 if flat.dtype == torch.float64 else torch.complex64)
        right = torch.empty(flat.shape, dtype=lam.dtype)
        for i in range(flat.shape[0]):
            try:
                lam[i], right[i] = torch.linalg.eig(safe[i])
            except RuntimeError:
                finite[i] = False
    nan = complex("nan")
    lam = torch.where(finite[:, None], lam, torch.full_like(lam, nan))
    right = torch.where(finite[:, None, None], right, torch.full_like(right, nan))
    return lam.reshape(j.shape[:-1]), right.reshape(j.shape)


def count_unstable(
    eigenvalues: torch.Tensor, time: TimeKind = "discrete", margin: float = DEFAULT_MARGIN
) -> torch.Tensor:
    """Number of unstable directions per point: |λ| > 1 + margin (discrete) or Re λ > margin."""
    return (_growth(eigenvalues, time) > margin).sum(-1)


def stability(
    eigenvalues: torch.Tensor, time: TimeKind = "discrete", margin: float = DEFAULT_MARGIN
) -> tuple[torch.Tensor, np.ndarray]:
    """``(n_unstable, classes)`` for eigenvalues ``[..., S]``; classes is a str array ``[...]``.

    See the module docstring for the rule; growth is |λ| − 1 (discrete) or Re λ (continuous).
    """
    g = _growth(eigenvalues, time)
    n_unstable = (g > margin).sum(-1)
    stable = (g < -margin).all(-1)
    codes = torch.where(n_unstable > 0, 1, torch.where(stable, 0, 2))
    classes = np.asarray(STABILITY_CLASSES, dtype=object)[codes.cpu().numpy()].astype(str)
    return n_unstable, classes


def _growth(eigenvalues: torch.Tensor, time: TimeKind) -> torch.Tensor:
    lam = torch.as_tensor(eigenvalues)
    if time == "discrete":
        return lam.abs() - 1.0
    if time == "continuous":
        return lam.real if lam.is_complex() else lam
    raise ValueError(f"time must be 'discrete' or 'continuous', got {time!r}")


@dataclass
class Linearization:
    """Everything about the linearised dynamics at a batch of points ``[K, P]``."""

    jacobian: torch.Tensor  # ∂F/∂h [K, P, S, S], float64 (∂f/∂h in continuous time)
    input_jacobian: torch.Tensor | None  # ∂F/∂x [K, P, S, I] (∂f/∂x in continuous time)
    eig: Eigendecomposition
    n_unstable: torch.Tensor  # [K, P]
    classes: np.ndarray  # [K, P] of "stable" | "saddle" | "marginal"


def linearize_points(
    step: StepFn, h: torch.Tensor, x: torch.Tensor, time: TimeKind = "discrete",
    margin: float = DEFAULT_MARGIN, dt: float | None = None,
) -> Linearization:
    """Jacobians, eigendecomposition and stability classes of ``step`` at points h (float64).

    For ``time="continuous"`` the step is taken to be the Euler map h + dt·f(h) of the ODE, so
    ``dt`` is required and the eigenvalues are those of ∂f/∂h = (∂F/∂h − I)/dt.
    """
    j_h, j_x = jacobian(step, h, x)
    j = j_h
    if time == "continuous":
        if dt is None:
            raise ValueError("time='continuous' needs the Euler step dt of the map")
        j = euler_to_continuous(j_h, dt)
        j_x = j_x / dt if j_x is not None else None
    eig = eigendecompose(j, sort="abs" if time == "discrete" else "real")
    n_unstable, classes = stability(eig.eigenvalues, time, margin)
    return Linearization(j, j_x, eig, n_unstable, classes)
