"""The tiny workflow through `--workflow-profile profiles/slurm` on a real one-machine Slurm.

Needs a cluster from `tests/slurm/cluster.sh up` (root) and the plugin (`pip install -e
".[slurm]"`); skips, saying why, without them. One Slurm run and one local run of the same
config and targets (module fixture); while the Slurm run trains, one training job is cancelled
with `scancel` and must come back as attempt 2. The tests then read sacct and the two result
trees. See tests/slurm/README.md.
"""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from rnnatlas import plan
from rnnatlas.config import load_yaml, merge, repo_root

pytestmark = pytest.mark.slurm

ROOT = repo_root()
TINY = ROOT / "tests" / "workflow" / "tiny.yaml"
PROFILE = ROOT / "profiles" / "slurm"
CLUSTER_SH = ROOT / "tests" / "slurm" / "cluster.sh"
# device=auto: the training rules ask Slurm for a GPU (the test node has count-only GPUs);
# torch still runs on the CPU, so both runs compute the same numbers.
CONFIG_ARGS = ["--configfile", str(TINY), "--config", "device=auto"]
TIMEOUT_S = 900


def cluster_settings() -> dict[str, str]:
    """KEY=VALUE lines of `cluster.sh status`, or skip when no cluster is up."""
    try:
        import snakemake_executor_plugin_slurm  # noqa: F401
    except ImportError:
        pytest.skip('snakemake-executor-plugin-slurm is not installed (pip install -e ".[slurm]")')
    for tool in ("sbatch", "sacct", "squeue", "scancel"):
        if shutil.which(tool) is None:
            pytest.skip(f"no Slurm here ({tool} not on PATH): run tests/slurm/cluster.sh up")
    out = subprocess.run(["bash", str(CLUSTER_SH), "status"], capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        pytest.skip("no Slurm cluster is up (tests/slurm/cluster.sh status failed): run tests/slurm/cluster.sh up")
    settings = dict(line.split("=", 1) for line in out.stdout.splitlines() if "=" in line)
    return settings


def targets() -> list[str]:
    """The pipeline-foundation outputs of the tiny config: every probe.h5 and each task's summary
    (later stages are left out to keep the test short; they use the same resource conventions)."""
    config = merge(load_yaml(ROOT / "config" / "config.yaml"), load_yaml(TINY))
    files = []
    for task in config["universality"]["tasks"]:
        files.append(f"results/{task}/training_summary.json")
        for pack in plan.packs(config, task):
            files.extend(f"results/{task}/nets/{n.id}/probe.h5" for n in pack.all_networks)
    return files


def snakemake_cmd(workdir: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "--directory", str(workdir),
            *CONFIG_ARGS, *extra, *targets()]


def sacct_rows(workdir: Path, since: str) -> list[dict[str, str]]:
    fields = ["JobID", "Comment", "Partition", "AllocTRES", "ReqMem", "Timelimit", "State", "WorkDir"]
    out = subprocess.run(
        ["sacct", "-a", "-X", "-n", "-P", "--starttime", since, "-o", ",".join(fields)],
        capture_output=True, text=True, timeout=60, check=True,
    )
    rows = [dict(zip(fields, line.split("|"))) for line in out.stdout.splitlines() if line.strip()]
    return [r for r in rows if Path(r["WorkDir"]).resolve() == workdir.resolve()]


def cancel_one_running_training_job(proc: subprocess.Popen, deadline: float) -> str | None:
    """scancel the first training job seen RUNNING; return its Slurm job id."""
    while time.time() < deadline and proc.poll() is None:
        out = subprocess.run(["squeue", "-h", "-o", "%i|%k|%T"], capture_output=True, text=True, timeout=30)
        for line in out.stdout.splitlines():
            job_id, comment, state = line.split("|")
            if comment.startswith("rule_train_") and state == "RUNNING":
                subprocess.run(["scancel", job_id], check=True, timeout=30)
                return job_id
        time.sleep(0.3)
    return None


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    settings = cluster_settings()
    base = tmp_path_factory.mktemp("slurm")
    cluster_dir, local_dir = base / "cluster", base / "local"
    cluster_dir.mkdir()
    local_dir.mkdir()
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
           "RNNATLAS_SLURM_ACCOUNT": settings["SLURM_ACCOUNT"]}
    since = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(time.time() - 5))
    t0 = time.time()
    # --cores 2: the test node has 2 CPUs (caps a group submission's width; the profile says 8).
    # Status checks every few seconds instead of the plugin's 40 s: the jobs here take seconds.
    cluster_log = open(base / "cluster.log", "w")
    cluster = subprocess.Popen(
        snakemake_cmd(cluster_dir, "--workflow-profile", str(PROFILE), "--cores", "2",
                      "--slurm-init-seconds-before-status-checks", "3", "--seconds-between-status-checks", "3"),
        env=env, stdout=cluster_log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    local = subprocess.Popen(snakemake_cmd(local_dir, "--cores", "1"), env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        cancelled = cancel_one_running_training_job(cluster, t0 + TIMEOUT_S)
        cluster_rc = cluster.wait(timeout=max(1.0, TIMEOUT_S - (time.time() - t0)))
        local_out, _ = local.communicate(timeout=600)
    finally:
        for proc in (cluster, local):
            if proc.poll() is None:  # timed out or the test was interrupted
                os.killpg(proc.pid, signal.SIGTERM)  # Snakemake cancels its Slurm jobs
                try:
                    proc.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
        cluster_log.close()
    log = (base / "cluster.log").read_text()
    assert cluster_rc == 0, log[-5000:]
    assert local.returncode == 0, local_out[-5000:]
    return {
        "cluster": cluster_dir / "results", "local": local_dir / "results", "log": log,
        "sacct": sacct_rows(cluster_dir, since), "cancelled": cancelled, "seconds": time.time() - t0,
    }


def submissions(log: str) -> list[tuple[str, str]]:
    """(Snakemake log folder e.g. rule_train_… / group_task_data_…, Slurm job id) per sbatch."""
    out = []
    for line in log.splitlines():
        if "has been submitted with SLURM jobid" in line:
            job_id = line.split("SLURM jobid ")[1].split()[0]
            folder = line.split("slurm_logs/")[1].split("/")[0]
            out.append((folder, job_id))
    return out


def test_jobs_were_submitted_and_completed(runs):
    rows = runs["sacct"]
    subs = submissions(runs["log"])
    assert rows and len(rows) == len(subs), (rows, subs)
    assert {r["JobID"] for r in rows} == {job_id for _, job_id in subs}
    for row in rows:
        expected = "CANCELLED" if row["JobID"] == runs["cancelled"] else "COMPLETED"
        assert row["State"].startswith(expected), row
    print(f"slurm run: {len(rows)} submissions, {runs['seconds']:.0f} s")


def test_grouped_jobs_were_packed(runs):
    """task_data and summarize_training: 3 jobs each (one per task), packed 3 to a submission."""
    subs = submissions(runs["log"])
    finished = [line.split("(Rule: ")[1].rstrip(")") for line in runs["log"].splitlines() if "Finished jobid" in line]
    for rule, group in (("task_data", "task_data"), ("summarize_training", "summaries")):
        group_subs = [s for s in subs if s[0].startswith(f"group_{group}")]
        assert finished.count(rule) == 3
        assert len(group_subs) == 1, subs
        assert not [s for s in subs if s[0] == f"rule_{rule}"], "a grouped rule was submitted on its own"
    n_jobs = len([r for r in finished if r != "default"])
    assert len(subs) < n_jobs + 1  # + 1: the cancelled training job was submitted twice


def test_gpu_rules_get_gpus_and_cpu_rules_stay_off_gpu_partitions(runs):
    for row in runs["sacct"]:
        if row["Comment"].startswith("rule_train_"):
            assert row["Partition"] == "gpu" and "gres/gpu=1" in row["AllocTRES"], row
        else:
            assert row["Partition"] == "cpu" and "gres/gpu" not in row["AllocTRES"], row


def test_cancelled_job_is_retried_with_more_memory_and_time(runs):
    job_id = runs["cancelled"]
    assert job_id is not None, "no training job was seen running"
    rows = {r["JobID"]: r for r in runs["sacct"]}
    first = rows[job_id]
    assert first["State"].startswith("CANCELLED")
    again = [r for r in runs["sacct"] if r["Comment"] == first["Comment"] and r["JobID"] != job_id]
    assert len(again) == 1 and again[0]["State"] == "COMPLETED"
    # attempt 2: mem_mb and runtime doubled (common.smk: scaled)
    mem = lambda r: int(r["ReqMem"].rstrip("MmGgn"))  # noqa: E731
    assert mem(again[0]) == 2 * mem(first)
    minutes = lambda r: sum(int(x) * f for x, f in zip(r["Timelimit"].split(":"), (60, 1, 1 / 60)))  # noqa: E731
    assert minutes(again[0]) == 2 * minutes(first)


def test_outputs_equal_a_local_run(runs):
    cluster, local = runs["cluster"], runs["local"]
    models = sorted(p.relative_to(local) for p in local.glob("*/nets/*/model.h5"))
    probes = sorted(p.relative_to(local) for p in local.glob("*/nets/*/probe.h5"))
    assert len(models) == len(probes) == len(targets()) - 3
    assert models == sorted(p.relative_to(cluster) for p in cluster.glob("*/nets/*/model.h5"))
    assert probes == sorted(p.relative_to(cluster) for p in cluster.glob("*/nets/*/probe.h5"))
    for rel in models:
        with h5py.File(local / rel) as a, h5py.File(cluster / rel) as b:
            assert set(a["params"]) == set(b["params"]) and set(a["loss"]) == set(b["loss"])
            for group in ("params", "loss"):
                for name in a[group]:
                    assert np.array_equal(a[group][name][()], b[group][name][()]), (rel, name)
    for rel in probes:
        with h5py.File(local / rel) as a, h5py.File(cluster / rel) as b:
            assert set(a) == set(b)
            for name in a:
                if isinstance(a[name], h5py.Dataset):
                    assert np.array_equal(a[name][()], b[name][()]), (rel, name)
    for task in ("flipflop", "sine", "cdi"):
        assert (cluster / task / "training_summary.json").exists()
