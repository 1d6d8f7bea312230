"""A study registered from the tests folder is planned by the workflow without any edit to a
shared file, and registering it leaves every job of the default config as it was."""

import os
import subprocess
import sys
from pathlib import Path

from rnnatlas.config import repo_root

ROOT = repo_root()
PLUGIN = Path(__file__).with_name("extra_study.py")


def planned_outputs(workdir: Path, *configfiles: Path) -> set[str]:
    """Every output file of a dry run (one job's outputs are listed on its `output:` line)."""
    cmd = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "--directory", str(workdir),
           "-n", "--cores", "1"]
    if configfiles:
        cmd += ["--configfile", *map(str, configfiles)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    files = set()
    for line in out.stdout.splitlines():
        if line.strip().startswith("output:"):
            files.update(f.strip() for f in line.split(":", 1)[1].split(","))
    return files


def test_a_plugin_study_plans_its_own_jobs_and_changes_nothing_else(tmp_path):
    config = tmp_path / "plugin.yaml"
    config.write_text(
        f"plugins: [{PLUGIN}]\n"
        "ramps:\n  grid: {arch: [vanilla, gru], activation: [tanh], units: [4], seeds: 2}\n  iterations: 10\n"
        "tasks:\n  ramp: {n_steps: 10, validation_trials: 8, accept_val_loss: 1.0, data_seed: 0}\n"
    )
    default = planned_outputs(tmp_path / "default")
    with_plugin = planned_outputs(tmp_path / "plugin", config)
    assert default <= with_plugin
    nets = [f"{a}-tanh-n4-l2_0e+00-s{s:02d}" for a in ("vanilla", "gru") for s in (0, 1)]
    expected = {"results/ramp/task_data.h5", "results/ramp/training_summary.csv", "results/ramp/training_summary.json",
                *(f"results/ramp/nets/{n}/{f}" for n in nets for f in ("model.h5", "probe.h5", "fixed_points.h5", "graph.h5")),
                *(f"results/figures/ramps/ramp_losses.{ext}" for ext in ("pdf", "png", "counts.json"))}
    assert with_plugin - default == expected


def test_a_missing_plugin_is_a_clear_error(tmp_path):
    config = tmp_path / "plugin.yaml"
    config.write_text("plugins: [no/such/study.py]\n")
    out = subprocess.run([sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "--directory", str(tmp_path),
                          "--configfile", str(config), "-n", "--cores", "1"], capture_output=True, text=True, timeout=120)
    assert out.returncode != 0
    assert "config key 'plugins': plug-in 'no/such/study.py': no such file" in out.stdout + out.stderr


def test_a_plugin_study_runs_end_to_end(tmp_path):
    """Its task trains through the generic rules, its analysis and figure run through `--plugin`."""
    import json

    from rnnatlas.store.fixed_point_file import read_fixed_points
    from rnnatlas.store.model_file import read_model

    config = tmp_path / "plugin.yaml"
    config.write_text(
        f"device: cpu\nplugins: [{PLUGIN}]\nuniversality: {{tasks: []}}\nspace_of_solutions: {{enabled: false}}\n"
        "training_change: {enabled: false}\nmultitask: {enabled: false}\n"
        "ramps:\n  grid: {arch: [vanilla, gru], activation: [tanh], units: [4], seeds: 2}\n  iterations: 30\n"
        "tasks:\n  ramp: {n_steps: 10, validation_trials: 8, accept_val_loss: 1.0, data_seed: 0}\n"
    )
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}  # the jobs call `rnnatlas`
    out = subprocess.run([sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "--directory", str(tmp_path),
                          "--configfile", str(config), "--cores", "2"], capture_output=True, text=True, timeout=300,
                         env=env)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    results = tmp_path / "results"
    models = sorted((results / "ramp" / "nets").glob("*/model.h5"))
    assert len(models) == 4
    for path in models:
        record = read_model(path)
        assert record.spec.task == "ramp" and record.summary["iterations_run"] == 30
        assert record.train_loss[-1] < record.train_loss[0]  # Adam learned something in 30 steps
        config_fp, arrays, attrs = read_fixed_points(path.with_name("fixed_points.h5"))
        assert config_fp["net_id"] == path.parent.name and attrs["analysed"] and len(arrays["q"]) >= 1
    counts = json.loads((results / "figures" / "ramps" / "ramp_losses.counts.json").read_text())
    assert counts["shown"] == {"networks": 4}
    assert (results / "figures" / "ramps" / "ramp_losses.png").stat().st_size > 1000
