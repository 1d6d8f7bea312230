"""Similarity between networks: SVCCA, CKA, Procrustes shape distance, DSA and all-pairs matrices.

Per pair: :func:`svcca`, :func:`cka`, :func:`canonical_correlations`, :func:`procrustes_distance`,
:func:`dsa`. Many networks: :func:`pairwise` (distances of the sample metrics), or :func:`prepare`
+ :func:`pairwise_block` to compute any rows x columns block in a separate job; for DSA,
:func:`fit_dynamics` once per network and :func:`dsa_block` per block.
Conventions for constant networks, identical inputs and angular distances are
documented in :mod:`rnnatlas.similarity.distance`. Fixed-point graphs are
compared by :func:`graph_distance` (networks with the modal node count).
"""

import sys
from importlib import import_module
from typing import Any

from .names import METRICS

# Everything else loads on first use (PEP 562): the metric names are read by jobs that need
# no torch (figures, the command line), and the implementations below import it.
_WHERE = {
    "FewSamplesWarning": "._validate", "cka": ".cka", "angular_distance": ".distance", "to_distance": ".distance",
    "GraphDistances": ".graph", "graph_distance": ".graph", "assemble_blocks": ".blocks",
    "block_ranges": ".blocks", "pairwise": ".pairwise", "pairwise_block": ".pairwise",
    "similarity_block": ".pairwise", "Prepared": ".prepared", "prepare": ".prepared",
    "canonical_correlations": ".svcca", "svcca": ".svcca", "procrustes_distance": ".procrustes",
    "DynamicsModels": ".dsa", "dsa": ".dsa", "dsa_block": ".dsa", "fit_dynamics": ".dsa",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import_module(_WHERE[name], __name__)
    # Loading a submodule sets the package attribute of its name (``cka``, ``svcca``) to the
    # module; bind every name whose module is now loaded to the function, as eager imports would.
    for other, where in _WHERE.items():
        module = sys.modules.get(__name__ + where)
        if module is not None:
            globals()[other] = getattr(module, other)
    return globals()[name]


__all__ = [
    "FewSamplesWarning",
    "METRICS",
    "GraphDistances",
    "DynamicsModels",
    "Prepared",
    "angular_distance",
    "assemble_blocks",
    "block_ranges",
    "canonical_correlations",
    "graph_distance",
    "cka",
    "dsa",
    "dsa_block",
    "fit_dynamics",
    "pairwise",
    "pairwise_block",
    "prepare",
    "procrustes_distance",
    "similarity_block",
    "svcca",
    "to_distance",
]
