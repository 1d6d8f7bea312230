"""The configuration grid turned into networks, configuration cells and training packs.

Snakemake and the command line both read the plan from here, so the rule graph and the jobs
agree on which network belongs to which pack.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from .ids import NetworkSpec, pack_id


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


def seeds(grid: dict) -> list[int]:
    s = grid["seeds"]
    return list(range(s)) if isinstance(s, int) else list(s)


# Tasks trained by study S (space of solutions); every other task belongs to study U.
SPACE_OF_SOLUTIONS_TASKS = ("rsg",)


def study_section(config: dict, task: str) -> dict:
    """The config section that holds a task's grid and training: ``space_of_solutions.<task>``
    for study S's tasks, ``universality`` for the others."""
    if task in SPACE_OF_SOLUTIONS_TASKS:
        return config["space_of_solutions"][task]
    return config["universality"]


def trained_networks(config: dict, task: str) -> list[NetworkSpec]:
    grid = study_section(config, task)["grid"]
    return [
        NetworkSpec(task, arch, act, units, float(l2), seed)
        for arch, act, units, l2, seed in itertools.product(
            grid["arch"], grid["activation"], grid["units"], grid.get("l2", [0.0]), seeds(grid))
    ]


def wants_twin(config: dict, spec: NetworkSpec) -> bool:
    twins = study_section(config, spec.task).get("twins")
    if not twins:
        return False
    return spec.task in twins["tasks"] and spec.arch in twins["arch"] and spec.activation in twins["activation"]


def packs(config: dict, task: str) -> list[Pack]:
    """Group a task's networks by shape (arch, activation, units) and cut into packs of pack_size."""
    size = study_section(config, task)["training"]["pack_size"]
    out = []
    nets = trained_networks(config, task)
    key = lambda n: (n.arch, n.activation, n.units)  # noqa: E731
    for (arch, act, units), group in itertools.groupby(sorted(nets, key=key), key=key):
        group = sorted(group, key=lambda n: (n.l2, n.seed))
        for i in range(0, len(group), size):
            members = tuple(group[i : i + size])
            twins = tuple(n.twin() for n in members if wants_twin(config, n))
            out.append(Pack(task, pack_id(arch, act, units, i // size), members, twins))
    return out


def cells(config: dict, task: str) -> list[str]:
    return sorted({n.cell_id for n in trained_networks(config, task)})
