"""The atlas page of the tiny run: every planned network is in it with the numbers of its files,
embeddings and distance matrices as the files hold them, trajectories projected on the
principal axes that scikit-learn finds, and the files layout for large runs."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.decomposition import PCA

from rnnatlas.atlas.collect import decode_matrix
from rnnatlas.atlas.page import atlas_files, read_page
from rnnatlas.atlas.sections import plan_sections
from rnnatlas.config import load_config, repo_root
from rnnatlas.store.fixed_point_file import read_fixed_points
from rnnatlas.store.model_file import read_model
from rnnatlas.store.pairwise_file import read_embedding, read_pairwise
from rnnatlas.store.probe_file import read_probe_states

ROOT = repo_root()
TINY = Path(__file__).with_name("tiny.yaml")


@pytest.fixture(scope="module")
def config():
    return load_config([str(ROOT / "config" / "config.yaml"), str(TINY)], check_device=False)


@pytest.fixture(scope="module")
def atlas(tiny_run):
    return read_page(tiny_run / "atlas" / "index.html")


def by_key(data):
    return {s["key"]: s for s in data["sections"]}


def test_every_planned_network_is_in_the_page_with_its_card(tiny_run, config, atlas):
    data, cards = atlas
    sections = by_key(data)
    planned = plan_sections(config)
    assert [s.key for s in planned] == [s["key"] for s in data["sections"]]
    for section in planned:
        body = sections[section.key]
        if section.population:
            assert len(body["ids"]) == config["space_of_solutions"]["toy2d"]["networks"], section.key
        else:
            assert body["ids"] == list(section.networks), section.key
        assert set(cards[section.key]) == set(body["ids"]), section.key
        for name, values in body["fields"].items():
            assert len(values) == len(body["ids"]), (section.key, name)
    # the training summary's networks are those of the section, with their validation losses
    table = pd.read_csv(tiny_run / "flipflop" / "training_summary.csv")
    flipflop = sections["universality.flipflop"]
    assert set(flipflop["ids"]) == set(table.net_id)
    losses = dict(zip(flipflop["ids"], flipflop["fields"]["final_val_loss"]))
    for row in table.itertuples():
        assert losses[row.net_id] == pytest.approx(row.final_val_loss, rel=1e-3)
    assert (tiny_run / "atlas" / "index.html").stat().st_size < 20 * 2**20


def test_embeddings_and_matrices_are_those_of_the_files(tiny_run, config, atlas):
    data, _ = atlas
    for task in config["universality"]["tasks"]:
        body = by_key(data)[f"universality.{task}"]
        views = {v["name"]: v for v in body["views"]}
        assert set(views) == {*config["similarity"]["metrics"], "graph"}
        for metric, view in views.items():
            ds = read_embedding(tiny_run / task / "embedding" / f"{metric}.nc")
            assert [body["ids"][i] for i in view["members"]] == [str(n) for n in ds["net"].values]
            np.testing.assert_allclose(np.c_[view["x"], view["y"]], ds["embedding"].values, rtol=1e-3, atol=1e-12)
            da = read_pairwise(tiny_run / task / "pairwise" / f"{metric}.nc")
            matrix = body["matrices"][metric]
            assert [body["ids"][i] for i in matrix["members"]] == [str(n) for n in da["net_a"].values]
            top = float(da.values.max()) if da.size else 0.0
            np.testing.assert_allclose(decode_matrix(matrix), da.values, atol=top / 65535)


def test_card_trajectories_and_fixed_points_lie_on_the_principal_axes(tiny_run, atlas):
    """The card's PC coordinates equal scikit-learn's PCA of the probe states (up to each axis's
    sign), for the trajectories and for the fixed points projected on the same axes."""
    data, cards = atlas
    body = by_key(data)["universality.flipflop"]
    checked = 0
    for net in body["ids"][:4]:
        folder = tiny_run / "flipflop" / "nets" / net
        states = read_probe_states(folder / "probe.h5").astype(np.float64)
        part = next(p for p in cards[body["key"]][net] if p["kind"] == "trajectories")
        pca = PCA(n_components=len(part["explained"])).fit(states.reshape(-1, states.shape[-1]))
        np.testing.assert_allclose(part["explained"], pca.explained_variance_ratio_, rtol=1e-3, atol=1e-6)
        trial = part["trial_index"][-1]
        steps = np.asarray(part["trials"][-1])  # [k, points]
        reference = pca.transform(states[trial])  # every time step of that trial
        # the drawn points are evenly chosen time steps, the first and last among them
        signs = None
        for k in range(len(part["explained"])):
            a, b = steps[k], reference[:, k]
            first_last = np.array([a[0], a[-1]])
            sign = 1.0 if np.allclose(first_last, [b[0], b[-1]], rtol=2e-3, atol=1e-4) else -1.0
            np.testing.assert_allclose(sign * first_last, [b[0], b[-1]], rtol=2e-3, atol=1e-4)
            signs = [*(signs or []), sign]
        _, arrays, _ = read_fixed_points(folder / "fixed_points.h5")
        if part["points"]:
            idx = part["points"]["index"]
            expected = pca.transform(arrays["h"][idx]) * np.array(signs)
            np.testing.assert_allclose(np.asarray(part["points"]["coords"]).T, expected, rtol=2e-3, atol=1e-4)
            checked += 1
        fields = dict(zip(body["fields"], (v[body["ids"].index(net)] for v in body["fields"].values())))
        assert fields["n_stable"] == int((arrays["stability"] == "stable").sum())
        assert fields["n_fixed_points"] == int((~arrays["is_slow"]).sum())
        assert fields["accepted"] == read_model(folder / "model.h5").accepted
    assert checked


def test_large_runs_write_cards_and_matrices_beside_the_page(tiny_run, config, tmp_path):
    """With ``inline_max_networks`` 0 the page holds no card: each network's card is in exactly
    one chunk file, the files are those planned, and the matrices load from their files."""
    from rnnatlas.stages import atlas as stage

    sections = plan_sections(config)
    options = {**config["atlas"], "inline_max_networks": 0, "cards_per_file": 5}
    out = tmp_path / "results" / "atlas"
    stage.run([s.to_dict() for s in sections], str(tiny_run), options, str(out))
    planned = atlas_files(sections, options, str(out))
    written = sorted(str(p) for p in out.rglob("*") if p.is_file())
    assert written == sorted(planned)
    data, inline_cards = read_page(out / "index.html")
    assert inline_cards == {}
    for body in data["sections"]:
        seen = {}
        for chunk in sorted((out / "cards" / body["key"]).glob("*.js")):
            text = chunk.read_text()
            key_json, members = text[len("RNNATLAS.addCards("):-3].split(",", 1)
            assert json.loads(key_json) == body["key"]
            for net in json.loads(members):
                assert net not in seen
                seen[net] = int(chunk.stem)
        assert seen == {net: body["card_chunk"][i] for i, net in enumerate(body["ids"])}, body["key"]
        for matrix in body["matrices"].values():
            assert (out / matrix["file"]).exists() and "data" not in matrix


def test_bad_atlas_options_are_refused(tiny_run, config, tmp_path):
    from rnnatlas.errors import InputError
    from rnnatlas.stages import atlas as stage

    for bad in ({"cards_per_file": 0}, {"trajectory_trials": 2.5}, {"cards": 3}):
        with pytest.raises(InputError, match="atlas options"):
            stage.run([], str(tiny_run), bad, str(tmp_path))
    assert not list(tmp_path.iterdir())


def test_sections_that_do_not_match_the_files_are_refused(tiny_run, config, tmp_path):
    """A section whose embedding holds networks the section does not list (another population's
    file), or a malformed section, is an input error before anything is written."""
    from rnnatlas.errors import InputError
    from rnnatlas.stages import atlas as stage

    flipflop = next(s for s in plan_sections(config) if s.key == "universality.flipflop").to_dict()
    flipflop["networks"] = dict(list(flipflop["networks"].items())[:-1])  # one network fewer
    with pytest.raises(InputError, match="not among"):
        stage.run([flipflop], str(tiny_run), {}, str(tmp_path / "a"))
    with pytest.raises(InputError, match="not an atlas section"):
        stage.run([{"study": "universality", "task": "flipflop", "colour": "red"}], str(tiny_run), {}, str(tmp_path / "b"))
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
