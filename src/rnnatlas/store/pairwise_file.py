"""``results/<task>/pairwise/<metric>.nc`` and ``results/<task>/embedding/<metric>.nc`` (netCDF4 via h5netcdf).

Pairwise file: one xarray DataArray ``distance`` (float64, dims ``net_a``, ``net_b``; exactly
symmetric, zero diagonal, never NaN). Both dimensions are indexed by network id and carry the
per-network coordinates parsed from the id, suffixed by the dimension they belong to
(xarray needs distinct names): ``arch_a``, ``activation_a``, ``units_a``, ``l2_a``, ``seed_a``,
``trained_a`` and the same with ``_b``. Optional extra per-network coordinates (e.g. SVCCA's
kept dimension ``k``) follow the same pattern.

Embedding file: a Dataset with ``embedding`` (dims ``net``, ``component``; the 2-D MDS
positions) and the scalar variables ``stress`` (Kruskal's stress-1) and ``raw_stress``
(SMACOF's sum of squared residuals), plus the same per-network coordinates on ``net``
(without suffix: ``arch``, ``activation``, ...).

Both carry attributes ``kind``, ``task``, ``metric``, ``options`` (JSON), ``set_aside`` (JSON
id → reason for networks left out), ``rnnatlas_version`` and ``git_commit``. netCDF attributes
cannot be dicts, hence the JSON strings. Files are written atomically
(:func:`rnnatlas.store.atomic.atomic_path`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import xarray as xr

from ..ids import parse_network_id
from ..runtime import code_version
from .atomic import atomic_path
from .h5io import ForeignFileError

PAIRWISE_KIND = "pairwise"
EMBEDDING_KIND = "embedding"
ENGINE = "h5netcdf"


def network_coords(ids: Sequence[str], task: str) -> dict[str, np.ndarray]:
    """Per-network fields parsed from the ids: arch, activation, units, l2, seed, trained."""
    specs = [parse_network_id(i, task) for i in ids]
    return {
        "arch": np.array([s.arch for s in specs], dtype=str),
        "activation": np.array([s.activation for s in specs], dtype=str),
        "units": np.array([s.units for s in specs], dtype=np.int64),
        "l2": np.array([s.l2 for s in specs], dtype=np.float64),
        "seed": np.array([s.seed for s in specs], dtype=np.int64),
        "trained": np.array([s.trained for s in specs], dtype=bool),
    }


def _attrs(kind: str, task: str, metric: str, options: Mapping[str, Any], set_aside: Mapping[str, str] | None) -> dict:
    return {
        "kind": kind,
        "task": task,
        "metric": metric,
        "options": json.dumps(dict(options), sort_keys=True),
        "set_aside": json.dumps(dict(set_aside or {}), sort_keys=True),
        "n_set_aside": len(set_aside or {}),
        **code_version(),
    }


def _atomic_netcdf(obj: xr.Dataset, path: str | os.PathLike) -> None:
    with atomic_path(path) as tmp:
        obj.to_netcdf(tmp, engine=ENGINE)


def check_distance_matrix(distance: np.ndarray, n: int) -> np.ndarray:
    """The invariants every pairwise file keeps: (n, n), finite, exactly symmetric, zero diagonal."""
    d = np.asarray(distance, dtype=np.float64)
    if d.shape != (n, n):
        raise ValueError(f"distance matrix has shape {d.shape}; expected ({n}, {n}) for {n} networks")
    if not np.isfinite(d).all():
        raise ValueError("distance matrix contains NaN or infinite values")
    if not np.array_equal(d, d.T):
        raise ValueError("distance matrix is not exactly symmetric")
    if np.any(np.diag(d) != 0.0):
        raise ValueError("distance matrix has a non-zero diagonal")
    return d


def write_pairwise(
    path: str | os.PathLike,
    distance: np.ndarray,
    ids: Sequence[str],
    *,
    task: str,
    metric: str,
    options: Mapping[str, Any],
    set_aside: Mapping[str, str] | None = None,
    extra_coords: Mapping[str, Sequence[Any]] | None = None,
) -> xr.DataArray:
    """Write the ``distance`` DataArray (see module doc) and return it."""
    ids = list(ids)
    d = check_distance_matrix(distance, len(ids))
    fields = {**network_coords(ids, task), **{k: np.asarray(v) for k, v in (extra_coords or {}).items()}}
    coords: dict[str, Any] = {"net_a": np.array(ids, dtype=str), "net_b": np.array(ids, dtype=str)}
    for name, values in fields.items():
        if len(values) != len(ids):
            raise ValueError(f"coordinate {name!r} has {len(values)} values for {len(ids)} networks")
        coords[f"{name}_a"] = ("net_a", values)
        coords[f"{name}_b"] = ("net_b", values)
    da = xr.DataArray(d, dims=("net_a", "net_b"), coords=coords, name="distance",
                      attrs=_attrs(PAIRWISE_KIND, task, metric, options, set_aside))
    ds = da.to_dataset()
    ds.attrs = dict(da.attrs)  # global attributes too (a DataArray's own attrs go on its variable)
    _atomic_netcdf(ds, path)
    return da


def _open(path: str | os.PathLike, kind: str) -> xr.Dataset:
    path = Path(path)
    if not path.exists():
        raise ForeignFileError(f"{path}: file not found (expected an rnnatlas {kind!r} file)")
    try:
        with xr.open_dataset(path, engine=ENGINE) as ds:
            ds = ds.load()
    except (OSError, ValueError) as exc:
        raise ForeignFileError(f"{path}: not a readable netCDF file ({exc})") from exc
    if ds.attrs.get("kind") != kind:
        raise ForeignFileError(f"{path}: expected an rnnatlas {kind!r} file, found kind={ds.attrs.get('kind')!r}")
    return ds


def read_pairwise(path: str | os.PathLike) -> xr.DataArray:
    """The ``distance`` DataArray of a pairwise file (loaded into memory)."""
    ds = _open(path, PAIRWISE_KIND)
    if "distance" not in ds:
        raise ForeignFileError(f"{path}: no 'distance' variable")
    da = ds["distance"]
    da.attrs = dict(ds.attrs)
    return da


def write_embedding(
    path: str | os.PathLike,
    positions: np.ndarray,
    ids: Sequence[str],
    *,
    task: str,
    metric: str,
    stress: float,
    raw_stress: float,
    options: Mapping[str, Any],
    set_aside: Mapping[str, str] | None = None,
) -> xr.Dataset:
    """Write the MDS embedding (see module doc) and return it."""
    ids = list(ids)
    pos = np.asarray(positions, dtype=np.float64)
    if pos.ndim != 2 or pos.shape[0] != len(ids):
        raise ValueError(f"positions have shape {pos.shape}; expected ({len(ids)}, n_components)")
    if not np.isfinite(pos).all():
        raise ValueError("embedding positions contain NaN or infinite values")
    coords: dict[str, Any] = {"net": np.array(ids, dtype=str), "component": np.arange(pos.shape[1])}
    coords.update({name: ("net", values) for name, values in network_coords(ids, task).items()})
    ds = xr.Dataset(
        {"embedding": (("net", "component"), pos), "stress": ((), float(stress)), "raw_stress": ((), float(raw_stress))},
        coords=coords,
        attrs=_attrs(EMBEDDING_KIND, task, metric, options, set_aside),
    )
    _atomic_netcdf(ds, path)
    return ds


def read_embedding(path: str | os.PathLike) -> xr.Dataset:
    """The embedding Dataset (loaded into memory)."""
    return _open(path, EMBEDDING_KIND)
