"""Fixed-point search: batching over networks, and the whole stage against the textbook finder.

Two modes.

Synthetic (default): P random vanilla tanh RNNs h' = tanh(W h + b) with N units and several
fixed points: W = (1.6/N) Σ_p ξ_p ξ_pᵀ over 3 random ±1 patterns, plus 0.6·G/√N with G
Gaussian, and b ~ N(0, 0.1²). Starts are sampled from each network's own trajectories (40
steps from random states) with noise 0.5. Our finder runs once per network (K = 1 calls) and
once on the whole population, same starts and options, so both find the same points; only the
batching differs.

    python benchmarks/bench_fixed_points.py --P 16 --units 64 --starts 256 --threads 1 [--json] [--device cuda]

Trained (``--trained RESULTS``): the networks of a finished run (``RESULTS/<task>/nets/*/model.h5``,
one group per architecture, activation and size; ``--nets`` of each, default 3 = the default
pack; untrained twins only with ``--untrained``), and with ``--random-units N`` random networks
of every cell at N units on the same task's inputs (see ``_random_params``; they have several
stable fixed points, like the trained ones). For each group, on the same networks and starts:

  (1) reference: the textbook finder (benchmarks/_textbook_fixed_points.py), one network at a
      time: Adam (lr 1.0, eps 0.01, adaptive rate) on the mean q over all starts with one joint
      stopping rule, outliers dropped, duplicates merged, Jacobians and eigendecomposition;
  (2) search: rnnatlas' ``search_population`` on the whole group (starts, search, polish,
      linearisation);
  (3) stage: ``stages.fixed_points.run`` on the group's model files into a temporary folder
      (file reading, probe states, search, graphs, file writing),

as seconds per network (wall; CPU time of this process in the JSON), the ratios (1)/(2),
(1)/(3) and (3)/(2), and the stable fixed points each found per network (fixed: float64
q ≤ tol_q; stable: every |λ| < 1 − margin), with how many of either's stable points lie within
10·unique_tol of one of the other's. The starts are the very tensor ``search_population``
hands to the finder (captured for the call), so the reference searches identical starts
whatever the stage's seeding does; tol_q, max_iters, unique_tol and the outlier scale are the
search's own, tol_dq 1e-20 for both. Options: the stage's DEFAULTS updated by the ``dynamics``
section of config/config.yaml (``--config``), then ``--starts`` / ``--max-iters``. A first tiny
run of each method is untimed (first-call costs).

    python benchmarks/bench_fixed_points.py --trained /work/newrun/results --task flipflop --threads 1 [--json]
    python benchmarks/bench_fixed_points.py --trained /work/newrun/results --random-units 128 --only-random --threads 1
    python benchmarks/bench_fixed_points.py --trained /work/newrun/results --task perception --activation relu

``--device`` (default cpu; cpu, cuda or cuda:N) puts everything on that device in both modes: the
networks, starts and searches (loop and population), the textbook reference, and the stage
(``stages.fixed_points.run(..., device_name)``). On CUDA the timers are read after
``torch.cuda.synchronize()``; CPU times (process_time) then count only the host's share.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from _device import add_device_option, open_device  # noqa: E402


def sync(device) -> None:
    """Wait for the device's queued work (CUDA) so a timer read after it counts that work."""
    if device.type == "cuda":
        import torch

        torch.cuda.synchronize(device)


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
    argv = sys.argv[1:] if argv is None else list(argv)
    if "--trained" in argv or any(a.startswith("--trained=") for a in argv):
        return main_trained(argv)
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
    add_device_option(ap)
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    args = ap.parse_args(argv)

    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    import torch

    from rnnatlas.dynamics import find_fixed_points, sample_initial_states

    torch.set_num_threads(args.threads)
    device = open_device(ap, args.device)
    dtype = getattr(torch, args.dtype)
    # drawn on the CPU (same numbers on every device), then moved
    w_t, b = (t.to(device) for t in make_networks(args.P, args.units, args.seed, dtype))
    w64, b64 = w_t.double(), b.double()
    gen = torch.Generator().manual_seed(args.seed + 1)
    h = torch.randn(args.P, 32, args.units, generator=gen, dtype=dtype).to(device)
    traj = []
    with torch.no_grad():
        for _ in range(40):
            h = vanilla_step(w_t, b)(h, None)
            traj.append(h)
    h0 = sample_initial_states(torch.stack(traj, 2), args.starts, 0.5, gen)
    x = torch.zeros(1, dtype=dtype, device=device)
    opts = dict(max_iters=args.max_iters)

    # warm-up (allocator, autograd and vmap first-call costs) on a small slice
    find_fixed_points(vanilla_step(w_t[:1], b[:1]), x, h0[:1, :8], polish_step=vanilla_step(w64[:1], b64[:1]), **opts)
    sync(device)

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
        sync(device)
        t_loop, c_loop = min(t_loop, time.perf_counter() - w0), min(c_loop, time.process_time() - c0)
        w0, c0 = time.perf_counter(), time.process_time()
        pop = run_population()
        sync(device)
        t_pop, c_pop = min(t_pop, time.perf_counter() - w0), min(c_pop, time.process_time() - c0)

    n_loop = [int((~r.is_slow).sum()) for r in singles]
    n_pop = [int((pop.network == k).logical_and(~pop.is_slow).sum()) for k in range(args.P)]
    out = {
        "P": args.P, "units": args.units, "starts": args.starts, "threads": args.threads, "dtype": args.dtype,
        "max_iters": args.max_iters, "device": str(device),
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
              f"{args.threads} thread(s), device {device}")
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


# =========================================================================== trained mode
ARCHS = ("vanilla", "ugrnn", "gru", "lstm")


def _dynamics_options(config_path: Path | None, overrides: dict) -> tuple[dict, dict]:
    """(options for the search, options passed to the stage): the stage's DEFAULTS updated by the
    config's ``dynamics`` section (only keys the stage knows), then the command line's overrides."""
    import yaml

    from rnnatlas.stages.fixed_points import DEFAULTS

    section = {}
    if config_path is not None and config_path.exists():
        with open(config_path) as f:
            section = (yaml.safe_load(f) or {}).get("dynamics", {}) or {}
    stage_opts = {k: v for k, v in section.items() if k in DEFAULTS}
    stage_opts.update({k: v for k, v in overrides.items() if v is not None})
    return {**DEFAULTS, **stage_opts}, stage_opts


class _CaptureStarts:
    """Records the (x0, h0) and options ``search_population`` hands to ``polished_search``.

    It wraps the module attribute for the duration of one call only, so the reference is fed
    exactly the starts our search used, whatever the stage's start seeding is.
    """

    def __enter__(self):
        from rnnatlas.dynamics import population_analysis as pa

        self._pa, self._orig, self.seen = pa, getattr(pa, "polished_search", None), {}
        if self._orig is not None:
            def wrapped(pop, pop64, x0, h0, **options):
                if "h0" not in self.seen:
                    self.seen.update(x0=x0.detach().clone(), h0=h0.detach().clone(), options=dict(options))
                return self._orig(pop, pop64, x0, h0, **options)

            pa.polished_search = wrapped
        return self

    def __exit__(self, *exc):
        if self._orig is not None:
            self._pa.polished_search = self._orig
        return False


def _timed(fn, device=None):
    if device is not None:
        sync(device)
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    if device is not None:
        sync(device)
    return out, time.perf_counter() - w0, time.process_time() - c0


def _random_params(arch: str, n: int, n_in: int, n_out: int, seed: int) -> dict:
    """A random network of ``arch`` with several fixed points at x* = 0: the candidate / cell block
    of W_hh is (g/N) Σ_p ξ_p ξ_pᵀ over 3 random ±1 patterns plus 0.5·G/√N (Hopfield-like: ± each
    pattern and their mixtures are attractors); gates get 0.5·G/√N weights and biases that hold
    them near 0.5 (update gates) or open (GRU reset, LSTM input and output); b ~ N(0, 0.05²),
    W_ih ~ N(0, 1) so the task's input pulses move the state, readout 1/√N."""
    import numpy as np

    rng = np.random.default_rng(seed)
    xi = np.sign(rng.standard_normal((3, n)))

    def hop(g):
        return g * (xi.T @ xi) / n + 0.5 * rng.standard_normal((n, n)) / np.sqrt(n)

    def small():
        return 0.5 * rng.standard_normal((n, n)) / np.sqrt(n)

    def bias(mean=0.0):
        return mean + 0.05 * rng.standard_normal(n)

    if arch == "vanilla":
        w, b = [hop(1.6)], [bias()]
    elif arch == "ugrnn":  # [update gate (σ(· + 1) inside the cell), candidate]
        w, b = [small(), hop(1.6)], [bias(-1.0), bias()]
    elif arch == "gru":  # [reset, update, candidate]; reset open (σ(3) ≈ 0.95)
        w, b = [small(), small(), hop(1.6 / 0.95)], [bias(3.0), bias(), bias()]
    elif arch == "lstm":  # [input, forget, cell, output]: c* = i g / (1 − f) ≈ 1.9 g, h = o φ(c*)
        w, b = [small(), small(), hop(1.2), small()], [bias(3.0), bias(), bias(), bias(3.0)]
    else:
        raise ValueError(f"no random construction for {arch!r}")
    g = len(w)
    params = {
        "weight_hh": np.concatenate(w, 0), "bias_ih": np.concatenate(b, 0),
        "weight_ih": rng.standard_normal((g * n, n_in)),
        "weight_out": rng.standard_normal((n_out, n)) / np.sqrt(n), "bias_out": np.zeros(n_out),
    }
    if arch != "ugrnn":
        params["bias_hh"] = np.zeros(g * n)
    return {k: v.astype(np.float32) for k, v in params.items()}


def _write_random_group(template, arch: str, n: int, count: int, folder: Path) -> list[str]:
    """Model files of ``count`` random ``arch`` networks of n units, shaped like ``template`` (a
    trained network of the task: same inputs, outputs, task and activation)."""
    from rnnatlas.store.model_file import ModelRecord, spec_from_config, write_model

    paths = []
    n_in, n_out = template.params["weight_ih"].shape[1], template.params["weight_out"].shape[0]
    for s in range(count):
        config = {**template.config, "arch": arch, "units": n, "seed": s, "trained": False}
        spec = spec_from_config(config)
        config["net_id"] = spec.id
        rec = ModelRecord(spec=spec, config=config, params=_random_params(arch, n, n_in, n_out, 1000 + s),
                          train_loss=template.train_loss[:0], val_iterations=template.val_iterations[:0],
                          val_loss=template.val_loss[:0], hyperparameters=dict(template.hyperparameters),
                          summary={**template.summary, "accepted": False, "failed": False, "failure_reason": "",
                                   "iterations_run": 0})
        path = folder / f"{spec.id}.model.h5"
        write_model(path, rec)
        paths.append(str(path))
    return paths


def _stable_mask(points):
    import numpy as np

    stab = np.asarray(points.stability).astype(str)
    return stab == "stable"


def _matched(a, b, tol: float) -> int:
    """How many rows of a lie within tol (2-norm) of some row of b."""
    import torch

    if len(a) == 0 or len(b) == 0:
        return 0
    d = torch.cdist(torch.as_tensor(a, dtype=torch.float64), torch.as_tensor(b, dtype=torch.float64),
                    compute_mode="donot_use_mm_for_euclid_dist")
    return int((d.min(1).values <= tol).sum())


def _bench_group(label: str, task: str, task_data_path: str, model_paths: list[str], opts: dict, stage_opts: dict,
                 args, out_dir: Path, device) -> dict:
    import _textbook_fixed_points as textbook
    import torch

    from rnnatlas.dynamics import population_analysis as pa
    from rnnatlas.runtime import stable_seed
    from rnnatlas.stages import fixed_points as stage
    from rnnatlas.stages.common import read_pack
    from rnnatlas.store.model_file import population_from_records

    data, recs = read_pack(task, task_data_path, model_paths)
    ids = [r.spec.id for r in recs]
    k_nets = len(recs)
    pop = population_from_records(recs, dtype=torch.float32, device=device)
    pop64 = population_from_records(recs, dtype=torch.float64, device=device)
    states = pa.probe_states(pop, data.probe.batch.inputs)

    # (2) our population search + linearisation, on the stage's own seed
    gen = torch.Generator().manual_seed(stable_seed(data.task.name, "fixed_points", opts["seed"], *ids))
    with _CaptureStarts() as cap:
        out, t_search, c_search = _timed(lambda: pa.search_population(
            pop, pop64, data.task, data.probe.labels, data.conditions, states, opts, gen), device)
    points, result = out[0], out[1]
    if "h0" in cap.seen:
        x0, h0, sopts, starts_from = cap.seen["x0"], cap.seen["h0"], cap.seen["options"], "captured"
    else:  # the search no longer goes through polished_search: draw starts the old way
        gen = torch.Generator().manual_seed(stable_seed(data.task.name, "fixed_points", opts["seed"], *ids))
        cond_t = torch.as_tensor(data.conditions, dtype=states.dtype, device=states.device)
        per = max(16, opts["n_initial_states"] // len(data.conditions))
        h0, x0 = pa.condition_starts(states, data.task.probe_conditions(data.probe.labels), cond_t, per,
                                     opts["noise_scale"], gen)
        sopts, starts_from = {k: opts[k] for k in ("tol_q", "max_iters", "unique_tol", "outlier_distance_scale")}, \
            "redrawn (may differ from the search's)"

    # (1) the textbook reference, one network at a time, same starts and tolerances
    ref, t_ref, c_ref = [], 0.0, 0.0
    for k in range(k_nets):
        p1 = population_from_records([recs[k]], dtype=torch.float32, device=device)
        p64 = population_from_records([recs[k]], dtype=torch.float64, device=device)
        r, w, c = _timed(partial(
            textbook.find_one_network, p1.step, p64.step, x0[k:k + 1], h0[k:k + 1], tol_q=sopts["tol_q"],
            max_iters=sopts["max_iters"], unique_tol=sopts["unique_tol"],
            outlier_distance_scale=sopts["outlier_distance_scale"], polish=args.reference_polish), device)
        ref.append(r)
        t_ref, c_ref = t_ref + w, c_ref + c

    # (3) the whole stage on the group's model files
    t_stage = c_stage = math.nan
    if not args.no_stage:
        folder = out_dir / label
        folder.mkdir(parents=True, exist_ok=True)
        fp = [str(folder / f"{i}.fixed_points.h5") for i in ids]
        gr = [str(folder / f"{i}.graph.h5") for i in ids]
        _, t_stage, c_stage = _timed(
            lambda: stage.run(task, task_data_path, model_paths, fp, gr, stage_opts, args.device), device)

    match_tol = 10 * sopts["unique_tol"]
    ours_stable, ref_stable, ref_in_ours, ours_in_ref, ours_fixed, ref_fixed = [], [], [], [], [], []
    for k in range(k_nets):
        nfp = result.for_network(k)
        fixed = ~nfp.is_slow.cpu().numpy()
        st = _stable_mask(points[k]) & fixed
        ours_stable.append(int(st.sum()))
        ours_fixed.append(int(fixed.sum()))
        counts = ref[k].counts(sopts["tol_q"], opts["margin"])
        ref_stable.append(counts["stable"])
        ref_fixed.append(counts["fixed"])
        r_st = ((ref[k].q <= sopts["tol_q"]) & (ref[k].eigenvalues.abs() < 1 - opts["margin"]).all(-1)).cpu().numpy()
        ref_h = ref[k].h.cpu().numpy()
        ref_in_ours.append(_matched(ref_h[r_st], points[k].h[st], match_tol))
        ours_in_ref.append(_matched(points[k].h[st], ref_h[r_st], match_tol))
    iters = result.start_iters.double()
    n = k_nets
    row = {
        "group": label, "arch": recs[0].spec.arch, "activation": recs[0].spec.activation, "units": recs[0].spec.units,
        "state_dim": int(h0.shape[-1]), "trained": bool(recs[0].spec.trained), "networks": n,
        "starts": int(h0.shape[1]), "starts_from": starts_from,
        "reference_s_per_network": t_ref / n, "search_s_per_network": t_search / n, "stage_s_per_network": t_stage / n,
        "reference_cpu_s_per_network": c_ref / n, "search_cpu_s_per_network": c_search / n,
        "stage_cpu_s_per_network": c_stage / n,
        "reference_over_search": t_ref / t_search, "reference_over_stage": t_ref / t_stage,
        "stage_over_search": t_stage / t_search,
        "cpu_reference_over_search": c_ref / c_search, "cpu_reference_over_stage": c_ref / c_stage,
        "cpu_stage_over_search": c_stage / c_search,
        "stable_ours": ours_stable, "stable_reference": ref_stable,
        "fixed_ours": ours_fixed, "fixed_reference": ref_fixed, "unique_reference": [r.counts(1, 0)["unique"] for r in ref],
        "reference_stable_matched_in_ours": ref_in_ours, "ours_stable_matched_in_reference": ours_in_ref,
        "match_tol": match_tol,
        "reference_iters": [r.n_iters for r in ref], "reference_stop": [r.stop_reason for r in ref],
        "search_iters_median": float(iters.median()), "search_iters_max": int(iters.max()),
        "search_options": {k: v for k, v in sopts.items()},
    }
    return row


def _find_groups(results: Path, task: str, archs, activation: str | None, units: int | None, count: int,
                 untrained: bool) -> dict[str, list[str]]:
    from rnnatlas.store.h5io import open_h5, read_config
    from rnnatlas.store.model_file import spec_from_config

    groups: dict[str, list[str]] = {}
    for path in sorted((results / task / "nets").glob("*/model.h5")):
        with open_h5(path, "model") as f:
            spec = spec_from_config(read_config(f))
        if spec.arch not in archs or (activation and spec.activation != activation):
            continue
        if (units and spec.units != units) or (spec.trained is False and not untrained):
            continue
        key = f"{spec.arch}-{spec.activation}-n{spec.units}" + ("" if spec.trained else "-untrained")
        if len(groups.setdefault(key, [])) < count:
            groups[key].append(str(path))
    return dict(sorted(groups.items(), key=lambda kv: (archs.index(kv[0].split("-")[0]), kv[0])))


def _warm_up(task, task_data_path, paths, opts, folder: Path, device):
    """First-call costs (allocator, autograd, LAPACK, each cell's ops) outside the timings: a tiny
    run of each of the three on one network of the group."""
    import _textbook_fixed_points as textbook
    import torch

    from rnnatlas.dynamics import population_analysis as pa
    from rnnatlas.stages import fixed_points as stage
    from rnnatlas.stages.common import read_pack
    from rnnatlas.store.model_file import population_from_records

    data, recs = read_pack(task, task_data_path, paths[:1])
    pop = population_from_records(recs, device=device)
    pop64 = population_from_records(recs, dtype=torch.float64, device=device)
    states = pa.probe_states(pop, data.probe.batch.inputs)
    tiny = {"n_initial_states": 32, "max_iters": 50, "n_perturbations": 2, "transition_steps": 10,
            "forward_steps": 10}
    small = {**opts, **{k: v for k, v in tiny.items() if k in opts}}
    with _CaptureStarts() as cap:
        pa.search_population(pop, pop64, data.task, data.probe.labels, data.conditions, states, small,
                             torch.Generator().manual_seed(0))
    if "h0" in cap.seen:
        textbook.find_one_network(pop.step, pop64.step, cap.seen["x0"], cap.seen["h0"], max_iters=50)
    folder.mkdir(parents=True, exist_ok=True)
    stage.run(task, task_data_path, paths[:1], [str(folder / "fp.h5")], [str(folder / "graph.h5")],
              {k: v for k, v in small.items() if k in stage.DEFAULTS}, str(device))
    sync(device)


def main_trained(argv: list[str]) -> dict:
    ap = argparse.ArgumentParser(description="trained networks: textbook one-at-a-time finder vs our search and stage")
    ap.add_argument("--trained", type=Path, required=True, help="a run's results folder (holds <task>/nets)")
    ap.add_argument("--task", default="flipflop", help="task whose networks are used (default flipflop)")
    ap.add_argument("--archs", default=",".join(ARCHS), help="comma-separated architectures (default all four)")
    ap.add_argument("--activation", default="tanh", help="activation of the trained networks (default tanh; '' = any)")
    ap.add_argument("--units", type=int, default=None, help="only trained networks of this size (default: any)")
    ap.add_argument("--nets", type=int, default=3, help="networks per group (default 3, the default pack size)")
    ap.add_argument("--untrained", action="store_true", help="include untrained twins as their own groups")
    ap.add_argument("--random-units", type=int, default=0,
                    help="also random networks of every architecture with this many units on the task's inputs, "
                         "e.g. 128 (default 0: none; several minutes more at 128)")
    ap.add_argument("--only-random", action="store_true", help="skip the trained networks (with --random-units)")
    ap.add_argument("--random-nets", type=int, default=3, help="random networks per architecture (default 3)")
    ap.add_argument("--config", type=Path, default=Path(__file__).resolve().parents[1] / "config" / "config.yaml",
                    help="config whose `dynamics` section sets the options (default config/config.yaml)")
    ap.add_argument("--starts", type=int, default=None, help="override dynamics.n_initial_states")
    ap.add_argument("--max-iters", type=int, default=None, help="override dynamics.max_iters")
    ap.add_argument("--reference-polish", action="store_true",
                    help="give the reference a float64 Newton polish of its unique points (the textbook has none)")
    ap.add_argument("--no-stage", action="store_true", help="skip (3), the whole stage")
    ap.add_argument("--threads", type=int, default=1, help="torch/BLAS threads (default 1)")
    add_device_option(ap)
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    ap.add_argument("--json-out", type=Path, default=None, help="also write the JSON object to this file")
    args = ap.parse_args(argv)

    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import tempfile
    import warnings

    import torch

    from rnnatlas.stages.common import read_pack

    torch.set_num_threads(args.threads)
    device = open_device(ap, args.device)
    warnings.filterwarnings("ignore", message="Converting a tensor with requires_grad")
    opts, stage_opts = _dynamics_options(args.config, {"n_initial_states": args.starts, "max_iters": args.max_iters})
    archs = [a for a in args.archs.split(",") if a]
    task_data_path = str(args.trained / args.task / "task_data.h5")
    groups = _find_groups(args.trained, args.task, archs, args.activation or None, args.units, args.nets,
                          args.untrained)
    if not groups:
        raise SystemExit(f"no {args.task} networks of {archs} ({args.activation or 'any'}) under {args.trained}")
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench_fp_") as tmp:
        tmp = Path(tmp)
        first = next(iter(groups.values()))
        todo = [] if args.only_random else list(groups.items())
        if args.random_units:
            _, recs = read_pack(args.task, task_data_path, first[:1])
            for arch in archs:
                paths = _write_random_group(recs[0], arch, args.random_units, args.random_nets, tmp / "models")
                todo.append((f"{arch}-{recs[0].spec.activation}-n{args.random_units}-random", paths))
        for label, paths in todo:
            _warm_up(args.task, task_data_path, paths, opts, tmp / "warm-up" / label, device)
            rows.append(_bench_group(label, args.task, task_data_path, paths, opts, stage_opts, args, tmp / "stage",
                                     device))
            if not args.json:
                print(_format_row(rows[-1]), flush=True)
    out = {
        "mode": "trained", "results": str(args.trained), "task": args.task, "threads": args.threads,
        "device": str(device),
        "reference_polish": args.reference_polish, "options": opts, "groups": rows,
        "load_average_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None, "torch": torch.__version__,
    }
    strict = _finite_or_none(out)  # skipped stage: null, not NaN (strict JSON)
    if args.json_out is not None:
        args.json_out.write_text(json.dumps(strict, default=str, indent=1))
    if args.json:
        print(json.dumps(strict, default=str))
    else:
        print(f"(task {args.task}; {opts['n_initial_states']} starts, max_iters {opts['max_iters']}, tol_q "
              f"{opts['tol_q']:g}; {args.threads} thread(s); device {device}; 1-min load average {out['load_average_1min']}; "
              "CPU s per network of this process; ratios of CPU time, of wall time in parentheses; stable = stable "
              "fixed points per network, ours / reference; ref iterations: joint Adam iterations, stop reason "
              "when not tol_q)")
    return out


def _finite_or_none(value):
    if isinstance(value, dict):
        return {k: _finite_or_none(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite_or_none(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


_HEADER_PRINTED = []


def _format_row(r: dict) -> str:
    """One table line: CPU seconds per network of (1), (2), (3); ratios on CPU time (wall in parentheses)."""
    lines = []
    if not _HEADER_PRINTED:
        _HEADER_PRINTED.append(True)
        lines.append(f"{'group':<24} {'nets':>4} {'(1) ref':>8} {'(2) ours':>8} {'(3) stage':>9} "
                     f"{'(1)/(2)':>13} {'(1)/(3)':>13} {'(3)/(2)':>13}  stable ours/ref per net; ref iterations")

    def ratio(cpu, wall):
        return f"{r[cpu]:5.2f} ({r[wall]:5.2f})"

    stable = " ".join(f"{o}/{f}" for o, f in zip(r["stable_ours"], r["stable_reference"]))
    iters = ",".join(f"{i}{'' if s == 'tol_q' else '(' + s + ')'}"
                     for i, s in zip(r["reference_iters"], r["reference_stop"]))
    lines.append(f"{r['group']:<24} {r['networks']:>4} {r['reference_cpu_s_per_network']:8.3f} "
                 f"{r['search_cpu_s_per_network']:8.3f} {r['stage_cpu_s_per_network']:9.3f} "
                 f"{ratio('cpu_reference_over_search', 'reference_over_search'):>13} "
                 f"{ratio('cpu_reference_over_stage', 'reference_over_stage'):>13} "
                 f"{ratio('cpu_stage_over_search', 'stage_over_search'):>13}  {stable}; {iters}")
    return "\n".join(lines)

if __name__ == "__main__":
    main()
