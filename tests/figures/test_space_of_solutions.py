"""Study-S figures (2-D RNNs and Ready-Set-Go) are drawn from result files, with counts that
match the files: accepted solutions per type, N/A confusion cells, undefined κ, non-finite features."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rnnatlas.features.rsg import FEATURE_NAMES
from rnnatlas.features.toy2d import CLASSES
from rnnatlas.figures.rsg import cell_text, figure_rsg_classes, figure_rsg_features, kappa_text
from rnnatlas.figures.toy2d import EXAMPLES_PER_TYPE, figure_toy2d_trace_det, figure_toy2d_trajectories
from rnnatlas.stages.common import finite_or_none
from rnnatlas.stages.space_of_solutions import rsg_summary
from rnnatlas.store.toy2d_file import read_solutions, write_solutions

SETTINGS = {"activations": ["tanh", "relu"], "networks": 8, "epochs": 120, "learning_rate": 0.03,
            "accept_loss": 5e-2, "x0": [1.0, 0.0], "target": [0.0, 2.0], "t_final": 5.0, "dt": 0.1, "seed": 0}
CLASSIFIER = {"model": "tree", "n_repeats": 10, "test_size": 0.3, "min_members": 5, "networks": "accepted", "seed": 0}


def _written(files: list[str]) -> None:
    assert sorted(Path(f).suffix for f in files) == [".pdf", ".png"]
    for f in files:
        assert Path(f).stat().st_size > 1000
    pdf = next(f for f in files if f.endswith(".pdf"))
    assert Path(pdf).read_bytes()[:5] == b"%PDF-"


# --------------------------------------------------------------------------- 2-D RNNs
@pytest.fixture(scope="module")
def toy2d(tmp_path_factory) -> dict[str, Path]:
    """Two small trained populations (tanh, relu) written by the toy2d stage (a few seconds)."""
    from rnnatlas.stages.toy2d import run
    root = tmp_path_factory.mktemp("toy2d")
    paths = {}
    for act in SETTINGS["activations"]:
        paths[act] = root / act / "solutions.h5"
        run(act, SETTINGS, str(paths[act]), "cpu")
    return paths


def test_trajectories_counts_match_file(toy2d, tmp_path):
    c = figure_toy2d_trajectories(toy2d, tmp_path / "traj")
    _written(c.files)
    for act, path in toy2d.items():
        _, arrays, _ = read_solutions(path)
        acc, labels = arrays["accepted"].astype(bool), arrays["label"]
        assert c.shown[act] == acc.sum() > 0
        for t in CLASSES:
            assert c.shown[f"{act}_{t}"] == int((labels[acc] == t).sum())
        per_type = [int((labels[acc] == t).sum()) for t in CLASSES]
        assert c.shown[f"{act}_examples"] == sum(min(EXAMPLES_PER_TYPE, n) for n in per_type)
        assert f"{act}: {int((~acc).sum())} of {len(acc)} networks not accepted (final loss ≥ 0.05)" in c.notes


def test_trace_det_counts_and_quadrants(toy2d, tmp_path):
    c = figure_toy2d_trace_det(toy2d, tmp_path / "td")
    _written(c.files)
    for act, path in toy2d.items():
        _, a, _ = read_solutions(path)
        acc = a["accepted"].astype(bool)
        tr, det = a["trace"][acc], a["determinant"][acc]
        assert c.shown[act] == acc.sum()
        stable = int(((tr < 0) & (det > 0)).sum())
        expect = f"{act}: {stable} stable (τ<0, Δ>0), {int((det < 0).sum())} saddle"
        assert any(n.startswith(expect) for n in c.notes)


def test_toy2d_missing_file_and_non_finite(tmp_path):
    """A hand-made population: one failed network, one accepted with a non-finite trace; a missing file."""
    w = np.array([[[0.5, -1.2], [1.3, 0.4]], [[1.2, 0.3], [-0.2, 1.1]],
                  [[0.1, 0.1], [0.1, 0.1]], [[0.0, 1.0], [1.0, 0.0]]])
    path = tmp_path / "tanh" / "solutions.h5"
    opts = {k: SETTINGS[k] for k in ("x0", "target", "t_final", "dt", "accept_loss")}
    write_solutions(path, {"activation": "tanh", **opts}, {
        "weight": w, "accepted": np.array([True, True, False, False]),
        "failed": np.array([False, False, False, True]),
        "failure_reason": np.array(["", "", "", "non-finite loss"], dtype=object),
        "label": np.array(["limit_cycle", "fixed_points", "stable_origin", "other"], dtype=object),
        "trace": np.array([np.nan, 0.5, -1.0, 0.0]), "determinant": np.array([1.0, 0.2, 0.5, 0.0]),
    }, {"activation": "tanh", "wall_time_s": 0.0, "options": opts})
    paths = {"tanh": path, "relu": tmp_path / "relu" / "solutions.h5"}
    c = figure_toy2d_trajectories(paths, tmp_path / "traj")
    _written(c.files)
    assert c.shown["tanh"] == 2 and c.shown["tanh_limit_cycle"] == 1 and c.shown["tanh_stable_origin"] == 0
    assert c.shown["relu"] == 0 and any(n.startswith("relu: solutions file missing") for n in c.notes)
    assert "tanh: 2 of 4 networks not accepted (final loss ≥ 0.05); 1 failed: non-finite loss (1)" in c.notes
    c = figure_toy2d_trace_det(paths, tmp_path / "td")
    _written(c.files)
    assert c.shown == {"tanh": 1, "relu": 0}
    assert "tanh: 1 accepted networks with non-finite trace or determinant" in c.notes


# --------------------------------------------------------------------------- Ready-Set-Go
def _rsg_table() -> pd.DataFrame:
    """vanilla: 3 classes (one under-represented), gru: a single class, lstm: 2 separable classes;
    plus networks not accepted or not analysed, and non-finite feature values."""
    rng = np.random.default_rng(0)
    spec = {"vanilla": [("A1B0C0D1E0", 12), ("A0B0C0D1E0", 6), ("A1B1C0D0E0", 3)],
            "gru": [("A1B0C0D1E0", 8)], "lstm": [("A1B0C0D1E0", 6), ("A0B0C1D0E0", 6)]}
    rows = []
    for arch, groups in spec.items():
        for cls, n in groups:
            for _ in range(n):
                rows.append({"arch": arch, "accepted": True, "analysed": True, "reason": "", "solution_class": cls})
    rows += [{"arch": "gru", "accepted": False, "analysed": True, "reason": "", "solution_class": "A0B0C0D0E0"},
             {"arch": "gru", "accepted": True, "analysed": False, "reason": "diverged", "solution_class": ""}]
    table = []
    for i, r in enumerate(rows):
        code = sum(int(b) for b in r["solution_class"][1::2]) if r["solution_class"] else 0
        feats = {f: float(rng.normal() + 3.0 * code * (k == 0)) for k, f in enumerate(FEATURE_NAMES)}
        table.append({"net_id": f"{r['arch']}-tanh-n20-s{i:02d}", "activation": "tanh", "units": 20, "seed": i,
                      **r, **feats, "rs_sg_svm_accuracy": 1.0, "final_speed": 1e-7,
                      **{b: r["solution_class"][2 * k + 1] == "1" if r["solution_class"] else None
                         for k, b in enumerate("ABCDE")}})
    df = pd.DataFrame(table)
    # two used vanilla networks with an infinite end speed, one used lstm with NaN; one unused gru inf
    df.loc[df.index[[0, 1]], "rs_end_speed"] = [-np.inf, np.inf]
    df.loc[df.index[df.arch == "lstm"][0], "rs_end_speed"] = np.nan
    df.loc[df.index[~df.accepted][0], "rs_end_speed"] = np.inf
    return df


@pytest.fixture(scope="module")
def rsg_files(tmp_path_factory) -> tuple[Path, Path, pd.DataFrame, dict]:
    root = tmp_path_factory.mktemp("sos")
    table = _rsg_table()
    summary = finite_or_none({"toy2d": {}, "rsg": rsg_summary(table, CLASSIFIER)})
    csv, js = root / "rsg_features.csv", root / "summary.json"
    table.to_csv(csv, index=False)
    js.write_text(json.dumps(summary))
    return csv, js, table, summary


def test_rsg_features_counts(rsg_files, tmp_path):
    csv, js, table, _ = rsg_files
    c = figure_rsg_features(csv, js, tmp_path / "features")
    _written(c.files)
    used = table[table.accepted & table.analysed]
    assert c.shown["networks_used"] == len(used) == 41
    assert c.shown["used_gru"] == 8 and c.shown["used_lstm"] == 12
    assert c.shown["rs_end_speed"] == len(used) - 3          # two ±inf, one NaN; the unused inf not counted
    assert c.shown["rs_curvature_min"] == len(used)
    assert "rs_end_speed: 3 non-finite values not plotted (vanilla: 2, lstm: 1)" in c.notes
    assert c.set_aside == {table.net_id[~table.accepted].iloc[0]: "not accepted",
                           table.net_id[~table.analysed].iloc[0]: "not analysed: diverged"}


def test_rsg_classes_counts_na_and_kappa(rsg_files, tmp_path):
    _, js, _, summary = rsg_files
    c = figure_rsg_classes(js, tmp_path / "classes")
    _written(c.files)
    assert c.shown["classes_vanilla"] == 21 and c.shown["classes_gru"] == 8 and c.shown["classes_all"] == 41
    assert c.shown["confusion_all"] == 41
    # gru has one class: κ undefined
    assert "gru: κ undefined (a single class)" in c.notes
    assert kappa_text(summary["rsg"]["classification"]["gru"]) == "κ undefined"
    assert kappa_text(summary["rsg"]["classification"]["lstm"]).startswith("κ = ")
    # vanilla: the 3-member class is under-represented; its row and column are N/A
    v = summary["rsg"]["classification"]["vanilla"]
    text = cell_text(v["confusion_mean"], v["confusion_se"])
    avail = v["available"]
    assert avail.count(False) == 1
    for i in range(len(avail)):
        for j in range(len(avail)):
            if not (avail[i] and avail[j]):
                assert text[i][j] == "N/A"
            elif v["confusion_mean"][i][j] is not None:
                assert "±" in text[i][j] or v["confusion_se"][i][j] is None
    assert any(n.startswith("vanilla: 1 of 3 classes under-represented (A1B1C0D0E0)") for n in c.notes)


def test_rsg_missing_inputs(rsg_files, tmp_path):
    """A group without classification gets an empty panel and a note; missing files still draw."""
    _, _, _, summary = rsg_files
    s = json.loads(json.dumps(summary))
    del s["rsg"]["classification"]["lstm"]
    s["rsg"]["classification"]["gru"]["classes"] = []
    js = tmp_path / "summary.json"
    js.write_text(json.dumps(s))
    c = figure_rsg_classes(js, tmp_path / "classes")
    _written(c.files)
    assert c.shown["confusion_lstm"] == 0 and "lstm: no classification; confusion matrix not drawn" in c.notes
    assert "gru: no classes; confusion matrix not drawn" in c.notes
    _written(figure_rsg_classes(tmp_path / "none.json", tmp_path / "none").files)
    c = figure_rsg_features(tmp_path / "none.csv", tmp_path / "none.json", tmp_path / "nofeat")
    _written(c.files)
    assert c.shown["rs_end_speed"] == 0 and c.notes


def test_cell_text():
    assert cell_text([[0.5, None]], [[0.1, None]]) == [["0.50±0.10", "N/A"]]
    assert cell_text([[1.0]], [[None]]) == [["1.00"]]
