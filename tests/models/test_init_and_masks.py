"""Initialisation schemes and structural masks by name."""

import math

import pytest
import torch

from rnnatlas.models import CELLS, INITIALISATIONS, MASKS, RNNPopulation, register_initialisation, structural_masks
from rnnatlas.models.init import get_initialisation
from rnnatlas.models.masks import apply_masks


def _reference_uniform(pop, seeds):
    """RNNPopulation.initialize as it was written before schemes had names."""
    bound = 1.0 / math.sqrt(pop.n_units)
    with torch.no_grad():
        for k, seed in enumerate(seeds):
            gen = torch.Generator().manual_seed(int(seed))
            for name, p in pop.params.items():
                values = torch.rand(p.shape[1:], generator=gen, dtype=torch.float64) * 2 * bound - bound
                if name == "bias_out":
                    values.zero_()
                p[k].copy_(values.to(p.dtype))
    return pop


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("arch", list(CELLS))
def test_uniform_is_the_old_initialisation_bit_for_bit(arch, dtype):
    seeds = [3, 2**62 + 5, 0]
    ours = RNNPopulation(arch, "tanh", 3, 4, 9, 2, dtype=dtype).initialize(seeds)
    default = RNNPopulation(arch, "tanh", 3, 4, 9, 2, dtype=dtype).initialize(seeds, scheme="uniform")
    ref = _reference_uniform(RNNPopulation(arch, "tanh", 3, 4, 9, 2, dtype=dtype), seeds)
    for name in ref.params:
        assert torch.equal(ours.params[name], ref.params[name]), name
        assert torch.equal(default.params[name], ref.params[name]), name
    assert (ours.params["bias_out"] == 0).all()


def test_unknown_initialisation_names_the_allowed_ones():
    with pytest.raises(ValueError, match=r"unknown initialisation 'nope'; allowed: .*uniform"):
        RNNPopulation("gru", "tanh", 1, 2, 3, 1).initialize([0], scheme="nope")
    with pytest.raises(ValueError, match="uniform"):
        get_initialisation("")


def test_a_registered_scheme_is_used_per_network(monkeypatch):
    monkeypatch.setattr("rnnatlas.models.init.INITIALISATIONS", dict(INITIALISATIONS))

    def constant(pop, seed):
        return {name: torch.full(p.shape[1:], float(seed)) for name, p in pop.params.items()}

    register_initialisation("constant", constant)
    register_initialisation("constant", constant)  # the same scheme again is harmless
    with pytest.raises(ValueError, match="already registered"):
        register_initialisation("constant", lambda pop, seed: {})
    pop = RNNPopulation("vanilla", "tanh", 2, 2, 3, 1).initialize([1, 2], scheme="constant")
    assert (pop.params["weight_hh"][0] == 1).all() and (pop.params["weight_hh"][1] == 2).all()
    register_initialisation("partial", lambda pop, seed: {"weight_hh": torch.zeros(3, 3)})
    with pytest.raises(ValueError, match="no values for"):
        pop.initialize([1, 2], scheme="partial")


@pytest.mark.parametrize("arch", list(CELLS))
def test_zero_diagonal_masks_every_gate_block_of_w_hh(arch):
    pop = RNNPopulation(arch, "tanh", 2, 3, 4, 1).initialize([0, 1])
    masks = structural_masks("zero_diagonal", pop)
    assert set(masks) == {"weight_hh"}
    mask = masks["weight_hh"]
    assert mask.shape == pop.params["weight_hh"].shape
    gates = mask.shape[1] // 4
    for g in range(gates):
        block = mask[:, g * 4 : (g + 1) * 4]
        assert torch.equal(block, (1 - torch.eye(4)).expand(2, 4, 4))
    apply_masks(pop, masks)
    w = pop.params["weight_hh"].detach()
    for g in range(gates):
        diag = w[:, g * 4 : (g + 1) * 4].diagonal(dim1=1, dim2=2)
        assert (diag == 0).all() and not torch.signbit(diag).any()  # +0, exactly
    assert (w[mask == 1] != 0).all()


def test_no_mask_and_unknown_masks():
    pop = RNNPopulation("vanilla", "tanh", 1, 2, 3, 1)
    assert structural_masks("", pop) == {}
    assert "" in MASKS and "zero_diagonal" in MASKS
    with pytest.raises(ValueError, match=r"unknown mask 'diag'; allowed: .*'zero_diagonal'"):
        structural_masks("diag", pop)
