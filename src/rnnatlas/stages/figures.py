"""Stage ``figure`` / ``universality-summary``: draw one registered figure, or write study U's summary.

Figures read result files only; the figure registry (``rnnatlas.studies.FIGURES``, filled by
each study's declarations) says how each one is drawn. Each run also writes the figure's
caption counts (networks shown, set aside and why) next to it as JSON, for the report.
"""

from __future__ import annotations

from pathlib import Path

from ..studies import FIGURES
from ..store.atomic import write_json
from .common import log


def run_figure(name: str, results: str, out_stem: str) -> None:
    counts = FIGURES.get(name).draw(Path(results), out_stem)
    write_json(f"{out_stem}.counts.json", counts.to_dict())
    log.info("%s: %s", name, counts.to_dict()["shown"])


def run_summary(results: str, metrics: list[str], out: str) -> None:
    from ..figures import write_summary

    write_summary(results, out, metrics=metrics)
    log.info("universality summary written to %s", out)
