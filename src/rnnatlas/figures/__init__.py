"""Figures from result files only: study U (Maheswaranathan et al. 2019) exported here; study S
(Turner, Dabholkar & Barak 2021) in :mod:`rnnatlas.figures.toy2d` and :mod:`rnnatlas.figures.rsg`.

Each figure function takes the folders/paths of result files and an output stem, writes
``<stem>.pdf`` and ``<stem>.png`` and returns a :class:`~rnnatlas.figures.io.FigureCounts`
(networks shown and set aside, with reasons) for its caption.
"""
from rnnatlas.figures.cdi import figure_cdi
from rnnatlas.figures.flipflop import figure_flipflop
from rnnatlas.figures.losses import figure_losses
from rnnatlas.figures.sine import figure_sine
from rnnatlas.figures.summary import universality_summary, write_summary
from rnnatlas.figures.untrained import figure_untrained

__all__ = ["figure_flipflop", "figure_sine", "figure_cdi", "figure_untrained", "figure_losses",
           "universality_summary", "write_summary"]
