"""Figures of study M (Yang et al. 2019's Go task family; seed 003's thesis), from result files only.

Every figure reads ``results/multitask/summary.json`` first: its ``networks`` key lists, per
group (``go``: networks trained on Go alone; ``go_family``: networks trained on the six
Go-family tasks), the networks the study's statistics use, and only those are drawn (files
left in the folders by another configuration never enter a figure). "One Go-only network" is
the first listed id of ``go`` that has the files the figure needs, "one multitask network" the
first of ``go_family``.

Per network the figures read ``results/<task>/nets/<id>/{multitask,probe,model}.h5`` and per
task ``results/<task>/task_data.h5`` (the probe inputs, targets and labels), with h5py only:
no figure imports torch. A missing summary, group, network or file never stops a figure: the
panel says what is missing, the counts say what was drawn (``shown``) and what was set aside
and why (``set_aside``). Population statistics are the mean with a 95 % t-interval over
networks (:func:`rnnatlas.stats.mean_ci`).
"""
from __future__ import annotations

from rnnatlas.figures.multitask._common import ACTIVE_VARIANCE, TOP_SHARE
from rnnatlas.figures.multitask.activity import (
    align_task_vectors,
    figure_m_fig5_pca,
    figure_m_fig6_task_variance,
    sorted_task_variance,
)
from rnnatlas.figures.multitask.fixed_points import (
    FIG7_MEASURES,
    figure_m_fig7_fixed_points,
)
from rnnatlas.figures.multitask.performance import (
    figure_m_fig1_performance,
    figure_m_fig2_outputs,
)
from rnnatlas.figures.multitask.weights import (
    figure_m_fig3_connectivity,
    figure_m_fig4_unit_graph,
    strongest_edges,
)

__all__ = ["ACTIVE_VARIANCE", "FIG7_MEASURES", "TOP_SHARE", "align_task_vectors", "figure_m_fig1_performance", "figure_m_fig2_outputs", "figure_m_fig3_connectivity", "figure_m_fig4_unit_graph", "figure_m_fig5_pca", "figure_m_fig6_task_variance", "figure_m_fig7_fixed_points", "sorted_task_variance", "strongest_edges"]
