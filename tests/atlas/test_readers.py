"""The atlas's small pieces on constructed inputs: rounding, matrix encoding, the choice of the
fixed point whose linearisation a card shows, the principal axes, the files layout's plan."""

import numpy as np
import pytest

from rnnatlas.atlas.collect import decode_matrix, encode_matrix, field_kinds
from rnnatlas.atlas.page import atlas_files, card_chunks, inline
from rnnatlas.atlas.readers import chosen_point, evenly, principal_axes, rounded
from rnnatlas.atlas.sections import AtlasSection


def test_rounded_keeps_four_significant_digits_and_drops_non_finite_values():
    assert rounded([123456.0, 0.000123456, -1.23456, 0.0]) == [123500.0, 0.0001235, -1.235, 0.0]
    assert rounded([[1.0, np.nan], [np.inf, 2.0]]) == [[1.0, None], [None, 2.0]]
    assert rounded(3.14159) == 3.142


def test_matrix_encoding_round_trips_within_one_level():
    rng = np.random.default_rng(0)
    x = rng.random((7, 7))
    d = x + x.T
    np.fill_diagonal(d, 0)
    back = decode_matrix(encode_matrix(d))
    assert np.abs(back - d).max() <= d.max() / 65535 / 2 + 1e-15
    assert np.array_equal(back, back.T) and np.all(np.diag(back) == 0)
    assert decode_matrix(encode_matrix(np.zeros((3, 3)))).tolist() == np.zeros((3, 3)).tolist()


def test_chosen_point_prefers_the_most_visited_stable_point_then_the_slowest_fixed_point():
    arrays = {"q": np.array([1e-9, 1e-12, 1e-10, 1e-3]), "is_slow": np.array([False, False, False, True]),
              "stability": np.array(["stable", "saddle", "stable", "slow"]), "n_forward_runs": np.array([3, 0, 9, 0])}
    assert chosen_point(arrays) == 2
    arrays["stability"] = np.array(["saddle", "saddle", "saddle", "slow"])
    assert chosen_point(arrays) == 1
    assert chosen_point({"q": np.array([])}) is None


def test_principal_axes_find_a_planted_plane():
    rng = np.random.default_rng(1)
    basis = np.linalg.qr(rng.normal(size=(10, 2)))[0]
    states = rng.normal(size=(500, 2)) * [3.0, 1.0] @ basis.T + 0.01 * rng.normal(size=(500, 10)) + 5.0
    mean, axes, explained = principal_axes(states, 3)
    assert np.allclose(mean, states.mean(0))
    assert np.allclose(np.abs(axes[:, :2].T @ basis).max(axis=1), 1, atol=1e-3)
    assert explained[0] == pytest.approx(0.9, abs=0.02) and explained[2] < 1e-3


def test_evenly_keeps_first_and_last():
    assert evenly(5, 10).tolist() == [0, 1, 2, 3, 4]
    picked = evenly(1000, 7)
    assert picked[0] == 0 and picked[-1] == 999 and len(picked) == 7


def test_field_kinds():
    kinds = field_kinds({"arch": ["gru", "lstm"], "loss": [0.1, None], "accepted": [True, False], "seed": [0, 1]})
    assert kinds == {"arch": "category", "loss": "number", "accepted": "category", "seed": "number"}


def test_files_layout_plan():
    nets = {f"vanilla-tanh-n8-l2_1e-04-s{i:02d}": ("model.h5",) for i in range(25)}
    section = AtlasSection("universality", "Universality", "flipflop", networks=nets, distances={"svcca": "x.nc"})
    population = AtlasSection("space_of_solutions", "S", "toy2d", label="toy2d_tanh", population={"reader": "toy2d", "path": "p"})
    options = {"inline_max_networks": 25, "cards_per_file": 10}
    assert inline([section, population], options) and atlas_files([section], options) == ["results/atlas/index.html"]
    options["inline_max_networks"] = 24
    assert card_chunks(section, options) == 3 and card_chunks(population, options) == 1
    assert atlas_files([section, population], options) == [
        "results/atlas/index.html", *(f"results/atlas/cards/universality.flipflop/{i:03d}.js" for i in range(3)),
        "results/atlas/matrices/universality.flipflop/svcca.js", "results/atlas/cards/space_of_solutions.toy2d_tanh/000.js"]
