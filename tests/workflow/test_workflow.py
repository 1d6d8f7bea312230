"""End to end: the tiny config through Snakemake, files read back, kill-and-resume."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import torch

from rnnatlas.config import repo_root
from rnnatlas.ids import parse_network_id
from rnnatlas.models import RNNPopulation
from rnnatlas.stages.common import init_seed
from rnnatlas.store.model_file import read_model
from rnnatlas.store.probe_file import read_probe
from rnnatlas.store.task_data import read_task_data

ROOT = repo_root()
TINY = Path(__file__).with_name("tiny.yaml")


def test_every_network_has_readable_complete_files(tiny_run):
    for task, n_trained, n_twins in (("flipflop", 8, 0), ("sine", 8, 0), ("cdi", 8, 2)):
        nets = sorted((tiny_run / task / "nets").iterdir())
        assert len(nets) == n_trained + n_twins
        data = read_task_data(tiny_run / task / "task_data.h5", task)
        for folder in nets:
            record = read_model(folder / "model.h5")
            assert record.spec.id == folder.name and record.spec.task == task
            assert set(record.summary) >= {"accepted", "failed", "failure_reason", "final_val_loss", "wall_time_s"}
            with h5py.File(folder / "model.h5") as f:
                assert f.attrs["git_commit"] and f.attrs["rnnatlas_version"]
                config = json.loads(f.attrs["config"])
            assert config["net_id"] == folder.name and config["task_params"] == data.task.params()
            _, hidden, outputs = read_probe(folder / "probe.h5")
            trials, steps = data.probe.batch.inputs.shape[1], data.probe.batch.inputs.shape[0]
            assert hidden.shape == (trials, steps, record.spec.units)
            assert outputs.shape == (trials, steps, data.task.n_outputs)
            if record.spec.trained and not record.summary["failed"]:
                assert len(record.train_loss) == record.config["training"]["iterations"]
                assert record.hyperparameters["l2"] == record.spec.l2


def test_untrained_twin_is_the_initialisation_and_probes_match_a_rerun(tiny_run):
    folder = tiny_run / "cdi" / "nets" / "vanilla-tanh-n8-l2_1e-04-s01-untrained"
    twin = read_model(folder / "model.h5")
    assert not twin.spec.trained and twin.summary["iterations_run"] == 0
    init = RNNPopulation("vanilla", "tanh", 1, 4, 8, 1).initialize([init_seed(twin.spec)])
    for name, value in twin.params.items():
        assert np.array_equal(value, init.params[name][0].detach().numpy())
    trained = read_model(tiny_run / "cdi" / "nets" / "vanilla-tanh-n8-l2_1e-04-s01" / "model.h5")
    assert not np.array_equal(trained.params["weight_hh"], twin.params["weight_hh"])
    # the stored probe states are the network run on the stored probe inputs
    data = read_task_data(tiny_run / "cdi" / "task_data.h5")
    _, hidden, _ = read_probe(folder / "probe.h5")
    with torch.no_grad():
        _, states = init(data.probe.batch.inputs, return_states=True)
    assert np.allclose(hidden, states[0].transpose(0, 1).numpy(), atol=1e-6)


def test_training_summary_counts_every_network(tiny_run):
    summary = json.loads((tiny_run / "cdi" / "training_summary.json").read_text())
    assert summary["trained_networks"] == 8 and summary["untrained_twins"] == 2
    assert sum(c["networks"] for c in summary["by_cell"].values()) == 8
    assert (tiny_run / "logs" / "train" / "cdi" / "vanilla-tanh-n8-p00.log").read_text().count("%") >= 5
    assert (tiny_run / "benchmarks" / "train" / "cdi" / "vanilla-tanh-n8-p00.tsv").exists()


def test_space_of_solutions_outputs(tiny_run):
    """Study S: 2-D populations, RSG networks trained with Adam over epochs, features.h5 per
    network, the summary and the four figures."""
    from rnnatlas.store.features_file import read_features

    summary = json.loads((tiny_run / "space_of_solutions" / "summary.json").read_text())
    assert set(summary["toy2d"]) == {"tanh", "relu"}
    for stats in summary["toy2d"].values():
        assert stats["networks"] == 16 and sum(stats["solution_types"].values()) == stats["accepted"]
    nets = sorted((tiny_run / "rsg" / "nets").iterdir())
    assert len(nets) == 6 and summary["rsg"]["networks"]["gru"]["trained"] == 3
    for folder in nets:
        record = read_model(folder / "model.h5")
        assert record.config["training"]["optimizer"] == "adam" and record.config["training"]["sampling"] == "epochs"
        assert len(record.train_loss) == 2 * 2  # 2 epochs of 16 trials in batches of 8
        _, arrays, attrs = read_features(folder / "features.h5")
        assert len(attrs["solution_class"]) == 10 and set("ABCDE") <= set(arrays)
    assert sum(summary["rsg"]["class_counts"]["all"].values()) == 6
    for name in ("toy2d_trajectories", "toy2d_trace_det", "rsg_features", "rsg_classes"):
        for ext in ("pdf", "png", "counts.json"):
            assert (tiny_run / "figures" / "space_of_solutions" / f"{name}.{ext}").stat().st_size > 0


def test_training_change_outputs(tiny_run):
    """Study H: only W_rec trained, its diagonal 0, snapshots kept; one training_change.h5 per
    trained network, the summary with every claim, and the ten figures."""
    from rnnatlas.store.h5io import read_arrays

    summary = json.loads((tiny_run / "training_change" / "summary.json").read_text())
    assert set(summary["tasks"]) == {"perception", "decision"}
    for task, units in (("perception", 8), ("decision", 10)):
        for seed in (0, 1):
            net = f"vanilla-relu-n{units}-l2_0e+00-s{seed:02d}"
            trained = read_model(tiny_run / task / "nets" / net / "model.h5")
            twin = read_model(tiny_run / task / "nets" / f"{net}-untrained" / "model.h5")
            assert trained.spec.alpha == 0.1 and trained.spec.trainable == ("weight_hh",)
            assert np.all(np.diag(trained.params["weight_hh"]) == 0)
            assert not np.array_equal(trained.params["weight_hh"], twin.params["weight_hh"])
            for name in ("weight_ih", "bias_ih", "weight_out", "bias_out", "bias_hh"):
                assert np.array_equal(trained.params[name], twin.params[name]), name
            assert list(trained.snapshots["iterations"]) == [0, 10, 20]
            assert np.array_equal(trained.snapshots["weight_hh"][0], twin.params["weight_hh"])
            _, arrays, attrs = read_arrays(tiny_run / task / "nets" / net / "training_change.h5", "training_change")
            assert attrs["analysed"] and 0 <= attrs["accuracy"] <= 1 and len(arrays["mean_weight"]) == 3
            assert np.isclose(arrays["mean_weight"][0], twin.params["weight_hh"][~np.eye(units, dtype=bool)].mean())
            assert arrays["dca_basis_trained"].shape == (units, 2) and len(arrays["pi_theta_trained"]) == 2
        entry = summary["tasks"][task]
        assert entry["n_networks"] + len(entry["set_aside"]) == 2
    figures = sorted(p.stem for p in (tiny_run / "figures" / "training_change").glob("*.png"))
    assert len(figures) == 10 and all(name.startswith("h_fig") for name in figures)


def test_multitask_outputs(tiny_run):
    """Study M: Go-only and Go-family networks with the reference's model, a multitask.h5 and a
    fixed_points.h5 per network (points under the task's epoch inputs), the summary with the
    open question answered, and the seven figures."""
    from rnnatlas.store.fixed_point_file import read_fixed_points
    from rnnatlas.store.multitask_file import read_multitask

    summary = json.loads((tiny_run / "multitask" / "summary.json").read_text())
    assert set(summary["groups"]) == {"go", "go_family"}
    assert summary["open_question"]["answer"].startswith("On the Go task's epochs")
    for task, n_rules in (("go", 1), ("go_family", 6)):
        assert summary["groups"][task]["rules"][0] == "go" and len(summary["groups"][task]["rules"]) == n_rules
        for seed in (0, 1):
            net = tiny_run / task / "nets" / f"vanilla-softplus-n8-l2_0e+00-s{seed:02d}"
            model = read_model(net / "model.h5")
            assert model.spec.alpha == 0.2 and model.spec.readout == "sigmoid" and model.spec.init == "yang_rate"
            assert list(model.snapshots["iterations"]) == [0, 10, 20] and "weight_ih" in model.snapshots
            _, arrays, attrs = read_multitask(net / "multitask.h5")
            assert attrs["analysed"] and arrays["performance"].shape == (n_rules,)
            assert arrays["performance_over_training"].shape == (3, n_rules)
            assert np.all((arrays["performance"] >= 0) & (arrays["performance"] <= 1))
            assert arrays["task_variance"].shape == (n_rules, 8)
            _, points, _ = read_fixed_points(net / "fixed_points.h5")
            assert np.all(arrays["n_fixed"] + arrays["n_slow"] >= 0) and len(points["q"]) > 0
    figures = sorted(p.stem for p in (tiny_run / "figures" / "multitask").glob("*.png"))
    assert len(figures) == 7 and all(name.startswith("m_fig") for name in figures)


def test_run_configuration_is_the_merged_config(tiny_run):
    import yaml

    from rnnatlas.config import load_config

    written = yaml.safe_load((tiny_run / "run_configuration.yaml").read_text())
    assert written == load_config([TINY])


def test_same_config_gives_bit_identical_weights(tiny_run, tmp_path):
    """Retrain one pack by hand from the same config: identical weights on the CPU."""
    record = read_model(tiny_run / "flipflop" / "nets" / "lstm-relu-n8-l2_1e-04-s00" / "model.h5")
    settings = dict(record.config["training"], hyperparameters={k: v for k, v in record.hyperparameters.items() if k != "l2"})
    from rnnatlas.stages import train

    nets = [parse_network_id(i, "flipflop") for i in ("lstm-relu-n8-l2_1e-04-s00", "lstm-relu-n8-l2_1e-04-s01")]
    train.run("flipflop", str(tiny_run / "flipflop" / "task_data.h5"), nets, [], settings, str(tmp_path), [], "cpu")
    again = read_model(tmp_path / "lstm-relu-n8-l2_1e-04-s00" / "model.h5")
    for name in record.params:
        assert np.array_equal(record.params[name], again.params[name]), name


def test_killed_run_resumes_and_leaves_only_complete_files(tmp_path):
    """Kill Snakemake and its jobs while they train, run again: it completes, every model.h5 reads."""
    slow = tmp_path / "slow.yaml"
    slow.write_text("universality:\n  tasks: [sine]\n  training:\n    iterations: {sine: 1500}\n"
                    "training_change: {enabled: false}\nspace_of_solutions: {enabled: false}\nmultitask: {enabled: false}\n")
    cmd = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "--directory", str(tmp_path),
           "--configfile", str(TINY), str(slow), "--cores", "2"]
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    logs = tmp_path / "results" / "logs" / "train" / "sine"
    deadline = time.time() + 120
    while time.time() < deadline and not any("INFO train" in p.read_text() for p in logs.glob("*.log")):
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)  # the whole process group: Snakemake and its jobs
    proc.wait()
    nets = tmp_path / "results" / "sine" / "nets"
    assert len(list(nets.glob("*/model.h5"))) < 8, "the run finished before it was killed"
    for path in nets.glob("*/model.h5"):
        read_model(path)  # anything under a final name is complete
    # After a hard kill the lock stays: unlock, then resume (what the README tells users).
    subprocess.run(cmd + ["--unlock"], capture_output=True, timeout=120, env=env, check=True)
    out = subprocess.run(cmd + ["--rerun-incomplete"], capture_output=True, text=True, timeout=600, env=env)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    models = list(nets.glob("*/model.h5"))
    assert len(models) == 8
    for path in models:
        assert read_model(path).config["training"]["iterations"] == 1500


def test_search_result_feeds_training(tiny_run, tmp_path):
    """The search stage writes its record; training with it uses the chosen hyperparameters."""
    from rnnatlas.stages import search, train

    task_data = str(tiny_run / "sine" / "task_data.h5")
    settings = {"iterations": 27, "batch_size": 8, "eval_every": 9, "accept_val_loss": 0.1, "data_seed": 0,
                "hyperparameters": None}
    space = {"enabled": True, "candidates": 9, "eta": 3, "min_iterations": 3, "seed": 0,
             "ranges": {"learning_rate": [1e-4, 0.1], "momentum": [0.0, 1.0], "clip": [0.1, 10.0], "decay": [0.1, 0.9]}}
    out = tmp_path / "vanilla-tanh-n8-l2_1e-04.json"
    search.run("sine", task_data, "vanilla-tanh-n8-l2_1e-04", settings, space, str(out), "cpu")
    record = json.loads(out.read_text())
    assert record["budgets"] == [3, 9, 27] and len(record["candidates"]) == 9
    finalists = [c for c in record["candidates"] if "27" in c["val_loss"]]
    assert len(finalists) == 1 and finalists[0]["hyperparameters"] == record["chosen"]
    nets = [parse_network_id("vanilla-tanh-n8-l2_1e-04-s00", "sine")]
    train.run("sine", task_data, nets, [], settings, str(tmp_path / "nets"), [str(out)], "cpu")
    model = read_model(tmp_path / "nets" / nets[0].id / "model.h5")
    assert model.hyperparameters == {**record["chosen"], "l2": 1e-4}


def test_enabled_search_gates_training_in_the_dag(tmp_path):
    cfg = tmp_path / "search.yaml"
    cfg.write_text("universality:\n  tasks: [cdi]\n  search: {enabled: true, min_iterations: 5}\n")
    out = subprocess.run(
        [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "--directory", str(tmp_path),
         "--configfile", str(TINY), str(cfg), "-n", "-p", "--cores", "1"],
        capture_output=True, text=True, timeout=120,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    text = out.stdout
    assert text.count("rnnatlas search --task cdi") == 4  # one per cell (2 arch × 2 activations)
    assert text.count("--search-results results/cdi/search/") == 4


def _snakemake(workdir: Path, *extra: str) -> subprocess.CompletedProcess:
    """Snakemake on the tiny config in ``workdir`` (the jobs find the venv's commands)."""
    cmd = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "--directory", str(workdir),
           "--configfile", str(TINY), "--cores", "2", *extra]
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    return subprocess.run(cmd, capture_output=True, text=True, timeout=1200, env=env)


def _file_kinds(results: Path) -> dict[str, Path]:
    """One file of every kind under ``results`` (a network's or a task's folder stands for all):
    every per-network, per-task and per-study file and every figure; logs and benchmarks aside."""
    kinds: dict[str, Path] = {}
    for path in sorted(results.rglob("*")):
        rel = path.relative_to(results)
        if not path.is_file() or rel.parts[0] in ("logs", "benchmarks") or path.name.startswith("."):
            continue
        parts = list(rel.parts)
        if "nets" in parts:
            parts[parts.index("nets") + 1] = "<net>"
        if (results / parts[0] / "task_data.h5").exists():  # a task's folder
            parts[0] = "<task>"
        kind = "/".join(parts)
        kinds.setdefault(kind, path)
    return kinds


def test_a_deleted_file_of_any_kind_is_rebuilt_by_the_same_command(tiny_run, tmp_path):
    """The README's advice for a corrupt file (delete it and run the same command) works for every
    kind of file: each is a target, so Snakemake plans the job that writes it."""
    import shutil

    work = tmp_path / "run"
    shutil.copytree(tiny_run.parent, work, symlinks=True)  # copy2 keeps the times: all up to date
    # really rebuilt: a per-network analysis file, only needed by up-to-date summaries and figures
    fp = sorted((work / "results" / "flipflop" / "nets").glob("*/fixed_points.h5"))[0]
    fp.unlink()
    out = _snakemake(work)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert fp.exists()
    # planned: one file of every kind deleted at once
    kinds = _file_kinds(work / "results")
    assert {"<task>/nets/<net>/model.h5", "<task>/nets/<net>/probe.h5", "<task>/nets/<net>/fixed_points.h5",
            "<task>/nets/<net>/features.h5", "<task>/nets/<net>/multitask.h5", "<task>/nets/<net>/training_change.h5",
            "<task>/task_data.h5", "toy2d/tanh/solutions.h5", "atlas/index.html"} <= set(kinds), sorted(kinds)
    for path in kinds.values():
        path.unlink()
    out = _snakemake(work, "-n")
    assert out.returncode == 0, out.stderr[-3000:]
    missed = sorted(k for k, p in kinds.items() if str(p.relative_to(work)) not in out.stdout)
    assert not missed, f"deleted but not rebuilt: {missed}"


def test_after_a_config_change_nothing_of_the_old_population_appears(tiny_run, tmp_path):
    """Drop a metric, a 2-D nonlinearity and a study-H seed, run again in the same folder: the
    old files stay on disk, but no summary or figure reads them."""
    import shutil

    work = tmp_path / "run"
    shutil.copytree(tiny_run.parent, work, symlinks=True)
    assert (work / "results" / "toy2d" / "relu" / "solutions.h5").exists()
    assert (work / "results" / "cdi" / "pairwise" / "procrustes.nc").exists()
    smaller = tmp_path / "smaller.yaml"
    smaller.write_text("similarity: {metrics: [svcca]}\nspace_of_solutions: {toy2d: {activations: [tanh]}}\n"
                       "training_change: {seeds: [1]}\n")
    out = _snakemake(work, "--configfile", str(TINY), str(smaller))
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    results = work / "results"
    summary = json.loads((results / "universality" / "summary.json").read_text())
    for task, entry in summary["tasks"].items():
        assert set(entry["metrics"]) == {"svcca", "graph"}, task
    for figure in ("toy2d_trajectories", "toy2d_trace_det"):
        counts = (results / "figures" / "space_of_solutions" / f"{figure}.counts.json").read_text()
        assert "relu" not in counts and "tanh" in counts, figure
    change = json.loads((results / "training_change" / "summary.json").read_text())
    for task, entry in change["tasks"].items():
        listed = entry["networks"] + entry["set_aside"]
        assert listed and all("-s01" in n for n in listed), (task, listed)
    for counts_file in (results / "figures" / "training_change").glob("*.counts.json"):
        assert "-s00" not in counts_file.read_text(), counts_file.name
    from rnnatlas.atlas.page import read_page

    sections = {s["key"]: s for s in read_page(results / "atlas" / "index.html")[0]["sections"]}
    assert "space_of_solutions.toy2d_relu" not in sections and "space_of_solutions.toy2d_tanh" in sections
    assert {v["name"] for v in sections["universality.cdi"]["views"]} == {"svcca", "graph"}
    assert all("-s00" not in net for net in sections["training_change.perception"]["ids"])
