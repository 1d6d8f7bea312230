"""Initialisation schemes by name (``NetworkSpec.init``); the registry is open to new ones.

A scheme initialises ONE network from its own seed, so a network's weights never depend on
its pack-mates: ``scheme(population, seed)`` returns that network's value for every parameter
of ``population`` (shapes without the K dimension, any float dtype; the population casts them
to its own dtype). It may read the population's shape (``arch``, ``cell``, ``n_units``,
``n_inputs``, ``n_outputs``, ``params``) but must not change it.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Callable

import torch

if TYPE_CHECKING:
    from .population import RNNPopulation

Initialisation = Callable[["RNNPopulation", int], dict[str, torch.Tensor]]

INITIALISATIONS: dict[str, Initialisation] = {}


def register_initialisation(name: str, scheme: Initialisation | None = None):
    """Register ``scheme`` under ``name`` (also usable as a decorator: ``@register_initialisation("x")``).
    A name already taken by a different scheme is an error, so two schemes cannot shadow each other."""

    def add(fn: Initialisation) -> Initialisation:
        if INITIALISATIONS.get(name, fn) is not fn:
            raise ValueError(f"initialisation {name!r} is already registered")
        INITIALISATIONS[name] = fn
        return fn

    return add if scheme is None else add(scheme)


def get_initialisation(name: str) -> Initialisation:
    """The scheme called ``name``; an unknown name is an error listing the registered ones."""
    if name not in INITIALISATIONS:
        raise ValueError(f"unknown initialisation {name!r}; allowed: {', '.join(INITIALISATIONS)}")
    return INITIALISATIONS[name]


@register_initialisation("uniform")
def uniform(population: "RNNPopulation", seed: int) -> dict[str, torch.Tensor]:
    """PyTorch's RNN/GRU/LSTM default: every cell weight and bias and the readout weights
    ~ U(−1/√N, 1/√N), drawn in float64 in parameter order from a generator seeded with
    ``seed``; readout bias 0. (The scheme of every network trained before schemes had names.)"""
    bound = 1.0 / math.sqrt(population.n_units)
    gen = torch.Generator().manual_seed(int(seed))
    values = {}
    for name, p in population.params.items():
        v = torch.rand(p.shape[1:], generator=gen, dtype=torch.float64) * 2 * bound - bound
        if name == "bias_out":
            v.zero_()
        values[name] = v
    return values
