"""Shared test settings: one BLAS/torch thread (the CI machine has two cores)."""

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch  # noqa: E402

torch.set_num_threads(1)
