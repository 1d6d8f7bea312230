"""Stage ``figure`` / ``universality-summary``: draw one study-U figure, or write the summary.

Figures read result files only (rnnatlas.figures); each run also writes the figure's caption
counts (networks shown, set aside and why) next to it as JSON, for the report.
"""

from __future__ import annotations

from pathlib import Path

from .common import log, write_json_atomic

# figure name → (function, the task folders it reads)
FIGURES = {
    "fig1_flipflop": ("figure_flipflop", ("flipflop",)),
    "fig2_sine": ("figure_sine", ("sine",)),
    "fig3_cdi": ("figure_cdi", ("cdi",)),
    "fig4_untrained": ("figure_untrained", ("cdi",)),
    "loss_histograms": ("figure_losses", ("flipflop", "sine", "cdi")),
}


def run_figure(name: str, results: str, out_stem: str) -> None:
    if name not in FIGURES:
        raise ValueError(f"unknown figure {name!r}; allowed: {sorted(FIGURES)}")
    from .. import figures

    function, tasks = FIGURES[name]
    draw = getattr(figures, function)
    root = Path(results)
    if name == "loss_histograms":
        counts = draw({t: root / t for t in tasks}, out_stem)
    else:
        counts = draw(root / tasks[0], out_stem)
    write_json_atomic(f"{out_stem}.counts.json", counts.to_dict())
    log.info("%s: %s", name, counts.to_dict()["shown"])


def run_summary(results: str, out: str) -> None:
    from ..figures import write_summary

    write_summary(results, out)
    log.info("universality summary written to %s", out)
