"""The rate RNN's initialisation ``rate_gaussian`` and initialisation options."""

import math

import numpy as np
import pytest
import torch

from rnnatlas.models import RNNPopulation
from rnnatlas.models.init import check_init_options, rate_gaussian

N = 512


def _pop(k=2, n=N, arch="vanilla", seeds=(3, 4), **options):
    pop = RNNPopulation(arch, "relu", k, 2, n, 1, dtype=torch.float64)
    return pop.initialize(list(seeds), scheme="rate_gaussian", options={"input_std": 0.5, **options})


def _off_diagonal(w):
    return w[~torch.eye(w.shape[-1], dtype=torch.bool)]


@pytest.mark.parametrize("recurrent,std", [("variance_rsqrt_n", N ** -0.25), ("std_rsqrt_n", N ** -0.5), (None, N ** -0.25)])
def test_statistics_match_the_chosen_scheme(recurrent, std):
    options = {} if recurrent is None else {"recurrent": recurrent}  # default: the note as written
    pop = _pop(**options)
    p = {k: v.detach() for k, v in pop.params.items()}
    for k in range(2):
        w = p["weight_hh"][k]
        assert (w.diagonal() == 0).all() and not torch.signbit(w.diagonal()).any()
        off = _off_diagonal(w)
        assert abs(float(off.std()) / std - 1) < 0.02 and abs(float(off.mean())) < 3 * std / math.sqrt(off.numel())
        assert abs(float(p["weight_out"][k].std()) / std - 1) < 0.15  # 512 draws
    # input weights and bias: N(0, 0.5²), pooled over the population (2 × 1024 and 2 × 512 draws)
    assert abs(float(p["weight_ih"].std()) / 0.5 - 1) < 0.05 and abs(float(p["bias_ih"].std()) / 0.5 - 1) < 0.06
    assert (p["bias_hh"] == 0).all() and (p["bias_out"] == 0).all()


def test_seeded_per_network_and_reproducible():
    a, b = _pop(seeds=(3, 4)), _pop(seeds=(3, 4))
    alone = _pop(k=1, seeds=(4,))
    other = _pop(seeds=(5, 6))
    for name in a.params:
        assert torch.equal(a.params[name], b.params[name])
        assert torch.equal(a.params[name][1], alone.params[name][0])  # independent of pack-mates
    assert not torch.equal(a.params["weight_hh"], other.params["weight_hh"])
    assert not torch.equal(a.params["weight_hh"][0], a.params["weight_hh"][1])


def test_float32_population_gets_the_float64_draws_rounded():
    pop32 = RNNPopulation("vanilla", "relu", 1, 2, 16, 1).initialize([9], "rate_gaussian", {"input_std": 1 / math.sqrt(3)})
    values = rate_gaussian(pop32, 9, input_std=1 / math.sqrt(3))
    for name, p in pop32.params.items():
        assert torch.equal(p[0], values[name].float())


def test_gated_cells_get_a_zero_diagonal_in_every_block():
    pop = _pop(k=1, n=8, arch="gru", seeds=(1,))
    w = pop.params["weight_hh"].detach()[0]
    for g in range(3):
        assert (w[g * 8 : (g + 1) * 8].diagonal() == 0).all()
    assert (pop.params["bias_hh"] == 0).all()


@pytest.mark.parametrize("options,match", [
    ({}, r"missing required option\(s\) \['input_std'\]; its options: input_std \(required\), recurrent"),
    ({"input_std": 0.5, "gain": 2}, r"unknown option\(s\) \['gain'\]"),
    ({"input_std": 0.5, "recurrent": "xavier"}, r"'recurrent' = 'xavier' is not allowed; allowed: 'variance_rsqrt_n', 'std_rsqrt_n'"),
    ({"input_std": -1.0}, r"'input_std' must be a finite number > 0"),
    ({"input_std": True}, r"'input_std' must be a finite number > 0"),
    ({"input_std": float("inf")}, r"'input_std' must be a finite number > 0"),
])
def test_bad_options_are_named(options, match):
    with pytest.raises(ValueError, match=match):
        check_init_options("rate_gaussian", options)
    with pytest.raises(ValueError, match=match):
        RNNPopulation("vanilla", "relu", 1, 2, 4, 1).initialize([0], "rate_gaussian", options)


def test_uniform_takes_no_options():
    with pytest.raises(ValueError, match=r"initialisation 'uniform': unknown option\(s\) \['input_std'\]; its options: none"):
        RNNPopulation("vanilla", "relu", 1, 2, 4, 1).initialize([0], options={"input_std": 0.5})
    check_init_options("uniform", {})
    with pytest.raises(ValueError, match="unknown initialisation"):
        check_init_options("nope", {})


def test_the_note_at_its_sizes():
    """Perception (N = 128, input std 1/√3) and decision (N = 256, 1/2), as study H sets them."""
    for n, input_std in ((128, 1 / math.sqrt(3)), (256, 0.5)):
        pop = RNNPopulation("vanilla", "relu", 1, 2, n, 1).initialize([0], "rate_gaussian", {"input_std": input_std})
        w = pop.params["weight_hh"].detach()[0].double()
        assert abs(float(_off_diagonal(w).var()) * math.sqrt(n) - 1) < 0.05  # variance 1/√N
        np.testing.assert_allclose(float(pop.params["weight_ih"].detach().std()), input_std, rtol=0.5)  # 2 draws per unit
