"""Linear-SVM separation of two point clouds (seed 000 §2.3 "width of their separating
hyper-plane obtained from Linear SVM", §2.4 feature A).

A (nearly) hard-margin linear SVM in the states' own units: the margin width is 2/‖w‖, the
distance between the two supporting hyperplanes; the training accuracy says whether the two
clouds are linearly separable.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.svm import SVC

from .geometry import as_array


@dataclass
class Separation:
    margin: float  # 2 / ‖w‖ (state units); 0 when the clouds coincide
    accuracy: float  # training accuracy of the linear SVM, in [0, 1]


def linear_separation(a, b, c: float = 1e3, max_iter: int = 200_000) -> Separation:
    """Fit a linear SVM (penalty ``c``; large ≈ hard margin) to points ``a [Na, N]`` vs ``b [Nb, N]``."""
    a, b = as_array(a), as_array(b)
    x = np.concatenate([a, b])
    y = np.concatenate([np.zeros(len(a)), np.ones(len(b))])
    if np.ptp(x, axis=0).max() == 0.0:  # every point identical: nothing to separate
        return Separation(0.0, max(len(a), len(b)) / len(x))
    with warnings.catch_warnings():  # overlapping clouds stop at max_iter: that is the answer
        warnings.simplefilter("ignore", ConvergenceWarning)
        svm = SVC(kernel="linear", C=c, max_iter=max_iter).fit(x, y)
    w = np.linalg.norm(svm.coef_)
    margin = 2.0 / w if w > 0 else 0.0
    return Separation(float(margin), float(svm.score(x, y)))
