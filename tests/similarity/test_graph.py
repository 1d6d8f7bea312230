"""Graph distance: Euclidean distance between adjacency matrices of networks with the modal node count."""

import numpy as np
import pytest

from rnnatlas.similarity import graph_distance


def _adj(n, seed):
    rng = np.random.default_rng(seed)
    a = rng.random((n, n))
    return a / a.sum(axis=1, keepdims=True)  # transition probabilities


def test_distances_of_modal_graphs_match_frobenius_and_others_are_set_aside():
    adjs = [_adj(4, 0), _adj(4, 1), _adj(3, 2), _adj(4, 3), np.zeros((0, 0)), np.full((4, 4), np.nan)]
    ids = [f"net{i}" for i in range(len(adjs))]
    out = graph_distance(adjs, ids)
    assert out.n_nodes == 4 and out.ids == ["net0", "net1", "net3"]
    assert set(out.set_aside) == {"net2", "net4", "net5"}
    assert out.set_aside["net2"] == "n_nodes=3, modal n_nodes=4"
    assert "no fixed points" in out.set_aside["net4"] and "NaN" in out.set_aside["net5"]
    D = out.distance
    assert D.shape == (3, 3) and np.array_equal(D, D.T) and np.all(np.diag(D) == 0.0)
    kept = [adjs[0], adjs[1], adjs[3]]
    for i in range(3):
        for j in range(3):
            assert D[i, j] == pytest.approx(np.linalg.norm(kept[i] - kept[j], "fro"), abs=1e-12)


def test_mode_ties_go_to_the_smaller_node_count_and_identical_graphs_are_zero():
    a = _adj(2, 0)
    out = graph_distance([a, a.copy(), _adj(3, 1), _adj(3, 2)], ["a", "b", "c", "d"])
    assert out.n_nodes == 2 and out.ids == ["a", "b"] and out.distance[0, 1] == 0.0


def test_edge_cases():
    one = graph_distance([_adj(3, 0)], ["x"])
    assert one.distance.shape == (1, 1) and one.distance[0, 0] == 0.0
    none = graph_distance([np.zeros((0, 0))], ["x"])
    assert none.distance.shape == (0, 0) and none.ids == [] and none.n_nodes == 0
    with pytest.raises(ValueError, match="square"):
        graph_distance([np.zeros((2, 3))], ["bad"])
    with pytest.raises(ValueError, match="ids"):
        graph_distance([_adj(2, 0)], ["a", "b"])
    with pytest.raises(ValueError, match="unique"):
        graph_distance([_adj(2, 0), _adj(2, 1)], ["a", "a"])
