"""Per-network precomputation for the batched pairwise engine.

:func:`prepare` does everything that depends on one network only, once:

* ``svcca``: centering, SVD, truncation -> orthonormal basis U (samples, k).
* ``cka_linear``: the centered activations Xc (dead units dropped) and the
  float64 norm ||Xc^T Xc||_F; the debiased form also stores the U-centering
  row terms.
* ``cka_rbf``: Xc, the bandwidth 1/(2 sigma^2), the centering row terms of the
  Gram matrix and its float64 Frobenius norm. The samples x samples Gram
  matrix itself is not stored; the engine rebuilds it in row chunks.
* ``procrustes``: the partially whitened, unit-norm shape factor (samples, rank)
  (:func:`rnnatlas.similarity._linalg.shape_factor`); the pair term is the nuclear norm
  of the cross product, as for SVCCA.

A :class:`Prepared` can be saved to / loaded from an ``.npz`` file so that a
workflow job can compute any block of rows x columns of the distance matrix
(see :func:`rnnatlas.similarity.pairwise_block`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence, Union

import numpy as np
import torch

from ._linalg import (center, drop_zero_columns, is_constant, network_basis, network_gram, shape_factor,
                      thread_map)
from ._linalg import digest as array_digest
from ._validate import (
    _shape_of,
    as_matrix,
    check_debiased_samples,
    check_dtype,
    check_metric,
    check_population,
    check_sigma_fraction,
    check_variance,
    split_reps,
)
from .options import check_alpha

_FORMAT = "rnnatlas.similarity.prepared/1"


@dataclass
class Prepared:
    """Precomputed per-network factors for one metric (see module docstring).

    factors[i]: (samples, widths[i]) tensor in ``dtype`` on ``device``
    (SVCCA basis, or centered activations for CKA). ``constant[i]`` marks
    networks with no signal after centering. ``norms`` holds the float64
    Frobenius norm of each centered Gram matrix (CKA only). ``digests``
    identify exactly identical inputs, which get distance exactly 0.
    """

    metric: str
    params: dict[str, Any]
    n_samples: int
    n_units: np.ndarray
    widths: np.ndarray
    constant: np.ndarray
    factors: list[torch.Tensor]
    norms: np.ndarray
    row_terms: Optional[list[torch.Tensor]]
    const_terms: Optional[np.ndarray]
    inv_two_sigma2: Optional[np.ndarray]
    digests: list[str]
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    dtype: torch.dtype = torch.float32

    def __len__(self) -> int:
        return len(self.factors)

    def select(self, idx: Union[Sequence[int], np.ndarray, slice]) -> "Prepared":
        """Subset of networks (no copy of the factor tensors)."""
        ids = np.arange(len(self))[idx] if isinstance(idx, slice) else np.asarray(idx, dtype=np.int64)
        pick = lambda xs: None if xs is None else [xs[int(i)] for i in ids]  # noqa: E731
        arr = lambda a: None if a is None else np.asarray(a)[ids]  # noqa: E731
        return Prepared(
            metric=self.metric,
            params=dict(self.params),
            n_samples=self.n_samples,
            n_units=arr(self.n_units),
            widths=arr(self.widths),
            constant=arr(self.constant),
            factors=pick(self.factors),
            norms=arr(self.norms),
            row_terms=pick(self.row_terms),
            const_terms=arr(self.const_terms),
            inv_two_sigma2=arr(self.inv_two_sigma2),
            digests=[self.digests[int(i)] for i in ids],
            device=self.device,
            dtype=self.dtype,
        )

    def save(self, path: Union[str, Path]) -> None:
        """Write to ``path`` as an uncompressed .npz (no pickles)."""
        m = self.n_samples
        np_dtype = np.float32 if self.dtype == torch.float32 else np.float64
        cat = (
            torch.cat([f.cpu() for f in self.factors], dim=1).numpy()
            if len(self) and int(self.widths.sum()) > 0
            else np.zeros((m, 0), dtype=np_dtype)
        )
        arrays: dict[str, np.ndarray] = {
            "format": np.array(_FORMAT),
            "metric": np.array(self.metric),
            "params": np.array(json.dumps(self.params)),
            "n_samples": np.array(m),
            "n_units": self.n_units,
            "widths": self.widths,
            "constant": self.constant,
            "factors": cat.astype(np_dtype, copy=False),
            "norms": self.norms,
            "digests": np.array(self.digests, dtype="U64"),
        }
        if self.row_terms is not None:
            arrays["row_terms"] = torch.stack([r.cpu() for r in self.row_terms]).numpy() if len(self) else np.zeros((0, m), np_dtype)
            arrays["const_terms"] = self.const_terms
        if self.inv_two_sigma2 is not None:
            arrays["inv_two_sigma2"] = self.inv_two_sigma2
        with open(path, "wb") as fh:
            np.savez(fh, **arrays)

    @classmethod
    def load(
        cls,
        path: Union[str, Path],
        device: Union[str, torch.device] = "cpu",
        dtype: Optional[torch.dtype] = None,
    ) -> "Prepared":
        """Read a file written by :meth:`save`, placing factors on ``device`` (``dtype`` overrides)."""
        device = torch.device(device)
        with np.load(path, allow_pickle=False) as z:
            if str(z["format"]) != _FORMAT:
                raise ValueError(f"{path} is not a saved Prepared ({_FORMAT})")
            cat = torch.from_numpy(z["factors"])
            dt = check_dtype(dtype) if dtype is not None else cat.dtype
            widths = z["widths"].astype(np.int64)
            splits = torch.split(cat, [int(w) for w in widths], dim=1) if len(widths) else []
            factors = [s.to(device=device, dtype=dt).contiguous() for s in splits]
            row_terms = None
            const_terms = None
            if "row_terms" in z.files:
                rt = torch.from_numpy(z["row_terms"]).to(device=device, dtype=dt)
                row_terms = list(rt.unbind(0))
                const_terms = z["const_terms"]
            inv = z["inv_two_sigma2"] if "inv_two_sigma2" in z.files else None
            return cls(
                metric=str(z["metric"]),
                params=json.loads(str(z["params"])),
                n_samples=int(z["n_samples"]),
                n_units=z["n_units"],
                widths=widths,
                constant=z["constant"].astype(bool),
                factors=factors,
                norms=z["norms"].astype(np.float64),
                row_terms=row_terms,
                const_terms=const_terms,
                inv_two_sigma2=inv,
                digests=[str(d) for d in z["digests"]],
                device=device,
                dtype=dt,
            )


def prepare(
    reps: Any,
    metric: str,
    *,
    variance: float = 0.99,
    sigma_fraction: float = 0.8,
    debiased: bool = False,
    alpha: float = 1.0,
    device: Union[str, torch.device] = "cpu",
    dtype: torch.dtype = torch.float32,
) -> Prepared:
    """Precompute per-network factors for ``metric`` ("svcca", "cka_linear", "cka_rbf", "procrustes").

    reps: sequence of n (samples, units) arrays with equal ``samples`` (units
    may differ), or a stacked (n, samples, units) array; numpy or torch.
    Per-network linear algebra runs in float64 on ``device``; the stored
    factors are cast to ``dtype`` (the precision of the big products).
    ``variance`` applies to SVCCA; ``sigma_fraction`` to RBF CKA;
    ``debiased`` to both CKA metrics; ``alpha`` (partial whitening) to Procrustes.
    """
    metric = check_metric(metric)
    dtype = check_dtype(dtype)
    device = torch.device(device)
    items = split_reps(reps)
    shapes = [_shape_of(x) for x in items]
    n_samples = check_population(shapes) if items else 0
    if metric == "svcca":
        params: dict[str, Any] = {"variance": check_variance(variance)}
    elif metric == "procrustes":
        params = {"alpha": check_alpha(alpha)}
    else:
        params = {"debiased": bool(debiased)}
        if metric == "cka_rbf":
            params["sigma_fraction"] = check_sigma_fraction(sigma_fraction)
        if items:
            check_debiased_samples(n_samples, bool(debiased))
    kernel = "rbf" if metric == "cka_rbf" else "linear"
    use_terms = metric == "cka_rbf" or (metric == "cka_linear" and bool(debiased))
    m = n_samples

    def one(i: int) -> tuple:
        X = as_matrix(items[i], f"reps[{i}]", device)
        digest = array_digest((X + 0.0).cpu().numpy())
        if metric == "svcca":
            U = network_basis(X, params["variance"])
            return U.to(dtype).contiguous(), 0.0, None, 0.0, 0.0, digest
        if metric == "procrustes":
            F = shape_factor(X, params["alpha"])
            return F.to(dtype).contiguous(), 1.0 if F.shape[1] else 0.0, None, 0.0, 0.0, digest
        if not use_terms:
            Xc = center(X)
            if is_constant(X, Xc):
                return Xc[:, :0].to(dtype), 0.0, None, 0.0, 0.0, digest
            Xc = drop_zero_columns(Xc)
            small = Xc.T @ Xc if Xc.shape[1] <= m else Xc @ Xc.T  # same Frobenius norm
            return Xc.to(dtype).contiguous(), float(torch.linalg.matrix_norm(small)), None, 0.0, 0.0, digest
        g = network_gram(X, kernel, params.get("sigma_fraction", 0.8), params["debiased"])
        if g is None:
            zeros = torch.zeros(m, dtype=dtype, device=device)
            return X[:, :0].to(dtype), 0.0, zeros, 0.0, 0.0, digest
        Kh, a, c, inv, Xc = g
        norm = float(torch.linalg.matrix_norm(Kh))
        return Xc.to(dtype).contiguous(), norm, a.to(dtype), c, inv, digest

    results = thread_map(one, list(range(len(items))), device)
    factors = [r[0] for r in results]
    widths = np.array([f.shape[1] for f in factors], dtype=np.int64)
    norms = np.array([r[1] for r in results], dtype=np.float64)
    constant = widths == 0 if metric in ("svcca", "procrustes") else norms == 0.0
    return Prepared(
        metric=metric,
        params=params,
        n_samples=n_samples,
        n_units=np.array([s[1] for s in shapes], dtype=np.int64),
        widths=widths,
        constant=constant,
        factors=factors,
        norms=norms,
        row_terms=[r[2] for r in results] if use_terms else None,
        const_terms=np.array([r[3] for r in results], dtype=np.float64) if use_terms else None,
        inv_two_sigma2=np.array([r[4] for r in results], dtype=np.float64) if metric == "cka_rbf" else None,
        digests=[r[5] for r in results],
        device=device,
        dtype=dtype,
    )
