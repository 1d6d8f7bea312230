"""Figures of study H (seed 001, "RNN Initial Hypotheses"): every trained network against its
own initialisation (its untrained twin), drawn from result files only.

Reads ``results/training_change/summary.json`` (for the task list), each trained network's
``results/<task>/nets/<id>/training_change.h5`` and, for the latent-space figures, the probe
states and fixed points of one network and of its twin ``<id>-untrained``. Missing or partial
files never stop a figure: what exists is drawn, the rest is noted and counted as set aside.
Population statistics are the mean with a 95 % t-interval over networks (Figs. 4, 6, 9–11) or
the mean ± s.d. (Fig. 1).
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from rnnatlas.figures.io import FigureCounts
from rnnatlas.figures.training_change._common import (
    KIND,
    PLAIN_COLOR,
    STATE_COLORS,
    STATES,
    TASK_ORDER,
    NetResult,
    load_results,
    mean_ci_columns,
    read_task_results,
    read_tasks,
    t_interval,
    with_arrays,
)
from rnnatlas.figures.training_change._curves import align_curves
from rnnatlas.figures.training_change.latent import (
    ISO_COLORS,
    LEVEL_COLORS,
    STABILITY_COLORS,
    TrialStyle,
    figure_h_fig2_decision_latent,
    figure_h_fig3_perception_latent,
    probe_labels_from_file,
    project_3d,
    trial_styles,
)
from rnnatlas.figures.training_change.performance import (
    binned_output,
    figure_h_fig1_performance,
    short_ids,
)
from rnnatlas.figures.training_change.subspaces import (
    READOUT_ATTRS,
    THETA_TICKS,
    figure_h_fig6_pi_theta,
    figure_h_fig9_dca_pre_post,
    figure_h_fig10_condition_angles,
    figure_h_fig11_readout_angles,
    readout_table,
)
from rnnatlas.figures.training_change.weights import (
    CENTRALITY_KINDS,
    centrality_kind,
    figure_h_fig4_mean_weight,
    figure_h_fig7_weights_eigenvalues,
    figure_h_fig8_centrality,
    matched_shift,
)

FIGURES: dict[str, Callable[[Path, str], FigureCounts]] = {
    "h_fig1_performance": figure_h_fig1_performance,
    "h_fig2_decision_latent": figure_h_fig2_decision_latent,
    "h_fig3_perception_latent": figure_h_fig3_perception_latent,
    "h_fig4_mean_weight": figure_h_fig4_mean_weight,
    "h_fig6_pi_theta": figure_h_fig6_pi_theta,
    "h_fig7_weights_eigenvalues": figure_h_fig7_weights_eigenvalues,
    "h_fig8_centrality": figure_h_fig8_centrality,
    "h_fig9_dca_pre_post": figure_h_fig9_dca_pre_post,
    "h_fig10_condition_angles": figure_h_fig10_condition_angles,
    "h_fig11_readout_angles": figure_h_fig11_readout_angles,
}

__all__ = [
    "CENTRALITY_KINDS", "FIGURES", "ISO_COLORS", "KIND", "LEVEL_COLORS", "PLAIN_COLOR", "READOUT_ATTRS",
    "STABILITY_COLORS", "STATES", "STATE_COLORS", "TASK_ORDER", "THETA_TICKS", "NetResult", "TrialStyle",
    "align_curves", "binned_output", "centrality_kind", "figure_h_fig1_performance", "figure_h_fig2_decision_latent",
    "figure_h_fig3_perception_latent", "figure_h_fig4_mean_weight", "figure_h_fig6_pi_theta",
    "figure_h_fig7_weights_eigenvalues", "figure_h_fig8_centrality", "figure_h_fig9_dca_pre_post",
    "figure_h_fig10_condition_angles", "figure_h_fig11_readout_angles", "load_results", "matched_shift",
    "mean_ci_columns", "probe_labels_from_file", "project_3d", "read_task_results", "read_tasks", "readout_table",
    "short_ids", "t_interval", "trial_styles", "with_arrays",
]
