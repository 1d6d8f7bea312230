"""Fixed structural masks by name (``NetworkSpec.mask``); the registry is open to new ones.

A mask is a set of 0/1 tensors, one per masked parameter, with the parameter's full shape
``[K, ...]``: masked entries are 0 at initialisation and stay exactly 0 through training
(the optimizer multiplies both the gradient and the updated value by the mask). ``""`` is no
mask. A builder gets the population and returns ``{parameter name: mask}``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import torch

if TYPE_CHECKING:
    from .population import RNNPopulation

MaskBuilder = Callable[["RNNPopulation"], dict[str, torch.Tensor]]

MASKS: dict[str, MaskBuilder] = {}


def register_mask(name: str, builder: MaskBuilder | None = None):
    """Register a mask builder under ``name`` (also usable as a decorator)."""

    def add(fn: MaskBuilder) -> MaskBuilder:
        if MASKS.get(name, fn) is not fn:
            raise ValueError(f"mask {name!r} is already registered")
        MASKS[name] = fn
        return fn

    return add if builder is None else add(builder)


def structural_masks(name: str, population: "RNNPopulation") -> dict[str, torch.Tensor]:
    """The masks called ``name`` for ``population``; an unknown name lists the registered ones."""
    if name not in MASKS:
        raise ValueError(f"unknown mask {name!r}; allowed: {', '.join(repr(m) for m in MASKS)}")
    return MASKS[name](population)


@torch.no_grad()
def apply_masks(population: "RNNPopulation", masks: dict[str, torch.Tensor]) -> None:
    """Set the masked entries of the population's parameters to exactly +0."""
    for name, mask in masks.items():
        p = population.params[name]
        p.masked_fill_(mask.to(p.device) == 0, 0.0)


register_mask("", lambda population: {})


@register_mask("zero_diagonal")
def zero_diagonal(population: "RNNPopulation") -> dict[str, torch.Tensor]:
    """No self-connections: the diagonal of W_hh is 0 (for gated cells, the diagonal of every
    N×N gate block, so no unit sees its own state in any gate)."""
    w = population.params["weight_hh"]
    n = population.n_units
    mask = torch.ones_like(w)
    units = torch.arange(n, device=w.device)
    for g in range(w.shape[1] // n):
        mask[:, g * n + units, units] = 0
    return {"weight_hh": mask}
