"""Benchmark: the batched ``pairwise`` engine vs two per-pair loops.

* naive loop: calls ``svcca(X_i, X_j)`` / ``cka(X_i, X_j)`` from raw
  activations for each pair, re-centering and re-whitening both networks
  every time (how reference implementations are used).
* strong loop: the best per-pair code a user would write by hand (numpy,
  written here, not calling rnnatlas). Everything that depends on one network
  is computed once per network; per pair only the cross term is left:

  - svcca (form "svd"): centre, drop dead units, SVD, keep the leading
    directions holding ``variance`` = 0.99 of the variance (the numerical-rank
    cut and the cumulative-variance rule of ``rnnatlas.similarity.svcca``);
    per pair the sum of singular values of U_i^T U_j over min(k_i, k_j).
  - cka_linear, form "features": centred X (dead units dropped) and
    ||X^T X||_F cached; per pair ||X_j^T X_i||_F^2 / (||X_i^T X_i||_F ||X_j^T X_j||_F)
    (Kornblith et al.'s feature-space formula). Form "gram": the centred
    Gram matrix cached; per pair one dot product (below). The faster of the
    two (prepare included) is the strong baseline.
  - cka_rbf (form "gram"): centred RBF Gram matrix per network with our
    bandwidth rule (sigma^2 = 0.8^2 x median of the squared distances, zero
    diagonal included) and its Frobenius norm cached; per pair <K_i, K_j>_F
    over the norms. The cache holds only the upper triangle (off-diagonal
    entries scaled by sqrt 2), which halves the per-pair dot product.

  - procrustes (form "svd", alpha = 1): centre, drop dead units, scale to unit RMS, SVD, the
    shape factor U diag(alpha s + (1 - alpha) sqrt(m)) normalised to norm 1; per pair the
    nuclear norm of F_i^T F_j (the cosine of the angular shape distance).

  Per-network work runs in float64; the cached factors are cast to float32
  (the precision of ``pairwise``'s products), so the ratio measures batching,
  not precision. The strong loop is timed on every pair of a random subset of
  ``--strong-nets`` networks (its prepare on those networks too) and
  projected to n networks: n x prepare + n(n-1)/2 x pair. Its values are
  checked against ``pairwise``: in float64 against ``pairwise(dtype=float64)``
  to 1e-6 relative (same definition), and the timed float32 values against
  the timed ``pairwise`` to 1e-4 (float32 products round at ~5e-6 relative
  at n = 100-300, more at tiny n); the naive loop's values are checked to 1e-4 as well.

``pairwise`` prepares each network once and computes blocks of pairs with
batched products. At large n the naive loop is timed on a random sample of
pairs and projected to the full matrix; the output says so. Per-pair times
are amortised (prepare included) for the strong loop and ``pairwise``.

Population: RNN-like activations, 16 trials x 100 steps = 1,600 samples,
64-256 units per network: shared smooth latent trajectories plus a few
private ones, mixed through a random matrix and a tanh, plus noise; one
network in three has 10-25 % dead (all-zero) units.

DSA (``--dsa-n``): the population's states as trajectories [16 trials, 100 steps, 32-64 units];
ours (``fit_dynamics`` once per network + ``dsa_block``) against dsa-metric's own pairwise call
``DSA(list, n_delays, rank, score_method=...).fit_score()``, which also fits each model once and
caches the eigenvalues, then loops over the pairs of one triangle. The eigenvalue (Wasserstein)
form is timed on the same n networks for both (``--dsa-ref-nets`` fewer for the reference); the
vector-field (angular) form's reference, an Adam
optimisation per pair (``--dsa-ref-iters``, its default 1,500), on ``--dsa-angular-ref-nets``
networks, projected per pair. Values are checked: W2² against the reference to 1e-3 of its largest
value (the reference fits in float32);
the angular form's angles at most the reference's + 5e-3 (our multi-start ascent may find a
better alignment, never a worse one beyond that).

Usage::

    python benchmarks/bench_similarity.py --n 100 500 2880 --threads 2 [--json] [--device cuda]
    python benchmarks/bench_similarity.py --n 300 --metrics procrustes --dsa-n 100 --threads 2

``--device`` (default cpu; cpu, cuda, cuda:N or auto) is where ``pairwise`` runs (``prepare`` and
its blocks: ``prepare(..., device=...)``). The naive loop and the strong numpy baselines always run
on the CPU, so with a GPU the ratios compare the GPU engine with CPU loops. On CUDA the timers are
read after ``torch.cuda.synchronize()`` and one small untimed ``pairwise`` call first pays the
device's start-up costs (CUDA context, cuBLAS/cuSOLVER handles).

With the default metrics (SVCCA and linear CKA) the last line per n sums both matrices'
wall time (the issue's aim: under 15 minutes at n = 2,880 on 2 cores).
"""

from __future__ import annotations

import argparse
import os
import sys


def _set_threads(argv: list[str]) -> int:
    """Set thread limits before numpy/torch load (oversubscription slows SVDs badly)."""
    threads = 1
    for i, a in enumerate(argv):
        if a == "--threads" and i + 1 < len(argv):
            threads = int(argv[i + 1])
        elif a.startswith("--threads="):
            threads = int(a.split("=", 1)[1])
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(threads)
    return threads


_THREADS = _set_threads(sys.argv)

import json  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(_THREADS)

from _device import add_device_option, open_device  # noqa: E402
from rnnatlas.similarity import (cka, dsa_block, fit_dynamics, pairwise_block, prepare,  # noqa: E402
                                 procrustes_distance, similarity_block, svcca)

VARIANCE = 0.99  # SVCCA: share of each network's variance kept
SIGMA_FRACTION = 0.8  # RBF CKA: sigma = SIGMA_FRACTION x sqrt(median squared distance)
ALPHA = 1.0  # Procrustes: no whitening
DSA_OPTIONS = {"n_delays": 5, "rank": 10}  # the default config's

METRICS = {
    "svcca": lambda X, Y: svcca(X, Y, variance=VARIANCE),
    "cka_linear": lambda X, Y: cka(X, Y, kernel="linear"),
    "cka_rbf": lambda X, Y: cka(X, Y, kernel="rbf", sigma_fraction=SIGMA_FRACTION),
    "procrustes": lambda X, Y: float(np.cos(procrustes_distance(X, Y, alpha=ALPHA))),
}
PREPARE_KW = {
    "svcca": {"variance": VARIANCE},
    "cka_linear": {},
    "cka_rbf": {"sigma_fraction": SIGMA_FRACTION},
    "procrustes": {"alpha": ALPHA},
}

# Agreement required between the loops and ``pairwise`` (relative, on similarities).
RTOL_FLOAT64 = 1e-6  # strong loop in float64 vs pairwise(dtype=float64): same definition
# float32 products (timed strong loop, timed pairwise): ~1e-6 relative (pairwise's float32 Gram
# products sum at most 32k terms each, whatever n).
RTOL_FLOAT32 = 1e-4
EPS64 = float(np.finfo(np.float64).eps)

def sync(device: torch.device) -> None:
    """Wait for the device's queued work (CUDA) so a timer read after it counts that work."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def make_population(
    n: int, n_trials: int = 16, n_steps: int = 100, seed: int = 0, units_range: tuple[int, int] = (64, 257)
) -> list[np.ndarray]:
    """n float32 activation matrices (n_trials * n_steps, units), units drawn from ``units_range``."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, 1.0, n_steps)

    def smooth(d: int) -> np.ndarray:  # (trials * steps, d) sums of slow sinusoids
        freq = rng.uniform(0.5, 3.0, size=(1, 1, d, 3))
        phase = rng.uniform(0, 2 * np.pi, size=(n_trials, 1, d, 3))
        amp = rng.standard_normal((1, 1, d, 3))
        z = (amp * np.sin(2 * np.pi * freq * t[None, :, None, None] + phase)).sum(-1)
        return z.reshape(n_trials * n_steps, d)

    shared = smooth(6)
    reps = []
    for i in range(n):
        units = int(rng.integers(*units_range))
        private = smooth(int(rng.integers(1, 5)))
        z = np.concatenate([shared, 0.5 * private], axis=1)
        W = rng.standard_normal((z.shape[1], units)) / np.sqrt(z.shape[1])
        x = np.tanh(z @ W + 0.3 * rng.standard_normal(units))
        x += 0.02 * rng.standard_normal(x.shape)
        if i % 3 == 0:
            dead = rng.choice(units, size=int(units * rng.uniform(0.10, 0.25)), replace=False)
            x[:, dead] = 0.0
        reps.append(x.astype(np.float32))
    return reps


# ---------------------------------------------------------------------------
# Strong per-pair baselines: plain numpy, independent of rnnatlas's code, same
# definitions. prepare(X) -> float64 cache; cast(cache) -> the float32 cache the
# timed pair loop uses; pair(a, b) -> similarity.
# ---------------------------------------------------------------------------


def _centred_live(X: np.ndarray) -> np.ndarray:
    """float64 X minus its column means, all-zero (dead) columns removed."""
    X = np.asarray(X, dtype=np.float64)
    Xc = X - X.mean(axis=0)
    if np.linalg.norm(Xc) <= 1e-12 * np.linalg.norm(X):
        raise ValueError("constant network: the strong baselines do not handle it")
    live = (Xc != 0).any(axis=0)
    return Xc if live.all() else Xc[:, live]


def _cast(cache: tuple, dtype) -> tuple:
    """Arrays to ``dtype`` (contiguous); scalars (norms) stay float64."""
    return tuple(np.ascontiguousarray(c, dtype=dtype) if isinstance(c, np.ndarray) else c for c in cache)


def _svd_prepare(X: np.ndarray) -> tuple:
    Xc = _centred_live(X)
    U, s, _ = np.linalg.svd(Xc, full_matrices=False)
    rank = int((s > max(Xc.shape) * EPS64 * s[0]).sum())  # numerical rank (numpy's rule)
    energy = s[:rank] ** 2
    k = min(int(np.searchsorted(np.cumsum(energy) / energy.sum(), VARIANCE)) + 1, rank)
    return (U[:, :k],)


def _svd_pair(a: tuple, b: tuple) -> float:
    (Ua,), (Ub,) = a, b
    rho = np.linalg.svd((Ua.T @ Ub).astype(np.float64), compute_uv=False)
    return min(float(rho.sum()) / min(Ua.shape[1], Ub.shape[1]), 1.0)


def _features_prepare(X: np.ndarray) -> tuple:
    Xc = _centred_live(X)
    return Xc, float(np.linalg.norm(Xc.T @ Xc))


def _features_pair(a: tuple, b: tuple) -> float:
    (Xa, na), (Xb, nb) = a, b
    C = (Xb.T @ Xa).astype(np.float64)
    return float(np.vdot(C, C)) / (na * nb)


def _packed(Kc: np.ndarray) -> np.ndarray:
    """Diagonal, then sqrt(2) x the strict upper triangle: packed . packed = <K, L>_F."""
    m = Kc.shape[0]
    iu = np.triu_indices(m, k=1)
    return np.concatenate([np.diagonal(Kc), np.sqrt(2.0) * Kc[iu]])


def _double_centre(K: np.ndarray) -> np.ndarray:
    r = K.mean(axis=1)
    return K - r[:, None] - r[None, :] + r.mean()


def _linear_gram_prepare(X: np.ndarray) -> tuple:
    Xc = _centred_live(X)
    Kc = Xc @ Xc.T  # already double-centred: Xc has zero column means
    return _packed(Kc), float(np.linalg.norm(Kc))


def _rbf_gram_prepare(X: np.ndarray) -> tuple:
    Xc = _centred_live(X)
    sq = (Xc * Xc).sum(axis=1)
    D2 = sq[:, None] + sq[None, :] - 2.0 * (Xc @ Xc.T)
    np.maximum(D2, 0.0, out=D2)
    np.fill_diagonal(D2, 0.0)
    med = float(np.median(D2))  # over all samples x samples entries, zero diagonal included
    if med <= 0.0:  # as rnnatlas: fall back to the positive entries
        med = float(np.median(D2[D2 > 0]))
    Kc = _double_centre(np.exp(-D2 / (2.0 * SIGMA_FRACTION**2 * med)))
    return _packed(Kc), float(np.linalg.norm(Kc))


def _gram_pair(a: tuple, b: tuple) -> float:
    (ka, na), (kb, nb) = a, b
    return float(np.dot(ka, kb)) / (na * nb)


def _shape_prepare(X: np.ndarray) -> tuple:
    Xc = _centred_live(X)
    Xc = Xc / np.sqrt(np.mean(Xc**2))
    U, s, _ = np.linalg.svd(Xc, full_matrices=False)
    rank = int((s > max(Xc.shape) * EPS64 * s[0]).sum())
    F = U[:, :rank] * (ALPHA * s[:rank] + (1.0 - ALPHA) * np.sqrt(Xc.shape[0]))
    return (F / np.linalg.norm(F),)


def _shape_pair(a: tuple, b: tuple) -> float:
    (Fa,), (Fb,) = a, b
    return float(np.linalg.svd((Fa.T @ Fb).astype(np.float64), compute_uv=False).sum())


STRONG = {  # metric -> {form: (prepare, pair)}
    "svcca": {"svd": (_svd_prepare, _svd_pair)},
    "cka_linear": {
        "features": (_features_prepare, _features_pair),
        "gram": (_linear_gram_prepare, _gram_pair),
    },
    "cka_rbf": {"gram": (_rbf_gram_prepare, _gram_pair)},
    "procrustes": {"svd": (_shape_prepare, _shape_pair)},
}


def _max_rel(values: np.ndarray, ref: np.ndarray) -> float:
    values, ref = np.asarray(values, dtype=np.float64), np.asarray(ref, dtype=np.float64)
    if values.size == 0:
        return 0.0
    return float(np.max(np.abs(values - ref) / np.maximum(np.abs(ref), 1e-12)))


def time_strong(reps: list[np.ndarray], metric: str, subset: np.ndarray) -> dict:
    """Strong loop on every pair of ``subset``, projected to len(reps) networks.

    Returns, per form: prepare ms per network (float64 work + cast to float32),
    ms per pair (float32 caches), the amortised ms per pair at n = len(reps),
    and the float32 and float64 similarities of the timed pairs (not in JSON).
    """
    n = len(reps)
    total = n * (n - 1) // 2
    pairs = [(a, b) for a in range(len(subset)) for b in range(a + 1, len(subset))]
    forms = {}
    for form, (prep_fn, pair_fn) in STRONG[metric].items():
        c64, c32 = [], []
        prep_fn(reps[int(subset[0])])  # warm-up
        start = time.perf_counter()
        for i in subset:
            c = prep_fn(reps[int(i)])
            c32.append(_cast(c, np.float32))
            c64.append(c)
        t_prep = time.perf_counter() - start
        pair_fn(c32[0], c32[1])  # warm-up
        start = time.perf_counter()
        vals32 = [pair_fn(c32[a], c32[b]) for a, b in pairs]
        t_pairs = time.perf_counter() - start
        vals64 = [pair_fn(c64[a], c64[b]) for a, b in pairs]  # untimed: the float64 check
        del c64, c32
        prep_ms = t_prep / len(subset) * 1e3
        pair_ms = t_pairs / len(pairs) * 1e3
        full_s = (n * prep_ms + total * pair_ms) / 1e3
        forms[form] = {
            "prepare_ms_per_net": prep_ms,
            "pair_ms": pair_ms,
            "projected_full_s": full_s,
            "ms_per_pair": full_s / max(total, 1) * 1e3,
            "_vals32": np.array(vals32),
            "_vals64": np.array(vals64),
        }
    best = min(forms, key=lambda f: forms[f]["ms_per_pair"])
    return {
        "nets_timed": len(subset),
        "pairs_timed": len(pairs),
        "projected": bool(len(subset) < n),
        "forms": forms,
        "best": best,
        "ms_per_pair": forms[best]["ms_per_pair"],
        "projected_full_s": forms[best]["projected_full_s"],
        "_pairs": [(int(subset[a]), int(subset[b])) for a, b in pairs],
    }


def time_loop(
    reps: list[np.ndarray], metric: str, max_pairs: int, rng: np.random.Generator, threads: int
) -> dict:
    """Per-pair calls from raw activations, torch limited to ``threads`` threads."""
    n = len(reps)
    total = n * (n - 1) // 2
    if total <= max_pairs:
        pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
        sampled = False
    else:
        pairs = set()
        while len(pairs) < max_pairs:
            i, j = rng.choice(n, size=2, replace=False)
            pairs.add((min(i, j), max(i, j)))
        pairs = sorted(pairs)
        sampled = True
    fn = METRICS[metric]
    saved = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        fn(reps[pairs[0][0]], reps[pairs[0][1]])  # warm-up
        start = time.perf_counter()
        vals = [fn(reps[i], reps[j]) for i, j in pairs]
        elapsed = time.perf_counter() - start
    finally:
        torch.set_num_threads(saved)
    per_pair = elapsed / len(pairs)
    return {
        "threads": threads,
        "pairs_timed": len(pairs),
        "sampled": sampled,
        "ms_per_pair": per_pair * 1e3,
        "projected_full_s": per_pair * total,
        "_pairs": [(int(i), int(j)) for i, j in pairs],
        "_vals": np.array(vals),
    }


def time_pairwise(reps: list[np.ndarray], metric: str, device: torch.device | None = None) -> dict:
    """``pairwise`` on ``device`` (default CPU: prepare, then its blocks), timed; inputs start on the host."""
    device = torch.device("cpu") if device is None else device
    n = len(reps)
    total = n * (n - 1) // 2
    if device.type == "cuda":  # untimed: CUDA context, cuBLAS/cuSOLVER handles, first kernels
        few = reps[: min(n, 4)]
        pairwise_block(prepare(few, metric, device=device, **PREPARE_KW[metric]))
        sync(device)
    start = time.perf_counter()
    prep = prepare(reps, metric, device=device, **PREPARE_KW[metric])
    sync(device)
    t_prep = time.perf_counter() - start
    start2 = time.perf_counter()
    D = pairwise_block(prep, prep)  # what pairwise(reps, metric, device=device) does after prepare
    sync(device)
    t_block = time.perf_counter() - start2
    elapsed = t_prep + t_block
    out = {
        "prepare_s": t_prep,
        "blocks_s": t_block,
        "total_s": elapsed,
        "ms_per_pair": elapsed / max(total, 1) * 1e3,
        "prepare_ms_per_net": t_prep / max(n, 1) * 1e3,
        "blocks_ms_per_pair": t_block / max(total, 1) * 1e3,
        "finite": bool(np.isfinite(D).all()),
        "_sim": np.cos(D) if metric == "procrustes" else 1.0 - D,  # Procrustes: the angle
    }
    if metric == "svcca":
        out["k_mean"] = float(prep.widths.mean())
        out["k_range"] = [int(prep.widths.min()), int(prep.widths.max())]
    return out


def check_agreement(reps: list[np.ndarray], metric: str, loop: dict, strong: dict, batched: dict) -> dict:
    """Max relative differences of the loops' similarities from ``pairwise``'s; raises if too large.

    float64: each strong form in float64 vs pairwise(dtype=float64) on the strong subset.
    float32: each strong form's timed values, and the naive loop's, vs the timed pairwise.
    """
    S = batched["_sim"]
    subset = sorted({i for p in strong["_pairs"] for i in p})
    where = {g: a for a, g in enumerate(subset)}
    S64 = similarity_block(
        prepare([reps[i] for i in subset], metric, dtype=torch.float64, **PREPARE_KW[metric])
    )
    ref64 = np.array([S64[where[i], where[j]] for i, j in strong["_pairs"]])
    ref32 = np.array([S[i, j] for i, j in strong["_pairs"]])
    out = {}
    for form, r in strong["forms"].items():
        out[f"strong_{form}_float64_vs_pairwise_float64"] = _max_rel(r["_vals64"], ref64)
        out[f"strong_{form}_float32_vs_pairwise"] = _max_rel(r["_vals32"], ref32)
    out["naive_vs_pairwise"] = _max_rel(loop["_vals"], np.array([S[i, j] for i, j in loop["_pairs"]]))
    out["pairwise_vs_pairwise_float64"] = _max_rel(ref32, ref64)  # pairwise's own float32 rounding
    bad = [
        f"{k} = {v:.2e}"
        for k, v in out.items()
        if k != "pairwise_vs_pairwise_float64"
        and v > (RTOL_FLOAT64 if k.endswith("_vs_pairwise_float64") else RTOL_FLOAT32)
    ]
    if bad:
        raise AssertionError(f"{metric}: loops disagree with pairwise: {', '.join(bad)}")
    return out


def _reference_dsa(trajectories: list[np.ndarray], form: str, iters: int) -> np.ndarray:
    import warnings

    from DSA import DSA

    kw = {"iters": iters} if form == "angular" else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = DSA(trajectories, score_method=form, device="cpu", **DSA_OPTIONS, **kw).fit_score()
    return np.asarray(out, dtype=np.float64)


def bench_dsa(n: int, args: argparse.Namespace) -> dict:
    """DSA's two forms: ours (fit once per network, batched pairs) vs dsa-metric's pairwise call."""
    reps = make_population(n, seed=args.seed, units_range=(32, 65))
    trajectories = [x.reshape(16, 100, -1).astype(np.float64) for x in reps]
    pairs = n * (n - 1) // 2
    out: dict = {"n": n, "options": DSA_OPTIONS}
    start = time.perf_counter()
    models = fit_dynamics(trajectories, **DSA_OPTIONS)
    t_fit = time.perf_counter() - start
    wasserstein_nets = n if args.dsa_ref_nets is None else args.dsa_ref_nets
    for form, ref_nets in (("wasserstein", wasserstein_nets), ("angular", args.dsa_angular_ref_nets)):
        n_ours = n if form == "wasserstein" else min(n, args.dsa_angular_n)
        sub = models if n_ours == n else fit_dynamics(trajectories[:n_ours], **DSA_OPTIONS)
        start = time.perf_counter()
        D = dsa_block(sub, None, form)
        t_pairs = time.perf_counter() - start
        ours_pairs = n_ours * (n_ours - 1) // 2
        ours_ms = (t_fit / n * n_ours + t_pairs) / max(ours_pairs, 1) * 1e3  # fit amortised
        k = min(n, ref_nets)
        start = time.perf_counter()
        ref = _reference_dsa(trajectories[:k], form, args.dsa_ref_iters)
        t_ref = time.perf_counter() - start
        ref_ms = t_ref / max(k * (k - 1) // 2, 1) * 1e3
        iu = np.triu_indices(k, 1)
        if form == "wasserstein":
            # the reference fits in float32: compare on the scale of the matrix
            agree = float(np.max(np.abs(D[:k, :k][iu] ** 2 - ref[iu])) / max(float(ref[iu].max()), 1e-12))
            if agree > 1e-3:
                raise AssertionError(f"DSA wasserstein: W2² differs from dsa-metric's by {agree:.1e} of its largest")
        else:
            ours_k = D[:k, :k][iu] if n_ours >= k else dsa_block(fit_dynamics(trajectories[:k], **DSA_OPTIONS))[iu]
            agree = float(np.max(ours_k - ref[iu]))  # > 0: we found a worse alignment
            if agree > 5e-3:
                raise AssertionError(f"DSA angular: an angle {agree:.1e} above dsa-metric's")
            out["angular_mean_gain_rad"] = float(np.mean(ref[iu] - ours_k))
            out["angular_max_gain_rad"] = float(np.max(ref[iu] - ours_k))
        out[form] = {"ours_ms_per_pair": ours_ms, "ours_networks": n_ours, "ours_total_s": t_fit / n * n_ours + t_pairs,
                     "reference_ms_per_pair": ref_ms, "reference_networks": k, "speedup": ref_ms / ours_ms,
                     "check": agree, "projected_reference_full_s": ref_ms * pairs / 1e3}
        if not args.json:
            check = (f"W2² max diff {agree:.1e} of the largest" if form == "wasserstein" else
                     f"our angle - reference's: max {agree:+.1e} rad, gain mean {out['angular_mean_gain_rad']:.3f}, max {out['angular_max_gain_rad']:.3f} rad")
            print(f"{n:5d} dsa_{form:11s} | ours {ours_ms:9.3f} ms/pair ({n_ours} nets, fit included) | "
                  f"dsa-metric {ref_ms:9.3f} ms/pair ({k} nets) | {ref_ms / ours_ms:7.1f}x | {check}", flush=True)
    return out


def _public(d: dict) -> dict:
    """Copy without the private (underscore) entries, recursively, for JSON."""
    return {k: _public(v) if isinstance(v, dict) else v for k, v in d.items() if not k.startswith("_")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, nargs="*", default=[100, 500, 2880])
    ap.add_argument("--metrics", nargs="+", default=["svcca", "cka_linear"], choices=sorted(METRICS))
    ap.add_argument("--threads", type=int, default=1, help="torch/BLAS threads (set before import)")
    ap.add_argument("--loop-pairs", type=int, default=100, help="max pairs timed in the naive per-pair loop")
    ap.add_argument(
        "--loop-threads",
        type=int,
        default=1,
        help="torch threads for the naive per-pair loop (1 is its fastest setting: multi-threaded "
        "LAPACK on small matrices oversubscribes)",
    )
    ap.add_argument(
        "--strong-nets",
        type=int,
        default=20,
        help="networks (random subset) on which the strong per-pair loop is timed, all pairs "
        "among them (default 20: 190 pairs); numpy uses --threads BLAS threads",
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dsa-n", type=int, nargs="*", default=[], help="populations for the DSA comparison")
    ap.add_argument("--dsa-ref-nets", type=int, default=None,
                    help="networks of dsa-metric's Wasserstein call (default: all n, the same matrix as ours)")
    ap.add_argument("--dsa-angular-n", type=int, default=30, help="networks of our angular-form matrix")
    ap.add_argument("--dsa-angular-ref-nets", type=int, default=4,
                    help="networks of dsa-metric's angular call (an optimisation per pair)")
    ap.add_argument("--dsa-ref-iters", type=int, default=1500, help="dsa-metric's Adam iterations per pair")
    add_device_option(ap)
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    args = ap.parse_args()
    if args.strong_nets < 2:
        ap.error("--strong-nets must be at least 2")
    device = open_device(ap, args.device)
    rng = np.random.default_rng(args.seed + 1)
    results: dict = {
        "threads": args.threads,
        "device": str(device),
        "torch": torch.__version__,
        "samples": 1600,
        "loop_note": (
            f"naive per-pair loop timed on at most {args.loop_pairs} random pairs with "
            f"{args.loop_threads} torch thread(s), projected to n(n-1)/2 pairs"
        ),
        "strong_note": (
            f"strong per-pair loop (numpy, per-network factors cached, float32 pair products) timed "
            f"on all pairs of {args.strong_nets} random networks, projected to n x prepare + "
            "n(n-1)/2 x pair; ms/pair amortised, prepare included (as for pairwise)"
        ),
        "runs": [],
        "total_s_per_n": {},
    }
    if device.type != "cpu":
        results["device_note"] = (
            f"pairwise (prepare and blocks) on {device}; the naive loop and the strong numpy baselines on "
            "the CPU: the ratios are the GPU engine vs CPU loops"
        )
    if not args.json:
        print(f"threads={args.threads}; {results['loop_note']}; {results['strong_note']}", flush=True)
        if "device_note" in results:
            print(results["device_note"], flush=True)
        print(
            f"{'n':>5s} {'metric':10s} | {'naive ms/pair':>13s} | {'strong ms/pair [form: prep/net + pair]':41s} "
            f"| {'pairwise ms/pair (prepare + blocks)':39s} | {'vs naive':>8s} | {'vs strong':>9s}",
            flush=True,
        )
    for n in args.n:
        reps = make_population(n, seed=args.seed)
        total_s = 0.0
        for metric in args.metrics:
            loop = time_loop(reps, metric, args.loop_pairs, rng, args.loop_threads)
            subset = np.sort(rng.choice(n, size=min(n, args.strong_nets), replace=False))
            strong = time_strong(reps, metric, subset)
            batched = time_pairwise(reps, metric, device)
            agreement = check_agreement(reps, metric, loop, strong, batched)
            run = {
                "n": n,
                "metric": metric,
                "loop": loop,
                "strong": strong,
                "pairwise": batched,
                "speedup": loop["ms_per_pair"] / batched["ms_per_pair"],
                "speedup_vs_naive": loop["ms_per_pair"] / batched["ms_per_pair"],
                "speedup_vs_strong": strong["ms_per_pair"] / batched["ms_per_pair"],
                # as if the loop ran on all cores in parallel (ideal scaling)
                "speedup_vs_parallel_loop": loop["ms_per_pair"]
                * args.loop_threads
                / args.threads
                / batched["ms_per_pair"],
                "agreement_max_rel": agreement,
            }
            results["runs"].append(_public(run))
            total_s += batched["total_s"]
            if not args.json:
                best = strong["forms"][strong["best"]]
                strong_txt = (
                    f"{strong['ms_per_pair']:8.3f} [{strong['best']}: {best['prepare_ms_per_net']:.1f} ms "
                    f"+ {best['pair_ms']:.3f} ms]"
                )
                pw_txt = (
                    f"{batched['ms_per_pair']:8.4f} ({batched['prepare_s']:.1f} s + "
                    f"{batched['blocks_s']:.1f} s = {batched['total_s']:.1f} s)"
                )
                print(
                    f"{n:5d} {metric:10s} | {loop['ms_per_pair']:13.3f} | {strong_txt:41s} | {pw_txt:39s} "
                    f"| {run['speedup_vs_naive']:7.1f}x | {run['speedup_vs_strong']:8.2f}x",
                    flush=True,
                )
                note = f"sampled {loop['pairs_timed']} pairs" if loop["sampled"] else "all pairs"
                others = ", ".join(
                    f"{f} {r['ms_per_pair']:.3f} ms/pair ({r['prepare_ms_per_net']:.1f} ms + {r['pair_ms']:.3f} ms)"
                    for f, r in strong["forms"].items()
                    if f != strong["best"]
                )
                extra = f"; k mean {batched['k_mean']:.1f} range {batched['k_range']}" if "k_mean" in batched else ""
                print(
                    f"{'':16s}naive: {note}, {loop['threads']} thread, full matrix ~{loop['projected_full_s']:.1f} s"
                    f" ({run['speedup_vs_parallel_loop']:.1f}x vs an ideally parallel loop on {args.threads} "
                    f"threads); strong: {strong['pairs_timed']} pairs of {strong['nets_timed']} nets, full "
                    f"matrix ~{strong['projected_full_s']:.1f} s{'; other form: ' + others if others else ''}; pairwise "
                    f"{batched['prepare_ms_per_net']:.1f} ms/net + {batched['blocks_ms_per_pair']:.3f} ms/pair{extra}",
                    flush=True,
                )
                print(
                    f"{'':16s}max rel. difference from pairwise: "
                    + ", ".join(f"{k} {v:.1e}" for k, v in agreement.items()),
                    flush=True,
                )
        results["total_s_per_n"][str(n)] = total_s
        if not args.json:
            print(f"n={n:5d} all {'+'.join(args.metrics)} matrices (pairwise): {total_s:.1f} s "
                  f"= {total_s / 60:.1f} min", flush=True)
        del reps
    results["dsa"] = [bench_dsa(n, args) for n in args.dsa_n]
    if args.json:
        print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
