"""Study H's summary: verdicts follow the CI, and the numbers are the population's."""

import numpy as np

from rnnatlas.stages.training_change_summary import task_summary, verdict
from rnnatlas.stats import mean_ci, paired_difference


def test_verdict_reads_the_whole_interval():
    assert verdict({"ci_low": -0.3, "ci_high": -0.1}, -1) == "holds"
    assert verdict({"ci_low": 0.1, "ci_high": 0.3}, -1) == "contradicted"
    assert verdict({"ci_low": -0.1, "ci_high": 0.3}, -1) == "undecided"
    assert verdict({"ci_low": 0.1, "ci_high": 0.3}, +1) == "holds"
    assert verdict({"ci_low": None, "ci_high": None}, +1) == "undecided"


def _network(rng, shift):
    n, s = 6, 4
    arrays = {
        "mean_weight": np.linspace(0.0, -shift, s), "schur_upper_norm": np.linspace(1.0, 1.0 + shift, s),
        "henrici_departure": np.linspace(2.0, 2.0 + shift, s),
        "angles_pre_post": np.sort(rng.uniform(0, 1.5, 3)),
        "condition_angles_trained": rng.uniform(0, 1, 3), "condition_angles_untrained": rng.uniform(0, 1, 3),
        "pi_theta_trained": np.array([1.0, 2.0]) - shift, "pi_theta_untrained": np.array([1.0, 2.0]),
    }
    attrs = {"accuracy": 1.0 - shift / 10, "centrality": "eigenvector", "centrality_eigenvector_spearman": 0.5,
             "centrality_eigenvector_top_leaving": 0.2, **{f"readout_angle_{m}_{s}": 1.0 + (s == "trained") * shift
                                                          for m in ("dca", "pca") for s in ("trained", "untrained")}}
    return {"net_id": f"n{shift}"}, arrays, attrs


def test_task_summary_states_each_claim_over_the_population():
    rng = np.random.default_rng(0)
    shifts = [0.1, 0.2, 0.15, 0.12]
    nets = [_network(rng, s) for s in shifts]
    out = task_summary(nets, {"trained_per_condition": [1.0, 2.0, 1.0, 1.0]})
    assert out["n_networks"] == 4
    change = out["mean_weight"]["change"]
    assert np.isclose(change["mean"], -np.mean(shifts)) and change["n"] == 4
    assert change == paired_difference(np.array([-s for s in shifts]), np.zeros(4))
    assert out["mean_weight"]["fraction_final_negative"] == 1.0
    assert out["claims"]["mean weight decreases with training (note Fig. 4)"] == "holds"
    assert out["claims"]["non-normality (Schur) increases with training (note §5.2: about 16.5 → 17.5)"] == "holds"
    assert out["claims"]["trained PI below untrained at θ = 0 (note Fig. 6)"] == "holds"
    assert out["claims"]["trained PI at least untrained at θ = π/4 (note Fig. 6)"] == "contradicted"
    assert out["claims"]["DCA subspace moves away from the readout (note Fig. 11)"] == "holds"
    assert out["fixed_points"]["trained_per_condition"] == mean_ci(np.array([1.0, 2.0, 1.0, 1.0]))
