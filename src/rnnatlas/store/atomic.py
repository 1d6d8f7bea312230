"""The one atomic writer for every output file (HDF5, netCDF, JSON, CSV, npz, figures).

A file is written under a hidden temporary name in its final folder and renamed into place with
:func:`os.replace` only when writing finished without an exception, so a crash or an error never
leaves a half-written file under a final name, and an existing file keeps its old bytes until the
new one is complete. The temporary is removed whenever the write fails.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any, Callable, Iterator


def temporary_sibling(path: str | os.PathLike) -> Path:
    """``<folder>/.<name>.tmp-<pid><suffix>``: hidden, in the same folder (so the rename stays on
    one filesystem), and ending in the real suffix for libraries that look at the extension."""
    path = Path(path)
    return path.with_name(f".{path.name}.tmp-{os.getpid()}{path.suffix}")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary sibling of ``path`` to write; rename it onto ``path`` if the block ends
    normally, remove it otherwise. The parent folder is created."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_sibling(path)
    try:
        yield tmp
        if not tmp.exists():
            raise FileNotFoundError(f"{path}: nothing was written to its temporary {tmp.name}")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path: str | os.PathLike, data: Any, *, indent: int = 2,
               default: Callable[[Any], Any] | None = None) -> None:
    """Write ``data`` as JSON (sorted keys, ``indent``, trailing newline) to ``path`` atomically."""
    write_text(path, json.dumps(data, indent=indent, sort_keys=True, default=default) + "\n")
