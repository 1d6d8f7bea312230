"""Process-level settings every command shares: threads, device, seeds, code version."""

from __future__ import annotations

import functools
import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

_THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS")


def set_threads(n: int) -> None:
    """Limit BLAS and torch to ``n`` threads (oversubscription on small machines is brutal).

    Environment variables only take effect for libraries not yet loaded, so the command line
    calls this before importing numpy or torch; torch reads ``OMP_NUM_THREADS`` for its pool
    when it is first imported, so a stage that never needs torch does not pay for importing it
    here (an already imported torch is set directly). It also turns on PyTorch's huge-page
    allocation for large CPU tensors (``THP_MEM_ALLOC_ENABLE``).
    """
    n = max(1, int(n))
    for var in _THREAD_VARS:
        os.environ[var] = str(n)
    # Large CPU tensors on transparent huge pages: a training step allocates hundreds of MB of
    # fresh memory, and first-touch page faults made it ~40% slower on small VMs (measured).
    os.environ.setdefault("THP_MEM_ALLOC_ENABLE", "1")
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(n)
        try:
            torch.set_num_interop_threads(n)
        except RuntimeError:  # already set once in this process
            pass


DEVICE_NAMES = re.compile(r"cpu|auto|cuda(:\d+)?")


def pick_device(name: str = "auto") -> "torch.device":
    """``auto`` picks CUDA when present, else CPU; ``cuda`` without a GPU, or ``cuda:N`` beyond
    the visible GPUs, is an error (``cuda:N`` also becomes the current device, so tensors made
    with ``device="cuda"`` land there)."""
    import torch

    if not DEVICE_NAMES.fullmatch(name):
        raise ValueError(f"unknown device {name!r}; allowed: cpu, auto, cuda, cuda:N")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(f"device {name!r} requested but no CUDA device is available; use 'auto' or 'cpu'")
    device = torch.device(name)
    if device.type == "cuda":
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise RuntimeError(f"device {name!r} requested but only {torch.cuda.device_count()} CUDA device(s) "
                               "are visible")
        if device.index is not None:
            torch.cuda.set_device(device)
        # Analyses compare numbers across devices: keep TF32 off so float32 means float32.
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    return device


def stable_seed(*parts: object) -> int:
    """A 63-bit seed derived from the given parts; identical across runs, machines and Python versions."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)


@functools.lru_cache(maxsize=1)
def git_commit() -> str:
    """The git commit of the source tree (``RNNATLAS_GIT_COMMIT`` overrides), or 'unknown'."""
    if os.environ.get("RNNATLAS_GIT_COMMIT"):
        return os.environ["RNNATLAS_GIT_COMMIT"]
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "-C", str(here), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10
        )
        commit = out.stdout.strip()
        if out.returncode != 0 or not commit:
            return "unknown"
        dirty = subprocess.run(
            ["git", "-C", str(here), "status", "--porcelain", "--untracked-files=no", "--", str(here)],
            capture_output=True, text=True, timeout=10,
        ).stdout.strip()
        return commit + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def code_version() -> dict[str, str]:
    """Package version and git commit, recorded in every output file."""
    from . import __version__

    return {"rnnatlas_version": __version__, "git_commit": git_commit()}
