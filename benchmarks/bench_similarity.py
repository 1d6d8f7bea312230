"""Benchmark: per-pair similarity loop vs the batched ``pairwise`` engine.

The per-pair loop calls ``svcca(X_i, X_j)`` / ``cka(X_i, X_j)`` from raw
activations for each pair, re-centering and re-whitening both networks every
time (how reference implementations are used). ``pairwise`` prepares each
network once and computes blocks of pairs with batched products. At large n
the loop is timed on a random sample of pairs and projected to the full
matrix; the output says so.

Population: RNN-like activations, 16 trials x 100 steps = 1,600 samples,
64-256 units per network: shared smooth latent trajectories plus a few
private ones, mixed through a random matrix and a tanh, plus noise; one
network in three has 10-25 % dead (all-zero) units.

Usage::

    python benchmarks/bench_similarity.py --n 100 500 2880 --threads 2 [--json]

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

from rnnatlas.similarity import cka, pairwise_block, prepare, svcca  # noqa: E402

METRICS = {
    "svcca": lambda X, Y: svcca(X, Y, variance=0.99),
    "cka_linear": lambda X, Y: cka(X, Y, kernel="linear"),
    "cka_rbf": lambda X, Y: cka(X, Y, kernel="rbf"),
}


def make_population(
    n: int, n_trials: int = 16, n_steps: int = 100, seed: int = 0
) -> list[np.ndarray]:
    """n float32 activation matrices (n_trials * n_steps, units)."""
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
        units = int(rng.integers(64, 257))
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
        for i, j in pairs:
            fn(reps[i], reps[j])
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
    }


def time_pairwise(reps: list[np.ndarray], metric: str) -> dict:
    n = len(reps)
    total = n * (n - 1) // 2
    start = time.perf_counter()
    prep = prepare(reps, metric)
    t_prep = time.perf_counter() - start
    start2 = time.perf_counter()
    D = pairwise_block(prep, prep)  # what pairwise(reps, metric) does after prepare
    t_block = time.perf_counter() - start2
    elapsed = t_prep + t_block
    out = {
        "prepare_s": t_prep,
        "blocks_s": t_block,
        "total_s": elapsed,
        "ms_per_pair": elapsed / max(total, 1) * 1e3,
        "finite": bool(np.isfinite(D).all()),
    }
    if metric == "svcca":
        out["k_mean"] = float(prep.widths.mean())
        out["k_range"] = [int(prep.widths.min()), int(prep.widths.max())]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, nargs="+", default=[100, 500, 2880])
    ap.add_argument("--metrics", nargs="+", default=["svcca", "cka_linear"], choices=sorted(METRICS))
    ap.add_argument("--threads", type=int, default=1, help="torch/BLAS threads (set before import)")
    ap.add_argument("--loop-pairs", type=int, default=100, help="max pairs timed in the per-pair loop")
    ap.add_argument(
        "--loop-threads",
        type=int,
        default=1,
        help="torch threads for the per-pair loop (1 is its fastest setting: multi-threaded "
        "LAPACK on small matrices oversubscribes)",
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed + 1)
    results: dict = {
        "threads": args.threads,
        "torch": torch.__version__,
        "samples": 1600,
        "loop_note": (
            f"per-pair loop timed on at most {args.loop_pairs} random pairs with "
            f"{args.loop_threads} torch thread(s), projected to n(n-1)/2 pairs"
        ),
        "runs": [],
        "total_s_per_n": {},
    }
    if not args.json:
        print(f"threads={args.threads}; {results['loop_note']}", flush=True)
    for n in args.n:
        reps = make_population(n, seed=args.seed)
        total_s = 0.0
        for metric in args.metrics:
            loop = time_loop(reps, metric, args.loop_pairs, rng, args.loop_threads)
            batched = time_pairwise(reps, metric)
            run = {
                "n": n,
                "metric": metric,
                "loop": loop,
                "pairwise": batched,
                "speedup": loop["ms_per_pair"] / batched["ms_per_pair"],
                # as if the loop ran on all cores in parallel (ideal scaling)
                "speedup_vs_parallel_loop": loop["ms_per_pair"]
                * args.loop_threads
                / args.threads
                / batched["ms_per_pair"],
            }
            results["runs"].append(run)
            total_s += batched["total_s"]
            if not args.json:
                note = f"sampled {loop['pairs_timed']} pairs" if loop["sampled"] else "all pairs"
                note += f", {loop['threads']} thread"
                extra = f", k mean {batched['k_mean']:.1f} range {batched['k_range']}" if "k_mean" in batched else ""
                print(
                    f"n={n:5d} {metric:10s} loop {loop['ms_per_pair']:9.3f} ms/pair ({note}; "
                    f"full matrix ~{loop['projected_full_s']:10.1f} s) | pairwise "
                    f"{batched['ms_per_pair']:8.4f} ms/pair (prepare {batched['prepare_s']:.1f} s + "
                    f"blocks {batched['blocks_s']:.1f} s = {batched['total_s']:.1f} s{extra}) | "
                    f"speedup {run['speedup']:7.1f}x ({run['speedup_vs_parallel_loop']:.1f}x vs an "
                    f"ideally parallel loop on {args.threads} threads)",
                    flush=True,
                )
        results["total_s_per_n"][str(n)] = total_s
        if not args.json:
            print(f"n={n:5d} all {'+'.join(args.metrics)} matrices (pairwise): {total_s:.1f} s "
                  f"= {total_s / 60:.1f} min", flush=True)
        del reps
    if args.json:
        print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
