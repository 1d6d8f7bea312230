"""Study-H figures (training change) are drawn from result files, count the networks they draw,
set aside networks that were not analysed (with the reason), and still draw with notes when the
probe files, task data or the summary are missing."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from rnnatlas.figures import training_change as tc
from rnnatlas.store.fixed_point_file import write_fixed_points
from rnnatlas.store.h5io import write_arrays
from rnnatlas.store.probe_file import write_probe

N, L, S, THETAS, B, TRIALS, T = 8, 4, 5, 6, 40, 6, 12
TASKS = ("perception", "decision")
SEEDS = (0, 1, 2)
FAILED_SEED = 2  # seed whose network of the decision task was not analysed
FAILED_REASON = "training diverged (loss nan)"


def net_id(seed: int, trained: bool = True) -> str:
    return f"vanilla-relu-n{N}-l2_1e-04-s{seed:02d}" + ("" if trained else "-untrained")


def _basis(rng) -> np.ndarray:
    q, _ = np.linalg.qr(rng.normal(size=(N, L)))
    return q


def _training_change(task: str, rng) -> tuple[dict, dict]:
    """Random but consistent arrays and attributes of one analysed network."""
    n_in = 1 if task == "perception" else 2
    if task == "perception":
        level = rng.choice([0.5, 0.8], size=B)
        inputs = level[:, None]
        target = np.where(level > 0.6, 0.5, 0.8)
    else:
        inputs = rng.uniform(0, 1, size=(B, n_in))
        target = np.where(inputs[:, 0] > inputs[:, 1], 0.8, 0.2)
    out = target + rng.normal(scale=0.05, size=B)
    ev0 = np.sort_complex(np.linalg.eigvals(rng.normal(size=(N, N)) / np.sqrt(N)))
    ev1 = ev0 + rng.normal(scale=0.05, size=N)
    iters = np.arange(0, 500, 100)
    arrays = {
        "snapshot_iterations": iters, "mean_weight": -np.linspace(0, 0.01, S) + rng.normal(scale=1e-3, size=S),
        "schur_upper_norm": np.linspace(16.5, 17.5, S), "henrici_departure": np.linspace(1, 1.2, S),
        "eigenvalues_initial": ev0, "eigenvalues_final": ev1, "eigenvalue_shift": np.abs(ev1 - ev0),
        "weight_change": rng.laplace(scale=0.01, size=N * (N - 1)).astype(np.float32),
        "dca_dims": np.arange(1, L + 1),
        "thetas": np.linspace(0, np.pi / 4, THETAS),
        "angles_pre_post": np.sort(rng.uniform(0.5, 1.5, size=L)),
        "val_mean_output": out, "val_mean_target": target, "val_correct": np.abs(out - target) < 0.15,
        "val_mean_input": inputs,
    }
    for kind in tc.CENTRALITY_KINDS:
        c0 = rng.uniform(size=N)
        arrays[f"centrality_{kind}_initial"], arrays[f"centrality_{kind}_final"] = c0, rng.permutation(c0)
    for s in ("trained", "untrained"):
        arrays[f"pi_dca_{s}"], arrays[f"pi_pca_{s}"] = np.cumsum(rng.uniform(size=L)), np.cumsum(rng.uniform(size=L))
        arrays[f"dca_basis_{s}"], arrays[f"pca_basis_{s}"] = _basis(rng), _basis(rng)
        arrays[f"condition_angles_{s}"] = np.sort(rng.uniform(0.1, 1.2, size=L))
        arrays[f"pi_theta_{s}"] = np.linspace(0.5, 1.0, THETAS) + rng.normal(scale=0.05, size=THETAS)
    attrs = {"accepted": True, "analysed": True, "reason": "", "accuracy": float(arrays["val_correct"].mean()),
             "centrality": "eigenvector", "options": {"latent_dim": L}}
    for kind in tc.CENTRALITY_KINDS:
        attrs[f"centrality_{kind}_spearman"] = float(rng.uniform(-0.5, 0.5))
        attrs[f"centrality_{kind}_top_leaving"] = float(rng.uniform(0, 1))
    for m in ("dca", "pca"):
        for s in ("trained", "untrained"):
            attrs[f"readout_angle_{m}_{s}"] = float(rng.uniform(0.5, 1.5))
    return arrays, attrs


def _fixed_points(rng, n_points: int = 5) -> dict:
    return {"h": rng.normal(size=(n_points, N)), "x": rng.normal(size=(n_points, 2)), "q": rng.uniform(size=n_points),
            "eigenvalues": rng.normal(size=(n_points, N)).astype(complex),
            "n_unstable": np.arange(n_points) % 2, "is_slow": np.arange(n_points) == 0,
            "stability": np.array(["stable", "saddle"] * n_points)[:n_points], "condition": np.arange(n_points) % 2}


def build_results(root: Path, *, summary: bool = True, probes: bool = True, seed: int = 0) -> Path:
    """results/ with 2 tasks × 3 trained networks (decision seed 2 not analysed), each with probe
    states and fixed points of itself and its untrained twin, and the training-change summary."""
    rng = np.random.default_rng(seed)
    for task in TASKS:
        nets = root / task / "nets"
        for s in SEEDS:
            i = net_id(s)
            cfg = {"net_id": i, "task": task, "arch": "vanilla", "activation": "relu", "units": N, "seed": s,
                   "trained": True}
            if task == "decision" and s == FAILED_SEED:
                write_arrays(nets / i / "training_change.h5", "training_change", cfg, {},
                             {"accepted": False, "analysed": False, "reason": FAILED_REASON, "options": {}})
                continue
            arrays, attrs = _training_change(task, rng)
            write_arrays(nets / i / "training_change.h5", "training_change", cfg, arrays, attrs)
            for trained in (True, False):
                j = net_id(s, trained)
                c = {**cfg, "net_id": j, "trained": trained}
                if probes:
                    write_probe(nets / j / "probe.h5", c, np.cumsum(rng.normal(size=(TRIALS, T, N)), axis=1),
                                rng.normal(size=(TRIALS, T, 1)), N)
                write_fixed_points(nets / j / "fixed_points.h5", c, _fixed_points(rng),
                                   {"analysed": True, "reason": "", "accepted": True})
    if summary:
        out = root / "training_change" / "summary.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({"tasks": {t: {"n_networks": 3 - (t == "decision")} for t in TASKS}}))
    return root


def _written(files: list[str]) -> None:
    assert sorted(Path(f).suffix for f in files) == [".pdf", ".png"]
    for f in files:
        assert Path(f).stat().st_size > 1000
    assert Path(next(f for f in files if f.endswith(".pdf"))).read_bytes()[:5] == b"%PDF-"


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> Path:
    return build_results(tmp_path_factory.mktemp("h_results"))


POPULATION = [n for n in tc.FIGURES if "latent" not in n]
FAILED_KEY = f"decision/{net_id(FAILED_SEED)}"


@pytest.mark.parametrize("name", POPULATION)
def test_population_figures_count_networks(results, tmp_path, name):
    c = tc.FIGURES[name](results, str(tmp_path / name))
    _written(c.files)
    assert c.figure == name
    assert c.shown["perception"] == 3 and c.shown["decision"] == 2
    assert c.set_aside == {FAILED_KEY: f"not analysed: {FAILED_REASON}"}
    assert not [n for n in c.notes if "not drawn" in n], c.notes


@pytest.mark.parametrize("name,task", [("h_fig2_decision_latent", "decision"),
                                       ("h_fig3_perception_latent", "perception")])
def test_latent_figures_without_task_data(results, tmp_path, name, task):
    c = tc.FIGURES[name](results, str(tmp_path / name))
    _written(c.files)
    assert c.shown[task] == 1
    assert c.shown[f"{task}_trained_trials"] == TRIALS and c.shown[f"{task}_untrained_trials"] == TRIALS
    assert c.shown[f"{task}_trained_fixed_points"] == 4  # 5 points, the first slow
    assert any("task data missing" in n for n in c.notes)
    assert any(f"network shown {net_id(0)}" in n for n in c.notes)
    assert not [n for n in c.notes if "not drawn" in n], c.notes


def test_missing_probes_and_summary(tmp_path):
    root = build_results(tmp_path / "r", summary=False, probes=False, seed=1)
    for name, fn in tc.FIGURES.items():
        c = fn(root, str(tmp_path / "out" / name))
        _written(c.files)
        assert any("summary missing" in n for n in c.notes), name
        assert FAILED_KEY in c.set_aside
        if "latent" in name:
            assert any("probe states" in n and "missing" in n for n in c.notes), name
        else:
            assert c.shown == {"decision": 2, "perception": 3}, name


def test_empty_and_partial_results(tmp_path):
    """No results at all, and a network missing arrays: figures draw, set aside, note."""
    for name, fn in tc.FIGURES.items():
        c = fn(tmp_path / "nothing", str(tmp_path / "empty" / name))
        _written(c.files)
        assert any("no training-change results" in n or "summary missing" in n for n in c.notes)
    root = build_results(tmp_path / "p", seed=2)
    from rnnatlas.store.h5io import read_arrays
    path = root / "perception" / "nets" / net_id(1) / "training_change.h5"
    config, arrays, attrs = read_arrays(path, "training_change")
    for k in ("mean_weight", "thetas", "val_mean_output", "angles_pre_post", "weight_change"):
        arrays.pop(k)
    attrs.pop("options")
    write_arrays(path, "training_change", config, arrays, attrs)
    shutil.rmtree(root / "decision" / "nets" / net_id(0, trained=False))
    c = tc.figure_h_fig4_mean_weight(root, str(tmp_path / "fig4"))
    assert c.shown["perception"] == 2
    assert c.set_aside[f"perception/{net_id(1)}"] == "missing mean_weight"
    c = tc.figure_h_fig6_pi_theta(root, str(tmp_path / "fig6"))
    assert "thetas" in c.set_aside[f"perception/{net_id(1)}"]
    c = tc.figure_h_fig2_decision_latent(root, str(tmp_path / "fig2"))
    _written(c.files)
    assert c.shown["decision"] == 1 and c.shown.get("decision_untrained_trials", 0) == 0
    assert any("no fixed_points.h5" in n for n in c.notes)


def test_trial_styles_from_labels():
    dec = {"u1": np.zeros(6), "u2": np.zeros(6), "varying": np.array([1, 1, 1, 2, 2, 2]),
           "held_value": np.array([0.1, 0.5, 0.9, 0.1, 0.5, 0.9])}
    styles, handles, notes = tc.trial_styles("decision", dec, 6)
    assert not notes and handles
    assert [s.group for s in styles] == ["input 1 varies"] * 3 + ["input 2 varies"] * 3
    assert [s.color for s in styles[:3]] == ["#000000", tc.ISO_COLORS[1], "#000000"]
    per = {"level": np.array([0.5, 0.8, 0.5, 0.8]), "switching": np.array([True, True, False, False])}
    styles, _, notes = tc.trial_styles("perception", per, 4)
    assert not notes
    assert styles[0].color != styles[1].color and styles[2].alpha < styles[0].alpha
    assert {s.group for s in styles} == {"all trials"}
    styles, _, notes = tc.trial_styles("perception", None, 4)
    assert len({s.color for s in styles}) == 1 and "task data missing" in notes[0]
    _, _, notes = tc.trial_styles("perception", per, 5)
    assert "do not match" in notes[0]
    _, _, notes = tc.trial_styles("decision", {"u1": np.zeros(3)}, 3)
    assert "lack varying" in notes[0]


def test_statistics_helpers():
    y = np.array([[1.0, 2.0, np.nan], [3.0, 2.0, 5.0]])
    m, lo, hi, n = tc.t_interval(y)
    assert np.allclose(m, [2.0, 2.0, 5.0]) and list(n) == [2, 2, 1]
    assert lo[0] < 2 < hi[0] and lo[1] == hi[1] == 2.0 and np.isnan(lo[2])
    x, yy, msg = tc.align_curves([np.arange(3), np.arange(3)], [np.ones(3), np.zeros(3)])
    assert msg == "" and yy.shape == (2, 3)
    x, yy, msg = tc.align_curves([np.arange(5), np.arange(1, 4)], [np.arange(5.0), np.arange(1.0, 4.0)])
    assert msg and list(x) == [1, 2, 3] and np.allclose(yy, [[1, 2, 3], [1, 2, 3]])
    z = tc.project_3d(np.ones((2, 3, N)), np.eye(N)[:, :2], np.zeros(N))
    assert z.shape == (2, 3, 3) and np.all(z[..., 2] == 0)
    lv = np.array([0.5, 0.8])
    assert np.allclose(tc.binned_output([0.5, 0.8, 0.5], [1.0, 2.0, 3.0], None, lv), [2.0, 2.0])


def test_matched_shift_falls_back_on_spectra():
    ev0 = np.array([0.1 + 0j, 0.5 + 0.2j, 0.5 - 0.2j])
    n = tc.NetResult("x", "t", {}, {"eigenvalues_initial": ev0, "eigenvalues_final": ev0[::-1] + 0.01,
                                    "eigenvalue_shift": np.array(["{'shift': ...}"])}, {})
    s, recomputed = tc.matched_shift(n)
    assert recomputed and np.allclose(s, 0.01)


def _label_file(path: Path, labels: dict[str, np.ndarray]) -> None:
    """A task-data file holding only probe labels (the task itself need not be registered)."""
    from rnnatlas.store.h5io import atomic_h5
    with atomic_h5(path, "task_data", {"task": path.parent.name, "params": {}, "seed": 0}) as f:
        g = f.create_group("probe_labels")
        for k, v in labels.items():
            g.create_dataset(k, data=v)


def test_latent_figures_with_labels(tmp_path):
    root = build_results(tmp_path / "r", seed=3)
    dec = {"u1": np.linspace(0, 1, TRIALS), "u2": np.full(TRIALS, 0.5), "varying": np.array([1, 1, 1, 2, 2, 2]),
           "held_value": np.array([0.2, 0.5, 0.8] * 2)}
    per = {"level": np.array([0.5, 0.8] * 3), "switching": np.array([True, False] * 3)}
    _label_file(root / "decision" / "task_data.h5", dec)
    _label_file(root / "perception" / "task_data.h5", per)
    assert set(tc.probe_labels_from_file(root / "decision" / "task_data.h5")) == set(dec)
    c = tc.figure_h_fig2_decision_latent(root, str(tmp_path / "fig2"))
    _written(c.files)
    assert not any("task data missing" in n or "one colour" in n for n in c.notes), c.notes
    assert c.shown["decision_trained_trials"] == TRIALS and c.shown["decision_trained_fixed_points"] == 2 * 4
    c = tc.figure_h_fig3_perception_latent(root, str(tmp_path / "fig3"))
    _written(c.files)
    assert not any("one colour" in n for n in c.notes), c.notes
    assert c.shown["perception_untrained_trials"] == TRIALS
