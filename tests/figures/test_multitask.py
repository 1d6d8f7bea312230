"""Study-M figures (Yang et al. 2019's Go family) are drawn from the result files of real (tiny)
runs of the stages: they draw only the networks the summary lists, count what they draw, skip
and count NaN values, and still draw (an empty panel, zero counts) when a group or the summary
is missing."""
from __future__ import annotations

import copy
import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rnnatlas.figures import multitask as mf
from rnnatlas.store.multitask_file import read_multitask, write_multitask
from rnnatlas.studies.multitask import CAPTIONS

UNITS, SEEDS, PROBE_ANGLES = 8, 2, 4
TASKS = ("go", "go_family")
NAMES = tuple(CAPTIONS)


def _tiny_config() -> dict:
    from rnnatlas.config import load_config
    c = copy.deepcopy(load_config())
    m = c["multitask"]
    m.update(units=UNITS, seeds=SEEDS, tasks={"go": {"iterations": 10}, "go_family": {"iterations": 10}})
    m["training"].update(batch_size=8, eval_every=5, snapshots=3, pack_size=8)
    m["analysis"].update(performance_trials=4, fixed_point_starts=16, fixed_point_max_iters=30)
    for t in TASKS:
        c["tasks"][t].update(n_probe_angles=PROBE_ANGLES, n_condition_angles=2, validation_trials=16,
                             validation_batch=8)
    c["dynamics"].update(forward_steps=20, max_iters=30, stall_iters=10)
    return c


def build_results(root: Path) -> Path:
    """results/ of study M with SEEDS tiny networks per group, every stage run for real."""
    from rnnatlas.config import task_params
    from rnnatlas.stages import multitask, multitask_summary, probe, task_data, train
    from rnnatlas.studies import STUDIES

    config = _tiny_config()
    study = STUDIES.get("multitask")
    analyses, points = [], []
    for task in TASKS:
        d = root / task
        td = str(d / "task_data.h5")
        task_data.run(task, task_params(config, task), config["tasks"][task]["validation_trials"],
                      config["tasks"][task]["data_seed"], td)
        settings = study.training_settings(config, task)
        options = study.pack_analyses(config, task)[0].options(config)
        for pack in study.packs(config, task):
            train.run(task, td, list(pack.networks), list(pack.twins), settings, str(d / "nets"), [], "cpu")
            dirs = [d / "nets" / n.id for n in pack.networks]
            probe.run(task, td, [str(x / "model.h5") for x in dirs], [str(x / "probe.h5") for x in dirs], "cpu")
            multitask.run(task, td, [str(x / "model.h5") for x in dirs], [str(x / "fixed_points.h5") for x in dirs],
                          [str(x / "multitask.h5") for x in dirs], options, "cpu")
            analyses += [str(x / "multitask.h5") for x in dirs]
            points += [str(x / "fixed_points.h5") for x in dirs]
    multitask_summary.run(analyses, points, str(root / "multitask" / "summary.json"))
    return root


@pytest.fixture(scope="session")
def results(tmp_path_factory) -> Path:
    return build_results(tmp_path_factory.mktemp("multitask_results"))


def _summary(root: Path) -> dict:
    return json.loads((root / "multitask" / "summary.json").read_text())


def _variant(results: Path, tmp_path: Path, edit=None) -> Path:
    """A copy of the results whose summary ``edit`` changes."""
    root = tmp_path / "results"
    shutil.copytree(results, root)
    if edit is not None:
        s = _summary(root)
        edit(s)
        (root / "multitask" / "summary.json").write_text(json.dumps(s))
    return root


def _analysis(root: Path, task: str, net_id: str):
    return read_multitask(root / task / "nets" / net_id / "multitask.h5")


def _written(counts, name: str) -> None:
    assert counts.figure == name
    assert sorted(Path(f).suffix for f in counts.files) == [".pdf", ".png"]
    for f in counts.files:
        assert Path(f).stat().st_size > 1000
    pdf = next(Path(f) for f in counts.files if f.endswith(".pdf"))
    png = next(Path(f) for f in counts.files if f.endswith(".png"))
    assert pdf.read_bytes()[:5] == b"%PDF-"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _draw(name: str, root: Path, out: Path):
    counts = getattr(mf, "figure_" + name)(root, str(out / name))
    _written(counts, name)
    json.dumps(counts.to_dict())  # the figure stage writes the counts as JSON
    return counts


# --------------------------------------------------------------------------- the real run
def test_every_declared_figure_has_a_function():
    assert len(NAMES) == 7
    for name in NAMES:
        assert callable(getattr(mf, "figure_" + name))


def test_summary_lists_the_networks(results):
    s = _summary(results)
    assert {t: len(s["networks"][t]) for t in TASKS} == {t: SEEDS for t in TASKS}


def test_fig1_performance(results, tmp_path):
    c = _draw("m_fig1_performance", results, tmp_path)
    rules = {str(r) for t in TASKS for i in _summary(results)["networks"][t] for r in _analysis(results, t, i)[1]["rules"]}
    assert c.shown == {"go": SEEDS, "go_family": SEEDS, "rules": len(rules)}
    assert len(rules) == 6 and not c.set_aside


def test_fig2_outputs(results, tmp_path):
    from rnnatlas.store.h5io import open_h5
    c = _draw("m_fig2_outputs", results, tmp_path)
    with open_h5(results / "go" / "task_data.h5", "task_data") as f:
        ends = f["probe_labels/end"][()]
        n_steps, n_out = f["probe/targets"].shape[0], f["probe/targets"].shape[2]
    assert c.shown["go_network"] == 1 and c.shown["trials"] == 2
    assert c.shown["residuals"] == int(np.minimum(ends, n_steps).sum()) * n_out
    assert _summary(results)["networks"]["go"][0] in " ".join(c.notes)


def test_fig3_connectivity(results, tmp_path):
    c = _draw("m_fig3_connectivity", results, tmp_path)
    assert c.shown == {"go_network": 1, "weights": UNITS * 85 + UNITS * UNITS + 33 * UNITS,
                       "recurrent_biases": UNITS, "output_biases": 33}


def test_fig4_unit_graph(results, tmp_path):
    from rnnatlas.store.model_file import read_model
    c = _draw("m_fig4_unit_graph", results, tmp_path)
    w = read_model(results / "go" / "nets" / _summary(results)["networks"]["go"][0] / "model.h5").params["weight_hh"]
    off = ~np.eye(UNITS, dtype=bool)
    thr = np.quantile(np.abs(w[off]), 1 - mf.TOP_SHARE)
    assert c.shown["units"] == UNITS and c.shown["windows"] == 3
    assert c.shown["edges"] == int((np.abs(w[off]) >= thr).sum()) >= 1
    assert c.shown["trials"] == 2 * PROBE_ANGLES


def test_fig5_pca(results, tmp_path):
    c = _draw("m_fig5_pca", results, tmp_path)
    # Go's probe trials: every angle × both modalities; its epochs: fixation, stimulus, response
    assert c.shown == {"go_network": 1, "trials": 2 * PROBE_ANGLES, "epochs": 3, "panels": 9,
                       "trajectories_3d": 2 * PROBE_ANGLES}


def test_fig6_task_variance(results, tmp_path):
    c = _draw("m_fig6_task_variance", results, tmp_path)
    first = _summary(results)["networks"]["go_family"][0]
    tv = _analysis(results, "go_family", first)[1]["task_variance"]
    active = int((tv.sum(0) > mf.ACTIVE_VARIANCE).sum())
    assert c.shown["multitask_network"] == 1 and c.shown["rules"] == 6
    assert c.shown["units"] == active and c.shown["units_inactive"] == UNITS - active
    assert c.shown["task_vector_networks"] == SEEDS


def test_fig7_fixed_points(results, tmp_path):
    c = _draw("m_fig7_fixed_points", results, tmp_path)
    s = _summary(results)
    n_epochs = {t: len(_analysis(results, t, s["networks"][t][0])[1]["epoch_rule"]) for t in TASKS}
    assert n_epochs == {"go": 3, "go_family": 18}
    assert c.shown["go"] == SEEDS and c.shown["go_family"] == SEEDS and c.shown["epochs"] == 18
    total = SEEDS * (n_epochs["go"] + n_epochs["go_family"])
    for key, _ in mf.FIG7_MEASURES:
        assert c.shown[f"points_{key}"] + c.shown.get(f"nonpositive_{key}", 0) + c.shown[f"nan_{key}"] == total


def test_sorted_task_variance_prefers_and_normalises():
    tv = np.array([[2.0, 0.0, 1.0, 0.0], [1.0, 4.0, 3.0, 0.0]])
    norm, kept = mf.sorted_task_variance(tv)
    # unit 3 inactive; unit 0 prefers task 0; units 1 and 2 task 1, the more selective (1) first
    assert list(kept) == [0, 1, 2]
    assert np.allclose(norm.max(0), 1.0)


# --------------------------------------------------------------------------- partial results
def test_nan_values_are_skipped_and_counted(results, tmp_path):
    root = _variant(results, tmp_path)
    net = _summary(root)["networks"]["go_family"][0]
    path = root / "go_family" / "nets" / net / "multitask.h5"
    config, arrays, attrs = read_multitask(path)
    arrays["closest_fixed"][[0, 3]] = np.nan
    attrs = {k: v for k, v in attrs.items() if k not in ("config", "kind", "git_commit", "rnnatlas_version")}
    write_multitask(path, config, arrays, attrs)
    c = _draw("m_fig7_fixed_points", root, tmp_path)
    assert c.shown["nan_closest_relative"] == 2
    assert c.shown["nan_n_fixed"] == 0
    assert any("NaN" in n for n in c.notes)


def test_unlisted_networks_are_not_drawn(results, tmp_path):
    root = _variant(results, tmp_path)
    first = _summary(root)["networks"]["go"][0]
    shutil.copytree(root / "go" / "nets" / first, root / "go" / "nets" / "vanilla-softplus-n8-l2_0e+00-s99")
    c = _draw("m_fig1_performance", root, tmp_path)
    assert c.shown["go"] == SEEDS


def test_missing_multitask_group(results, tmp_path):
    root = _variant(results, tmp_path, lambda s: s["networks"].pop("go_family"))
    c1 = _draw("m_fig1_performance", root, tmp_path)
    assert c1.shown["go"] == SEEDS and c1.shown["go_family"] == 0 and c1.shown["rules"] == 1
    c6 = _draw("m_fig6_task_variance", root, tmp_path)
    assert c6.shown["multitask_network"] == 0 and c6.shown["task_vector_networks"] == 0
    c7 = _draw("m_fig7_fixed_points", root, tmp_path)
    assert c7.shown["go_family"] == 0 and c7.shown["epochs"] == 3
    assert c7.shown["points_n_fixed"] == SEEDS * 3
    assert any("go_family" in n for n in c7.notes)


def test_missing_go_group_and_files(results, tmp_path):
    root = _variant(results, tmp_path, lambda s: s["networks"].update(go=[]))
    for name in ("m_fig2_outputs", "m_fig3_connectivity", "m_fig4_unit_graph", "m_fig5_pca"):
        c = _draw(name, root, tmp_path)
        assert c.shown["go_network"] == 0
    # the first listed network lost its files: the next one is drawn, the first set aside
    root2 = _variant(results, tmp_path / "b")
    first, second = _summary(root2)["networks"]["go"][:2]
    (root2 / "go" / "nets" / first / "model.h5").unlink()
    c = _draw("m_fig3_connectivity", root2, tmp_path)
    assert c.shown["go_network"] == 1 and f"go/{first}" in c.set_aside and second in " ".join(c.notes)


def test_missing_summary_draws_empty_figures(results, tmp_path):
    root = _variant(results, tmp_path)
    (root / "multitask" / "summary.json").unlink()
    for name in NAMES:
        c = _draw(name, root, tmp_path)
        assert sum(c.shown.values()) == 0, (name, c.shown)
        assert any("summary" in n for n in c.notes)


def test_figures_do_not_import_torch(results):
    """Figure jobs read model, probe, analysis and task-data files without torch (the drawing
    itself uses matplotlib, networkx and rnnatlas.stats only)."""
    code = ("import sys; from pathlib import Path; import rnnatlas.figures.multitask._common as m; "
            f"root = Path({str(results)!r}); c = m.FigureCounts('x'); "
            "ids = m.network_ids(root, c)[1]; i = ids['go'][0]; "
            "assert m.read_params(root, 'go', i)['weight_hh'].shape == (8, 8); "
            "assert m.read_probe_set(root, 'go').inputs.shape[-1] == 85; "
            "assert m.read_probe_states(root, 'go', i) is not None; "
            "assert len(m.read_analyses(root, 'go_family', ids['go_family'], c)) == 2; "
            "import networkx, rnnatlas.stats, rnnatlas.store.h5io; "
            "assert 'torch' not in sys.modules, 'torch imported'")
    env = {**os.environ, "MPLBACKEND": "Agg"}
    r = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, env=env,
                       timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]


def test_align_task_vectors_is_canonical():
    rng = np.random.default_rng(0)
    pts = rng.normal(size=(4, 6))
    z = mf.align_task_vectors(pts)
    d = z[1] - z[0]
    assert abs(d[1]) < 1e-9 and d[0] > 0
    assert z[2:, 1].mean() >= z[:2, 1].mean()
    assert math.isclose(float((z ** 2).sum(1).mean()), 1.0, rel_tol=1e-9)
