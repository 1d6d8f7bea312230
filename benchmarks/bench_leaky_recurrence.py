"""Leaky vanilla populations (studies H and M): the hand-written recurrence vs autograd through the loop.

The baseline is what a user writes for a leaky rate RNN, which torch.nn does not have: the
time loop ``r = (1 − α) r + α φ(W_hh r + W_ih x + b)`` differentiated by autograd, here the
same population's own loop (``rnnatlas.models.population`` with the fast path switched off),
so both compute the same numbers (states bit for bit, gradients to rounding). Forward and
backward of one batch, the two interleaved and repeated; prints the best time of each and
their ratio, measured in the same run. Example:

    python benchmarks/bench_leaky_recurrence.py --activation softplus relu --K 3 --units 64 --T 110 --threads 1
"""

from __future__ import annotations

import argparse
import os
import time


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--activation", nargs="+", default=["softplus", "relu"])
    p.add_argument("--alpha", type=float, default=0.2, help="the leak Δt/τ (study M: 0.2, study H: 0.1)")
    p.add_argument("--K", type=int, default=3, help="networks in the population")
    p.add_argument("--units", type=int, default=64)
    p.add_argument("--inputs", type=int, default=85)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--T", type=int, default=110, help="steps per trial")
    p.add_argument("--repeats", type=int, default=3, help="interleaved rounds; the best of each is kept")
    p.add_argument("--steps", type=int, default=10, help="forward-backward passes per round")
    p.add_argument("--threads", type=int, default=1)
    return p.parse_args()


def main() -> None:
    args = parse()
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    import torch

    from rnnatlas.models import RNNPopulation
    from rnnatlas.models import population as population_module

    torch.set_num_threads(args.threads)
    fast_path_for = population_module.fast_path_for
    best: dict[tuple[str, str], float] = {}
    x = torch.randn(args.T, args.batch, args.inputs, generator=torch.Generator().manual_seed(0))
    for _ in range(args.repeats):
        for activation in args.activation:
            for mode in ("hand-written", "autograd loop"):
                population_module.fast_path_for = fast_path_for if mode == "hand-written" else (lambda *a, **k: None)
                pop = RNNPopulation("vanilla", activation, args.K, args.inputs, args.units, 33, alpha=args.alpha)
                pop.initialize(list(range(args.K)))
                out, _ = pop(x)
                out.sum().backward()  # warm-up
                start = time.perf_counter()
                for _ in range(args.steps):
                    out, _ = pop(x)
                    out.sum().backward()
                elapsed = (time.perf_counter() - start) / args.steps
                best[(activation, mode)] = min(best.get((activation, mode), float("inf")), elapsed)
    population_module.fast_path_for = fast_path_for
    print(f"K={args.K} N={args.units} B={args.batch} T={args.T} alpha={args.alpha} threads={args.threads}")
    print(f"{'activation':<10} {'autograd loop ms':>17} {'hand-written ms':>16} {'speed-up':>9}")
    for activation in args.activation:
        slow, fast = best[(activation, "autograd loop")], best[(activation, "hand-written")]
        print(f"{activation:<10} {slow * 1e3:17.1f} {fast * 1e3:16.1f} {slow / fast:8.2f}x")


if __name__ == "__main__":
    main()
