"""Weight-matrix measures for comparing a trained RNN with its initialisation (study H).

Element-wise: :func:`mean_weight`, :func:`weight_changes`. Spectrum: :func:`eigenvalues`,
:func:`matched_eigenvalue_shifts`. Non-normality: :func:`schur_upper_norm` (2-norm of the
Schur form's strictly upper part, seed 001's measure) and :func:`henrici_departure`
(its Frobenius norm). Graph: :func:`centrality` (edges j → i for W[i, j]) and
:func:`centrality_change`. Functions take [N, N] or, where noted, stacks [S, N, N].
"""

from .graph import centralities, centrality, centrality_change, connectivity_graph
from .spectrum import (
    eigenvalues,
    henrici_departure,
    matched_eigenvalue_shifts,
    schur_form,
    schur_upper_norm,
)
from .weights import mean_weight, weight_changes

__all__ = [
    "centralities",
    "centrality",
    "centrality_change",
    "connectivity_graph",
    "eigenvalues",
    "henrici_departure",
    "matched_eigenvalue_shifts",
    "mean_weight",
    "schur_form",
    "schur_upper_norm",
    "weight_changes",
]
