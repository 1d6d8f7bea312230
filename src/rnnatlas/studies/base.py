"""What a study declares, so that the workflow, the config schema, the command line and the
report can be driven by the study registry instead of naming studies and tasks.

A study is one subclass of :class:`Study` (its own module) plus one registration
(:func:`register_study`). It declares its config section and schema, the tasks it trains, how
its grid becomes networks and packs, each task's training settings, its per-pack analyses,
its other jobs (summaries, populations that are not trained by the generic rules), its
figures with captions, and the tasks whose probe states get similarity matrices. The rule
files turn these declarations into rules: one family of rules per kind of stage.

This module is imported by the Snakefile: keep it light (no torch, no matplotlib).
"""

from __future__ import annotations

import itertools
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import yaml

from ..ids import NetworkSpec, pack_id
from ..registry import Registry

if TYPE_CHECKING:
    from ..atlas.sections import AtlasSection

RESULTS = "results"


def net_file(task: str, net_id: str, name: str) -> str:
    """``results/<task>/nets/<net-id>/<name>``: where every per-network file lives."""
    return f"{RESULTS}/{task}/nets/{net_id}/{name}"


_PLACEHOLDER = re.compile(r"\{(input|output|params)\.(\w+)(:q)?\}")


def render_command(template: str, **namespaces: dict) -> str:
    """Fill ``{input.x}``, ``{output.y}``, ``{params.z}`` (``:q`` = shell-quoted) from the given
    mappings, as Snakemake would: a list becomes its items separated by spaces.

    The rule families render a study's command when they define its rule, because a shell
    command that refers to a loop variable would be re-evaluated with the loop's last value
    when the job runs."""
    def fill(match: re.Match) -> str:
        space, key, quote = match.groups()
        if key not in namespaces.get(space, {}):
            raise KeyError(f"command {template!r}: no {space}.{key} (have {sorted(namespaces.get(space, {}))})")
        value = namespaces[space][key]
        items = [value] if isinstance(value, str) or not isinstance(value, (list, tuple)) else list(value)
        return " ".join(shlex.quote(str(v)) if quote else str(v) for v in items)
    return _PLACEHOLDER.sub(fill, template)


ARGS_FILE_LIMIT = 64 * 1024  # characters; Linux refuses one argument over 128 KiB (bash -c gets the command as one)


def args_file(command: str, path: str, limit: int = ARGS_FILE_LIMIT) -> str:
    """``command`` (rnnatlas's arguments as a shell string), or, when it is longer than ``limit``,
    ``@path`` after writing its arguments to ``path`` one per line (``rnnatlas @path`` reads
    them back). At the papers' scale a summary job lists 3,600 files: a 435 KB command that
    the shell cannot be given. The file is written when the workflow is planned, atomically and
    only when its content changes; it lives beside the results (shared with cluster nodes)."""
    if len(command) <= limit:
        return command
    args = shlex.split(command)
    if any("\n" in a for a in args):
        raise ValueError(f"{path}: an argument holds a newline; it cannot go in an arguments file")
    text = "\n".join(args) + "\n"
    target = Path(path)
    if not target.exists() or target.read_text() != text:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_text(text)
        tmp.replace(target)
    return shlex.quote("@" + path)


@dataclass(frozen=True)
class Pack:
    """Same-shape networks trained together in one job (their twins are written by it too)."""

    task: str
    id: str
    networks: tuple[NetworkSpec, ...]  # trained networks
    twins: tuple[NetworkSpec, ...]  # untrained twins of some of them

    @property
    def all_networks(self) -> tuple[NetworkSpec, ...]:
        return self.networks + self.twins

    @property
    def cells(self) -> list[str]:
        return sorted({n.cell_id for n in self.networks})


@dataclass(frozen=True)
class Resources:
    """What a job asks the scheduler for; the same numbers serve local and SLURM runs."""

    threads: int = 1
    mem_mb: int = 2000
    runtime: int = 10  # minutes
    gpu: bool = False  # may run on CUDA (asks for one GPU unless the config's device is cpu)


@dataclass(frozen=True)
class PackAnalysis:
    """An analysis that reads a pack's model files and writes one file (or several) per network.

    ``command`` is an ``rnnatlas`` sub-command with placeholders ``{input.task_data}``,
    ``{input.models}``, ``{output.<name>}`` (one per entry of ``outputs``, key = file name
    without extension), ``{params.task}`` and ``{params.options}`` (JSON; use ``:q``); the rule
    adds ``--threads`` and ``--device``."""

    name: str
    outputs: tuple[str, ...]  # per-network file names, e.g. ("fixed_points.h5", "graph.h5")
    command: str
    options: Callable[[dict], dict] = lambda config: {}
    twins: bool = True  # analyse untrained twins too
    resources: Resources = Resources()

    def output_key(self, filename: str) -> str:
        return filename.split(".")[0]


@dataclass(frozen=True)
class Job:
    """One more job of a study (a summary, a population the generic rules do not train, …).

    ``command`` is an ``rnnatlas`` sub-command with ``{input.*}``, ``{output.*}``, ``{params.*}``
    placeholders (a mapping or list in ``params`` becomes JSON: use ``:q``); ``input``/``output``
    map names to a path or a list of paths; the rule adds ``--threads`` and ``--device``.
    ``params`` are values known when the rule is defined (no functions of wildcards)."""

    name: str
    command: str
    output: dict[str, str | list[str]]
    input: dict[str, str | list[str]] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    resources: Resources = Resources()
    log: str = ""  # default: results/logs/jobs/<name>.log

    @property
    def log_path(self) -> str:
        return self.log or f"{RESULTS}/logs/jobs/{self.name}.log"


@dataclass(frozen=True)
class Figure:
    """A figure: ``results/figures/<study>/<name>.{pdf,png}`` and ``<name>.counts.json``.

    ``draw(results_root, out_stem)`` reads result files only, writes the PDF and PNG and returns
    the caption counts (:class:`rnnatlas.figures.io.FigureCounts`); ``inputs(config)`` lists the
    files it reads (so Snakemake draws it after they exist); ``caption`` is reStructuredText
    for the HTML report."""

    name: str
    study: str
    draw: Callable[[Path, str], Any]
    inputs: Callable[[dict], list[str]]
    caption: str


class Study:
    """Base class of a study. Subclasses set the class attributes and override what they use."""

    name: str = ""  # registry name; also results/figures/<name>/ and the report's category
    title: str = ""  # shown in the report
    section: str = ""  # the config section this study owns
    schema_file: str | None = None  # YAML JSON-schema of the section, next to the module

    # ------------------------------------------------------------------ config
    def schema(self) -> dict:
        """JSON schema of the study's config section (may ``$ref`` the shared ``$defs``)."""
        if self.schema_file is None:
            return {"type": "object"}
        with open(Path(self.module_file()).with_name(self.schema_file)) as f:
            return yaml.safe_load(f)

    def module_file(self) -> str:
        import sys

        return sys.modules[type(self).__module__].__file__

    def enabled(self, config: dict) -> bool:
        return True

    def check(self, config: dict) -> list[str]:
        """Problems the schema cannot express (each a sentence naming the key)."""
        return []

    # ------------------------------------------------------------------ networks
    def trained_tasks(self, config: dict) -> list[str]:
        """Tasks whose networks the generic train/probe rules train (in packs)."""
        return []

    def other_tasks(self, config: dict) -> list[str]:
        """Tasks the study uses without training networks on them through the generic rules."""
        return []

    def grid(self, config: dict, task: str) -> dict:
        """The grid of ``task``: arch, activation, units, l2 (optional), seeds."""
        raise NotImplementedError

    def pack_size(self, config: dict, task: str) -> int:
        raise NotImplementedError

    def wants_twin(self, config: dict, spec: NetworkSpec) -> bool:
        return False

    def training_settings(self, config: dict, task: str) -> dict:
        """Settings of the ``train`` stage for ``task`` (passed as JSON)."""
        raise NotImplementedError

    def search(self, config: dict, task: str) -> dict | None:
        """Hyperparameter-search settings for ``task``, or None when the study does not search."""
        return None

    def networks(self, config: dict, task: str) -> list[NetworkSpec]:
        grid = self.grid(config, task)
        seeds = grid["seeds"]
        seeds = list(range(seeds)) if isinstance(seeds, int) else list(seeds)
        return [
            NetworkSpec(task, arch, act, units, float(l2), seed)
            for arch, act, units, l2, seed in itertools.product(
                grid["arch"], grid["activation"], grid["units"], grid.get("l2", [0.0]), seeds)
        ]

    def packs(self, config: dict, task: str) -> list[Pack]:
        """A task's networks grouped by shape (arch, activation, units), cut into packs."""
        size = self.pack_size(config, task)
        out = []
        key = lambda n: (n.arch, n.activation, n.units)  # noqa: E731
        for (arch, act, units), group in itertools.groupby(sorted(self.networks(config, task), key=key), key=key):
            group = sorted(group, key=lambda n: (n.l2, n.seed))
            for i in range(0, len(group), size):
                members = tuple(group[i : i + size])
                twins = tuple(n.twin() for n in members if self.wants_twin(config, n))
                out.append(Pack(task, pack_id(arch, act, units, i // size), members, twins))
        return out

    # ------------------------------------------------------------------ analyses
    def pack_analyses(self, config: dict, task: str) -> list[PackAnalysis]:
        return []

    def similarity_tasks(self, config: dict) -> list[str]:
        """Tasks whose probe states get similarity matrices and embeddings."""
        return []

    def jobs(self, config: dict) -> list[Job]:
        return []

    def declared_figures(self) -> list[Figure]:
        """Every figure the study can draw (registered by name for ``rnnatlas figure``)."""
        return []

    def figures(self, config: dict) -> list[Figure]:
        """The figures this config draws (default: all of them while the study is enabled)."""
        return self.declared_figures() if self.enabled(config) else []

    def targets(self, config: dict) -> list[str]:
        """Final files beyond the outputs of the study's jobs, analyses and figures."""
        return []

    # ------------------------------------------------------------------ atlas
    def atlas_sections(self, config: dict) -> list["AtlasSection"]:
        """What the atlas (``results/atlas/index.html``) shows of this study: by default one
        section per trained task, every network (twins included) with the files its training
        and pack analyses write, and, for the similarity tasks, one view per embedding
        (the configured metrics and the fixed-point graph) with its distance matrix."""
        from ..atlas.sections import AtlasSection, network_files

        sections = []
        for task in self.trained_tasks(config):
            analyses = self.pack_analyses(config, task)
            files = {}
            for pack in self.packs(config, task):
                for net in pack.networks:
                    files[net.id] = network_files(analyses, twin=False)
                for net in pack.twins:
                    files[net.id] = network_files(analyses, twin=True)
            metrics = [*config["similarity"]["metrics"], "graph"] if task in self.similarity_tasks(config) else []
            sections.append(AtlasSection(
                study=self.name, study_title=self.title, task=task, networks=files,
                embeddings={m: f"{RESULTS}/{task}/embedding/{m}.nc" for m in metrics},
                distances={m: f"{RESULTS}/{task}/pairwise/{m}.nc" for m in metrics}))
        return sections


STUDIES: Registry[Study] = Registry("study")
FIGURES: Registry[Figure] = Registry("figure")


def register_study(study: Study) -> Study:
    """Register a study instance under its name, and its figures under theirs (one line per study)."""
    for figure in study.declared_figures():
        FIGURES.add(figure.name, figure)
    return STUDIES.add(study.name, study)


def unregister_study(name: str) -> None:
    """Remove a study and its figures (tests that register a temporary study clean up with this)."""
    for figure in STUDIES.get(name).declared_figures():
        FIGURES.remove(figure.name)
    STUDIES.remove(name)
