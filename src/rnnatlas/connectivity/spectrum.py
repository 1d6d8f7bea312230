"""Spectral measures of W: eigenvalues, matched eigenvalue shifts and non-normality.

Non-normality uses the complex Schur form W = Q T Q*, T = Λ + N (N strictly upper
triangular). Henrici's departure ‖N‖_F = sqrt(‖W‖_F² − Σ|λ_i|²) does not depend on the
Schur form chosen; the 2-norm ‖N‖_2 (seed 001's measure) does depend on the order of the
eigenvalues along T's diagonal, so :func:`schur_upper_norm` fixes a canonical order.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import scipy.linalg
from scipy.optimize import linear_sum_assignment

from ._common import as_square_stack

SchurOrder = Literal["modulus", "lapack"]


def _sort_by_modulus(lam: np.ndarray) -> np.ndarray:
    """Indices ordering eigenvalues by descending modulus, ties (conjugate pairs) by imag desc.

    Moduli are rounded to 1e-9 of the largest so that rounding noise between a conjugate
    pair does not decide their order.
    """
    mod = np.abs(lam)
    scale = mod.max() if mod.size and mod.max() > 0 else 1.0
    key_mod = np.round(mod / scale, 9)
    return np.lexsort((-lam.imag, -key_mod))


def eigenvalues(w: np.ndarray) -> np.ndarray:
    """Eigenvalues of W sorted by descending modulus (ties: larger imaginary part first).

    Complex [N] for one matrix, [S, N] for a stack.
    """
    a, single = as_square_stack(w)
    lam = np.linalg.eigvals(a).astype(np.complex128)
    out = np.stack([lam_i[_sort_by_modulus(lam_i)] for lam_i in lam])
    return out[0] if single else out


def matched_eigenvalue_shifts(w0: np.ndarray, w1: np.ndarray) -> dict[str, np.ndarray | float]:
    """Pair eigenvalues of W0 and W1 by minimum total distance and report each one's shift.

    The assignment minimises Σ|λ1_π(i) − λ0_i| (scipy ``linear_sum_assignment``), so a
    large individual shift means that eigenvalue really moved rather than being relabelled.
    Single matrices only. Returns ``{"lambda0": [N] (sorted by modulus), "lambda1": [N]
    (matched to lambda0), "shift": |lambda1 − lambda0| [N], "total": Σ shift}``.
    """
    a0, s0 = as_square_stack(w0, "w0")
    a1, s1 = as_square_stack(w1, "w1")
    if not (s0 and s1):
        raise ValueError("matched_eigenvalue_shifts takes single [N, N] matrices")
    if a0.shape != a1.shape:
        raise ValueError(f"w0 and w1 differ in shape: {a0.shape[1:]} vs {a1.shape[1:]}")
    lam0 = eigenvalues(a0[0])
    lam1 = eigenvalues(a1[0])
    cost = np.abs(lam0[:, None] - lam1[None, :])
    rows, cols = linear_sum_assignment(cost)
    matched = np.empty_like(lam0)
    matched[rows] = lam1[cols]
    shift = np.abs(matched - lam0)
    return {"lambda0": lam0, "lambda1": matched, "shift": shift, "total": float(shift.sum())}


def schur_form(
    w: np.ndarray, order: SchurOrder = "modulus", want_q: bool = True
) -> tuple[np.ndarray, np.ndarray | None]:
    """Complex Schur form (T, Q) of one matrix with W = Q T Q*.

    ``order="modulus"`` reorders T's diagonal to descending |λ| (ties: larger imag first)
    with LAPACK ``ztrexc``, making T unique up to a diagonal unitary for distinct
    eigenvalues; ``order="lapack"`` keeps the order the QR algorithm produced. A real W goes
    through the real Schur form and ``rsf2csf`` (about 3x faster than a complex QR
    iteration). ``want_q=False`` skips the reordering's updates of Q and returns Q as None.
    """
    a, single = as_square_stack(w)
    if not single:
        raise ValueError("schur_form takes a single [N, N] matrix")
    if order not in ("modulus", "lapack"):
        raise ValueError(f"order must be 'modulus' or 'lapack', got {order!r}")
    if np.iscomplexobj(a):
        t, q = scipy.linalg.schur(a[0].astype(np.complex128), output="complex")
    else:
        t, q = scipy.linalg.rsf2csf(*scipy.linalg.schur(a[0].astype(np.float64), output="real"))
    if order == "modulus":
        t = np.asfortranarray(t, dtype=np.complex128)
        q = np.asfortranarray(q, dtype=np.complex128)
        target = np.diag(t)[_sort_by_modulus(np.diag(t))]
        for k in range(t.shape[0] - 1):
            j = k + int(np.argmin(np.abs(np.diag(t)[k:] - target[k])))
            if j != k:
                # ztrexc indices are 1-based; moves T[j, j] to position k by adjacent swaps.
                t, q, info = scipy.linalg.lapack.ztrexc(t, q, j + 1, k + 1, wantq=int(want_q),
                                                        overwrite_a=1, overwrite_q=1)
                if info != 0:
                    raise RuntimeError(f"LAPACK ztrexc failed (info={info})")
    return t, (q if want_q else None)


def schur_upper_norm(w: np.ndarray, order: SchurOrder = "modulus") -> float | np.ndarray:
    """Spectral norm of the strictly upper-triangular part N of the complex Schur form T.

    Seed 001's non-normality measure (0 for normal matrices). See :func:`schur_form` for
    ``order``; with ``"lapack"`` the value can change under a unitary similarity because
    ‖N‖_2 depends on the diagonal order. Float, or [S] for a stack.
    """
    a, single = as_square_stack(w)
    out = np.empty(a.shape[0])
    for s, m in enumerate(a):
        t, _ = schur_form(m, order=order, want_q=False)
        out[s] = np.linalg.norm(np.triu(t, 1), 2)
    return float(out[0]) if single else out


def henrici_departure(w: np.ndarray) -> float | np.ndarray:
    """Henrici's departure from normality sqrt(‖W‖_F² − Σ|λ_i|²) = ‖N‖_F of any Schur form.

    Tiny negative differences from rounding are clipped to 0. Float, or [S] for a stack.
    """
    a, single = as_square_stack(w)
    fro2 = (np.abs(a) ** 2).sum(axis=(1, 2))
    lam2 = (np.abs(np.linalg.eigvals(a)) ** 2).sum(axis=1)
    out = np.sqrt(np.clip(fro2 - lam2, 0.0, None))
    return float(out[0]) if single else out
