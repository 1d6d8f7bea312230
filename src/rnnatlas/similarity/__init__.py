"""Representational similarity between networks: SVCCA, CKA and all-pairs matrices.

Per pair: :func:`svcca`, :func:`cka`, :func:`canonical_correlations`.
Many networks: :func:`pairwise` (distances), or :func:`prepare` +
:func:`pairwise_block` to compute any rows x columns block in a separate job.
Conventions for constant networks, identical inputs and angular distances are
documented in :mod:`rnnatlas.similarity.distance`. Fixed-point graphs are
compared by :func:`graph_distance` (networks with the modal node count).
"""

from ._validate import METRICS, FewSamplesWarning
from .cka import cka
from .distance import angular_distance, to_distance
from .graph import GraphDistances, graph_distance
from .pairwise import (
    assemble_blocks,
    block_ranges,
    pairwise,
    pairwise_block,
    similarity_block,
)
from .prepared import Prepared, prepare
from .svcca import canonical_correlations, svcca

__all__ = [
    "FewSamplesWarning",
    "METRICS",
    "GraphDistances",
    "Prepared",
    "angular_distance",
    "assemble_blocks",
    "block_ranges",
    "canonical_correlations",
    "graph_distance",
    "cka",
    "pairwise",
    "pairwise_block",
    "prepare",
    "similarity_block",
    "svcca",
    "to_distance",
]
