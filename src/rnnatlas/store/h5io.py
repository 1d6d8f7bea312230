"""Atomic HDF5 writing and checked reading.

Every file is written through :func:`rnnatlas.store.atomic.atomic_path` (a temporary name in its
final folder, renamed into place), so a crash never leaves a half-written file under a final name. Every file carries a ``kind``
attribute; reading checks it, so a foreign or corrupt file fails with an error that names it.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any, Iterator

import h5py
import numpy as np

from ..errors import InputError
from ..runtime import code_version
from .atomic import atomic_path


class ForeignFileError(InputError):
    """A file that is missing, not HDF5, or not the kind of rnnatlas file expected."""


@contextlib.contextmanager
def atomic_h5(path: str | os.PathLike, kind: str, config: dict[str, Any] | None = None) -> Iterator[h5py.File]:
    """Open ``path`` for writing via a temporary sibling; rename into place only on success."""
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        f.attrs["kind"] = kind
        for key, value in code_version().items():
            f.attrs[key] = value
        if config is not None:
            f.attrs["config"] = json.dumps(config, sort_keys=True)
        yield f


def open_h5(path: str | os.PathLike, kind: str) -> h5py.File:
    """Open an rnnatlas file for reading; raise ForeignFileError naming the file if it is wrong."""
    path = Path(path)
    if not path.exists():
        raise ForeignFileError(f"{path}: file not found (expected an rnnatlas {kind!r} file)")
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise ForeignFileError(f"{path}: not a readable HDF5 file ({exc})") from exc
    found = f.attrs.get("kind")
    if found != kind:
        f.close()
        raise ForeignFileError(f"{path}: expected an rnnatlas {kind!r} file, found kind={found!r}")
    return f


def read_config(f: h5py.File) -> dict[str, Any]:
    """The JSON configuration attribute of an open file, checked against the file's place."""
    config = json.loads(f.attrs["config"])
    check_place(f.filename, config)
    return config


# folder kind (the parent of a file's folder) → the config key its folder is named after, and
# how a message names that value
PLACES = {"nets": ("net_id", "network {}"), "toy2d": ("activation", "the {!r} population")}


def check_place(path: str | os.PathLike, config: dict[str, Any]) -> None:
    """A file in a named folder (``…/nets/<net id>/<name>``, ``…/toy2d/<activation>/<name>``)
    must hold what its folder names: a file copied or moved from a sibling folder would
    otherwise be read as that one (listed twice in a matrix, the other not at all). Files
    elsewhere are not checked; the stages check the task of what they read."""
    path = Path(path)
    if path.parent.parent.name not in PLACES:
        return
    key, name = PLACES[path.parent.parent.name]
    found, want = config.get(key), path.parent.name
    if found is not None and found != want:
        raise ForeignFileError(
            f"{path}: holds {name.format(found)}, but its folder stands for {name.format(want)} "
            "(copied or moved from another folder?); delete it and run the same command to rebuild it")


_JSON_ATTRS = "json_attrs"  # names of the attributes stored as JSON (dicts), decoded on reading


def write_arrays(path: str | os.PathLike, kind: str, config: dict[str, Any], arrays: dict[str, Any],
                 attrs: dict[str, Any]) -> None:
    """An rnnatlas file of flat datasets (strings stored as bytes) and scalar or dict attributes."""
    with atomic_h5(path, kind, config) as f:
        for name, value in arrays.items():
            value = np.asarray(value)
            if value.dtype.kind in "UO":
                f.create_dataset(name, data=value.astype("S"))
            else:
                # gzip level 1: nearly the ratio of the default level 4 at half the time
                # (fixed-point eigenvectors of 256-unit networks: 12x smaller either way).
                f.create_dataset(name, data=value, compression="gzip" if value.size > 4096 else None,
                                 compression_opts=1 if value.size > 4096 else None)
        encoded = sorted(key for key, value in attrs.items() if isinstance(value, dict))
        for key, value in attrs.items():
            f.attrs[key] = json.dumps(value, sort_keys=True) if isinstance(value, dict) else value
        f.attrs[_JSON_ATTRS] = json.dumps(encoded)


def read_arrays(path: str | os.PathLike, kind: str, required: tuple[str, ...] = (),
                skip: frozenset[str] = frozenset()) -> tuple[dict, dict[str, np.ndarray], dict[str, Any]]:
    """(config, datasets, attributes) of a file written by :func:`write_arrays`."""
    with open_h5(path, kind) as f:
        missing = [name for name in required if name not in f]
        if missing:
            raise ForeignFileError(f"{path}: incomplete {kind!r} file (missing {missing})")
        arrays = {}
        for name, ds in f.items():
            if name not in skip:
                value = ds[()]
                arrays[name] = value.astype(str) if value.dtype.kind == "S" else value
        attrs = {k: (v.item() if isinstance(v, np.generic) else v) for k, v in f.attrs.items() if k != _JSON_ATTRS}
        for key in set(json.loads(f.attrs.get(_JSON_ATTRS, "[]"))) | {"options"}:
            attrs[key] = json.loads(attrs.get(key, "{}"))
        return read_config(f), arrays, attrs
