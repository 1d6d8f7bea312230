"""What the linearised dynamics around fixed points say about the computation (SPEC §5).

- Sine: the frequency of the dominant complex pair, |arg λ| / 2π cycles per step, against the
  command frequency ω (Maheswaranathan et al. 2019, Fig. 2d, f).
- CDI: the response of the linear system h ↦ h* + J (h − h*) to one unit input pulse on the
  cued stream, read out after the trial's length, keeping the m modes of largest |λ|
  (m = S … 1; Fig. 3f: removing modes from the smallest |λ| up shows how many modes carry the
  integration).
"""

from __future__ import annotations

import math

import torch


def oscillation_frequency(eigenvalues: torch.Tensor, min_imag: float = 1e-9) -> torch.Tensor:
    """Cycles per step of the complex eigenvalue of largest modulus, ``[...]`` from ``[..., S]``.

    Only eigenvalues with |Im λ| > ``min_imag`` count (a real eigenvalue does not oscillate);
    NaN where there is none.
    """
    lam = torch.as_tensor(eigenvalues)
    if not lam.is_complex():
        lam = lam.to(torch.complex128)
    complex_ = lam.imag.abs() > min_imag
    modulus = torch.where(complex_, lam.abs(), -1.0)
    best = modulus.argmax(-1, keepdim=True)
    freq = torch.gather(lam, -1, best).squeeze(-1).angle().abs() / (2 * math.pi)
    return torch.where(complex_.any(-1), freq, math.nan)


def mode_response(
    eigenvalues: torch.Tensor, right: torch.Tensor, left: torch.Tensor, input_vector: torch.Tensor,
    readout: torch.Tensor, n_steps: int,
) -> torch.Tensor:
    """Readout change ``n_steps`` steps after a unit input pulse, keeping the m largest modes.

    With J = R diag(λ) L, a pulse b (a column of ∂F/∂x) leaves the linear system at
    Σ_i r_i λ_i^(n_steps−1) (l_i · b) after ``n_steps`` steps (the pulse is the first of
    them); the readout is w · that. Returns ``[..., S]``: entry m−1 keeps the m modes of
    largest |λ|. A perfect integrator with unit gain answers 1 for every m that includes its
    integrating mode. Shapes: eigenvalues ``[..., S]``, right/left ``[..., S, S]`` (columns /
    rows are modes), input_vector and readout ``[..., S]``.
    """
    lam = torch.as_tensor(eigenvalues).to(torch.complex128)
    order = torch.argsort(lam.abs(), dim=-1, descending=True, stable=True)
    lam = torch.gather(lam, -1, order)
    r = torch.gather(torch.as_tensor(right).to(torch.complex128), -1, order.unsqueeze(-2).expand_as(right))
    l = torch.gather(torch.as_tensor(left).to(torch.complex128), -2, order.unsqueeze(-1).expand_as(left))
    b = torch.as_tensor(input_vector).to(torch.complex128)
    w = torch.as_tensor(readout).to(torch.complex128)
    along = (l @ b.unsqueeze(-1)).squeeze(-1)  # l_i · b
    seen = (w.unsqueeze(-2) @ r).squeeze(-2)  # w · r_i
    terms = seen * lam.pow(n_steps - 1) * along
    return torch.cumsum(terms, dim=-1).real
