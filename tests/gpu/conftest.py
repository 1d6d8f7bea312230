"""CUDA-versus-CPU checks: every test here is marked ``gpu`` and skips without a CUDA device.

The default ``pytest`` run deselects them (``-m 'not ... gpu ...'`` in pyproject.toml); run
them with ``python -m pytest tests/gpu -m gpu`` or ``bash benchmarks/gpu_check.sh``. Each
test builds the same small objects from the same seeds on the CPU and on CUDA, runs the same
few steps, and compares the results. TF32 is off on CUDA (``rnnatlas.runtime.pick_device``),
so float32 means float32 on both devices.
"""

from __future__ import annotations

import os
import sys

import pytest
import torch

# The test modules import their helpers (gpu_helpers.py, beside this file) by name, whatever
# pytest's import mode.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

# Dry run of the test code itself on a machine without a GPU: the "CUDA" side runs on the CPU
# too (so it checks that the tests run, not that CUDA agrees). Never set by gpu_check.sh.
DRY_RUN = os.environ.get("RNNATLAS_GPU_TESTS_DRY_RUN", "") == "1"


@pytest.fixture(scope="session")
def cuda() -> torch.device:
    """The CUDA device (TF32 off, as every stage sets it), or a skip when there is none."""
    if DRY_RUN:
        return torch.device("cpu")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device (torch.cuda.is_available() is False)")
    from rnnatlas.runtime import pick_device

    return pick_device("cuda")

