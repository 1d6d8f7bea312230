"""Configuration: bad input is rejected naming the key; the paper config plans the full population."""

import copy
import re
import subprocess
import sys

import pytest

from rnnatlas import plan
from rnnatlas.config import ConfigError, load_config, load_yaml, merge, repo_root, validate

ROOT = repo_root()
DEFAULT = load_yaml(ROOT / "config" / "config.yaml")


def _with(path: str, value):
    config = copy.deepcopy(DEFAULT)
    node = config
    keys = path.split(".")
    for key in keys[:-1]:
        node = node[key]
    node[keys[-1]] = value
    return config


@pytest.mark.parametrize("path,value,expected", [
    ("tasks.rsg.pulse", 8, r"'tasks\.rsg': .*interval_min >= 2 \* pulse \+ 3"),
    ("space_of_solutions.rsg.classifier.model", "svm", r"space_of_solutions\.rsg\.classifier\.model' = 'svm' is not allowed; allowed: 'tree', 'forest'"),
    ("universality.grid.arch", ["vanilla", "transformer"], r"universality\.grid\.arch\[1\]' = 'transformer' is not allowed; allowed: 'vanilla', 'ugrnn', 'gru', 'lstm'"),
    ("universality.grid.units", [64, -5], r"universality\.grid\.units\[1\]' = -5 is out of range; allowed: >= 1"),
    ("universality.training.batch_size", "64", r"universality\.training\.batch_size' = '64' has the wrong type; expected integer"),
    ("device", "tpu", r"'device' = 'tpu' is not allowed; allowed: 'auto', 'cpu', 'cuda'"),
    ("tasks.flipflop.flip_probability", 1.5, r"tasks\.flipflop\.flip_probability' = 1\.5 is out of range; allowed: <= 1"),
    ("universality.search.ranges.clip", [10.0, 0.1], r"lower bound above upper bound"),
    ("multitask.model.tau_ms", 10, r"'multitask\.model\.tau_ms' = 10 is below the task's step 20\.0 ms"),
    ("multitask.model.recurrent_init", "eye", r"'multitask\.model\.recurrent_init' = 'eye' is not allowed; allowed: 'diag', 'randortho'"),
    ("tasks.go_family.rules", ["go", "dm1"], r"tasks\.go_family\.rules\[1\]' = 'dm1' is not allowed"),
    ("tasks.go.n_condition_angles", 3, r"'tasks\.go': .*must divide 'n_probe_angles' = 16"),
])
def test_bad_values_name_the_key_the_value_and_what_is_allowed(path, value, expected):
    with pytest.raises(ConfigError, match=expected):
        validate(_with(path, value))


@pytest.mark.parametrize("path,value", [
    ("universality.training.hyperparameters.flipflop.learning_rate", float("nan")),
    ("universality.training.hyperparameters.default.learning_rate", float("inf")),
    ("tasks.flipflop.accept_val_loss", float("nan")),
    ("dynamics.tol_q", float("inf")),
    ("universality.grid.l2", [float("nan")]),
    ("space_of_solutions.toy2d.dt", float("-inf")),
])
def test_non_finite_numbers_are_rejected_naming_the_key(path, value):
    """Seen in the field: these passed validation and then diverged, accepted nothing, changed
    fixed-point counts silently or crashed the Snakefile."""
    key = re.escape(path + ("[0]" if isinstance(value, list) else ""))
    with pytest.raises(ConfigError, match=key + r"' = (nan|inf|-inf) is not a finite number"):
        validate(_with(path, value))


@pytest.mark.parametrize("path,value,key", [
    ("universality.grid.seeds", [0, 1.0], r"universality\.grid\.seeds' = \[0, 1\.0\] is not allowed; allowed: "
                                          r"integer \(minimum 1, maximum 10000\) or a list of integer "
                                          r"\(minimum 0, maximum 2147483647\), no duplicates"),
    ("universality.grid.units", [8.0], r"universality\.grid\.units\[0\]' = 8\.0 has the wrong type; expected integer"),
    ("universality.training.batch_size", 64.0, r"universality\.training\.batch_size' = 64\.0 has the wrong type"),
])
def test_floats_where_integers_belong_are_rejected(path, value, key):
    with pytest.raises(ConfigError, match=key):
        validate(_with(path, value))


@pytest.mark.parametrize("path,value,expected", [
    # seen in the field: ran two minutes, then an OverflowError
    ("universality.grid.seeds", [0, 2**64], r"universality\.grid\.seeds' = \[0, 18446744073709551616\] is not allowed; "
                                           r"allowed: .*maximum 2147483647"),
    ("tasks.flipflop.data_seed", 2**31, r"tasks\.flipflop\.data_seed' = 2147483648 is out of range; allowed: <= 2147483647"),
    ("multitask.seeds", 10**6, r"multitask\.seeds' = 1000000 is not allowed; allowed: integer \(minimum 1, maximum 10000\)"),
    # seen in the field: passed, then the first job tried to allocate 3.2 PB
    ("universality.grid.units", [10_000_000], r"universality\.grid\.units\[0\]' = 10000000 is out of range; allowed: <= 8192"),
    ("multitask.units", 9000, r"multitask\.units' = 9000 is out of range; allowed: <= 8192"),
])
def test_sizes_and_seeds_beyond_their_stated_limits_are_rejected(path, value, expected):
    with pytest.raises(ConfigError, match=expected):
        validate(_with(path, value))


def test_duplicates_are_named_as_duplicates():
    with pytest.raises(ConfigError, match=r"universality\.grid\.arch' = \['gru', 'lstm', 'gru'\] has duplicate entries "
                                          r"\['gru'\]; allowed: each value once"):
        validate(_with("universality.grid.arch", ["gru", "lstm", "gru"]))
    with pytest.raises(ConfigError, match=r"seeds' = \[0, 1, 0\] has duplicate entries \[0\]; allowed: each value once"):
        validate(_with("universality.grid.seeds", [0, 1, 0]))


def test_a_cuda_device_must_exist_unless_the_jobs_run_elsewhere():
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA device")
    for key in ("device", "similarity.device"):
        with pytest.raises(ConfigError, match=re.escape(f"config key '{key}' = 'cuda' but this machine has no CUDA device")):
            validate(_with(key, "cuda"))
        validate(_with(key, "cuda"), check_device=False)  # planned for a cluster's GPU nodes


def test_broken_or_missing_config_files_are_named_with_their_line(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("device: cpu\nuniversality:\n  grid: [gru\n")
    with pytest.raises(ConfigError, match=re.escape(f"{broken}, line 4, column 1: not valid YAML")):
        load_config([broken])
    with pytest.raises(ConfigError, match=re.escape(f"{tmp_path / 'nope.yaml'}: cannot read the config file")):
        load_config([tmp_path / "nope.yaml"])
    for path, expected in ((broken, "line 4"), (tmp_path / "nope.yaml", "cannot read")):
        out = subprocess.run([sys.executable, "-m", "rnnatlas.cli", "validate-config", str(path)],
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 2 and expected in out.stderr and "Traceback" not in out.stderr


def test_a_config_with_nothing_to_run_is_an_error():
    config = _with("universality.tasks", [])
    for study in ("space_of_solutions", "training_change", "multitask"):
        config[study]["enabled"] = False
    with pytest.raises(ConfigError, match=r"nothing to run: none of the registered studies \(.*universality.*\)"):
        validate(config)


def test_study_m_trains_only_go_family_tasks():
    config = _with("multitask.tasks", {"flipflop": {"iterations": 10}})
    config["universality"]["tasks"] = ["sine", "cdi"]
    with pytest.raises(ConfigError, match=r"'multitask\.tasks' names 'flipflop', which is not a Go-family task"):
        validate(config)


def test_no_similarity_metric_for_study_u_is_an_error():
    with pytest.raises(ConfigError, match=r"'similarity\.metrics' is empty: .*allowed: a list of 'svcca'"):
        validate(_with("similarity.metrics", []))
    validate(_with("universality.tasks", []) | {"similarity": {**DEFAULT["similarity"], "metrics": []}})


def test_misspelled_key_is_rejected_with_the_allowed_keys():
    config = copy.deepcopy(DEFAULT)
    config["universality"]["gird"] = config["universality"].pop("grid")
    with pytest.raises(ConfigError) as err:
        validate(config)
    message = str(err.value)
    assert "unknown key(s) ['gird'] in 'universality'" in message
    assert "'grid'" in message  # also: the required key is missing


def test_default_and_paper_configs_are_valid():
    validate(copy.deepcopy(DEFAULT))
    load_config([ROOT / "config" / "paper.yaml"])


def test_workstation_config_is_the_2019_study_alone_at_64_units():
    """The file the README's workstation column was measured with: study U alone, 4 seeds × 8
    cells of 64 units per task, Fig. 4's twins, and the metrics it drops really gone."""
    config = load_config([ROOT / "config" / "workstation.yaml"])
    assert [s for s in ("space_of_solutions", "training_change", "multitask") if config[s]["enabled"]] == []
    for task in ("flipflop", "sine", "cdi"):
        nets = plan.trained_networks(config, task)
        assert len(nets) == 32 and {n.units for n in nets} == {64}
        twins = [t for p in plan.packs(config, task) for t in p.twins]
        assert len(twins) == (8 if task == "cdi" else 0)
    assert config["similarity"]["svcca_variance"] == 0.95 and "dsa_angular" not in config["similarity"]["metrics"]


def test_merge_replaces_lists_and_merges_mappings():
    merged = merge({"a": {"b": 1, "c": [1, 2]}, "d": 1}, {"a": {"c": [3]}})
    assert merged == {"a": {"b": 1, "c": [3]}, "d": 1}


def test_paper_plan_has_2880_networks_per_task_and_the_twins():
    config = load_config([ROOT / "config" / "paper.yaml"])
    for task in ("flipflop", "sine", "cdi"):
        nets = plan.trained_networks(config, task)
        assert len(nets) == 2880 and len({n.id for n in nets}) == 2880
        packs = plan.packs(config, task)
        assert sum(len(p.networks) for p in packs) == 2880
        twins = [t for p in packs for t in p.twins]
        assert len(twins) == (720 if task == "cdi" else 0)  # vanilla × {tanh, relu} × 3 sizes × 4 L2 × 30
        assert all(t.arch == "vanilla" and not t.trained for t in twins)


def test_paper_dry_run_lists_every_network(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "--directory", str(tmp_path),
         "--configfile", str(ROOT / "config" / "paper.yaml"), "-n", "-p", "--cores", "1"],
        capture_output=True, text=True, timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    text = out.stdout + out.stderr
    for task in ("flipflop", "sine", "cdi"):
        nets = set()
        twins = set()
        for m in re.finditer(rf"rnnatlas train --task {task} .*?--nets (\S+)(?: --twins (\S+))?", text):
            nets.update(m.group(1).split(","))
            twins.update((m.group(2) or "").split(",") if m.group(2) else [])
        assert len(nets) == 2880, task
        assert len(twins) == (720 if task == "cdi" else 0), task
    assert len(re.findall(r"rnnatlas search ", text)) == 3 * 96  # one search per configuration cell
    rsg = set()
    for m in re.finditer(r"rnnatlas train --task rsg .*?--nets (\S+)", text):
        rsg.update(m.group(1).split(","))
    assert len(rsg) == 3 * 4 * 50  # study S: Vanilla/GRU/LSTM × 20–50 units × 50 seeds
    assert len(re.findall(r"rnnatlas rsg-features ", text)) == 12 and len(re.findall(r"rnnatlas toy2d ", text)) == 2


def _dry_run_rules(tmp_path, yaml_text: str) -> dict[str, int]:
    cfg = tmp_path / "extra.yaml"
    cfg.write_text(yaml_text)
    out = subprocess.run(
        [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "--directory", str(tmp_path),
         "--configfile", str(cfg), "-n", "--cores", "1"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    rows = [line.split() for line in out.stdout.splitlines()]
    return {r[0]: int(r[1]) for r in rows if len(r) == 2 and r[1].isdigit()}


def test_each_study_can_run_alone(tmp_path):
    off = {"universality": "universality:\n  tasks: []\n", "space_of_solutions": "space_of_solutions:\n  enabled: false\n",
           "training_change": "training_change: {enabled: false}\n", "multitask": "multitask: {enabled: false}\n"}

    def alone(study: str) -> dict[str, int]:
        return _dry_run_rules(tmp_path, "".join(text for name, text in off.items() if name != study))

    only_s = alone("space_of_solutions")
    assert only_s["toy2d_tanh"] == only_s["toy2d_relu"] == 1 and only_s["task_data"] == 1
    assert {n for n in only_s if n.startswith("figure_")} == {
        "figure_toy2d_trajectories", "figure_toy2d_trace_det", "figure_rsg_features", "figure_rsg_classes"}
    assert not any(name.startswith(("train_flipflop", "fixed_points", "similarity", "dynamics_summary"))
                   for name in only_s)
    only_u = alone("universality")
    assert not any("toy2d" in name or "rsg" in name for name in only_u) and only_u["task_data"] == 3
    assert only_u["figure_fig1_flipflop"] == 1 and only_u["dynamics_summary_cdi"] == 1
    only_h = alone("training_change")
    assert only_h["task_data"] == 2 and only_h["training_change_summary"] == 1
    assert sum(n.startswith("figure_h_fig") for n in only_h) == 10 and not any("toy2d" in n for n in only_h)
    only_m = alone("multitask")
    assert only_m["task_data"] == 2 and only_m["multitask_summary"] == 1
    assert only_m["train_go_vanilla_softplus_n64_p00"] == only_m["multitask_go_family_vanilla_softplus_n64_p00"] == 1
    assert sum(n.startswith("figure_m_fig") for n in only_m) == 7 and not any(n.startswith("fixed_points") for n in only_m)


@pytest.mark.parametrize("text,expected", [
    ("universality:\n  grid:\n    units: [-4]\n", "universality.grid.units[0]' = -4 is out of range; allowed: >= 1"),
    ("device: cuda\n", "config key 'device' = 'cuda' but this machine has no CUDA device"),
])
def test_snakemake_stops_before_any_job_on_a_bad_config(tmp_path, text, expected):
    if "cuda" in text:
        import torch

        if torch.cuda.is_available():
            pytest.skip("this machine has a CUDA device")
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    out = subprocess.run(
        [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "--directory", str(tmp_path),
         "--configfile", str(bad), "--cores", "1"],
        capture_output=True, text=True, timeout=120,
    )
    assert out.returncode != 0
    assert expected in out.stdout + out.stderr
    assert not (tmp_path / "results").exists()
