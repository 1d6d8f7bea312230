"""Stage ``figure`` / ``universality-summary``: draw one figure (study U or S), or write study U's summary.

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

# Study S (space of solutions): figure name → function; they read results/toy2d/ and
# results/space_of_solutions/.
SPACE_OF_SOLUTIONS_FIGURES = {
    "toy2d_trajectories": "figure_toy2d_trajectories",
    "toy2d_trace_det": "figure_toy2d_trace_det",
    "rsg_features": "figure_rsg_features",
    "rsg_classes": "figure_rsg_classes",
}


def _space_of_solutions_figure(name: str, root: Path, out_stem: str):
    from ..figures import rsg, toy2d

    summary = root / "space_of_solutions" / "summary.json"
    if name.startswith("toy2d_"):
        folders = sorted((root / "toy2d").iterdir(), key=lambda d: (d.name != "tanh", d.name))  # the main text's φ first
        paths = {d.name: d / "solutions.h5" for d in folders if (d / "solutions.h5").exists()}
        return getattr(toy2d, SPACE_OF_SOLUTIONS_FIGURES[name])(paths, out_stem)
    if name == "rsg_features":
        return rsg.figure_rsg_features(root / "space_of_solutions" / "rsg_features.csv", summary, out_stem)
    return rsg.figure_rsg_classes(summary, out_stem)


def _universality_figure(name: str, root: Path, out_stem: str):
    from .. import figures

    function, tasks = FIGURES[name]
    draw = getattr(figures, function)
    if name == "loss_histograms":
        return draw({t: root / t for t in tasks}, out_stem)
    return draw(root / tasks[0], out_stem)


def run_figure(name: str, results: str, out_stem: str) -> None:
    root = Path(results)
    if name in SPACE_OF_SOLUTIONS_FIGURES:
        counts = _space_of_solutions_figure(name, root, out_stem)
    elif name in FIGURES:
        counts = _universality_figure(name, root, out_stem)
    else:
        raise ValueError(f"unknown figure {name!r}; allowed: {sorted(FIGURES) + sorted(SPACE_OF_SOLUTIONS_FIGURES)}")
    write_json_atomic(f"{out_stem}.counts.json", counts.to_dict())
    log.info("%s: %s", name, counts.to_dict()["shown"])


def run_summary(results: str, out: str) -> None:
    from ..figures import write_summary

    write_summary(results, out)
    log.info("universality summary written to %s", out)
