"""Task variance, task vectors and their compositionality, as Yang et al. 2019 compute them.

All functions read noise-free probe trials (the reference's test mode): ``hidden``
``[trials, T, N]`` and per-trial labels (``rule`` and the epoch bounds ``stim_on``,
``stim_off``, ``response``, ``end`` in steps).

- Task variance of unit i for rule r (the reference's ``variance.py``, by rule): the variance of
  its activity across the rule's trials (angles × modalities) at each step from stimulus onset
  to the trial's end, averaged over those steps.
- Task vector of rule r (``taskset.py``): the activity averaged over the rule's trials, at the
  last step of the stimulus epoch (the steady state at the end of the stimulus). Rules without a
  stimulus epoch before the response (the RT tasks) have none (NaN).
- Compositionality (the reference's Fig. 6, the thesis's Fig. 5.2): the cosine between the
  vectors Go → Dly Go and Anti → Dly Anti, in the full state space and in the plane of the
  first two principal components of the four task vectors (where the reference draws them).
"""

from __future__ import annotations

import numpy as np

# The pairs whose difference vectors the compositionality cosine compares (thesis Fig. 5.2).
COMPOSITION = (("go", "dly_go"), ("anti", "dly_anti"))


def _trials(labels: dict[str, np.ndarray], rule: str) -> np.ndarray:
    return np.flatnonzero(np.asarray(labels["rule"]).astype(str) == rule)


def rule_variance(hidden: np.ndarray, labels: dict[str, np.ndarray], rules: list[str]) -> np.ndarray:
    """``[R, N]``: per rule and unit, the variance across the rule's trials at each step from
    stimulus onset to the end of the trial, averaged over those steps (NaN for a rule without
    probe trials). Trials of one rule share their timing (test mode)."""
    hidden = np.asarray(hidden, dtype=np.float64)
    out = np.full((len(rules), hidden.shape[-1]), np.nan)
    for r, rule in enumerate(rules):
        idx = _trials(labels, rule)
        if len(idx) < 2:
            continue
        start, end = int(labels["stim_on"][idx[0]]), int(labels["end"][idx[0]])
        if np.any(np.asarray(labels["stim_on"])[idx] != start) or np.any(np.asarray(labels["end"])[idx] != end):
            raise ValueError(f"rule {rule!r}: probe trials of one rule must share their timing")
        out[r] = hidden[idx, start:end].var(axis=0).mean(axis=0)
    return out


def task_vectors(hidden: np.ndarray, labels: dict[str, np.ndarray], rules: list[str]) -> np.ndarray:
    """``[R, N]``: per rule, the trial-averaged activity at the last step of its stimulus epoch
    (the stimulus is on and the response has not begun); NaN for rules without one."""
    hidden = np.asarray(hidden, dtype=np.float64)
    out = np.full((len(rules), hidden.shape[-1]), np.nan)
    for r, rule in enumerate(rules):
        idx = _trials(labels, rule)
        if not len(idx):
            continue
        on, off, response = (int(labels[k][idx[0]]) for k in ("stim_on", "stim_off", "response"))
        last = min(off, response) - 1
        if last >= on:
            out[r] = hidden[idx, last].mean(axis=0)
    return out


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if not (np.isfinite(na) and np.isfinite(nb)) or na == 0 or nb == 0:
        return float("nan")
    return float(np.dot(a, b) / (na * nb))


def compositionality(vectors: np.ndarray, rules: list[str]) -> dict[str, float]:
    """Cosine between Go → Dly Go and Anti → Dly Anti (NaN unless all four task vectors exist):
    ``cosine`` in the full state space, ``cosine_pc2`` in the plane of the first two principal
    components of the four vectors."""
    names = [name for pair in COMPOSITION for name in pair]
    if not all(n in rules for n in names):
        return {"cosine": float("nan"), "cosine_pc2": float("nan")}
    v = np.asarray([vectors[rules.index(n)] for n in names], dtype=np.float64)
    if not np.isfinite(v).all():
        return {"cosine": float("nan"), "cosine_pc2": float("nan")}
    d1, d2 = v[1] - v[0], v[3] - v[2]
    centred = v - v.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    pcs = vt[:2]
    return {"cosine": _cosine(d1, d2), "cosine_pc2": _cosine(pcs @ d1, pcs @ d2)}
