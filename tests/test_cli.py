"""The command line refuses bad arguments and bad input files with one line naming the
problem (exit status 2), never a traceback or an empty output."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rnnatlas.cli import main
from rnnatlas.store.probe_file import write_probe

NET = "gru-tanh-n8-l2_0e+00-s00"


def _usage_error(capsys, argv: list[str]) -> str:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    return capsys.readouterr().err


@pytest.mark.parametrize("argv,expected", [
    (["train", "--task", "flipflop", "--task-data", "t.h5", "--nets", NET, "--settings", "{}", "--out-dir", "o"],
     "argument --settings: missing key(s) iterations, batch_size, eval_every, data_seed, accept_val_loss"),
    (["toy2d", "--activation", "tanh", "--settings", "{}", "--out", "o.h5"],
     "argument --settings: missing key(s) activations, networks, epochs"),
    (["toy2d", "--activation", "tanh", "--settings", "[1]", "--out", "o.h5"], "expected a JSON object"),
    (["task-data", "--task", "flipflop", "--validation-trials", "-5", "--seed", "0", "--out", "o.h5"],
     "argument --validation-trials: -5 is below the minimum 1"),
    (["task-data", "--task", "flipflop", "--validation-trials", "0", "--seed", "0", "--out", "o.h5"],
     "argument --validation-trials: 0 is below the minimum 1"),
    (["task-data", "--task", "flipflop", "--validation-trials", "4", "--seed", "0", "--out", "o.h5", "--threads", "0"],
     "argument --threads: 0 is below the minimum 1"),
    (["task-data", "--task", "flipflop", "--validation-trials", "4", "--seed", "0", "--out", "o.h5", "--device", "tpu"],
     "unknown device 'tpu'; allowed: auto, cpu, cuda, cuda:N"),
    (["task-data", "--task", "nosuchtask", "--validation-trials", "4", "--seed", "0", "--out", "o.h5"],
     "invalid choice: 'nosuchtask'"),
    (["figure", "--name", "fig1_flipflop", "--results", "/nonexistent", "--out-stem", "x"], "'/nonexistent' is not a folder"),
    (["similarity-prepare", "--task", "flipflop", "--metric", "svcca", "--chunk", "0", "--out", "p.npz", "--out-meta", "p.json"],
     "the following arguments are required: --probes"),
    (["rsg-features", "--task-data", "t.h5", "--models", "m.h5", "--out", "f.h5", "--options", "{}"],
     "config section 'space_of_solutions.rsg.topology' holds them"),
    (["similarity-single", "--task", "cdi", "--metric", "dsa_angular", "--probes", "p.h5", "--out", "o.nc",
      "--options", '{"dsa": {"rank": 0}}'], "argument --options: DSA option rank=0: must be an integer >= 1"),
    (["similarity-block", "--prep-a", "a", "--meta-a", "a", "--prep-b", "b", "--meta-b", "b", "--out", "o",
      "--options", '{"dtype": "float16"}'], "dtype='float16'; allowed: ['float32', 'float64']"),
    (["similarity-merge", "--task", "cdi", "--metric", "procrustes", "--metas", "m", "--blocks", "b", "--out", "o",
      "--options", '{"alpha": 2}'], "procrustes alpha must be in [0, 1]"),
])
def test_bad_arguments_are_usage_errors(capsys, argv, expected):
    assert expected in _usage_error(capsys, argv)


def test_bad_input_files_are_one_line_errors(tmp_path: Path, capsys) -> None:
    missing = tmp_path / "none.h5"
    assert main(["probe", "--task", "flipflop", "--task-data", str(missing), "--models", "m.h5", "--out", "p.h5"]) == 2
    assert f"rnnatlas probe: error: {missing}: file not found" in capsys.readouterr().err
    probe = tmp_path / "sine" / "nets" / NET / "probe.h5"
    probe.parent.mkdir(parents=True)
    write_probe(probe, {"net_id": NET, "task": "sine"}, np.zeros((2, 3, 8), np.float32), np.zeros((2, 3, 1), np.float32), 8)
    out = tmp_path / "svcca.nc"
    assert main(["similarity-single", "--task", "flipflop", "--metric", "svcca", "--probes", str(probe),
                 "--out", str(out)]) == 2
    assert "probe of task 'sine'" in capsys.readouterr().err and not out.exists()


def test_no_traceback_from_the_installed_command(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "rnnatlas.cli", "probe", "--task", "flipflop", "--task-data",
                          str(tmp_path / "none.h5"), "--models", "m.h5", "--out", "p.h5"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and "file not found" in out.stderr and "Traceback" not in out.stderr


def test_a_command_too_long_for_the_shell_goes_through_an_arguments_file(tmp_path: Path) -> None:
    """At the papers' scale a summary job names 3,600 files (a 435 KB command; one shell argument
    may hold 128 KiB): the workflow writes the arguments to a file and passes ``@file``, which
    parses to the same arguments; a short command is left as it is."""
    import shlex

    from rnnatlas.cli import build_parser
    from rnnatlas.studies.base import args_file

    models = [f"results/cdi/nets/gru-relu-n64-l2_1e-05-s{i:04d}/model.h5" for i in range(3600)]
    command = f"summarize --task cdi --models {' '.join(models)} --out-csv a.csv --out-json 'a b.json'"
    path = tmp_path / ".args" / "summarize.txt"
    passed = args_file(command, str(path))
    assert passed == shlex.quote(f"@{path}") and len(passed) < 1000 and path.read_text().count("\n") == 3608
    direct = build_parser().parse_args(shlex.split(command))
    assert build_parser().parse_args(shlex.split(passed)) == direct and direct.out_json == "a b.json"
    mtime = path.stat().st_mtime_ns
    assert args_file(command, str(path)) == passed and path.stat().st_mtime_ns == mtime  # unchanged: not rewritten
    assert args_file("summarize --task cdi", str(tmp_path / "short.txt")) == "summarize --task cdi"
    assert not (tmp_path / "short.txt").exists()


def test_main_runs_a_stage_from_an_arguments_file(tmp_path: Path, capsys) -> None:
    args = tmp_path / "args.txt"
    args.write_text("validate-config\n--threads\n1\n")
    assert main([f"@{args}"]) == 0
    assert "configuration OK" in capsys.readouterr().out
