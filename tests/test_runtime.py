"""The device rule every stage and benchmark shares."""

import pytest
import torch

from rnnatlas.runtime import pick_device


def test_pick_device_names_what_is_allowed():
    assert pick_device("cpu") == torch.device("cpu")
    assert pick_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    for bad in ("tpu", "cuda:x", "gpu", ""):
        with pytest.raises(ValueError, match="allowed: cpu, auto, cuda, cuda:N"):
            pick_device(bad)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error without a GPU")
def test_cuda_without_a_gpu_is_an_error():
    for name in ("cuda", "cuda:0"):
        with pytest.raises(RuntimeError, match="no CUDA device is available"):
            pick_device(name)
