"""Training throughput: K networks as one population vs K separate torch.nn modules in a loop.

Both train on the same flip-flop batches for the same number of steps (SGD with momentum,
per-network gradient clipping); prints networks·steps per second for both and their ratio,
measured in the same run. Example:

    python benchmarks/bench_training.py --arch vanilla gru --units 64 --K 32 --steps 10 --threads 1
"""

from __future__ import annotations

import argparse
import json
import os
import time


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--arch", nargs="+", default=["vanilla", "gru"], choices=["vanilla", "gru", "lstm"])
    p.add_argument("--activation", default="tanh")
    p.add_argument("--units", type=int, default=64)
    p.add_argument("--K", type=int, default=32)
    p.add_argument("--steps", type=int, default=20, help="timed training steps (after 2 warm-up steps)")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--T", type=int, default=100, help="trial length (flip-flop)")
    p.add_argument("--threads", type=int, default=1, help="1 (as the pipeline's jobs); 2 on a shared 2-core VM stalls at OpenMP barriers")
    p.add_argument("--device", default="cpu")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    return p.parse_args()


def main() -> None:
    args = parse()
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    os.environ.setdefault("THP_MEM_ALLOC_ENABLE", "1")  # as rnnatlas.runtime.set_threads does for every job
    import torch
    from torch import nn

    from rnnatlas.models import RNNPopulation
    from rnnatlas.tasks import make_task
    from rnnatlas.train import Hyperparameters, PopulationOptimizer
    from rnnatlas.train.trainer import masked_mse

    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    task = make_task("flipflop", {"n_steps": args.T})
    gen = torch.Generator().manual_seed(0)
    batches = [task.sample(args.batch, gen).to(device) for _ in range(args.steps + 2)]
    sync = (lambda: torch.cuda.synchronize()) if device.type == "cuda" else (lambda: None)  # noqa: E731

    def population(arch: str) -> float:
        pop = RNNPopulation(arch, args.activation, args.K, 3, args.units, 3, device=device).initialize(list(range(args.K)))
        hp = Hyperparameters.from_records([dict(learning_rate=0.05, momentum=0.9, clip=1.0, decay=0.5, l2=1e-4)] * args.K)
        opt = PopulationOptimizer(dict(pop.params.items()), hp, decay_steps=1000)
        active = torch.ones(args.K, dtype=torch.bool, device=device)
        for i, b in enumerate(batches):
            if i == 2:
                sync()
                start = time.perf_counter()
            out, _ = pop(b.inputs)
            pop.zero_grad()
            masked_mse(out, b.targets, b.mask).sum().backward()
            opt.step(i, active)
        sync()
        return time.perf_counter() - start

    def loop(arch: str) -> float:
        cls = {"vanilla": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}[arch]
        kw = {"nonlinearity": args.activation} if arch == "vanilla" else {}
        models = [(cls(3, args.units, **kw).to(device), nn.Linear(args.units, 3).to(device)) for _ in range(args.K)]
        opts = [torch.optim.SGD(list(r.parameters()) + list(l.parameters()), lr=0.05, momentum=0.9) for r, l in models]
        for i, b in enumerate(batches):
            if i == 2:
                sync()
                start = time.perf_counter()
            for (rnn, lin), opt in zip(models, opts):
                h, _ = rnn(b.inputs)
                loss = ((lin(h) - b.targets).pow(2) * b.mask).sum() / b.mask.sum()
                opt.zero_grad()
                loss.backward()
                params = list(rnn.parameters()) + list(lin.parameters())
                torch.nn.utils.clip_grad_norm_(params, 1.0)
                opt.step()
        sync()
        return time.perf_counter() - start

    rows = []
    for arch in args.arch:
        t_pop, t_loop = population(arch), loop(arch)
        work = args.K * args.steps
        rows.append({"arch": arch, "activation": args.activation, "units": args.units, "K": args.K,
                     "steps": args.steps, "batch": args.batch, "T": args.T, "threads": args.threads,
                     "device": str(device), "population_net_steps_per_s": work / t_pop,
                     "loop_net_steps_per_s": work / t_loop, "ratio": t_loop / t_pop})
    if args.json:
        print(json.dumps({"benchmark": "training", "results": rows}, indent=2))
        return
    print(f"{'arch':8} {'K':>4} {'units':>5} {'population net·steps/s':>24} {'torch.nn loop net·steps/s':>26} {'ratio':>6}")
    for r in rows:
        print(f"{r['arch']:8} {r['K']:4d} {r['units']:5d} {r['population_net_steps_per_s']:24.1f} {r['loop_net_steps_per_s']:26.1f} {r['ratio']:6.2f}")


if __name__ == "__main__":
    main()
