"""Initialisation schemes by name (``NetworkSpec.init``); the registry is open to new ones.

A scheme initialises ONE network from its own seed, so a network's weights never depend on
its pack-mates: ``scheme(population, seed, **options)`` returns that network's value for every
parameter of ``population`` (shapes without the K dimension, any float dtype; the population
casts them to its own dtype). It may read the population's shape (``arch``, ``cell``,
``n_units``, ``n_inputs``, ``n_outputs``, ``params``) but must not change it. Its options
(``NetworkSpec.init_options``) are keyword arguments: the names a scheme accepts are those of
its signature, and a scheme may register a ``check`` of their values, so
:func:`check_init_options` can refuse a bad set before anything is drawn.
"""

from __future__ import annotations

import inspect
import math
import numbers
from typing import TYPE_CHECKING, Any, Callable, Mapping

import torch

if TYPE_CHECKING:
    from .population import RNNPopulation

Initialisation = Callable[..., dict[str, torch.Tensor]]  # (population, seed, **options) -> values
OptionsCheck = Callable[..., None]  # (**options) -> None; raises ValueError naming what is allowed

INITIALISATIONS: dict[str, Initialisation] = {}
OPTION_CHECKS: dict[str, OptionsCheck] = {}


def register_initialisation(name: str, scheme: Initialisation | None = None, check: OptionsCheck | None = None):
    """Register ``scheme`` under ``name`` (also usable as a decorator: ``@register_initialisation("x")``),
    with an optional ``check(**options)`` of its option values. A name already taken by a
    different scheme is an error, so two schemes cannot shadow each other."""

    def add(fn: Initialisation) -> Initialisation:
        if INITIALISATIONS.get(name, fn) is not fn:
            raise ValueError(f"initialisation {name!r} is already registered")
        INITIALISATIONS[name] = fn
        if check is not None:
            OPTION_CHECKS[name] = check
        return fn

    return add if scheme is None else add(scheme)


def get_initialisation(name: str) -> Initialisation:
    """The scheme called ``name``; an unknown name is an error listing the registered ones."""
    if name not in INITIALISATIONS:
        raise ValueError(f"unknown initialisation {name!r}; allowed: {', '.join(INITIALISATIONS)}")
    return INITIALISATIONS[name]


def _option_names(scheme: Initialisation) -> tuple[list[str], list[str]]:
    """(required, optional) keyword options of a scheme, from its signature."""
    params = list(inspect.signature(scheme).parameters.values())[2:]  # after (population, seed)
    kinds = (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    named = [p for p in params if p.kind in kinds]
    return [p.name for p in named if p.default is p.empty], [p.name for p in named if p.default is not p.empty]


def check_init_options(name: str, options: Mapping[str, Any]) -> None:
    """Raise ValueError unless scheme ``name`` exists and accepts exactly these options: every
    name one of its options, every required one given, every value passing its check."""
    scheme = get_initialisation(name)
    required, optional = _option_names(scheme)
    unknown = sorted(set(options) - set(required) - set(optional))
    missing = [r for r in required if r not in options]
    if unknown or missing:
        allowed = ", ".join([*(f"{r} (required)" for r in required), *optional]) or "none"
        what = "; ".join([*([f"unknown option(s) {unknown}"] if unknown else []),
                          *([f"missing required option(s) {missing}"] if missing else [])])
        raise ValueError(f"initialisation {name!r}: {what}; its options: {allowed}")
    if name in OPTION_CHECKS:
        OPTION_CHECKS[name](**options)


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


# recurrent option of rate_gaussian → std of W_hh (and W_out) for N units
RATE_RECURRENT_STD: dict[str, Callable[[int], float]] = {
    "variance_rsqrt_n": lambda n: n ** -0.25,  # variance 1/√N, the note (seed 001) as written
    "std_rsqrt_n": lambda n: n ** -0.5,  # std 1/√N
}


def _check_rate_gaussian(*, input_std: Any, recurrent: Any = "variance_rsqrt_n") -> None:
    """Option values of ``rate_gaussian``: a finite input_std > 0 and a known recurrent rule."""
    if isinstance(input_std, bool) or not isinstance(input_std, numbers.Real) or not (
            math.isfinite(input_std) and input_std > 0):
        raise ValueError(f"initialisation 'rate_gaussian': option 'input_std' must be a finite number > 0, got {input_std!r}")
    if not isinstance(recurrent, str) or recurrent not in RATE_RECURRENT_STD:
        raise ValueError(f"initialisation 'rate_gaussian': option 'recurrent' = {recurrent!r} is not allowed; "
                         f"allowed: {', '.join(map(repr, RATE_RECURRENT_STD))}")


def rate_gaussian(population: "RNNPopulation", seed: int, *, input_std: float,
                  recurrent: str = "variance_rsqrt_n") -> dict[str, torch.Tensor]:
    """The leaky rate RNN of seed 001 (study H): W_hh ~ N(0, s²) with the diagonal of every
    N×N block 0 (no self-connections), W_out ~ N(0, s²), W_ih and b_ih ~ N(0, input_std²),
    b_hh = 0 and readout bias 0. ``recurrent`` sets s: "variance_rsqrt_n" (variance 1/√N, so
    s = N^(−1/4), the note as written) or "std_rsqrt_n" (s = 1/√N). Drawn in float64 in
    parameter order from a generator seeded with ``seed`` (zero parameters draw nothing)."""
    _check_rate_gaussian(input_std=input_std, recurrent=recurrent)
    n = population.n_units
    s = RATE_RECURRENT_STD[recurrent](n)
    std = {"weight_ih": float(input_std), "bias_ih": float(input_std), "weight_hh": s, "weight_out": s}
    gen = torch.Generator().manual_seed(int(seed))
    values = {}
    for name, p in population.params.items():
        shape = p.shape[1:]
        if name not in std:  # bias_hh, bias_out
            values[name] = torch.zeros(shape, dtype=torch.float64)
            continue
        values[name] = torch.randn(shape, generator=gen, dtype=torch.float64) * std[name]
    w = values["weight_hh"]
    units = torch.arange(n)
    for g in range(w.shape[0] // n):
        w[g * n + units, units] = 0.0
    return values


register_initialisation("rate_gaussian", rate_gaussian, check=_check_rate_gaussian)


YANG_RECURRENT = ("diag", "randortho")


def _check_yang_rate(*, recurrent: Any = "diag", recurrent_gain: Any = 0.5) -> None:
    """Option values of ``yang_rate``: a known recurrent rule and a finite gain > 0."""
    if not isinstance(recurrent, str) or recurrent not in YANG_RECURRENT:
        raise ValueError(f"initialisation 'yang_rate': option 'recurrent' = {recurrent!r} is not allowed; "
                         f"allowed: {', '.join(map(repr, YANG_RECURRENT))}")
    if isinstance(recurrent_gain, bool) or not isinstance(recurrent_gain, numbers.Real) or not (
            math.isfinite(recurrent_gain) and recurrent_gain > 0):
        raise ValueError(f"initialisation 'yang_rate': option 'recurrent_gain' must be a finite number > 0, "
                         f"got {recurrent_gain!r}")


def yang_rate(population: "RNNPopulation", seed: int, *, recurrent: str = "diag",
              recurrent_gain: float = 0.5) -> dict[str, torch.Tensor]:
    """Yang et al. 2019's leaky softplus RNN (study M): W_hh = gain·I ("diag", the reference's
    softplus default, gain 0.5) or gain × a random orthogonal matrix ("randortho"); W_ih
    ~ N(0, 1/n_in); readout W_out Glorot-uniform, U(±sqrt(6/(N + n_out))); every bias 0. Drawn
    in float64 from a generator seeded with ``seed`` (W_ih, then W_hh when random, then W_out)."""
    _check_yang_rate(recurrent=recurrent, recurrent_gain=recurrent_gain)
    if population.cell.gates != 1:
        raise ValueError(f"initialisation 'yang_rate' is for single-gate (vanilla) cells, not {population.arch!r}")
    n, n_in, n_out = population.n_units, population.n_inputs, population.n_outputs
    gen = torch.Generator().manual_seed(int(seed))
    values = {name: torch.zeros(p.shape[1:], dtype=torch.float64) for name, p in population.params.items()}
    values["weight_ih"] = torch.randn(n, n_in, generator=gen, dtype=torch.float64) / math.sqrt(n_in)
    if recurrent == "diag":
        values["weight_hh"] = recurrent_gain * torch.eye(n, dtype=torch.float64)
    else:
        q, r = torch.linalg.qr(torch.randn(n, n, generator=gen, dtype=torch.float64))
        values["weight_hh"] = recurrent_gain * q * torch.sign(torch.diagonal(r))[None, :]  # Haar-distributed
    bound = math.sqrt(6.0 / (n + n_out))
    values["weight_out"] = (torch.rand(n_out, n, generator=gen, dtype=torch.float64) * 2 - 1) * bound
    return values


register_initialisation("yang_rate", yang_rate, check=_check_yang_rate)
