"""The similarity metrics: the registry the schema, the CLI, the stage and the reports read.

A module of its own with no heavy imports, so that reading the names (a figure job, the
command line) does not load torch.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    """One similarity metric.

    ``data``: what a network contributes — ``"samples"`` (its probe states as a
    (trials·T, units) matrix; rows are exchangeable) or ``"trajectories"`` (the states
    in time order, [trials, T, units], for metrics of the dynamics).
    ``label``: the short name figures print; ``description``: one line for captions and docs.
    ``options``: the similarity options its result depends on (its files record these);
    ``width``: the name of its per-network width coordinate in the pairwise file (None: none);
    ``distance``: how its distance is defined, where that is not 1 − similarity.
    """

    name: str
    label: str
    data: str
    description: str
    options: tuple[str, ...]
    width: str | None = None
    distance: str | None = None


REGISTRY: dict[str, Metric] = {m.name: m for m in (
    Metric("svcca", "SVCCA", "samples", "1 − mean canonical correlation after SVD truncation (Raghu et al. 2017)",
           ("variance", "angular", "dtype"), width="k"),
    Metric("cka_linear", "linear CKA", "samples", "1 − linear centered kernel alignment (Kornblith et al. 2019)",
           ("debiased", "angular", "dtype")),
    Metric("cka_rbf", "RBF CKA", "samples", "1 − RBF centered kernel alignment (Kornblith et al. 2019)",
           ("sigma_fraction", "debiased", "angular", "dtype")),
    Metric("procrustes", "Procrustes", "samples",
           "angular Procrustes shape distance with partial whitening α (Williams et al. 2021)", ("alpha", "dtype"),
           width="rank", distance="angle (arccos of the aligned similarity; residual form near 0)"),
    Metric("dsa_wasserstein", "DSA (eigenvalues)", "trajectories",
           "2-Wasserstein distance between the eigenvalues of delay-embedded linear models (DSA, Ostrow et al. 2023)",
           ("dsa",), width="rank",
           distance="2-Wasserstein distance between eigenvalue sets padded with zeros to `rank`"),
    Metric("dsa_angular", "DSA (vector fields)", "trajectories",
           "angle between delay-embedded linear models after the best orthogonal similarity transform "
           "(DSA, Ostrow et al. 2023)", ("dsa",), width="rank",
           distance="angle after the best orthogonal similarity transform found (an upper bound)"),
)}

METRICS: tuple[str, ...] = tuple(REGISTRY)
SAMPLE_METRICS: tuple[str, ...] = tuple(m.name for m in REGISTRY.values() if m.data == "samples")
DYNAMICS_METRICS: tuple[str, ...] = tuple(m.name for m in REGISTRY.values() if m.data == "trajectories")
