"""Training a population of 2-D continuous-time RNNs on the toy task (seed 000 §1.1).

Task (our choice; the main paper's Eq. 1–2 are not in the seed, SPEC §3 asks for a target
state at the end of one trajectory): a single trajectory from the fixed initial state
``x0`` must be at ``target`` at time ``t_final``; the loss is the squared distance
L = ‖x(t_final) − target‖² (summed over the two units). Defaults x0 = (1, 0), target
(0, 2), t_final = 5 τ: the target is twice as far from the origin as the start and a quarter
turn away, so a network must rotate and grow. In a pilot (150 networks per φ, 2,000 epochs)
this gave what the supplement reports: tanh solutions split into non-zero fixed points with
a saddle at the origin and limit cycles, no stable origin; relu solutions into stable origins
with transient amplification and divergent trajectories, no limit cycles. (x0 = (1, 0) →
(0, 1) also gave stable-origin tanh solutions, which the supplement says are absent.)

Training (supplement §1.1): plain gradient descent, no momentum, learning rate 0.03; each
network's gradient is divided by its own Frobenius norm and multiplied by √L before the
update (so every network moves by lr·√L per epoch whatever its gradient's size); 2,000
epochs; a network is accepted when its final L < 1e-5. All K networks are one batched
integration; a network whose loss or update becomes non-finite is frozen and recorded as
failed with its reason, and never stops the others.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch

from ..models.ctrnn2d import DT, SENSITIVITY_ACTIVATIONS, CTRNN2DPopulation, rk4_with_sensitivity


@dataclass
class Toy2DTask:
    """Reach ``target`` at time ``t_final`` (units of τ) from ``x0``."""

    x0: tuple[float, float] = (1.0, 0.0)
    target: tuple[float, float] = (0.0, 2.0)
    t_final: float = 5.0

    def loss(self, x_final: torch.Tensor) -> torch.Tensor:
        """Squared distance to the target per network, from final states ``[K, 1, 2]`` → ``[K]``."""
        target = torch.as_tensor(self.target, dtype=x_final.dtype, device=x_final.device)
        return (x_final[:, 0, :] - target).pow(2).sum(-1)


@dataclass
class Toy2DSettings:
    epochs: int = 2000
    learning_rate: float = 0.03
    accept_loss: float = 1e-5
    dt: float = DT
    stop_loss: float | None = None  # freeze a network once below (None: train every epoch, as the source)


@dataclass
class Toy2DResult:
    weight_init: np.ndarray  # [K, 2, 2]
    weight: np.ndarray  # [K, 2, 2] after training
    loss_curve: np.ndarray  # [K, epochs] loss before each update (NaN after a failure)
    final_loss: np.ndarray  # [K] loss of the final weights (inf if failed)
    accepted: np.ndarray  # [K] bool
    failed: np.ndarray  # [K] bool
    failure_reason: list[str] = field(default_factory=list)
    wall_time: float = 0.0


def normalised_gd_step(weight: torch.Tensor, grad: torch.Tensor, loss: torch.Tensor, lr: float, active: torch.Tensor) -> torch.Tensor:
    """W ← W − lr · √L · g / ‖g‖_F, per network; networks with zero gradient or not active stay."""
    norm = torch.linalg.matrix_norm(grad)  # Frobenius, [K]
    ok = active & (norm > 0) & torch.isfinite(norm)
    scale = torch.where(ok, lr * loss.clamp(min=0).sqrt() / torch.where(ok, norm, torch.ones_like(norm)), torch.zeros_like(norm))
    return weight - scale.view(-1, 1, 1) * torch.nan_to_num(grad)


def _loss_and_gradient(population: CTRNN2DPopulation, task: Toy2DTask, dt: float, x0: torch.Tensor):
    """Each network's loss ``[K]`` and a function ``active ↦ ∂L/∂W`` (0 for inactive networks).

    On the CPU in float64 (tanh, relu) by forward sensitivities (``rk4_with_sensitivity``, the
    same gradient as autograd up to rounding, ~2x faster); otherwise by autograd through ``rk4``.
    """
    w = population.weight
    if w.device.type == "cpu" and w.dtype == torch.float64 and population.activation in SENSITIVITY_ACTIVATIONS:
        x_final, dx_dw = rk4_with_sensitivity(w.detach().numpy(), x0.numpy(), task.t_final, population.activation, dt)
        residual = x_final - np.asarray(task.target, dtype=np.float64)
        loss = torch.from_numpy((residual ** 2).sum(-1))
        with np.errstate(invalid="ignore", over="ignore"):
            grad = torch.from_numpy(2.0 * np.einsum("ki,kijl->kjl", residual, dx_dw))

        def sensitivity_gradient(active: torch.Tensor) -> torch.Tensor:
            return torch.where(active.view(-1, 1, 1), grad, torch.zeros_like(grad))
        return loss, sensitivity_gradient
    x_final, _ = population(x0, task.t_final, dt)
    loss = task.loss(x_final)

    def autograd_gradient(active: torch.Tensor) -> torch.Tensor:
        (g,) = torch.autograd.grad(torch.where(active, loss, torch.zeros_like(loss)).sum(), w)
        return g
    return loss.detach(), autograd_gradient


def train_toy2d(
    population: CTRNN2DPopulation, task: Toy2DTask | None = None, settings: Toy2DSettings | None = None
) -> Toy2DResult:
    """Train every network of ``population`` in place; returns curves, final losses and acceptance."""
    task = task or Toy2DTask()
    s = settings or Toy2DSettings()
    w = population.weight
    k = population.n_networks
    x0 = torch.as_tensor(task.x0, dtype=w.dtype, device=w.device)
    weight_init = w.detach().cpu().numpy().copy()
    curve = np.full((k, s.epochs), np.nan, dtype=np.float64)
    active = torch.ones(k, dtype=torch.bool, device=w.device)
    failed = np.zeros(k, dtype=bool)
    reasons = [""] * k
    start = time.perf_counter()
    for epoch in range(s.epochs):
        loss, grad_of = _loss_and_gradient(population, task, s.dt, x0)
        finite = torch.isfinite(loss)
        for i in torch.nonzero(active & ~finite).flatten().tolist():
            failed[i], reasons[i] = True, f"non-finite loss at epoch {epoch}"
        active &= finite
        grad = grad_of(active)
        with torch.no_grad():
            new = normalised_gd_step(w, grad, loss.detach(), s.learning_rate, active)
            bad = active & ~torch.isfinite(new).all(dim=(1, 2))
            for i in torch.nonzero(bad).flatten().tolist():
                failed[i], reasons[i] = True, f"non-finite update at epoch {epoch}"
            active &= ~bad
            w.copy_(torch.where(active.view(-1, 1, 1), new, w))
        values = loss.detach().cpu().numpy()
        curve[~failed, epoch] = values[~failed]
        if s.stop_loss is not None:
            active &= ~(loss.detach() < s.stop_loss)
    with torch.no_grad():
        x_final, _ = population(x0, task.t_final, s.dt)
        final = task.loss(x_final).cpu().numpy()
    final = np.where(failed | ~np.isfinite(final), np.inf, final)
    return Toy2DResult(
        weight_init=weight_init, weight=w.detach().cpu().numpy().copy(), loss_curve=curve, final_loss=final,
        accepted=final < s.accept_loss, failed=failed, failure_reason=reasons, wall_time=time.perf_counter() - start,
    )
