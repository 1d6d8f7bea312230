"""The stage and file layer: synthetic probe files → prepared chunks → tiles → pairwise .nc → embedding .nc."""

import json

import numpy as np
import pytest

from rnnatlas.ids import NetworkSpec
from rnnatlas.similarity import cka, dsa_block, fit_dynamics, procrustes_distance, svcca
from rnnatlas.stages import similarity as S
from rnnatlas.stages.similarity_plan import chunk_ranges, tiles
from rnnatlas.store.graph_file import write_graph
from rnnatlas.store.h5io import ForeignFileError
from rnnatlas.store.pairwise_file import read_embedding, read_pairwise, write_pairwise
from rnnatlas.store.probe_file import write_probe

TASK = "cdi"
TRIALS, STEPS = 6, 12
SPECS = [
    NetworkSpec(TASK, "vanilla", "tanh", 6, 1e-4, 0),
    NetworkSpec(TASK, "vanilla", "tanh", 6, 1e-4, 1),
    NetworkSpec(TASK, "gru", "relu", 8, 1e-3, 0),
    NetworkSpec(TASK, "lstm", "tanh", 5, 1e-4, 2),
    NetworkSpec(TASK, "vanilla", "tanh", 6, 1e-4, 0, trained=False),
]
PER_PAIR = {
    "svcca": lambda X, Y: svcca(X, Y, variance=0.99),
    "cka_linear": lambda X, Y: cka(X, Y, kernel="linear"),
    "cka_rbf": lambda X, Y: cka(X, Y, kernel="rbf", sigma_fraction=0.8),
    "procrustes": lambda X, Y: 1.0 - procrustes_distance(X, Y, alpha=1.0),  # the file holds the angle
}


@pytest.fixture(scope="module")
def probes(tmp_path_factory):
    """One probe.h5 per network; the LSTM also stores a (different) cell state."""
    root = tmp_path_factory.mktemp("nets")
    rng = np.random.default_rng(0)
    latent = np.cumsum(rng.standard_normal((TRIALS, STEPS, 3)), axis=1)
    paths, hidden = [], {}
    for spec in SPECS:
        h = np.tanh(latent @ rng.standard_normal((3, spec.units)) * 0.5) + 0.1 * rng.standard_normal((TRIALS, STEPS, spec.units))
        states = h
        if spec.arch == "lstm":
            states = np.concatenate([h, 5.0 * rng.standard_normal(h.shape)], axis=-1)
        path = root / spec.id / "probe.h5"
        write_probe(path, spec.as_config(), states, np.zeros((TRIALS, STEPS, 1)), spec.units)
        paths.append(str(path))
        hidden[spec.id] = h.astype(np.float32).reshape(-1, spec.units)
    return paths, hidden


def build(tmp_path, metric, paths, block_size, options=None):
    """What the rules do: prepare each chunk, compute each tile, merge."""
    options = options or {}
    chunks = chunk_ranges(len(paths), block_size)
    preps, metas = [], []
    for c, (s, e) in enumerate(chunks):
        preps.append(str(tmp_path / f"{metric}-{block_size}-prep-{c}.npz"))
        metas.append(str(tmp_path / f"{metric}-{block_size}-prep-{c}.json"))
        S.run_prepare(TASK, metric, paths[s:e], options, preps[-1], metas[-1], c, "cpu")
    blocks = []
    for i, j in tiles(len(chunks)):
        blocks.append(str(tmp_path / f"{metric}-{block_size}-block-{i}-{j}.npz"))
        S.run_block(preps[i], metas[i], preps[j], metas[j], options, blocks[-1], "cpu")
    out = tmp_path / f"{metric}-{block_size}.nc"
    S.run_merge(TASK, metric, metas, blocks, options, str(out))
    return out


@pytest.mark.parametrize("metric", ["svcca", "cka_linear", "cka_rbf", "procrustes"])
@pytest.mark.parametrize("dtype,tol,block_tol", [("float32", 1e-5, 1e-6), ("float64", 1e-10, 1e-12)])
def test_pairwise_file_matches_per_pair_and_single_block(tmp_path, probes, metric, dtype, tol, block_tol):
    paths, hidden = probes
    options = {"dtype": dtype}
    da = read_pairwise(build(tmp_path, metric, paths, block_size=2, options=options))
    ids = [s.id for s in SPECS]
    assert da.dims == ("net_a", "net_b") and list(da.net_a.values) == ids and list(da.net_b.values) == ids
    assert list(da.arch_a.values) == [s.arch for s in SPECS] and list(da.arch_b.values) == [s.arch for s in SPECS]
    assert list(da.units_b.values) == [s.units for s in SPECS]
    assert list(da.l2_a.values) == [s.l2 for s in SPECS] and list(da.seed_a.values) == [s.seed for s in SPECS]
    assert list(da.trained_a.values) == [s.trained for s in SPECS]
    assert list(da.activation_b.values) == [s.activation for s in SPECS]
    D = da.values
    assert D.dtype == np.float64 and np.array_equal(D, D.T) and np.all(np.diag(D) == 0.0)
    for a, ia in enumerate(ids):
        for b, ib in enumerate(ids):
            if a != b:  # batched products (float32 or float64) against the float64 per-pair function
                assert D[a, b] == pytest.approx(1.0 - PER_PAIR[metric](hidden[ia], hidden[ib]), abs=tol)
    # block assembly = one single-block computation (float32 rounding depends on the padding)
    single = read_pairwise(build(tmp_path, metric, paths, block_size=len(paths), options=options))
    np.testing.assert_allclose(D, single.values, atol=block_tol, rtol=0)
    assert da.attrs["metric"] == metric and da.attrs["task"] == TASK and da.attrs["git_commit"]
    recorded = json.loads(da.attrs["options"])  # the options this metric depends on, and no others
    assert recorded["dtype"] == options.get("dtype", "float32") and json.loads(da.attrs["set_aside"]) == {}
    assert ("variance" in recorded) == (metric == "svcca") and ("sigma_fraction" in recorded) == (metric == "cka_rbf")
    if metric == "svcca":
        assert np.all(da.k_a.values >= 1) and np.all(da.k_a.values <= da.units_a.values)


@pytest.mark.parametrize("metric", ["dsa_wasserstein", "dsa_angular"])
def test_dsa_file_from_tiles_matches_one_fit_of_every_network(tmp_path, probes, metric):
    """prepare (a HAVOK model per network, once) → tiles → merge gives the matrix of one fit of
    the whole population, with the options and each network's model rank recorded."""
    paths, _ = probes
    options = {"dsa": {"n_delays": 3, "rank": 6, "iterations": 40, "starts": 3}}
    da = read_pairwise(build(tmp_path, metric, paths, block_size=2, options=options))
    _, trajectories, _ = S.load_hidden(TASK, paths, trajectories=True)
    resolved = S.resolve_options(options)["dsa"]
    expected = dsa_block(fit_dynamics(trajectories, **resolved), None, metric.removeprefix("dsa_"))
    np.testing.assert_allclose(da.values, expected, atol=1e-9, rtol=0)
    assert json.loads(da.attrs["options"])["dsa"] == resolved and list(da.rank_a.values) == [6] * len(paths)
    assert np.all(da.values[~np.eye(len(paths), dtype=bool)] > 0)


@pytest.mark.parametrize("metric", ["svcca", "cka_rbf"])
def test_single_job_writes_the_file_of_prepare_tile_merge(tmp_path, probes, metric):
    """rule similarity_single (one chunk): same distances, coordinates and attributes as the
    three-stage path with one chunk."""
    paths, _ = probes
    staged = read_pairwise(build(tmp_path, metric, paths, block_size=len(paths)))
    out = tmp_path / f"{metric}-single.nc"
    S.run_single(TASK, metric, paths, {}, str(out), "cpu")
    single = read_pairwise(out)
    np.testing.assert_array_equal(single.values, staged.values)
    for coord in staged.coords:
        np.testing.assert_array_equal(single[coord].values, staged[coord].values)
    for key in ("metric", "task", "options", "set_aside"):
        assert single.attrs[key] == staged.attrs[key]


def test_lstm_uses_the_hidden_state_h(tmp_path, probes):
    paths, hidden = probes
    lstm = SPECS[3].id
    ids, reps, _ = S.load_hidden(TASK, paths)
    x = hidden[lstm].astype(np.float64)
    x = x / np.sqrt(np.mean((x - x.mean(0)) ** 2))  # load_hidden scales each network to unit RMS
    np.testing.assert_allclose(reps[ids.index(lstm)], x, rtol=1e-12)
    assert reps[ids.index(lstm)].shape == (TRIALS * STEPS, SPECS[3].units)


def test_non_finite_network_is_set_aside_and_counted(tmp_path, probes):
    paths, _ = probes
    bad = NetworkSpec(TASK, "gru", "tanh", 4, 1e-4, 9)
    h = np.full((TRIALS, STEPS, 4), np.nan)
    bad_path = tmp_path / "bad" / "probe.h5"
    write_probe(bad_path, bad.as_config(), h, np.zeros((TRIALS, STEPS, 1)), 4)
    da = read_pairwise(build(tmp_path, "cka_linear", paths[:2] + [str(bad_path)] + paths[2:], block_size=2))
    assert bad.id not in list(da.net_a.values) and da.shape == (5, 5)
    assert json.loads(da.attrs["set_aside"]) == {bad.id: "non-finite hidden states on the probe set"}
    assert np.isfinite(da.values).all()


def test_embedding_file(tmp_path, probes):
    paths, _ = probes
    pw = build(tmp_path, "svcca", paths, block_size=3)
    out = tmp_path / "embedding.nc"
    S.run_embed(str(pw), {"n_init": 2, "max_iter": 200, "random_state": 0}, str(out))
    ds = read_embedding(out)
    assert ds["embedding"].dims == ("net", "component") and ds["embedding"].shape == (5, 2)
    assert list(ds.net.values) == [s.id for s in SPECS] and list(ds.trained.values) == [s.trained for s in SPECS]
    assert 0.0 <= float(ds["stress"]) < 1.0 and np.isfinite(ds["embedding"].values).all()
    assert ds.attrs["metric"] == "svcca" and json.loads(ds.attrs["options"])["n_init"] == 2
    again = tmp_path / "embedding2.nc"
    S.run_embed(str(pw), {"n_init": 2, "max_iter": 200, "random_state": 0}, str(again))
    np.testing.assert_array_equal(read_embedding(again)["embedding"].values, ds["embedding"].values)


def test_graph_pairwise_file(tmp_path):
    rng = np.random.default_rng(1)
    paths, adjs = [], {}
    for k, spec in enumerate(SPECS):
        n_nodes = 3 if k != 2 else 4
        adj = rng.random((n_nodes, n_nodes))
        analysed = k != 4
        path = tmp_path / spec.id / "graph.h5"
        write_graph(path, spec.as_config(), {"adjacency": adj},
                    {"n_nodes": n_nodes, "analysed": analysed, "reason": "" if analysed else "diverged"})
        paths.append(str(path))
        adjs[spec.id] = adj
    out = tmp_path / "graph.nc"
    S.run_graph(TASK, paths, str(out))
    da = read_pairwise(out)
    kept = [s.id for k, s in enumerate(SPECS) if k not in (2, 4)]
    assert list(da.net_a.values) == kept and da.attrs["metric"] == "graph"
    assert json.loads(da.attrs["set_aside"]) == {SPECS[2].id: "n_nodes=4, modal n_nodes=3",
                                                 SPECS[4].id: "graph not analysed: diverged"}
    assert float(da.values[0, 1]) == pytest.approx(np.linalg.norm(adjs[kept[0]] - adjs[kept[1]]))


def test_writer_refuses_broken_matrices_and_reader_names_foreign_files(tmp_path):
    ids = [s.id for s in SPECS[:2]]
    with pytest.raises(ValueError, match="NaN"):
        write_pairwise(tmp_path / "x.nc", np.array([[0.0, np.nan], [np.nan, 0.0]]), ids, task=TASK, metric="svcca", options={})
    with pytest.raises(ValueError, match="symmetric"):
        write_pairwise(tmp_path / "x.nc", np.array([[0.0, 0.1], [0.2, 0.0]]), ids, task=TASK, metric="svcca", options={})
    assert not (tmp_path / "x.nc").exists() and not list(tmp_path.glob(".x.nc*"))
    (tmp_path / "junk.nc").write_text("not netcdf")
    with pytest.raises(ForeignFileError, match="junk.nc"):
        read_pairwise(tmp_path / "junk.nc")


def test_merge_detects_missing_tiles(tmp_path, probes):
    metas = [{"chunk": 0, "ids": ["a", "b"]}, {"chunk": 1, "ids": ["c"]}]
    tile = {"chunk_a": 0, "chunk_b": 0, "rows": ["a", "b"], "cols": ["a", "b"], "distance": np.zeros((2, 2))}
    with pytest.raises(ValueError, match="do not cover"):
        S.merge_tiles(metas, [tile])
    with pytest.raises(ValueError, match="stale"):
        S.merge_tiles(metas, [dict(tile, rows=["a", "x"])])
