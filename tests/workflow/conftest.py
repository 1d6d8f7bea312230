"""One tiny end-to-end run of the whole workflow, shared by every test module that reads it."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from rnnatlas.config import repo_root

ROOT = repo_root()
TINY = Path(__file__).with_name("tiny.yaml")


def snakemake(workdir: Path, *extra: str, timeout: int = 1200) -> subprocess.CompletedProcess:
    """Snakemake on the tiny config in ``workdir`` (2 cores), extra arguments appended."""
    cmd = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "--directory", str(workdir),
           "--configfile", str(TINY), "--cores", "2", *extra]
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> Path:
    """``results/`` of the default target on the tiny config: every study, every rule family.

    While developing, ``RNNATLAS_TINY_DIR=<folder>`` runs (or brings up to date) the tiny run in
    that folder instead of a fresh one, so that a second session of tests takes seconds."""
    reuse = os.environ.get("RNNATLAS_TINY_DIR")
    workdir = Path(reuse) if reuse else tmp_path_factory.mktemp("tiny")
    out = snakemake(workdir)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return workdir / "results"
