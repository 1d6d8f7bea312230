"""Stage ``atlas``: ``results/atlas/index.html``, the page where every network is a point.

Reads the sections the workflow planned (every enabled study's ``atlas_sections``), their
per-network files, embeddings and distance matrices, and writes the page (and, for large runs,
the card and matrix files beside it). Reads result files only (torch only to integrate study S's
2-D networks with their own RK4); needs no GPU.
"""

from __future__ import annotations

import datetime

from ..atlas.collect import collect
from ..atlas.page import DEFAULT_OPTIONS as PAGE_OPTIONS
from ..atlas.page import write_atlas
from ..atlas.readers import DEFAULT_OPTIONS as READER_OPTIONS
from ..atlas.sections import AtlasSection
from ..errors import InputError
from ..runtime import code_version
from .common import log

DEFAULT_OPTIONS = {**PAGE_OPTIONS, **READER_OPTIONS}
MINIMA = {"inline_max_networks": 0, "trajectory_points": 2, "curve_points": 2}  # others: 1


def resolve_options(options: dict) -> dict:
    """The config's ``atlas`` section over the defaults; unknown keys and counts below 1 are errors."""
    unknown = sorted(set(options) - set(DEFAULT_OPTIONS) - {"enabled"})
    if unknown:
        raise InputError(f"atlas options {unknown} are unknown; allowed: {sorted(DEFAULT_OPTIONS)}")
    out = {**DEFAULT_OPTIONS, **{k: v for k, v in options.items() if k != "enabled"}}
    bad = [k for k, v in out.items() if isinstance(v, bool) or not isinstance(v, int) or v < MINIMA.get(k, 1)]
    if bad:
        raise InputError(f"atlas options {bad} = {[out[k] for k in bad]}: allowed integers of at least "
                         f"{[MINIMA.get(k, 1) for k in bad]}")
    return out


def run(sections: list[dict], results: str, options: dict, out_dir: str) -> None:
    opts = resolve_options(options)
    planned = [AtlasSection.from_dict(s) for s in sections]
    data, cards = collect(planned, results, opts)
    version = code_version()
    run_info = {"created": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                "commit": version["git_commit"], "version": version["rnnatlas_version"],
                "networks": sum(len(d["ids"]) for d in data)}
    written = write_atlas(planned, data, cards, run_info, opts, out_dir)
    size = sum(p.stat().st_size for p in written)
    log.info("atlas: %d sections, %d networks, %d files, %.1f MB", len(data), run_info["networks"], len(written), size / 2**20)
