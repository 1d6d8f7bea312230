"""Input checks shared by every similarity entry point.

Representations are activation matrices shaped ``(samples, units)``. Every
network in a comparison must share the same samples (rows); unit counts may
differ. The checks here turn the common layout mistakes (transposed arrays,
mismatched sample counts, NaN) into clear errors before any linear algebra runs.
"""

from __future__ import annotations

import warnings
from typing import Any, Sequence, Union

import numpy as np
import torch

from .names import DYNAMICS_METRICS, SAMPLE_METRICS

ArrayLike = Union[np.ndarray, torch.Tensor]
KERNELS = ("linear", "rbf")
_MAX_SHAPES_SHOWN = 8


class FewSamplesWarning(UserWarning):
    """Fewer samples than units: allowed, but CCA saturates and may mean a transposed input."""


def _shape_of(x: Any) -> tuple[int, ...]:
    if isinstance(x, torch.Tensor):
        return tuple(int(s) for s in x.shape)
    return tuple(int(s) for s in np.shape(x))


def _fmt_shapes(shapes: Sequence[tuple[int, ...]]) -> str:
    shown = ", ".join(str(s) for s in shapes[:_MAX_SHAPES_SHOWN])
    more = len(shapes) - _MAX_SHAPES_SHOWN
    return f"[{shown}{f', ... ({more} more)' if more > 0 else ''}]"


def as_matrix(x: Any, name: str, device: Union[str, torch.device] = "cpu") -> torch.Tensor:
    """Convert one representation to a finite float64 ``(samples, units)`` tensor on ``device``."""
    if isinstance(x, torch.Tensor):
        t = x.detach()
    else:
        a = np.asarray(x)
        if a.dtype == object or not (np.issubdtype(a.dtype, np.number) or a.dtype == np.bool_):
            raise TypeError(f"{name} must be a numeric array; got dtype {a.dtype}")
        t = torch.from_numpy(np.ascontiguousarray(a))
    if t.is_complex():
        raise TypeError(f"{name} must be real-valued; got {t.dtype}")
    if t.ndim != 2:
        raise ValueError(f"{name} must be 2-D (samples, units); got shape {tuple(t.shape)}")
    if t.shape[0] < 2:
        raise ValueError(f"{name} has shape {tuple(t.shape)}: need at least 2 samples (rows) to center")
    if t.shape[1] < 1:
        raise ValueError(f"{name} has shape {tuple(t.shape)}: no units (columns)")
    t = t.to(device=device, dtype=torch.float64)
    if not bool(torch.isfinite(t).all()):
        raise ValueError(f"{name} contains NaN or infinite values")
    return t


def _warn_few_samples(shapes: Sequence[tuple[int, ...]], stacklevel: int) -> None:
    # shapes that as_matrix will reject (too few rows, no columns) get its error, not this warning
    few = [s for s in shapes if len(s) == 2 and 2 <= s[0] < s[1]]
    if few:
        warnings.warn(
            f"{len(few)} representation(s) have fewer samples than units "
            f"(e.g. shape {few[0]} read as (samples, units)). This is allowed, but "
            "canonical correlations saturate at 1 once k_X + k_Y > samples - 1 and CKA "
            "is noisy; check that the arrays are not transposed.",
            FewSamplesWarning,
            stacklevel=stacklevel,
        )


def check_population(shapes: Sequence[tuple[int, ...]], stacklevel: int = 4) -> int:
    """Check that all networks share the sample axis; return the sample count.

    Raises ValueError naming the shapes when inputs look transposed (sample
    counts differ and every array has fewer rows than columns) and naming the
    first offending index otherwise.
    """
    for i, s in enumerate(shapes):
        if len(s) != 2:
            raise ValueError(f"reps[{i}] must be 2-D (samples, units); got shape {s}")
    rows = [s[0] for s in shapes]
    if len(set(rows)) > 1:
        if all(r < c for r, c in shapes):
            raise ValueError(
                "representations look transposed: their row counts differ but every array "
                f"has fewer rows than columns; shapes {_fmt_shapes(shapes)}. Pass each network "
                "as (samples, units) with the same samples (rows) for every network."
            )
        i = next(j for j, r in enumerate(rows) if r != rows[0])
        raise ValueError(
            f"reps[{i}] has shape {shapes[i]} but reps[0] has shape {shapes[0]}: every "
            "network must have the same number of samples (rows, axis 0); units may differ."
        )
    _warn_few_samples(shapes, stacklevel)
    return rows[0]


def check_pair_shapes(sx: tuple[int, ...], sy: tuple[int, ...], stacklevel: int = 4) -> None:
    """Pairwise version of :func:`check_population` with X/Y in the messages."""
    if len(sx) == 2 and len(sy) == 2 and sx[0] != sy[0]:
        hint = ""
        if sx[0] < sx[1] and sy[0] < sy[1]:
            hint = " Both have fewer rows than columns: they look transposed (units, samples)."
        raise ValueError(
            f"X has shape {sx} and Y has shape {sy}: both must be (samples, units) with the "
            f"same number of samples (rows).{hint}"
        )
    if len(sx) == 2 and len(sy) == 2:
        _warn_few_samples([sx, sy], stacklevel)


def validate_pair(X: Any, Y: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """Shape-check and convert a pair of representations to CPU float64."""
    sx, sy = _shape_of(X), _shape_of(Y)
    check_pair_shapes(sx, sy, stacklevel=5)
    return as_matrix(X, "X"), as_matrix(Y, "Y")


def split_reps(reps: Any) -> list[Any]:
    """Turn a stacked ``(n, samples, units)`` array or a sequence into a list of n items."""
    if isinstance(reps, torch.Tensor) or isinstance(reps, np.ndarray):
        if reps.ndim != 3:
            raise ValueError(
                "a stacked array of representations must be 3-D (networks, samples, units); "
                f"got shape {tuple(reps.shape)}"
            )
        return [reps[i] for i in range(reps.shape[0])]
    if isinstance(reps, (str, bytes)) or not isinstance(reps, Sequence):
        raise TypeError("reps must be a sequence of (samples, units) arrays or a 3-D array")
    return list(reps)


def check_metric(metric: str) -> str:
    if metric in DYNAMICS_METRICS:
        raise ValueError(f"metric {metric!r} compares dynamics: use rnnatlas.similarity.fit_dynamics and "
                         "dsa_block (prepare and pairwise take the sample metrics)")
    if metric not in SAMPLE_METRICS:
        raise ValueError(f"unknown metric {metric!r}; expected one of {SAMPLE_METRICS}")
    return metric


def check_variance(variance: float) -> float:
    v = float(variance)
    if not 0.0 < v <= 1.0:
        raise ValueError(f"variance must be in (0, 1]; got {variance}")
    return v


def check_sigma_fraction(sigma_fraction: float) -> float:
    s = float(sigma_fraction)
    if not (s > 0.0 and np.isfinite(s)):
        raise ValueError(f"sigma_fraction must be a positive finite number; got {sigma_fraction}")
    return s


def check_debiased_samples(n_samples: int, debiased: bool) -> None:
    if debiased and n_samples < 4:
        raise ValueError(f"the debiased HSIC estimator needs at least 4 samples; got {n_samples}")


def check_dtype(dtype: torch.dtype) -> torch.dtype:
    if dtype not in (torch.float32, torch.float64):
        raise ValueError(f"dtype must be torch.float32 or torch.float64; got {dtype}")
    return dtype
