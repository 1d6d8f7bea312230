"""Similarity rules on the tiny config: the tile plan of a dry run, and the pairwise and embedding
.nc files of the shared tiny run (``tiny_run``, chunks of 6 networks: 2 chunks, 3 tiles per metric)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rnnatlas.config import repo_root
from rnnatlas.similarity import dsa_block, fit_dynamics, procrustes_distance, svcca
from rnnatlas.stages.similarity import load_hidden
from rnnatlas.store.pairwise_file import read_embedding, read_pairwise
from rnnatlas.store.probe_file import read_probe

ROOT = repo_root()
TINY = Path(__file__).with_name("tiny.yaml")
METRICS = ("svcca", "cka_rbf")  # the dry run's; cka_linear runs the same rules
RUN_METRICS = ("svcca", "procrustes", "dsa_angular")  # the tiny run's (tiny.yaml)
# cdi: 8 trained networks + 2 untrained twins; chunks of 6 → 2 chunks, 3 tiles per metric
EXTRA = ("universality:\n  tasks: [cdi]\nsimilarity:\n  metrics: [svcca, cka_rbf]\n  block_size: {}\n"
         "  mds: {{n_init: 2, max_iter: 100, random_state: 0}}\n")
TARGETS = [f"results/cdi/{kind}/{m}.nc" for m in METRICS for kind in ("pairwise", "embedding")]


def snakemake(workdir: Path, *extra: str, block_size: int = 6, timeout: int = 300) -> subprocess.CompletedProcess:
    cfg = workdir / "similarity.yaml"
    cfg.write_text(EXTRA.format(block_size))
    cmd = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "--directory", str(workdir),
           "--configfile", str(TINY), str(cfg), "--cores", "2", *extra]
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)


def test_dry_run_plans_tiles_not_pairs(tmp_path):
    out = snakemake(tmp_path, "-n", *TARGETS, block_size=3)
    assert out.returncode == 0, out.stderr[-2000:]
    counts = {line.split()[0]: int(line.split()[1]) for line in out.stdout.splitlines()
              if len(line.split()) == 2 and line.split()[1].isdigit()}
    # 10 networks in chunks of 3 → 4 chunks, 4·5/2 = 10 tiles per metric (not 45 pairs)
    assert counts["similarity_prepare"] == 4 * 2 and counts["similarity_block"] == 10 * 2
    assert counts["similarity_merge"] == 2 and counts["embedding"] == 2


@pytest.fixture(scope="module")
def run(tiny_run):
    return tiny_run


def test_pairwise_files(run):
    nets = sorted(p.name for p in (run / "cdi" / "nets").iterdir())
    for metric in RUN_METRICS:
        da = read_pairwise(run / "cdi" / "pairwise" / f"{metric}.nc")
        ids = list(da.net_a.values)
        assert sorted(ids) == nets and len(ids) == 10 and list(da.net_b.values) == ids
        assert int((~da.trained_a.values.astype(bool)).sum()) == 2  # the untrained twins
        D = da.values
        assert np.isfinite(D).all() and np.array_equal(D, D.T) and np.all(np.diag(D) == 0.0)
        assert da.attrs["metric"] == metric and json.loads(da.attrs["set_aside"]) == {}
    # one entry against the per-pair library function on the stored probe states
    da = read_pairwise(run / "cdi" / "pairwise" / "svcca.nc")
    a, b = str(da.net_a.values[0]), str(da.net_a.values[-1])
    X = read_probe(run / "cdi" / "nets" / a / "probe.h5")[1]
    Y = read_probe(run / "cdi" / "nets" / b / "probe.h5")[1]
    expected = 1.0 - svcca(X.reshape(-1, X.shape[-1]), Y.reshape(-1, Y.shape[-1]), variance=0.99)
    assert float(da.sel(net_a=a, net_b=b)) == pytest.approx(expected, abs=1e-5)
    assert not (run / "cdi" / "pairwise" / "parts" / "svcca").exists() or not any(
        (run / "cdi" / "pairwise" / "parts" / "svcca").iterdir())  # temporary parts removed


def test_procrustes_and_dsa_entries_match_the_library_on_the_probe_states(run):
    """One off-diagonal-tile entry each: Procrustes against the per-pair function, DSA against a
    fresh fit of the two networks (the same options as the file records)."""
    da = read_pairwise(run / "cdi" / "pairwise" / "procrustes.nc")
    a, b = str(da.net_a.values[0]), str(da.net_a.values[-1])
    paths = [run / "cdi" / "nets" / i / "probe.h5" for i in (a, b)]
    X, Y = (read_probe(p)[1] for p in paths)
    expected = procrustes_distance(X.reshape(-1, X.shape[-1]), Y.reshape(-1, Y.shape[-1]), alpha=1.0)
    assert float(da.sel(net_a=a, net_b=b)) == pytest.approx(expected, abs=1e-5)
    assert json.loads(da.attrs["options"])["alpha"] == 1.0 and "rank_a" in da.coords

    da = read_pairwise(run / "cdi" / "pairwise" / "dsa_angular.nc")
    options = json.loads(da.attrs["options"])["dsa"]
    assert options["iterations"] == 50 and options["starts"] == 4  # tiny.yaml's
    _, trajectories, _ = load_hidden("cdi", [str(p) for p in paths], trajectories=True)
    expected = dsa_block(fit_dynamics(trajectories, **options), None, "angular")[0, 1]
    assert float(da.sel(net_a=a, net_b=b)) == pytest.approx(expected, abs=1e-9)


def test_embedding_files_and_logs(run):
    for metric in RUN_METRICS:
        ds = read_embedding(run / "cdi" / "embedding" / f"{metric}.nc")
        assert ds["embedding"].shape == (10, 2) and np.isfinite(ds["embedding"].values).all()
        assert np.isfinite(float(ds["stress"])) and set(ds.coords) >= {"arch", "activation", "units", "l2", "seed", "trained"}
    assert (run / "logs" / "similarity" / "cdi" / "svcca" / "block-0-1.log").exists()
    assert (run / "benchmarks" / "similarity" / "cdi" / "dsa_angular" / "prep-1.tsv").exists()
