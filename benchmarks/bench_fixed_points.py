"""Fixed-point search over P networks: one network at a time (K = 1 calls) vs one population call.

Networks are random vanilla tanh RNNs h' = tanh(W h + b) with N units and several fixed
points: W = (1.6/N) Σ_p ξ_p ξ_pᵀ over 3 random ±1 patterns, plus 0.6·G/√N with G Gaussian,
and b ~ N(0, 0.1²). Starts are sampled from each network's own trajectories (40 steps from
random states) with noise 0.5. Both runs search the same starts with the same options, so
they find the same points; only the batching differs.

    python benchmarks/bench_fixed_points.py --P 16 --units 64 --starts 256 --threads 1 [--json]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))


def make_networks(p: int, n: int, seed: int, dtype):
    import torch

    gen = torch.Generator().manual_seed(seed)
    xi = torch.sign(torch.randn(p, 3, n, generator=gen, dtype=torch.float64))
    g = torch.randn(p, n, n, generator=gen, dtype=torch.float64)
    w = 1.6 * torch.einsum("kpi,kpj->kij", xi, xi) / n + 0.6 * g / n**0.5
    b = 0.1 * torch.randn(p, 1, n, generator=gen, dtype=torch.float64)
    return w.transpose(1, 2).contiguous().to(dtype), b.to(dtype)


def vanilla_step(w_t, b):
    import torch

    return lambda h, x: torch.tanh(torch.baddbmm(b, h, w_t))


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--P", type=int, default=16, help="networks (default 16)")
    ap.add_argument("--units", type=int, default=64, help="units N (default 64)")
    ap.add_argument("--starts", type=int, default=256, help="initial states per network (default 256)")
    ap.add_argument("--threads", type=int, default=1, help="torch/BLAS threads (default 1)")
    ap.add_argument("--dtype", choices=["float32", "float64"], default="float32",
                    help="search dtype (default float32; the polish is float64 either way)")
    ap.add_argument("--max-iters", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeats", type=int, default=1, help="timed repetitions; the best is reported (default 1)")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    args = ap.parse_args(argv)

    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    import torch

    from rnnatlas.dynamics import find_fixed_points, sample_initial_states

    torch.set_num_threads(args.threads)
    dtype = getattr(torch, args.dtype)
    w_t, b = make_networks(args.P, args.units, args.seed, dtype)
    w64, b64 = w_t.double(), b.double()
    gen = torch.Generator().manual_seed(args.seed + 1)
    h = torch.randn(args.P, 32, args.units, generator=gen, dtype=dtype)
    traj = []
    with torch.no_grad():
        for _ in range(40):
            h = vanilla_step(w_t, b)(h, None)
            traj.append(h)
    h0 = sample_initial_states(torch.stack(traj, 2), args.starts, 0.5, gen)
    x = torch.zeros(1, dtype=dtype)
    opts = dict(max_iters=args.max_iters)

    # warm-up (allocator, autograd and vmap first-call costs) on a small slice
    find_fixed_points(vanilla_step(w_t[:1], b[:1]), x, h0[:1, :8], polish_step=vanilla_step(w64[:1], b64[:1]), **opts)

    def run_loop():
        return [
            find_fixed_points(vanilla_step(w_t[k : k + 1], b[k : k + 1]), x, h0[k : k + 1],
                              polish_step=vanilla_step(w64[k : k + 1], b64[k : k + 1]), **opts)
            for k in range(args.P)
        ]

    def run_population():
        return find_fixed_points(vanilla_step(w_t, b), x, h0, polish_step=vanilla_step(w64, b64), **opts)

    # Wall and CPU (process) time, best of --repeats; the CPU time is the steadier number on a
    # shared machine, the wall time the one that matters on a quiet one.
    t_loop = c_loop = t_pop = c_pop = math.inf
    for _ in range(args.repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        singles = run_loop()
        t_loop, c_loop = min(t_loop, time.perf_counter() - w0), min(c_loop, time.process_time() - c0)
        w0, c0 = time.perf_counter(), time.process_time()
        pop = run_population()
        t_pop, c_pop = min(t_pop, time.perf_counter() - w0), min(c_pop, time.process_time() - c0)

    n_loop = [int((~r.is_slow).sum()) for r in singles]
    n_pop = [int((pop.network == k).logical_and(~pop.is_slow).sum()) for k in range(args.P)]
    out = {
        "P": args.P, "units": args.units, "starts": args.starts, "threads": args.threads, "dtype": args.dtype,
        "max_iters": args.max_iters,
        "loop_s_per_network": t_loop / args.P,
        "population_s_per_network": t_pop / args.P,
        "speedup": t_loop / t_pop,
        "loop_cpu_s_per_network": c_loop / args.P,
        "population_cpu_s_per_network": c_pop / args.P,
        "cpu_speedup": c_loop / c_pop,
        "loop_total_s": t_loop,
        "population_total_s": t_pop,
        "repeats": args.repeats,
        "load_average_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "fixed_points_per_network": n_pop,
        "same_points_as_loop": n_loop == n_pop,
        "slow_points_total": int(pop.is_slow.sum()),
        "adam_iters_mean": float(pop.start_iters.double().mean()),
        "adam_iters_max": int(pop.start_iters.max()),
        "torch": torch.__version__,
    }
    if args.json:
        print(json.dumps(out))
    else:
        print(f"P={args.P} networks, N={args.units} units, {args.starts} starts each, {args.dtype}, "
              f"{args.threads} thread(s)")
        print(f"  one network at a time : {out['loop_s_per_network']:.3f} s per network wall, "
              f"{out['loop_cpu_s_per_network']:.3f} s CPU ({t_loop:.2f} s wall total)")
        print(f"  one population call   : {out['population_s_per_network']:.3f} s per network wall, "
              f"{out['population_cpu_s_per_network']:.3f} s CPU ({t_pop:.2f} s wall total)")
        print(f"  speed-up              : {out['speedup']:.2f}x wall, {out['cpu_speedup']:.2f}x CPU "
              f"(best of {args.repeats}; 1-min load average {out['load_average_1min']})")
        print(f"  fixed points per network: {n_pop} (same as loop: {out['same_points_as_loop']}); "
              f"slow points: {out['slow_points_total']}; Adam iterations mean {out['adam_iters_mean']:.0f}, "
              f"max {out['adam_iters_max']}")
    return out


if __name__ == "__main__":
    main()
