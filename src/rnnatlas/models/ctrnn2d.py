"""Populations of 2-unit continuous-time RNNs, dx/dt = −x + W φ(x) (seed 000 §1; SPEC §2).

K networks are one module with weights ``W [K, 2, 2]``; states are ``[K, B, 2]``. Time is
in units of the neurons' time constant (τ = 1). Integration is classic fixed-step RK4
(``rk4``), differentiable with autograd; the default step ``DT = 0.1`` keeps the
trajectory error around 1e-6 over the task's 5 time units (tests compare it with
``scipy.integrate.solve_ivp`` at rtol 1e-10), far below the accuracy the 1e-5 loss asks
for (‖x(T) − target‖ ≈ 3e-3); halving it doubles the cost of training.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch
from torch import nn

from .activations import get_activation

DT = 0.1
WEIGHT_RANGE = 1.5  # W iid U(−1.5, 1.5)


def rk4(
    f: Callable[[torch.Tensor], torch.Tensor], x0: torch.Tensor, t_final: float, dt: float = DT,
    return_trajectory: bool = False, record_every: int = 1,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Integrate the autonomous ODE dx/dt = f(x) from x0 to ``t_final`` with fixed-step RK4.

    The number of steps is round(t_final / dt) (the step is adjusted so they land exactly on
    t_final). Returns the final state and, on request, the states at t = 0, every
    ``record_every`` steps, stacked on a new dimension after the first (``[K, S, ...]``).
    """
    n = max(1, int(round(t_final / dt)))
    h = t_final / n
    x = x0
    traj = [x0] if return_trajectory else None
    for i in range(n):
        k1 = f(x)
        k2 = f(x + 0.5 * h * k1)
        k3 = f(x + 0.5 * h * k2)
        k4 = f(x + h * k3)
        x = x + (h / 6.0) * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
        if traj is not None and (i + 1) % record_every == 0:
            traj.append(x)
    return x, (torch.stack(traj, dim=1) if traj is not None else None)


class CTRNN2DPopulation(nn.Module):
    """K two-unit networks dx/dt = −x + W φ(x); ``weight`` is ``[K, 2, 2]``."""

    def __init__(self, weight: torch.Tensor, activation: str = "tanh") -> None:
        super().__init__()
        if weight.dim() != 3 or weight.shape[1:] != (2, 2):
            raise ValueError(f"weight must be [K, 2, 2], got {tuple(weight.shape)}")
        self.activation = activation
        self.phi = get_activation(activation)
        self.weight = nn.Parameter(weight.clone())

    @classmethod
    def random(
        cls, n_networks: int, activation: str = "tanh", generator: torch.Generator | None = None,
        scale: float = WEIGHT_RANGE, dtype: torch.dtype = torch.float64,
    ) -> "CTRNN2DPopulation":
        """W with iid entries U(−scale, scale)."""
        w = (torch.rand(n_networks, 2, 2, generator=generator, dtype=dtype) * 2 - 1) * scale
        return cls(w, activation)

    @classmethod
    def from_seeds(cls, seeds: list[int], activation: str = "tanh", dtype: torch.dtype = torch.float64) -> "CTRNN2DPopulation":
        """One network per seed, each drawn from its own generator (independent of its pack-mates)."""
        w = torch.stack([
            (torch.rand(2, 2, generator=torch.Generator().manual_seed(int(s)), dtype=dtype) * 2 - 1) * WEIGHT_RANGE
            for s in seeds
        ])
        return cls(w, activation)

    @property
    def n_networks(self) -> int:
        return self.weight.shape[0]

    def vector_field(self, x: torch.Tensor) -> torch.Tensor:
        """dx/dt = −x + W φ(x) for states ``[K, B, 2]``."""
        return -x + torch.bmm(self.phi(x), self.weight.transpose(1, 2))

    def forward(
        self, x0: torch.Tensor, t_final: float, dt: float = DT, return_trajectory: bool = False, record_every: int = 1
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Integrate from ``x0`` (``[K, B, 2]``, or ``[2]`` shared by all) to ``t_final``."""
        if x0.dim() == 1:
            x0 = x0.to(self.weight).expand(self.n_networks, 1, 2)
        return rk4(self.vector_field, x0, t_final, dt, return_trajectory, record_every)


SENSITIVITY_ACTIVATIONS = ("tanh", "relu")


def rk4_with_sensitivity(
    weight: np.ndarray, x0: np.ndarray, t_final: float, activation: str, dt: float = DT
) -> tuple[np.ndarray, np.ndarray]:
    """Final states ``[K, 2]`` of :func:`rk4` and their derivatives ∂x(t_final)/∂W ``[K, 2, 2, 2]``.

    Forward sensitivities: RK4 applied to the state together with S = ∂x/∂W, whose equation is
    dS/dt = (−I + W diag φ'(x)) S + ∂f/∂W (∂f_i/∂W_jl = δ_ij φ_l(x)). For an explicit
    Runge–Kutta scheme this is exactly the derivative of the discrete map (the stages are
    differentiated with it), i.e. what autograd through :func:`rk4` gives, without storing a
    graph: on the CPU, with 2 × 2 networks, ~2x faster than autograd's backward pass, whose cost
    is per-operation overhead. Component-wise numpy in float64; ``x0`` is ``[2]``, shared.
    """
    if activation not in SENSITIVITY_ACTIVATIONS:
        raise ValueError(f"no sensitivity equations for activation {activation!r}; "
                         f"allowed: {', '.join(SENSITIVITY_ACTIVATIONS)}")
    w = np.asarray(weight, dtype=np.float64)
    k = w.shape[0]
    w00, w01, w10, w11 = (np.ascontiguousarray(w[:, i, j]) for i, j in ((0, 0), (0, 1), (1, 0), (1, 1)))
    n = max(1, int(round(t_final / dt)))
    h = t_final / n

    def field(z: np.ndarray, out: np.ndarray) -> np.ndarray:
        # z rows: x1, x2, then S row 1 (∂x1/∂W00, ∂W01, ∂W10, ∂W11) and S row 2.
        x1, x2 = z[0], z[1]
        if activation == "tanh":
            p1, p2 = np.tanh(x1), np.tanh(x2)
            d1, d2 = 1.0 - p1 * p1, 1.0 - p2 * p2
        else:  # relu; φ'(0) = 0, as autograd's
            p1, p2 = np.maximum(x1, 0.0), np.maximum(x2, 0.0)
            d1, d2 = (x1 > 0).astype(np.float64), (x2 > 0).astype(np.float64)
        out[0] = w00 * p1 + w01 * p2 - x1
        out[1] = w10 * p1 + w11 * p2 - x2
        s1, s2 = z[2:6], z[6:10]
        np.multiply(w00 * d1 - 1.0, s1, out=out[2:6])
        out[2:6] += (w01 * d2) * s2
        np.multiply(w10 * d1, s1, out=out[6:10])
        out[6:10] += (w11 * d2 - 1.0) * s2
        out[2] += p1
        out[3] += p2
        out[8] += p1
        out[9] += p2
        return out

    z = np.zeros((10, k))
    z[0], z[1] = float(x0[0]), float(x0[1])
    k1, k2, k3, k4 = (np.empty_like(z) for _ in range(4))
    with np.errstate(over="ignore", invalid="ignore"):  # diverging networks: the caller sees inf/NaN
        for _ in range(n):
            field(z, k1)
            field(z + (0.5 * h) * k1, k2)
            field(z + (0.5 * h) * k2, k3)
            field(z + h * k3, k4)
            z += (h / 6.0) * (k1 + 2.0 * (k2 + k3) + k4)
    return np.ascontiguousarray(z[:2].T), np.ascontiguousarray(z[2:].T).reshape(k, 2, 2, 2)


def jacobian(weight: torch.Tensor, x: torch.Tensor, activation: str) -> torch.Tensor:
    """∂(dx/dt)/∂x = −I + W diag(φ'(x)) at states ``[K, M, 2]`` → ``[K, M, 2, 2]``.

    For relu, φ'(0) is taken as 0 (the derivative from the left); analyses that care about
    the origin of a relu network look at each orthant (see :func:`relu_orthant_matrices`).
    """
    if activation == "tanh":
        d = 1.0 - torch.tanh(x) ** 2
    elif activation == "relu":
        d = (x > 0).to(x.dtype)
    elif activation == "linear":
        d = torch.ones_like(x)
    else:
        raise ValueError(f"no derivative for activation {activation!r}")
    eye = torch.eye(2, dtype=x.dtype, device=x.device)
    return -eye + weight.unsqueeze(1) * d.unsqueeze(-2)


def relu_orthant_matrices(weight: torch.Tensor) -> torch.Tensor:
    """W D − I for the four activity patterns D of a relu network: ``[K, 4, 2, 2]``.

    Patterns in order (x1>0, x2>0): (0,0), (1,0), (0,1), (1,1). Inside an orthant the
    dynamics are linear with this matrix, so the network is positively homogeneous.
    """
    patterns = torch.tensor([[0, 0], [1, 0], [0, 1], [1, 1]], dtype=weight.dtype, device=weight.device)
    eye = torch.eye(2, dtype=weight.dtype, device=weight.device)
    return -eye + weight.unsqueeze(1) * patterns.view(1, 4, 1, 2)


@torch.no_grad()
def tanh_fixed_points(
    weight: torch.Tensor, grid: int = 9, iterations: int = 60, tol: float = 1e-10, unique_tol: float = 1e-6
) -> list[torch.Tensor]:
    """All fixed points x = W tanh(x) of each network, ``list of [n_k, 2]``, by multi-start Newton.

    Every fixed point lies in the box |x_i| ≤ Σ_j |W_ij| (|tanh| < 1), so Newton is started
    from a ``grid × grid`` lattice over that box (plus the origin); converged points
    (‖−x + W tanh(x)‖ < tol) are de-duplicated. In 2-D with |W_ij| ≤ 1.5 the lattice finds
    every isolated fixed point in practice (checked in tests against exhaustive search).
    """
    w = weight.to(torch.float64)
    k = w.shape[0]
    box = w.abs().sum(dim=2)  # [K, 2]
    u = torch.linspace(-1.0, 1.0, grid, dtype=torch.float64)
    lattice = torch.stack(torch.meshgrid(u, u, indexing="ij"), dim=-1).reshape(-1, 2)
    lattice = torch.cat([torch.zeros(1, 2, dtype=torch.float64), lattice])
    x = lattice.unsqueeze(0) * box.unsqueeze(1)  # [K, M, 2]
    for _ in range(iterations):
        g = -x + torch.bmm(torch.tanh(x), w.transpose(1, 2))
        j = jacobian(w, x, "tanh")
        det = j[..., 0, 0] * j[..., 1, 1] - j[..., 0, 1] * j[..., 1, 0]
        ok = det.abs() > 1e-14
        safe = torch.where(ok, det, torch.ones_like(det))
        dx0 = (j[..., 1, 1] * g[..., 0] - j[..., 0, 1] * g[..., 1]) / safe
        dx1 = (-j[..., 1, 0] * g[..., 0] + j[..., 0, 0] * g[..., 1]) / safe
        step = torch.stack([dx0, dx1], dim=-1) * ok.unsqueeze(-1)
        x = (x - step).clamp(-box.unsqueeze(1) - 1.0, box.unsqueeze(1) + 1.0)
    resid = torch.linalg.vector_norm(-x + torch.bmm(torch.tanh(x), w.transpose(1, 2)), dim=-1)
    xs, ok = x.numpy(), (resid < tol).numpy()
    out = []
    for i in range(k):
        keep: list[np.ndarray] = []
        for p in xs[i][ok[i]]:
            if all(np.linalg.norm(p - q) > unique_tol for q in keep):
                keep.append(p)
        keep.sort(key=lambda p: (round(float(p[0]), 6), round(float(p[1]), 6)))
        out.append(torch.as_tensor(np.array(keep)) if keep else torch.zeros(0, 2, dtype=torch.float64))
    return out


def trace_determinant(weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Trace τ and determinant Δ of each 2×2 matrix ``[K, 2, 2]`` → ``[K]`` each (supplement
    Fig. 2 plots them for W − I, the linearisation at the origin)."""
    w = weight.detach()
    return w[:, 0, 0] + w[:, 1, 1], w[:, 0, 0] * w[:, 1, 1] - w[:, 0, 1] * w[:, 1, 0]


__all__ = [
    "CTRNN2DPopulation", "DT", "SENSITIVITY_ACTIVATIONS", "WEIGHT_RANGE", "jacobian", "relu_orthant_matrices",
    "rk4", "rk4_with_sensitivity", "tanh_fixed_points", "trace_determinant",
]
