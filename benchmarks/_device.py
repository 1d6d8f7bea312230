"""``--device`` for the benchmarks: the pipeline's own device rule, its errors as one line."""

from __future__ import annotations

import argparse


def add_device_option(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--device", default="cpu", help="cpu (default), cuda, cuda:N or auto (CUDA when present)")


def open_device(ap: argparse.ArgumentParser, name: str):
    """``rnnatlas.runtime.pick_device(name)``; a bad name or a missing GPU exits 2 with one line."""
    from rnnatlas.runtime import pick_device

    try:
        return pick_device(name)
    except (RuntimeError, ValueError) as exc:
        ap.exit(2, f"{ap.prog}: error: {exc}\n")
