"""Weight statistics and graph centralities (orientation: W[i, j] is the edge j → i)."""

from __future__ import annotations

import numpy as np
import pytest

from rnnatlas.connectivity import (
    centralities,
    centrality,
    centrality_change,
    connectivity_graph,
    mean_weight,
    weight_changes,
)


def test_mean_weight_off_diagonal() -> None:
    w = np.array([[10.0, 1.0], [3.0, 20.0]])
    assert mean_weight(w) == pytest.approx(2.0)
    assert mean_weight(w, off_diagonal=False) == pytest.approx(8.5)
    np.testing.assert_allclose(mean_weight(np.stack([w, 2 * w])), [2.0, 4.0])


def test_weight_changes_hand_computed() -> None:
    w0 = np.array([[0.0, 1.0, -1.0], [1.0, 0.0, -1.0], [1.0, -1.0, 0.0]])  # std_off = 1
    w1 = w0.copy()
    w1[0, 1] += 0.5
    w1[2, 0] -= 0.05
    w1[1, 1] = 100.0  # the diagonal is ignored
    delta, s = weight_changes(w0, w1, rel_threshold=0.1)
    np.testing.assert_allclose(delta, [0.5, 0.0, 0.0, 0.0, -0.05, 0.0])
    assert s["std_w0"] == pytest.approx(1.0)
    assert s["threshold"] == pytest.approx(0.1)
    assert s["frac_above"] == pytest.approx(1 / 6)
    assert s["mean_abs"] == pytest.approx(0.55 / 6)
    assert s["max_abs"] == pytest.approx(0.5)
    assert s["rel_frobenius"] == pytest.approx(np.sqrt(0.25 + 0.0025) / np.sqrt(6))
    assert s["delta_quantiles"].shape == (len(s["quantiles"]),)
    assert s["abs_rel_quantiles"][-1] == pytest.approx(np.quantile(np.abs(delta), 0.99))


def test_weight_changes_stack_shapes() -> None:
    rng = np.random.default_rng(0)
    w0 = rng.normal(size=(4, 5, 5))
    w1 = w0 + 0.01 * rng.normal(size=(4, 5, 5))
    delta, s = weight_changes(w0, w1)
    assert delta.shape == (4, 20)
    assert s["frac_above"].shape == (4,)
    assert s["delta_quantiles"].shape == (4, 7)
    d2, s2 = weight_changes(w0[2], w1[2])
    np.testing.assert_allclose(delta[2], d2)
    assert s["rms"][2] == pytest.approx(s2["rms"])


def test_graph_orientation() -> None:
    w = np.zeros((3, 3))
    w[0, 1] = -2.0  # unit 1 -> unit 0
    g = connectivity_graph(w)
    assert list(g.edges(data="weight")) == [(1, 0, 2.0)]


def test_in_strength_is_row_sum_of_abs() -> None:
    rng = np.random.default_rng(1)
    w = rng.normal(size=(6, 6))
    np.testing.assert_allclose(centrality(w, "in_strength"), np.abs(w).sum(axis=1))


def _star_into_hub(n: int) -> np.ndarray:
    """Every leaf j projects to hub 0 (W[0, j]); leaves form a directed cycle j -> j+1."""
    w = np.zeros((n, n))
    w[0, 1:] = 1.0
    for j in range(1, n):
        nxt = j + 1 if j + 1 < n else 1
        w[nxt, j] = 1.0
    return w


@pytest.mark.parametrize("kind", ["eigenvector", "in_strength", "pagerank"])
def test_star_hub_is_most_central(kind: str) -> None:
    w = _star_into_hub(6)
    c = centrality(w, kind)
    assert np.argmax(c) == 0
    np.testing.assert_allclose(c[1:], c[1], rtol=1e-6)  # leaves are symmetric
    # Transposed (hub projects to every leaf): in-edges now reach the leaves, not the hub.
    ct = centrality(w.T, kind)
    assert ct[0] < ct[1:].min()


def test_pure_star_in_strength_and_pagerank() -> None:
    w = np.zeros((5, 5))
    w[0, 1:] = 0.5  # all leaves point to the hub, nothing else
    for kind in ("in_strength", "pagerank"):
        c = centrality(w, kind)
        assert np.argmax(c) == 0 and c[0] > 2 * c[1:].max()


@pytest.mark.parametrize("kind", ["eigenvector", "in_strength", "pagerank"])
def test_directed_cycle_is_uniform(kind: str) -> None:
    n = 7
    w = np.zeros((n, n))
    for j in range(n):
        w[(j + 1) % n, j] = -0.3  # sign is ignored (|W|)
    c = centrality(w, kind)
    np.testing.assert_allclose(c, c[0], rtol=1e-8)


def test_eigenvector_is_perron_vector_of_abs_w() -> None:
    rng = np.random.default_rng(2)
    w = rng.normal(size=(15, 15))
    np.fill_diagonal(w, 0.0)
    c = centrality(w, "eigenvector")
    vals, vecs = np.linalg.eig(np.abs(w))
    p = np.abs(vecs[:, np.argmax(vals.real)].real)
    np.testing.assert_allclose(c, p / np.linalg.norm(p), atol=1e-8)
    # Left (out-edge) Perron vector differs: orientation matters.
    assert not np.allclose(centrality(w.T, "eigenvector"), c, atol=1e-3)


def test_convergence_failure_is_clear() -> None:
    rng = np.random.default_rng(3)
    with pytest.raises(RuntimeError, match="did not converge"):
        centrality(rng.normal(size=(20, 20)), "eigenvector", max_iter=1, tol=1e-14)


def test_centrality_stack() -> None:
    rng = np.random.default_rng(4)
    ws = rng.normal(size=(2, 8, 8))
    c = centrality(ws, "pagerank")
    assert c.shape == (2, 8)
    np.testing.assert_allclose(c[1], centrality(ws[1], "pagerank"))


def test_centrality_change() -> None:
    c0 = np.arange(20, dtype=float)  # top 10% = units 19, 18
    out = centrality_change(c0, c0 * 2 + 1)
    assert out == {"spearman": pytest.approx(1.0), "n_top": 2, "top_leave_fraction": 0.0}
    c1 = c0.copy()
    c1[19] = -1.0  # unit 19 drops out; 17 enters
    out = centrality_change(c0, c1)
    assert out["top_leave_fraction"] == pytest.approx(0.5)
    assert out["spearman"] < 1.0
    assert centrality_change(c0, -c0)["spearman"] == pytest.approx(-1.0)
    assert centrality_change(c0, -c0)["top_leave_fraction"] == 1.0
    with pytest.raises(ValueError):
        centrality_change(c0, c0[:5])


def test_centralities_equal_each_kind_alone() -> None:
    rng = np.random.default_rng(4)
    w = rng.normal(size=(12, 12))
    np.fill_diagonal(w, 0.0)
    kinds = ("eigenvector", "in_strength", "pagerank")
    together = centralities(w, kinds)
    for kind in kinds:
        np.testing.assert_allclose(together[kind], centrality(w, kind), rtol=1e-12)


@pytest.mark.parametrize("n, density", [(40, 1.0), (60, 0.08)])
def test_vectorised_eigenvector_centrality_is_networkx_power_iteration(n, density) -> None:
    """The same numbers as networkx's own eigenvector_centrality on the |W| graph (edges j → i),
    dense and sparse (not strongly connected) alike."""
    import networkx as nx

    from rnnatlas.connectivity.graph import connectivity_graph, eigenvector_power_iteration

    rng = np.random.default_rng(n)
    w = rng.normal(size=(n, n)) * (rng.random((n, n)) < density)
    ref = nx.eigenvector_centrality(connectivity_graph(w), max_iter=1000, tol=1e-10, weight="weight")
    np.testing.assert_allclose(eigenvector_power_iteration(np.abs(w)), [ref[i] for i in range(n)], rtol=0, atol=1e-12)
