"""summary.json numbers on a constructed case."""
from __future__ import annotations

import json

import numpy as np

from rnnatlas.figures.summary import modal_fraction, silhouette, write_summary
from rnnatlas.figures.untrained import GROUPS, untrained_comparison


def test_silhouette_separated_and_undefined():
    x = np.r_[np.zeros((5, 2)), np.full((5, 2), 10.0)] + np.random.default_rng(0).normal(scale=1e-3, size=(10, 2))
    assert silhouette(x, ["a"] * 5 + ["b"] * 5) > 0.99
    assert silhouette(x, ["a"] * 10) is None
    assert silhouette(x[:2], ["a", "b"]) is None


def test_modal_fraction():
    nets = [{"net_id": str(i), "accepted": True, "trained": True, "n_nodes": n} for i, n in enumerate([4, 4, 4, 3])]
    nets.append({"net_id": "x", "accepted": False, "trained": True, "n_nodes": 9})
    d = modal_fraction({"networks": nets, "modal_node_count": 4})
    assert d["fraction"] == 0.75 and d["n"] == 4
    assert modal_fraction(None)["fraction"] is None


def test_summary_file(results, tmp_path):
    d = write_summary(results, tmp_path / "u" / "summary.json")
    assert json.loads((tmp_path / "u" / "summary.json").read_text()) == json.loads(json.dumps(d))
    for task in ("flipflop", "sine", "cdi"):
        t = d["tasks"][task]
        s = t["metrics"]["svcca"]
        assert s["n_networks"] == 8  # accepted trained only (CDI's untrained twins are excluded)
        assert s["silhouette_embedding"]["architecture"] > 0.99
        assert s["silhouette_distance"]["architecture"] > 0.99
        assert s["silhouette_embedding"]["nonlinearity"] < 0.2
        assert t["metrics"]["graph"]["n_networks"] == 7
        assert t["metrics"]["cka_linear"] == {"available": False, "n_networks": 0}
        assert t["modal_fixed_point_count"]["fraction"] == 7 / 8
    assert d["tasks"]["sine"]["sine_median_relative_frequency_error"] == 0.1
    assert d["tasks"]["cdi"]["cdi_eigenvalue_nearest_1_by_arch"]["vanilla"]["mean"] == 0.99


def test_paper_subsets_with_permutation_p_values(results, tmp_path):
    """The fixture separates architectures perfectly and nonlinearities not at all. Among the 4
    tanh networks a perfect 2 + 2 split is one of 3 possible splits (p ≈ 1/3: four networks
    cannot make it significant); pooled over 8 networks it is 2 of 70 labellings (p ≈ 1/35)."""
    d = write_summary(results, tmp_path / "summary.json")
    subsets = d["tasks"]["sine"]["metrics"]["svcca"]["paper_subsets"]
    tanh = subsets["architecture_among_tanh"]
    assert tanh["distance"]["n"] == 4 and tanh["distance"]["groups"] == {"gru": 2, "vanilla": 2}
    assert tanh["distance"]["silhouette"] > 0.99 and tanh["embedding"]["silhouette"] > 0.99
    assert 0.25 < tanh["distance"]["p_value"] < 0.42
    pooled = subsets["architecture_pooled"]["distance"]
    assert pooled["n"] == 8 and pooled["silhouette"] > 0.99 and pooled["p_value"] < 0.06
    vanilla = subsets["nonlinearity_among_vanilla"]["distance"]
    assert vanilla["silhouette"] < 0.2 and vanilla["p_value"] > 0.2


def test_untrained_comparison_on_points_on_a_line():
    """Fig. 4's test on distances |x_a − x_b|: trained ReLU at 0, untrained ReLU at 1, trained tanh
    at 5, untrained tanh at −10 (5 each, jittered). ReLU: closer to its untrained twins (1 vs 5,
    every network, p ≈ 1/252, the smallest 5 + 5 labels allow); tanh: not (15 vs 5)."""
    rng = np.random.default_rng(0)
    centres = {(True, "relu"): 0.0, (False, "relu"): 1.0, (True, "tanh"): 5.0, (False, "tanh"): -10.0}
    ids, x, groups = [], [], {g: [] for g in GROUPS}
    for g, c in centres.items():
        for k in range(5):
            ids.append(f"{g}{k}")
            groups[g].append(f"{g}{k}")
            x.append(c + rng.normal(scale=0.05))
    x = np.asarray(x)
    d = untrained_comparison(np.abs(x[:, None] - x[None]), ids, groups, n_permutations=2000)
    relu = d["trained_closer_to_own_untrained_than_to_other_trained"]["relu"]
    assert relu["holds"] and relu["fraction_of_reference_closer"] == 1.0
    assert abs(relu["to_near"] - 1.0) < 0.1 and abs(relu["to_far"] - 5.0) < 0.1
    assert relu["p_value"] < 0.02
    tanh = d["trained_closer_to_own_untrained_than_to_other_trained"]["tanh"]
    assert not tanh["holds"] and tanh["fraction_of_reference_closer"] == 0.0 and tanh["p_value"] > 0.9
    assert d["groups"] == {"trained_tanh": 5, "trained_relu": 5, "untrained_tanh": 5, "untrained_relu": 5}
    assert abs(d["mean_distance"]["trained_relu"]["untrained_tanh"] - 10.0) < 0.1


def test_untrained_comparison_only_where_twins_exist(results, tmp_path):
    d = write_summary(results, tmp_path / "summary.json")
    assert "untrained_comparison" not in d["tasks"]["flipflop"]
    cdi = d["tasks"]["cdi"]["untrained_comparison"]
    assert set(cdi) == {"svcca", "graph"}  # the metrics with a distance file in the fixture
    assert cdi["svcca"]["groups"] == {"trained_tanh": 2, "trained_relu": 2, "untrained_tanh": 2, "untrained_relu": 2}
    assert cdi["graph"]["groups"]["untrained_relu"] == 0  # untrained twins have no graph distances
    assert cdi["graph"]["trained_closer_to_own_untrained_than_to_other_trained"]["relu"]["holds"] is None
