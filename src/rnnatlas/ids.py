"""Readable identifiers for networks, configuration cells and training packs.

A network is named by its configuration, e.g. ``gru-tanh-n128-l2_1e-04-s07`` (trained) or
``gru-tanh-n128-l2_1e-04-s07-untrained`` (its untrained twin: the same network at its
initialisation). The task is not part of the id; it is the folder the network lives in
(``results/<task>/nets/<id>/``). Snakemake wildcards, file paths, HDF5 attributes and
xarray coordinates all use these ids, so formatting and parsing must round-trip exactly.
"""

from __future__ import annotations

import math
import numbers
import re
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Iterable, Mapping

# Regex fragments shared with the Snakemake wildcard constraints.
L2_PATTERN = r"\d+(?:\.\d+)?e[+-]\d+"
CELL_PATTERN = rf"[a-z][a-z0-9]*-[a-z][a-z0-9]*-n\d+-l2_{L2_PATTERN}"
NET_PATTERN = rf"{CELL_PATTERN}-s\d+(?:-untrained)?"

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


# Per-task network settings: the same for every network of a task, so they are not part of the
# id (nor of paths); they are stored in every file's config only when they differ from their
# defaults (NETWORK_DEFAULTS, the field defaults of NetworkSpec).
NETWORK_SETTINGS = ("alpha", "noise_rec", "noise_in", "trainable", "mask", "init", "init_options", "readout")

InitOptions = tuple[tuple[str, Any], ...]


def _frozen_option(name: str, value: Any) -> Any:
    """An initialisation option's value in hashable form (JSON lists become tuples)."""
    if value is None or isinstance(value, (str, bool, numbers.Real)):
        return value
    if isinstance(value, (list, tuple)):
        return tuple(_frozen_option(name, v) for v in value)
    raise ValueError(f"network setting 'init_options': option {name!r} must be a number, string, boolean, "
                     f"null or a list of them, got {value!r}")


def _json_option(value: Any) -> Any:
    """Inverse of :func:`_frozen_option`: tuples back to lists, for the JSON config."""
    return [_json_option(v) for v in value] if isinstance(value, tuple) else value


def normalise_init_options(options: Mapping[str, Any] | Iterable[tuple[str, Any]] | None) -> InitOptions:
    """Initialisation options as sorted (name, value) pairs, so a spec stays hashable and a
    mapping and its pairs give the same spec; names must be strings and unique."""
    if options is None:
        return ()
    try:
        pairs = list(options.items()) if isinstance(options, Mapping) else list(options)
        names = [name for name, _ in pairs]
    except (TypeError, ValueError):
        raise ValueError(f"network setting 'init_options' must be a mapping of option names to values, "
                         f"got {options!r}") from None
    if not all(isinstance(n, str) for n in names) or len(set(names)) != len(names):
        raise ValueError(f"network setting 'init_options' needs unique string names, got {names!r}")
    return tuple(sorted((name, _frozen_option(name, value)) for name, value in pairs))


@dataclass(frozen=True, order=True)
class NetworkSpec:
    """Everything that defines one network of a population.

    The first seven fields make the id; the rest (:data:`NETWORK_SETTINGS`) are per-task
    settings whose defaults reproduce the networks trained before they existed.
    """

    task: str
    arch: str
    activation: str
    units: int
    l2: float
    seed: int
    trained: bool = True
    alpha: float = 1.0  # leak α = Δt/τ: state_t = (1 − α) state_{t−1} + α F(state_{t−1}, x_t)
    noise_rec: float = 0.0  # std of Gaussian noise added to every step's pre-activations (training)
    noise_in: float = 0.0  # std of Gaussian noise added to every input (training)
    trainable: tuple[str, ...] = ()  # names of the parameters that train; () = all
    mask: str = ""  # a fixed structural mask by name (models.masks), "" = none
    init: str = "uniform"  # initialisation scheme by name (models.init)
    init_options: InitOptions = ()  # the scheme's options, sorted (name, value) pairs (a dict is accepted)
    readout: str = "linear"  # the output nonlinearity: z = g(W_out h + b_out), g linear or sigmoid

    def __post_init__(self) -> None:
        # Normalise the settings (YAML gives ints and lists) and check what needs no registry;
        # mask and init names are checked where they are used (models.masks, models.init).
        for name in ("alpha", "noise_rec", "noise_in"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise ValueError(f"network setting {name!r} must be a number, got {value!r}")
            object.__setattr__(self, name, float(value))
        if not (0.0 < self.alpha <= 1.0):
            raise ValueError(f"network setting 'alpha' must be in (0, 1], got {self.alpha!r}")
        for name in ("noise_rec", "noise_in"):
            if not (math.isfinite(getattr(self, name)) and getattr(self, name) >= 0.0):
                raise ValueError(f"network setting {name!r} must be a finite number >= 0, got {getattr(self, name)!r}")
        trainable = self.trainable
        if isinstance(trainable, str) or not all(isinstance(t, str) for t in trainable):
            raise ValueError(f"network setting 'trainable' must be a list of parameter names, got {trainable!r}")
        object.__setattr__(self, "trainable", tuple(sorted(set(trainable))))
        for name in ("mask", "init", "readout"):
            if not isinstance(getattr(self, name), str):
                raise ValueError(f"network setting {name!r} must be a name, got {getattr(self, name)!r}")
        object.__setattr__(self, "init_options", normalise_init_options(self.init_options))

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

    @property
    def network_settings(self) -> dict[str, Any]:
        """All per-task network settings (:data:`NETWORK_SETTINGS`), defaults included."""
        return {name: getattr(self, name) for name in NETWORK_SETTINGS}

    def with_network_settings(self, settings: Mapping[str, Any]) -> "NetworkSpec":
        """This spec with the given network settings replaced (e.g. a task's ``network:`` block);
        a name that is not a network setting is an error naming the allowed ones."""
        unknown = sorted(set(settings) - set(NETWORK_SETTINGS))
        if unknown:
            raise ValueError(f"unknown network setting(s) {unknown}; allowed: {', '.join(NETWORK_SETTINGS)}")
        return replace(self, **dict(settings))

    def as_config(self) -> dict:
        """The identity fields plus ``net_id``, as stored in every file's ``config`` attribute.

        Network settings appear only where they differ from their defaults, so the config of a
        default network is what it was before the settings existed (``trainable`` as a list,
        ``init_options`` as a mapping).
        """
        config = asdict(self)
        for name, default in NETWORK_DEFAULTS.items():
            if config[name] == default:
                del config[name]
            elif name == "trainable":
                config[name] = list(config[name])
            elif name == "init_options":
                config[name] = {key: _json_option(value) for key, value in self.init_options}
        return {**config, "net_id": self.id}


NETWORK_DEFAULTS: dict[str, Any] = {f.name: f.default for f in fields(NetworkSpec) if f.name in NETWORK_SETTINGS}


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
