"""Readable identifiers for networks, configuration cells and training packs.

A network is named by its configuration, e.g. ``gru-tanh-n128-l2_1e-04-s07`` (trained) or
``gru-tanh-n128-l2_1e-04-s07-untrained`` (its untrained twin: the same network at its
initialisation). The task is not part of the id; it is the folder the network lives in
(``results/<task>/nets/<id>/``). Snakemake wildcards, file paths, HDF5 attributes and
xarray coordinates all use these ids, so formatting and parsing must round-trip exactly.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, replace

# Regex fragments shared with the Snakemake wildcard constraints.
L2_PATTERN = r"\d+(?:\.\d+)?e[+-]\d+"
CELL_PATTERN = rf"[a-z][a-z0-9]*-[a-z][a-z0-9]*-n\d+-l2_{L2_PATTERN}"
NET_PATTERN = rf"{CELL_PATTERN}-s\d+(?:-untrained)?"
PACK_PATTERN = r"[a-z][a-z0-9]*-[a-z][a-z0-9]*-n\d+-p\d+"

_NET_RE = re.compile(
    r"^(?P<arch>[a-z][a-z0-9]*)-(?P<activation>[a-z][a-z0-9]*)-n(?P<units>\d+)"
    rf"-l2_(?P<l2>{L2_PATTERN})-s(?P<seed>\d+)(?P<untrained>-untrained)?$"
)


def format_float(value: float) -> str:
    """Shortest lossless scientific notation: 1e-04, 3.5e-05, 0e+00."""
    mantissa, exponent = f"{float(value):.12e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".")
    sign = exponent[0]
    digits = exponent[1:].lstrip("0").rjust(2, "0")
    return f"{mantissa}e{sign}{digits}"


@dataclass(frozen=True, order=True)
class NetworkSpec:
    """Everything that defines one network of a population."""

    task: str
    arch: str
    activation: str
    units: int
    l2: float
    seed: int
    trained: bool = True

    @property
    def cell_id(self) -> str:
        """The configuration cell (everything but seed and training state)."""
        return f"{self.arch}-{self.activation}-n{self.units}-l2_{format_float(self.l2)}"

    @property
    def id(self) -> str:
        suffix = "" if self.trained else "-untrained"
        return f"{self.cell_id}-s{self.seed:02d}{suffix}"

    @property
    def trained_id(self) -> str:
        """Id of the trained network this one belongs to (itself when trained)."""
        return replace(self, trained=True).id

    def twin(self) -> "NetworkSpec":
        """The untrained twin of a trained network."""
        return replace(self, trained=False)

    def as_config(self) -> dict:
        """The identity fields plus ``net_id``, as stored in every file's ``config`` attribute."""
        return {**asdict(self), "net_id": self.id}


def parse_network_id(net_id: str, task: str) -> NetworkSpec:
    """Inverse of ``NetworkSpec.id``; raises ValueError naming the id when it is malformed."""
    match = _NET_RE.match(net_id)
    if match is None:
        raise ValueError(
            f"not a network id: {net_id!r}; expected e.g. 'gru-tanh-n128-l2_1e-04-s07' "
            "or 'gru-tanh-n128-l2_1e-04-s07-untrained'"
        )
    return NetworkSpec(
        task=task,
        arch=match["arch"],
        activation=match["activation"],
        units=int(match["units"]),
        l2=float(match["l2"]),
        seed=int(match["seed"]),
        trained=match["untrained"] is None,
    )


def pack_id(arch: str, activation: str, units: int, index: int) -> str:
    """A pack: same-shape networks that one training job steps together."""
    return f"{arch}-{activation}-n{units}-p{index:02d}"
