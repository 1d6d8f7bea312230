"""Loading and validating the pipeline configuration.

The schema (``workflow/schemas/config.schema.yaml``) is the single source of truth for which
keys exist; this module turns its violations into messages a person can act on: the key's
path, the bad value, and what is allowed. Validation runs before any job is planned.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any, Iterable

import jsonschema
import yaml

TASK_COMMON_KEYS = ("validation_trials", "accept_val_loss", "data_seed")


class ConfigError(ValueError):
    """An invalid configuration; the message names the key, the value and what is allowed."""


def repo_root() -> Path:
    """The project folder holding ``workflow/`` and ``config/`` (this package lives in src/)."""
    return Path(__file__).resolve().parents[2]


def default_schema_path() -> Path:
    return repo_root() / "workflow" / "schemas" / "config.schema.yaml"


def load_yaml(path: str | os.PathLike) -> dict[str, Any]:
    with open(path) as f:
        data = yaml.safe_load(f) or {}
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
    if "type" in schema:
        bounds = [f"{k} {schema[k]}" for k in ("minimum", "exclusiveMinimum", "maximum") if k in schema]
        return f"{schema['type']}" + (f" ({', '.join(bounds)})" if bounds else "")
    if "oneOf" in schema:
        return " or ".join(_allowed(s, root) for s in schema["oneOf"])
    return "see config/README.md"


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
    if v == "propertyNames":
        return f"config key '{key}' has an unknown entry; allowed: {_allowed(error.schema['propertyNames'], root)}"
    if v == "oneOf":
        return f"config key '{key}' = {value!r} is not allowed; allowed: {_allowed(error.schema, root)}"
    return f"config key '{key}' = {value!r}: {error.message}"


def validate(config: dict[str, Any], schema_path: str | os.PathLike | None = None) -> dict[str, Any]:
    """Check ``config`` against the schema and semantic rules; raise ConfigError listing every problem."""
    schema = load_yaml(schema_path or default_schema_path())
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path))))
    problems = [_describe(e, schema) for e in errors]
    if not problems:
        problems = _semantic_problems(config)
    if problems:
        raise ConfigError("invalid configuration:\n  - " + "\n  - ".join(dict.fromkeys(problems)))
    return config


def _semantic_problems(config: dict[str, Any]) -> list[str]:
    """Rules the schema cannot express."""
    problems = []
    uni = config["universality"]
    for task in uni["tasks"]:
        if task not in config["tasks"]:
            problems.append(f"universality.tasks lists {task!r} but 'tasks.{task}' is not configured")
        else:
            for key in ("validation_trials", "accept_val_loss", "data_seed"):
                if key not in config["tasks"][task]:
                    problems.append(f"'tasks.{task}' is missing required key '{key}'")
        if task not in uni["training"]["iterations"]:
            problems.append(f"'universality.training.iterations' has no entry for task {task!r}")
    for name, (lo, hi) in uni["search"]["ranges"].items():
        if lo > hi:
            problems.append(f"config key 'universality.search.ranges.{name}' = {[lo, hi]}: lower bound above upper bound")
        if name in ("learning_rate", "clip") and lo <= 0:
            problems.append(f"config key 'universality.search.ranges.{name}' = {[lo, hi]}: log-uniform range needs bounds > 0")
    if uni["search"]["enabled"] and uni["search"]["min_iterations"] > min(uni["training"]["iterations"].values()):
        problems.append("config key 'universality.search.min_iterations' exceeds the training iterations")
    sos = config["space_of_solutions"]
    used = list(uni["tasks"])
    if sos["enabled"]:
        used.append("rsg")
        if "rsg" not in config["tasks"]:
            problems.append("space_of_solutions.enabled is true but 'tasks.rsg' is not configured")
        else:
            problems += [f"'tasks.rsg' is missing required key '{key}'" for key in TASK_COMMON_KEYS if key not in config["tasks"]["rsg"]]
    problems += _task_parameter_problems(config, [t for t in used if t in config["tasks"]])
    return problems


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
                base: str | os.PathLike | None = None) -> dict[str, Any]:
    """The default config (``config/config.yaml``) merged with ``paths`` in order, validated."""
    config = load_yaml(base or repo_root() / "config" / "config.yaml")
    for path in paths:
        config = merge(config, load_yaml(path))
    return validate(config, schema_path)


def task_params(config: dict[str, Any], task: str) -> dict[str, Any]:
    """The task generator's own parameters (without the pipeline keys shared by all tasks)."""
    return {k: v for k, v in config["tasks"][task].items() if k not in TASK_COMMON_KEYS}
