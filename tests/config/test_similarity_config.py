"""The `similarity` section: bad metric names and values are rejected naming the key."""

import copy

import pytest

from rnnatlas.config import ConfigError, load_yaml, repo_root, validate
from rnnatlas.stages.similarity_plan import chunk_ranges, matrix_networks, tiles

DEFAULT = load_yaml(repo_root() / "config" / "config.yaml")


@pytest.mark.parametrize("key,value,expected", [
    ("metrics", ["svcca", "cca"], r"'similarity\.metrics\[1\]' = 'cca' is not allowed; allowed: 'svcca', 'cka_linear', 'cka_rbf'"),
    ("svcca_variance", 1.5, r"similarity\.svcca_variance' = 1\.5 is out of range"),
    ("block_size", 0, r"similarity\.block_size' = 0 is out of range"),
    ("device", "tpu", r"similarity\.device' = 'tpu' is not allowed"),
])
def test_bad_similarity_values_name_the_key(key, value, expected):
    config = copy.deepcopy(DEFAULT)
    config["similarity"][key] = value
    with pytest.raises(ConfigError, match=expected):
        validate(config)


def test_matrix_order_and_tiles():
    nets = matrix_networks(DEFAULT, "cdi")
    assert len(nets) == 24 + 6 and all(n.trained for n in nets[:24]) and not any(n.trained for n in nets[24:])
    assert chunk_ranges(30, 12) == [(0, 12), (12, 24), (24, 30)]
    assert tiles(3) == [(0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2)]
