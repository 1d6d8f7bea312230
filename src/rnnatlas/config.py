"""Loading and validating the pipeline configuration.

The schema is assembled from the shared part (``workflow/schemas/config.schema.yaml``), each
registered study's own section schema and each registered task's parameter schema, with every
enum of names (tasks, architectures, activations, metrics, initialisations, masks) taken from the registries
(:func:`build_schema`). This module turns violations into messages a person can act on: the
key's path, the bad value, and what is allowed. Validation runs before any job is planned.
"""

from __future__ import annotations

import copy
import math
import os
from pathlib import Path
from typing import Any, Iterable

import jsonschema
import yaml

from .errors import InputError

TASK_COMMON_KEYS = ("validation_trials", "accept_val_loss", "data_seed")


class ConfigError(InputError):
    """An invalid configuration; the message names the key, the value and what is allowed."""


def repo_root() -> Path:
    """The project folder holding ``workflow/`` and ``config/`` (this package lives in src/)."""
    return Path(__file__).resolve().parents[2]


def default_schema_path() -> Path:
    return repo_root() / "workflow" / "schemas" / "config.schema.yaml"


def load_yaml(path: str | os.PathLike) -> dict[str, Any]:
    """A YAML mapping; a missing file or a syntax error is a ConfigError naming the file (and line)."""
    try:
        with open(path) as f:
            data = yaml.safe_load(f) or {}
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config file ({exc.strerror or exc})") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f", line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{path}{where}: not valid YAML ({problem})") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a config file must hold a mapping of keys, found {type(data).__name__}")
    return data


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Recursive dict merge as Snakemake does it: mappings merge, everything else replaces."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _path(error: jsonschema.ValidationError) -> str:
    parts = ""
    for p in error.absolute_path:
        parts += f"[{p}]" if isinstance(p, int) else (f".{p}" if parts else str(p))
    return parts or "(top level)"


def _allowed(schema: dict[str, Any], root: dict[str, Any]) -> str:
    """Describe what a (sub)schema allows, following $ref."""
    while "$ref" in schema:
        node: Any = root
        for part in schema["$ref"].lstrip("#/").split("/"):
            node = node[part]
        schema = node
    if "enum" in schema:
        return "one of " + ", ".join(repr(v) for v in schema["enum"])
    if "const" in schema:
        return repr(schema["const"])
    if "anyOf" in schema:
        return " or ".join(_allowed(s, root) for s in schema["anyOf"])
    if schema.get("type") == "array" and isinstance(schema.get("items"), dict):
        unique = ", no duplicates" if schema.get("uniqueItems") else ""
        return f"a list of {_allowed(schema['items'], root)}{unique}"
    if "type" in schema:
        bounds = [f"{k} {schema[k]}" for k in ("minimum", "exclusiveMinimum", "maximum") if k in schema]
        return f"{schema['type']}" + (f" ({', '.join(bounds)})" if bounds else "")
    if "oneOf" in schema:
        return " or ".join(_allowed(s, root) for s in schema["oneOf"])
    return "see config/README.md"


def _duplicates(values: list) -> list:
    """The values that occur more than once, in order of their second occurrence."""
    seen, dups = [], []
    for item in values:
        if item in seen and item not in dups:
            dups.append(item)
        seen.append(item)
    return dups


def _describe(error: jsonschema.ValidationError, root: dict[str, Any]) -> str:
    key, value = _path(error), error.instance
    v = error.validator
    if v == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(set(value) - set(allowed))
        where = f" in '{key}'" if error.absolute_path else ""
        return f"unknown key(s) {extra}{where}; allowed keys: {allowed}"
    if v == "required":
        return f"'{key}' is missing required key(s): {error.message.split(' is a required')[0]}"
    if v == "enum":
        return f"config key '{key}' = {value!r} is not allowed; allowed: {', '.join(map(repr, error.validator_value))}"
    if v == "type":
        return f"config key '{key}' = {value!r} has the wrong type; expected {error.validator_value}"
    if v in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        word = {"minimum": ">=", "exclusiveMinimum": ">", "maximum": "<=", "exclusiveMaximum": "<"}[v]
        return f"config key '{key}' = {value!r} is out of range; allowed: {word} {error.validator_value}"
    if v == "uniqueItems" or (v == "oneOf" and isinstance(value, list) and _duplicates(value)):
        return (f"config key '{key}' = {value!r} has duplicate entries {_duplicates(value)!r}; "
                "allowed: each value once")
    if v == "propertyNames":
        return f"config key '{key}' has an unknown entry; allowed: {_allowed(error.schema['propertyNames'], root)}"
    if v == "oneOf":
        return f"config key '{key}' = {value!r} is not allowed; allowed: {_allowed(error.schema, root)}"
    return f"config key '{key}' = {value!r}: {error.message}"


def build_schema(schema_path: str | os.PathLike | None = None) -> dict[str, Any]:
    """The full schema: the shared file, plus every registered study's section and task's
    parameters, with the registries' names as enums (so no list of names is kept by hand)."""
    from .features.toy2d import ACTIVATIONS as ACTIVATIONS_2D
    from .models import ACTIVATIONS, CELLS
    from .models.init import INITIALISATIONS
    from .models.masks import MASKS
    from .similarity import METRICS
    from .studies import STUDIES
    from .tasks import TASKS

    schema = load_yaml(schema_path or default_schema_path())
    defs = schema["$defs"]
    for key, names in (("task", TASKS), ("arch", CELLS), ("activation", ACTIVATIONS),
                       ("activation_2d", ACTIVATIONS_2D), ("metric", METRICS), ("init", INITIALISATIONS),
                       ("mask", MASKS)):
        defs[key] = {"enum": list(names)}
    common = {k: {"$ref": f"#/$defs/task_common/{k}"} for k in TASK_COMMON_KEYS}
    schema["properties"]["tasks"]["properties"] = {
        name: {"type": "object", "additionalProperties": False, "properties": {**common, **cls.param_schema}}
        for name, cls in TASKS.items()
    }
    for study in STUDIES.values():
        schema["properties"][study.section] = study.schema()
        schema["required"].append(study.section)
    return schema


def section_required_keys(section: str) -> list[str]:
    """The keys config section ``section`` (a dotted path, e.g. ``space_of_solutions.toy2d``)
    must hold, read from the schema files without the registries (no torch import): the CLI
    checks a stage's JSON options against them, so ``--settings '{}'`` is a clear error."""
    from .studies import STUDIES

    shared = load_yaml(default_schema_path())
    head, *rest = section.split(".")
    study = next((s for s in STUDIES.values() if s.section == head), None)
    node: dict[str, Any] = study.schema() if study is not None else shared["properties"][head]
    for part in rest:
        node = node["properties"][part]
    while "$ref" in node:
        node = shared["$defs"][node["$ref"].rsplit("/", 1)[-1]]
    return list(node.get("required", []))


def _strict_validator(schema: dict[str, Any]) -> jsonschema.protocols.Validator:
    """Draft 2020-12 with an ``integer`` that is an int: JSON Schema counts 1.0 as an integer,
    which let ``seeds: [0, 1.0]`` or ``units: [8.0]`` through to crash later jobs."""
    base = jsonschema.Draft202012Validator
    checker = base.TYPE_CHECKER.redefine("integer", lambda _, x: isinstance(x, int) and not isinstance(x, bool))
    return jsonschema.validators.extend(base, type_checker=checker)(schema)


def _non_finite(value: Any, path: str = "") -> list[str]:
    """Every NaN or infinite number in the configuration: none is ever meaningful (a threshold
    that accepts everything is a large finite number), and they fail late or silently."""
    if isinstance(value, float) and not math.isfinite(value):
        return [f"config key '{path}' = {value!r} is not a finite number; every number in the "
                "configuration must be finite"]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _non_finite(v, f"{path}.{k}" if path else str(k))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _non_finite(v, f"{path}[{i}]")]
    return []


def validate(config: dict[str, Any], schema_path: str | os.PathLike | None = None,
             check_device: bool = True) -> dict[str, Any]:
    """Check ``config`` against the schema and semantic rules; raise ConfigError listing every problem.

    Plug-ins named in ``plugins`` are imported first, so their studies and tasks are known.
    ``check_device``: a ``cuda`` device must exist on this machine (off when the jobs run
    elsewhere, e.g. on a cluster's GPU nodes planned from a login node without one)."""
    plugins = config.get("plugins", [])
    if not isinstance(plugins, list) or not all(isinstance(p, str) and p for p in plugins):
        raise ConfigError(f"invalid configuration:\n  - config key 'plugins' = {plugins!r}: "
                          "expected a list of Python file paths or module names")
    from .studies import load_plugins

    try:
        load_plugins(plugins)
    except (ImportError, OSError) as exc:
        raise ConfigError(f"invalid configuration:\n  - config key 'plugins': {exc}") from exc
    schema = build_schema(schema_path)
    validator = _strict_validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path))))
    problems = _non_finite(config) + [_describe(e, schema) for e in errors]
    if not problems:
        problems = _semantic_problems(config)
    if not problems and check_device:
        problems = device_problems(config)
    if problems:
        raise ConfigError("invalid configuration:\n  - " + "\n  - ".join(dict.fromkeys(problems)))
    return config


def _semantic_problems(config: dict[str, Any]) -> list[str]:
    """Rules the schema cannot express: every task a study uses is configured, each study's
    own checks, and each task buildable from its parameters."""
    from .plan import enabled_studies, used_tasks

    try:
        used = used_tasks(config)
    except ValueError as exc:
        return [str(exc)]
    problems = []
    if not enabled_studies(config):
        from .studies import STUDIES

        problems.append("nothing to run: none of the registered studies ("
                        + ", ".join(s.section for s in STUDIES.values())
                        + ") is enabled or has a task in this configuration")
    for task in used:
        if task not in config["tasks"]:
            problems.append(f"task {task!r} is used but 'tasks.{task}' is not configured")
        else:
            problems += [f"'tasks.{task}' is missing required key '{key}'" for key in TASK_COMMON_KEYS
                         if key not in config["tasks"][task]]
    for study in enabled_studies(config):
        problems += study.check(config)
    problems += _task_parameter_problems(config, [t for t in used if t in config["tasks"]])
    return problems


def device_problems(config: dict[str, Any]) -> list[str]:
    """A ``cuda`` device asked for where this machine has none (torch is imported only then)."""
    keys = [k for k, v in (("device", config.get("device")),
                           ("similarity.device", config.get("similarity", {}).get("device"))) if v == "cuda"]
    if not keys:
        return []
    import torch

    if torch.cuda.is_available():
        return []
    return [f"config key '{k}' = 'cuda' but this machine has no CUDA device (torch {torch.__version__}, "
            f"CUDA build: {torch.version.cuda or 'no'}); allowed here: 'auto' or 'cpu' (a cluster run whose "
            "GPU nodes have one plans with the cluster's executor, which skips this check)" for k in keys]


def _task_parameter_problems(config: dict[str, Any], tasks: list[str]) -> list[str]:
    """Build each task from its parameters, so that a bad combination (e.g. an interval range
    upside down) is reported before any job starts."""
    from .tasks import make_task

    problems = []
    for task in tasks:
        try:
            make_task(task, task_params(config, task))
        except (TypeError, ValueError) as exc:
            problems.append(f"'tasks.{task}': {exc}")
    return problems


def load_config(paths: Iterable[str | os.PathLike] = (), schema_path: str | os.PathLike | None = None,
                base: str | os.PathLike | None = None, check_device: bool = True) -> dict[str, Any]:
    """The default config (``config/config.yaml``) merged with ``paths`` in order, validated."""
    config = load_yaml(base or repo_root() / "config" / "config.yaml")
    for path in paths:
        config = merge(config, load_yaml(path))
    return validate(config, schema_path, check_device)


def task_params(config: dict[str, Any], task: str) -> dict[str, Any]:
    """The task generator's own parameters (without the pipeline keys shared by all tasks)."""
    return {k: v for k, v in config["tasks"][task].items() if k not in TASK_COMMON_KEYS}
