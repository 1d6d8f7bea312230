"""The configuration turned into networks, configuration cells and training packs, through
the study registry.

Snakemake and the command line both read the plan from here, so the rule graph and the jobs
agree on which network belongs to which pack. Each task is trained by exactly one study.
"""

from __future__ import annotations

from .ids import NetworkSpec
from .studies import STUDIES, Pack, Study

__all__ = ["Pack", "cells", "enabled_studies", "packs", "study_of", "trained_networks", "trained_tasks", "used_tasks"]


def enabled_studies(config: dict) -> list[Study]:
    """The registered studies whose config section is present and switched on."""
    return [s for s in STUDIES.values() if s.section in config and s.enabled(config)]


def trained_tasks(config: dict) -> dict[str, Study]:
    """task → the study that trains its networks (with the generic train/probe rules)."""
    out: dict[str, Study] = {}
    for study in enabled_studies(config):
        for task in study.trained_tasks(config):
            if task in out:
                raise ValueError(f"task {task!r} is trained by two studies: {out[task].name!r} and {study.name!r}")
            out[task] = study
    return out


def used_tasks(config: dict) -> list[str]:
    """Every task some enabled study uses (each needs its ``tasks.<task>`` section)."""
    tasks = list(trained_tasks(config))
    for study in enabled_studies(config):
        tasks += [t for t in study.other_tasks(config) if t not in tasks]
    return tasks


def study_of(config: dict, task: str) -> Study:
    studies = trained_tasks(config)
    if task not in studies:
        raise ValueError(f"no enabled study trains task {task!r}; trained tasks: {sorted(studies)}")
    return studies[task]


def trained_networks(config: dict, task: str) -> list[NetworkSpec]:
    return study_of(config, task).networks(config, task)


def packs(config: dict, task: str) -> list[Pack]:
    """Same-shape networks of a task (arch, activation, units), cut into packs of the study's pack size."""
    return study_of(config, task).packs(config, task)


def cells(config: dict, task: str) -> list[str]:
    return sorted({n.cell_id for n in trained_networks(config, task)})
