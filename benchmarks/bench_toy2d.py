"""Training 2-D continuous-time RNNs (study S): one network at a time vs one population.

Both sides train the same K networks (W iid U(−1.5, 1.5) from per-network seeds) on the same
task with the same normalised gradient descent (rnnatlas.train.toy2d) for the same number of
epochs; the loop calls the trainer once per network (a population of one), the population
call trains all K as one batched RK4 integration. The script checks that both end with the
same weights, then prints networks·epochs per second for both and the ratio.

    python benchmarks/bench_toy2d.py --K 256 --epochs 100 --threads 1 [--json] [--device cuda]

``--device`` (default cpu; cpu, cuda, cuda:N or auto): both sides train on that device (weights
drawn on the CPU from the same seeds, then ``CTRNN2DPopulation.to(device)``, as the toy2d stage
does). On CUDA the timers are read after ``torch.cuda.synchronize()`` and a short untimed run of
each side first pays the device's start-up costs.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from _device import add_device_option, open_device  # noqa: E402


def sync(device) -> None:
    """Wait for the device's queued work (CUDA) so a timer read after it counts that work."""
    if device.type == "cuda":
        import torch

        torch.cuda.synchronize(device)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--K", type=int, default=256, help="networks (default 256)")
    ap.add_argument("--epochs", type=int, default=100, help="training epochs (default 100)")
    ap.add_argument("--activation", choices=["tanh", "relu"], default="tanh")
    ap.add_argument("--loop-sample", type=int, default=32,
                    help="networks timed one at a time (the loop's rate is per network; default 32)")
    ap.add_argument("--threads", type=int, default=1, help="torch/BLAS threads (default 1)")
    add_device_option(ap)
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    args = ap.parse_args(argv)

    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    import numpy as np
    import torch

    from rnnatlas.models.ctrnn2d import CTRNN2DPopulation
    from rnnatlas.stages.toy2d import network_seeds
    from rnnatlas.train.toy2d import Toy2DSettings, Toy2DTask, train_toy2d

    torch.set_num_threads(args.threads)
    device = open_device(ap, args.device)
    seeds = network_seeds(args.activation, 0, args.K)
    task, settings = Toy2DTask(), Toy2DSettings(epochs=args.epochs)
    n_loop = min(args.loop_sample, args.K)

    def networks(some_seeds):
        return CTRNN2DPopulation.from_seeds(some_seeds, args.activation).to(device)

    if device.type == "cuda":  # untimed: CUDA context and first kernels, for both shapes
        warm = Toy2DSettings(epochs=2)
        train_toy2d(networks(seeds), task, warm)
        train_toy2d(networks(seeds[:1]), task, warm)
        sync(device)

    start = time.perf_counter()
    population = train_toy2d(networks(seeds), task, settings)
    sync(device)
    population_s = time.perf_counter() - start

    start = time.perf_counter()
    singles = [train_toy2d(networks([s]), task, settings) for s in seeds[:n_loop]]
    sync(device)
    loop_s = time.perf_counter() - start
    loop_weights = np.concatenate([r.weight for r in singles])
    max_diff = float(np.abs(loop_weights - population.weight[:n_loop]).max())
    if max_diff > 1e-8:
        raise SystemExit(f"population and loop disagree: max weight difference {max_diff:.3g}")

    result = {
        "K": args.K, "epochs": args.epochs, "activation": args.activation, "threads": args.threads,
        "device": str(device),
        "population_net_epochs_per_s": args.K * args.epochs / population_s,
        "loop_net_epochs_per_s": n_loop * args.epochs / loop_s,
        "max_weight_difference": max_diff,
    }
    result["ratio"] = result["population_net_epochs_per_s"] / result["loop_net_epochs_per_s"]
    if args.json:
        print(json.dumps(result))
    else:
        print(f"2-D RNNs ({args.activation}), K = {args.K}, {args.epochs} epochs, {args.threads} thread(s), "
              f"device {device}; "
              f"loop timed on {n_loop} networks; weights agree to {max_diff:.1e}")
        print(f"  population: {result['population_net_epochs_per_s']:10.0f} network-epochs/s")
        print(f"  loop:       {result['loop_net_epochs_per_s']:10.0f} network-epochs/s")
        print(f"  ratio:      {result['ratio']:10.1f}x")
    return result


if __name__ == "__main__":
    main()
