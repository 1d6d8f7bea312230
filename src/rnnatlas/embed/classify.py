"""Do the neural features predict the topological class? (seed 000 §2.5, Fig. 6)

Repeated hold-out: ``n_repeats`` (50) times, fit a decision tree on a random 70% of the
networks and score the other 30% with Cohen's κ and the row-normalised confusion matrix
(row = true class, each row sums to 1); report mean ± standard error over repetitions, per
architecture and for all networks combined. The splits are plain random (as in the
supplement); ``model="forest"`` uses a random forest over stratified splits instead.

Classes with fewer than ``min_members`` networks in the group being evaluated are
under-represented: their confusion-matrix rows and columns are reported as NaN (N/A).
Default 5 (a 30% test set then holds ~1.5 of them on average; fewer makes the row a guess).
They still take part in fitting and in κ, since they are real networks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import cohen_kappa_score, confusion_matrix
from sklearn.model_selection import ShuffleSplit, StratifiedShuffleSplit
from sklearn.tree import DecisionTreeClassifier

MODELS = ("tree", "forest")
MIN_MEMBERS = 5


@dataclass
class ClassificationResult:
    classes: np.ndarray  # [C] labels, sorted
    counts: np.ndarray  # [C] members per class
    kappa_mean: float
    kappa_se: float
    confusion_mean: np.ndarray  # [C, C], rows = true class, NaN where N/A
    confusion_se: np.ndarray  # [C, C]
    available: np.ndarray  # [C] bool: class has at least min_members members
    n_repeats: int
    kappas: np.ndarray  # [n_repeats], NaN where undefined

    def as_dict(self) -> dict:
        return {
            "classes": self.classes.tolist(), "counts": self.counts.tolist(),
            "kappa_mean": self.kappa_mean, "kappa_se": self.kappa_se,
            "confusion_mean": self.confusion_mean.tolist(), "confusion_se": self.confusion_se.tolist(),
            "available": self.available.tolist(), "n_repeats": self.n_repeats,
        }


def finite_features(x) -> np.ndarray:
    """Replace ±inf with just beyond the column's finite range and NaN below it (trees split on order)."""
    x = np.array(x, dtype=np.float64)
    for j in range(x.shape[1]):
        col = x[:, j]
        ok = np.isfinite(col)
        lo, hi = (col[ok].min(), col[ok].max()) if ok.any() else (0.0, 0.0)
        col[col == np.inf] = hi + 1.0
        col[col == -np.inf] = lo - 1.0
        col[np.isnan(col)] = lo - 2.0
    return x


def _model(model: str, seed: int):
    if model == "tree":
        return DecisionTreeClassifier(random_state=seed)
    if model == "forest":
        return RandomForestClassifier(n_estimators=100, random_state=seed, n_jobs=1)
    raise ValueError(f"unknown classifier {model!r}; allowed: {', '.join(MODELS)}")


def _mean_se(values: np.ndarray, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    n = np.sum(~np.isnan(values), axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.nanmean(values, axis=axis) if values.size else np.nan
        sd = np.nanstd(values, axis=axis, ddof=1) if values.size else np.nan
        se = np.where(n > 1, sd / np.sqrt(np.maximum(n, 1)), np.nan)
    return mean, se


def classify_cv(
    features, labels, n_repeats: int = 50, test_size: float = 0.3, model: str = "tree",
    min_members: int = MIN_MEMBERS, seed: int = 0,
) -> ClassificationResult:
    """Repeated random hold-out of a classifier predicting ``labels [n]`` from ``features [n, F]``."""
    import warnings

    x = finite_features(features)
    y = np.asarray(labels)
    classes, counts = np.unique(y, return_counts=True)
    c = len(classes)
    available = counts >= min_members
    if c < 2 or len(y) < 4:
        nan_cc = np.full((c, c), np.nan)
        return ClassificationResult(classes, counts, np.nan, np.nan, nan_cc, nan_cc.copy(), available, 0, np.array([]))
    if model == "forest" and counts.min() >= 2:
        splitter = StratifiedShuffleSplit(n_splits=n_repeats, test_size=test_size, random_state=seed)
    else:
        splitter = ShuffleSplit(n_splits=n_repeats, test_size=test_size, random_state=seed)
    kappas = np.full(n_repeats, np.nan)
    mats = np.full((n_repeats, c, c), np.nan)
    for r, (tr, te) in enumerate(splitter.split(x, y)):
        clf = _model(model, seed + r).fit(x[tr], y[tr])
        pred = clf.predict(x[te])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            k = cohen_kappa_score(y[te], pred, labels=classes)
        kappas[r] = k if np.isfinite(k) else np.nan
        cm = confusion_matrix(y[te], pred, labels=classes).astype(np.float64)
        rows = cm.sum(axis=1, keepdims=True)
        mats[r] = np.where(rows > 0, cm / np.where(rows > 0, rows, 1.0), np.nan)
    k_mean, k_se = _mean_se(kappas)
    cm_mean, cm_se = _mean_se(mats)
    na = ~available[:, None] | ~available[None, :]
    cm_mean, cm_se = np.where(na, np.nan, cm_mean), np.where(na, np.nan, cm_se)
    return ClassificationResult(classes, counts, float(k_mean), float(k_se), cm_mean, cm_se, available, n_repeats, kappas)


def classify_by_group(
    features, labels, groups, combined: str = "all", **kwargs
) -> dict[str, ClassificationResult]:
    """:func:`classify_cv` for each group (e.g. architecture) and for all networks together."""
    x, y, g = np.asarray(features), np.asarray(labels), np.asarray(groups)
    out = {str(name): classify_cv(x[g == name], y[g == name], **kwargs) for name in np.unique(g)}
    out[combined] = classify_cv(x, y, **kwargs)
    return out
