"""DSA: the HAVOK model against a known linear system, both forms against the reference
implementation (`dsa-metric`) on small cases, the invariances, the metric axioms of the
eigenvalue form, and blocks of a matrix against the whole."""

import warnings

import numpy as np
import pytest
from scipy.stats import ortho_group

from rnnatlas.similarity import DynamicsModels, dsa, dsa_block, fit_dynamics

OPTS = {"n_delays": 3, "rank": 8}


def _system(seed, n=6, T=50, trials=6, noise=0.05):
    """States of a noisy tanh RNN x(t+1) = tanh(M x(t)) + noise, [trials, T, n]."""
    r = np.random.default_rng(seed)
    M = r.standard_normal((n, n))
    M = 0.95 * M / np.abs(np.linalg.eigvals(M)).max()
    x = np.zeros((trials, T, n))
    x[:, 0] = r.standard_normal((trials, n))
    for t in range(1, T):
        x[:, t] = np.tanh(x[:, t - 1] @ M.T) + noise * r.standard_normal((trials, n))
    return x


def test_havok_model_of_a_linear_system_has_its_eigenvalues():
    """Noise-free x(t+1) = M x(t), no delays, full rank: the model is M in other coordinates."""
    r = np.random.default_rng(0)
    M = r.standard_normal((5, 5))
    M = 0.9 * M / np.abs(np.linalg.eigvals(M)).max()
    x = np.zeros((4, 40, 5))
    x[:, 0] = r.standard_normal((4, 5))
    for t in range(1, 40):
        x[:, t] = x[:, t - 1] @ M.T
    models = fit_dynamics([x], n_delays=1, rank=5)
    got = np.sort_complex(models.eigenvalues[0])
    assert np.abs(got - np.sort_complex(np.linalg.eigvals(M))).max() < 1e-8


def _reference(data, form, **kw):
    DSA = pytest.importorskip("DSA").DSA
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.asarray(DSA(data, n_delays=OPTS["n_delays"], rank=OPTS["rank"], score_method=form,
                              device="cpu", **kw).fit_score(), dtype=float)


def test_eigenvalue_form_agrees_with_dsa_metric():
    data = [_system(s) for s in range(5)]
    ours = dsa_block(fit_dynamics(data, **OPTS), None, "wasserstein")
    ref = _reference(data, "wasserstein")
    assert np.abs(ours**2 - ref).max() < 1e-4 * max(1.0, ref.max())  # the reference reports W2², in float32


def test_vector_field_form_finds_alignments_at_least_as_good_as_dsa_metric():
    """The reference optimises two starts per pair by Adam; our multi-start ascent must never end
    at a worse alignment (a larger angle) beyond that optimiser's tolerance, and usually does better."""
    data = [_system(s) for s in range(3)]
    ours = dsa_block(fit_dynamics(data, **OPTS), None, "angular")
    ref = _reference(data, "angular", iters=500, lr=0.01)
    iu = np.triu_indices(3, 1)
    assert np.all(ours[iu] <= ref[iu] + 5e-3), (ours[iu], ref[iu])
    assert np.all(ours[iu] > 0.05)  # different systems are not aligned to zero


def test_rotated_reflected_rescaled_copies_are_at_zero_in_both_forms():
    x = _system(1)
    Q = ortho_group.rvs(6, random_state=2)
    flip = np.diag([1, -1, 1, 1, -1, 1.0])
    copies = [x @ Q, 4.0 * x, x @ flip]
    models = fit_dynamics([x, *copies, _system(2)], **OPTS)
    for form in ("wasserstein", "angular"):
        D = dsa_block(models, None, form)
        assert D[0, 1:4].max() < 1e-6, (form, D[0])
        assert D[0, 4] > 0.01


def test_a_non_orthogonal_change_of_basis_keeps_the_eigenvalues_not_the_vector_field():
    """x -> x P with P invertible but not orthogonal: the HAVOK coordinates are whitened, so the
    model changes only by rotations — except through the noise and the truncation; the eigenvalue
    form stays near 0 while a genuinely different system is far."""
    x = _system(3)
    P = np.random.default_rng(4).standard_normal((6, 6)) + 3 * np.eye(6)
    models = fit_dynamics([x, x @ P, _system(5)], n_delays=3, rank=18)
    D = dsa_block(models, None, "wasserstein")
    assert D[0, 1] < 0.2 * D[0, 2]


def test_eigenvalue_form_is_a_metric():
    models = fit_dynamics([_system(s) for s in range(10)], **OPTS)
    D = dsa_block(models, None, "wasserstein")
    slack = D[:, None, :] + D[None, :, :] - D[:, :, None]
    assert slack.min() >= -1e-12 and np.array_equal(D, D.T) and np.all(np.diag(D) == 0)


@pytest.mark.parametrize("form", ["wasserstein", "angular"])
def test_tiles_agree_with_the_whole_matrix(form):
    data = [_system(s) for s in range(6)]
    opts = {**OPTS, "iterations": 60, "starts": 4}
    whole = dsa_block(fit_dynamics(data, **opts), None, form)
    a, b = fit_dynamics(data[:2], **opts), fit_dynamics(data[2:], **opts)
    assert np.abs(dsa_block(a, b, form) - whole[:2, 2:]).max() < 1e-9
    assert np.abs(dsa_block(b, None, form) - whole[2:, 2:]).max() < 1e-9


def test_models_round_trip_through_a_file(tmp_path):
    models = fit_dynamics([_system(s) for s in range(3)], **OPTS)
    models.save(tmp_path / "m.npz")
    back = DynamicsModels.load(tmp_path / "m.npz")
    assert back.params == models.params and back.digests == models.digests and back.n_samples == 6 * 50
    assert all(np.array_equal(a, b) for a, b in zip(back.models, models.models))


def test_rank_is_capped_at_the_data_and_bad_input_is_named():
    x = _system(6)
    low = np.concatenate([x[..., :2], np.zeros_like(x[..., :4])], axis=-1)  # two live units
    models = fit_dynamics([x, low], n_delays=1, rank=6)
    assert models.ranks.tolist() == [6, 2]
    assert 0 < dsa(x, low, "wasserstein", n_delays=1, rank=6)
    with pytest.raises(ValueError, match="rank=2.5"):
        fit_dynamics([x], rank=2.5)
    with pytest.raises(ValueError, match="unknown DSA option"):
        fit_dynamics([x], delays=3)
    with pytest.raises(ValueError, match="at least 51 steps"):
        fit_dynamics([x], n_delays=50)
    with pytest.raises(ValueError, match="same trials and steps"):
        fit_dynamics([x, x[:, :40]])
    with pytest.raises(ValueError, match="NaN"):
        fit_dynamics([np.where(x > 0.5, np.nan, x)])
