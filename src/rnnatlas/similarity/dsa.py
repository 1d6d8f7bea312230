"""Dynamical similarity analysis (Ostrow, Eisen, Kozachkov & Fiete 2023), batched over a population.

Per network, once (:func:`fit_dynamics`): the states [trials, T, units] are delay-embedded
(``n_delays`` copies, the Hankel matrix, rows = (trial, t) for t >= n_delays - 1, never across
trials), the Hankel matrix's SVD H = U S V^T gives time courses V, and the HAVOK linear model
V[t+1, :r] ~ V[t, :r] A^T is fitted by ridge regression (``ridge``) in the leading ``rank``
coordinates: A (r, r). The states are not centred, as in the reference implementation
(``dsa-metric``): a network's operating point is part of its dynamics (an eigenvalue near 1).
``rank`` is capped at the Hankel matrix's numerical rank (a network with fewer live directions
gets a smaller model; the rank used is recorded per network).

Per pair, two forms:

* ``dsa_wasserstein`` (the eigenvalue form, cheap at any scale): the 2-Wasserstein distance
  between the uniform measures on the two models' eigenvalues in the complex plane,
  ``sqrt(min_perm mean_k |lambda_k - mu_perm(k)|^2)``, each set padded with zeros to ``rank``
  points — one optimal assignment per pair on per-network eigenvalues computed once. The
  reference reports the squared value (``ot.emd2``) and pads only the pair's smaller set; the
  square root and one padding size for everybody make it a metric (the triangle inequality).
* ``dsa_angular`` (the vector-field form of the paper): ``arccos max_C <A_x, C A_y C^T> /
  (||A_x|| ||A_y||)`` over orthogonal C, the smaller model zero-padded to the larger. The
  reference finds C by Adam from two starts per pair, one pair at a time; here a monotone
  Riemannian ascent runs for a whole batch of pairs at once from ``starts`` starting points
  each (:func:`align_similarity`). The problem has many local maxima: in one run on four small
  random systems and a rotated copy of one, more starts found alignments the reference's two
  starts missed (angles up to 0.05 rad lower between different systems; 0 instead of 0.33 rad
  for the copy), and in tests never end worse than its result beyond its optimiser's tolerance.
  Each network's time courses V are sign-normalised (largest entry of each column positive),
  so a rotated or reflected copy of a network gets the same model and distance 0 at once.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence, Union

import numpy as np
import torch

from ._linalg import digest, numerical_rank
from .options import check_dsa_options

_FORMAT = "rnnatlas.similarity.dynamics/1"
PAIR_BATCH = 4096  # pairs optimised together (memory: a few (batch · starts, r, r) float64 tensors)


@dataclass
class DynamicsModels:
    """Per-network delay-embedded linear models: ``models[i]`` (r_i, r_i) float64, ``eigenvalues[i]`` (r_i,)."""

    params: dict[str, Any]
    models: list[np.ndarray]
    n_units: np.ndarray
    digests: list[str]
    n_samples: int = 0  # trials x T of the states each model was fitted to
    ranks: np.ndarray = field(init=False)
    eigenvalues: list[np.ndarray] = field(init=False)

    def __post_init__(self) -> None:
        self.ranks = np.array([m.shape[0] for m in self.models], dtype=np.int64)
        self.eigenvalues = [np.linalg.eigvals(m) if m.size else np.zeros(0, dtype=complex) for m in self.models]

    @property
    def widths(self) -> np.ndarray:
        """The rank of each model (the engine's per-network width)."""
        return self.ranks

    @property
    def constant(self) -> np.ndarray:
        """Networks whose states carry no signal (a model of rank 0)."""
        return self.ranks == 0

    def __len__(self) -> int:
        return len(self.models)

    def save(self, path: Union[str, Path]) -> None:
        """Write to ``path`` as an uncompressed .npz (no pickles)."""
        flat = np.concatenate([m.ravel() for m in self.models]) if self.models else np.zeros(0)
        with open(path, "wb") as fh:
            np.savez(fh, format=np.array(_FORMAT), params=np.array(json.dumps(self.params, sort_keys=True)), ranks=self.ranks,
                     models=flat, n_units=self.n_units, digests=np.array(self.digests, dtype="U64"),
                     n_samples=np.array(self.n_samples))

    @classmethod
    def load(cls, path: Union[str, Path]) -> "DynamicsModels":
        """Read a file written by :meth:`save`; eigenvalues are recomputed (deterministic)."""
        with np.load(path, allow_pickle=False) as z:
            if str(z["format"]) != _FORMAT:
                raise ValueError(f"{path} is not a saved DynamicsModels ({_FORMAT})")
            ranks = z["ranks"].astype(np.int64)
            ends = np.cumsum(ranks**2)
            flat = z["models"]
            models = [flat[e - r * r:e].reshape(r, r) for r, e in zip(ranks.tolist(), ends.tolist())]
            return cls(params=json.loads(str(z["params"])), models=models, n_units=z["n_units"], digests=[str(d) for d in z["digests"]], n_samples=int(z["n_samples"]))


def hankel(states: np.ndarray, n_delays: int) -> np.ndarray:
    """Delay embedding [trials, T - n_delays + 1, n_delays * units]; block d holds x(t - d)."""
    trials, T, n = states.shape
    if T - n_delays + 1 < 2:
        raise ValueError(f"{n_delays} delays need trials of at least {n_delays + 1} steps; got {T}")
    rows = T - n_delays + 1
    return np.concatenate([states[:, n_delays - 1 - d:n_delays - 1 - d + rows] for d in range(n_delays)], axis=2)


def havok_model(states: np.ndarray, n_delays: int, rank: int, ridge: float) -> np.ndarray:
    """The (r, r) HAVOK model of one network's states [trials, T, units] (see module doc), float64."""
    H = hankel(np.asarray(states, dtype=np.float64), n_delays)
    trials, rows, width = H.shape
    U, s, _ = np.linalg.svd(H.reshape(trials * rows, width), full_matrices=False)
    r = min(rank, numerical_rank(s, (trials * rows, width)))
    if r == 0:
        return np.zeros((0, 0))
    V = U[:, :r]
    V = V * np.where(V[np.abs(V).argmax(axis=0), np.arange(r)] < 0, -1.0, 1.0)  # sign-normalised columns
    V = V.reshape(trials, rows, r)
    past, future = V[:, :-1].reshape(-1, r), V[:, 1:].reshape(-1, r)
    gram = past.T @ past + ridge * np.eye(r)
    return np.linalg.solve(gram, past.T @ future).T


def fit_dynamics(trajectories: Sequence[np.ndarray], **options: Any) -> DynamicsModels:
    """One HAVOK model per network from its states [trials, T, units] (all networks the same trials
    and T; units may differ). ``options``: see DEFAULT_DSA (n_delays, rank, ridge; the optimiser
    settings are recorded with them for the angular form)."""
    opts = check_dsa_options(options)
    shapes = []
    for i, x in enumerate(trajectories):
        a = np.asarray(x)
        if a.ndim != 3:
            raise ValueError(f"trajectories[{i}] must be [trials, T, units]; got shape {a.shape}")
        if not np.isfinite(a).all():
            raise ValueError(f"trajectories[{i}] contains NaN or infinite values")
        shapes.append(a.shape)
    if len({s[:2] for s in shapes}) > 1:
        raise ValueError(f"every network needs the same trials and steps; got shapes {sorted(set(shapes))}")
    models = [havok_model(x, opts["n_delays"], opts["rank"], opts["ridge"]) for x in trajectories]
    return DynamicsModels(params=opts, models=models, n_units=np.array([s[2] for s in shapes], dtype=np.int64),
                          digests=[digest(x) for x in trajectories],
                          n_samples=int(shapes[0][0] * shapes[0][1]) if shapes else 0)


def _pairs(n_a: int, n_b: int, symmetric: bool) -> tuple[np.ndarray, np.ndarray]:
    if symmetric:
        return np.triu_indices(n_a, k=1)
    return np.repeat(np.arange(n_a), n_b), np.tile(np.arange(n_b), n_a)


def wasserstein_block(a: DynamicsModels, b: DynamicsModels, symmetric: bool) -> np.ndarray:
    """2-Wasserstein distances between the models' eigenvalue sets (module doc), (len(a), len(b))."""
    from scipy.optimize import linear_sum_assignment

    size = int(a.params["rank"])
    pad = lambda m: np.stack([np.pad(e, (0, size - e.size)) for e in m.eigenvalues]) if len(m) else np.zeros((0, size))  # noqa: E731
    ea, eb = pad(a), pad(b)
    out = np.zeros((len(a), len(b)))
    rows, cols = _pairs(len(a), len(b), symmetric)
    for s in range(0, rows.size, PAIR_BATCH):
        i, j = rows[s:s + PAIR_BATCH], cols[s:s + PAIR_BATCH]
        cost = np.abs(ea[i][:, :, None] - eb[j][:, None, :]) ** 2  # (pairs, size, size)
        for p in range(i.size):
            r, c = linear_sum_assignment(cost[p])
            out[i[p], j[p]] = math.sqrt(cost[p][r, c].mean())
    if symmetric:
        out = out + out.T
    return out


def _padded(models: list[np.ndarray], size: int) -> torch.Tensor:
    out = torch.zeros(len(models), size, size, dtype=torch.float64)
    for k, m in enumerate(models):
        r = m.shape[0]
        if r:
            out[k, :r, :r] = torch.from_numpy(m) / float(np.linalg.norm(m))
    return out


def _random_orthogonal(r: int, count: int, seed: int) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(count):
        Q, R = torch.linalg.qr(torch.randn(r, r, generator=g, dtype=torch.float64))
        out.append(Q * torch.sign(torch.diagonal(R)))  # Haar-distributed
    return out


def align_similarity(A: torch.Tensor, B: torch.Tensor, iterations: int, starts: int, seed: int = 0) -> torch.Tensor:
    """max over orthogonal C of <A_p, C B_p C^T> for a batch of unit-norm pairs (P, r, r).

    Riemannian gradient ascent on the orthogonal group with the Cayley retraction
    C <- C (I - t/2 W)^{-1} (I + t/2 W), W the skew part of C^T grad; a step is taken only if
    it raises the value (then t grows by 1.5, else it halves), so every pair's value rises
    monotonically and every iterate is orthogonal: the result is a lower bound on the maximum.
    The landscape has many local maxima, so it runs from ``starts`` starting points per pair —
    the identity, a reflection (the other component of O(r)) and Haar-random rotations — and
    keeps the best.
    """
    P, r, _ = A.shape
    if r < 2:  # O(1) = {+1, -1}: C B C^T = B
        return (A * B).sum(dim=(-2, -1))
    reflection = torch.eye(r, dtype=A.dtype)
    reflection[[0, 1]] = reflection[[1, 0]]
    C0 = [torch.eye(r, dtype=A.dtype), reflection, *_random_orthogonal(r, max(0, starts - 2), seed)][:max(1, starts)]
    S = len(C0)
    A, B = A.repeat_interleave(S, 0), B.repeat_interleave(S, 0)
    C = torch.stack(C0).repeat(P, 1, 1)
    eye = torch.eye(r, dtype=A.dtype)
    value = (A * (C @ B @ C.transpose(-1, -2))).sum(dim=(-2, -1))
    scale = torch.linalg.matrix_norm(A, 2) * torch.linalg.matrix_norm(B, 2)
    step = (1.0 / scale.clamp(min=1e-12))[:, None, None]
    At, Bt = A.transpose(-1, -2), B.transpose(-1, -2)
    for _ in range(iterations):
        grad = A @ C @ Bt + At @ C @ B
        M = C.transpose(-1, -2) @ grad
        W = 0.5 * (M - M.transpose(-1, -2))
        trial = C @ torch.linalg.solve(eye - 0.5 * step * W, eye + 0.5 * step * W)
        trial_value = (A * (trial @ B @ trial.transpose(-1, -2))).sum(dim=(-2, -1))
        better = trial_value >= value
        C = torch.where(better[:, None, None], trial, C)
        value = torch.where(better, trial_value, value)
        step = torch.where(better[:, None, None], step * 1.5, step * 0.5)
    return value.view(P, S).max(dim=1).values


def angular_block(a: DynamicsModels, b: DynamicsModels, symmetric: bool) -> np.ndarray:
    """Angles between the models after the best orthogonal similarity transform (module doc)."""
    p = a.params
    out = np.zeros((len(a), len(b)))
    rows, cols = _pairs(len(a), len(b), symmetric)
    # pairs grouped by padded size (the larger of the two ranks): one batch per size
    sizes = np.maximum(a.ranks[rows], b.ranks[cols]) if rows.size else np.zeros(0, dtype=np.int64)
    for size in np.unique(sizes):
        sel = np.nonzero(sizes == size)[0]
        for s in range(0, sel.size, PAIR_BATCH):
            k = sel[s:s + PAIR_BATCH]
            i, j = rows[k], cols[k]
            A = _padded([a.models[x] for x in i], int(size))
            B = _padded([b.models[x] for x in j], int(size))
            sim = align_similarity(A, B, p["iterations"], p["starts"], p["seed"])
            out[i, j] = np.arccos(np.clip(sim.numpy(), -1.0, 1.0))
    empty_a, empty_b = a.ranks == 0, b.ranks == 0  # a model of rank 0 (constant states)
    out[np.logical_xor.outer(empty_a, empty_b)] = math.pi / 2
    if symmetric:
        out = np.triu(out, k=1)
        out = out + out.T
    return out


def dsa_block(a: DynamicsModels, b: DynamicsModels | None = None, form: str = "wasserstein") -> np.ndarray:
    """DSA distances between two sets of models (``b=None`` or ``b is a``: symmetric, zero diagonal).

    form: "wasserstein" (eigenvalues) or "angular" (vector fields). Identical inputs get 0.
    """
    symmetric = b is None or b is a
    b = a if b is None else b
    if a.params != b.params:
        raise ValueError(f"model sets were fitted with different options: {a.params} vs {b.params}")
    if form == "wasserstein":
        out = wasserstein_block(a, b, symmetric)
    elif form == "angular":
        out = angular_block(a, b, symmetric)
    else:
        raise ValueError(f"DSA form must be 'wasserstein' or 'angular'; got {form!r}")
    out[np.asarray(a.digests)[:, None] == np.asarray(b.digests)[None, :]] = 0.0
    if symmetric:
        np.fill_diagonal(out, 0.0)
    return out


def dsa(X: np.ndarray, Y: np.ndarray, form: str = "wasserstein", **options: Any) -> float:
    """DSA distance between two networks' states [trials, T, units] (same trials and T)."""
    models = fit_dynamics([X, Y], **options)
    return float(dsa_block(models, None, form)[0, 1])
