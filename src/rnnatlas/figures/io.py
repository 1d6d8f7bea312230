"""Reading result files for figures, and saving figures; nothing here trains or simulates."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rnnatlas.store.atomic import atomic_path
from rnnatlas.store.pairwise_file import network_coords

PathLike = str | os.PathLike


@dataclass
class NetInfo:
    """One network of a task, as the training summary (or its id) describes it."""
    net_id: str
    arch: str
    activation: str
    seed: int
    trained: bool
    accepted: bool
    failure_reason: str = ""
    final_val_loss: float = float("nan")


@dataclass
class FigureCounts:
    """What a figure shows, for its caption: networks per panel and those set aside, with why."""
    figure: str
    shown: dict[str, int] = field(default_factory=dict)
    set_aside: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"figure": self.figure, "shown": dict(self.shown), "set_aside": dict(self.set_aside),
                "n_set_aside": len(self.set_aside), "notes": list(self.notes), "files": list(self.files)}


def net_dir(task_dir: PathLike, net_id: str) -> Path:
    return Path(task_dir) / "nets" / net_id


def read_networks(task_dir: PathLike) -> list[NetInfo]:
    """Networks of a task from ``training_summary.csv`` (falls back to the ``nets`` folder)."""
    import pandas as pd
    task_dir = Path(task_dir)
    csv = task_dir / "training_summary.csv"
    if csv.exists():
        df = pd.read_csv(csv, keep_default_na=False)
        out = []
        for r in df.itertuples(index=False):
            loss = pd.to_numeric(r.final_val_loss, errors="coerce")
            out.append(NetInfo(str(r.net_id), str(r.arch), str(r.activation), int(r.seed),
                               _as_bool(r.trained), _as_bool(r.accepted), str(r.failure_reason),
                               float(loss) if loss == loss else float("nan")))
        return out
    ids = sorted(p.name for p in (task_dir / "nets").iterdir()) if (task_dir / "nets").is_dir() else []
    return [_from_id(i, task_dir.name) for i in ids]


def _as_bool(v: Any) -> bool:
    return str(v).strip().lower() in ("true", "1", "yes")


def _from_id(net_id: str, task: str) -> NetInfo:
    c = network_coords([net_id], task)
    return NetInfo(net_id, str(c["arch"][0]), str(c["activation"][0]), int(c["seed"][0]),
                   bool(c["trained"][0]), False)


def not_accepted_reasons(nets: list[NetInfo]) -> dict[str, str]:
    """Trained networks left out because they were not accepted, with the reason."""
    out = {}
    for n in nets:
        if n.trained and not n.accepted:
            out[n.net_id] = (n.failure_reason or f"not accepted (final validation loss {n.final_val_loss:.3g} "
                             "above the threshold)")
    return out


def read_json(path: PathLike) -> dict | None:
    path = Path(path)
    if not path.exists():
        return None
    with open(path) as f:
        return json.load(f)


def dynamics_summary(task_dir: PathLike) -> dict | None:
    return read_json(Path(task_dir) / "dynamics_summary.json")


def node_count_set_aside(task_dir: PathLike) -> dict[str, str]:
    """Networks set aside by the dynamics summary for a non-modal node count."""
    d = dynamics_summary(task_dir) or {}
    modal = d.get("modal_node_count")
    nodes = {n["net_id"]: n.get("n_nodes") for n in d.get("networks", [])}
    return {i: f"{nodes.get(i)} fixed-point graph nodes (modal count {modal})" for i in d.get("set_aside", [])}


def load_embedding(task_dir: PathLike, metric: str):
    """The embedding Dataset of ``results/<task>/embedding/<metric>.nc`` or None."""
    from rnnatlas.store.pairwise_file import read_embedding
    p = Path(task_dir) / "embedding" / f"{metric}.nc"
    return read_embedding(p) if p.exists() else None


def load_pairwise(task_dir: PathLike, metric: str):
    """The distance DataArray of ``results/<task>/pairwise/<metric>.nc`` or None."""
    from rnnatlas.store.pairwise_file import read_pairwise
    p = Path(task_dir) / "pairwise" / f"{metric}.nc"
    return read_pairwise(p) if p.exists() else None


def set_aside_attr(ds) -> dict[str, str]:
    """The ``set_aside`` attribute (JSON) of a pairwise/embedding file as a dict."""
    raw = ds.attrs.get("set_aside", "{}") if ds is not None else "{}"
    try:
        return dict(json.loads(raw)) if isinstance(raw, str) else dict(raw)
    except (TypeError, ValueError):
        return {}


def read_probe_safe(task_dir: PathLike, net_id: str):
    """(hidden [trials, T, N], outputs [trials, T, O]) of a network's probe file, or None."""
    from rnnatlas.store.probe_file import read_probe
    p = net_dir(task_dir, net_id) / "probe.h5"
    if not p.exists():
        return None
    try:
        _, hidden, outputs = read_probe(p)
    except Exception:  # noqa: BLE001 - a broken file is drawn as missing, never a crash
        return None
    return np.asarray(hidden), np.asarray(outputs)


def read_graph_safe(task_dir: PathLike, net_id: str):
    from rnnatlas.store.graph_file import read_graph
    p = net_dir(task_dir, net_id) / "graph.h5"
    if not p.exists():
        return None
    try:
        return read_graph(p)
    except Exception:  # noqa: BLE001
        return None


def read_task_data_safe(task_dir: PathLike):
    from rnnatlas.store.task_data import read_task_data
    p = Path(task_dir) / "task_data.h5"
    if not p.exists():
        return None
    try:
        return read_task_data(p)
    except Exception:  # noqa: BLE001
        return None


def pca(x: np.ndarray, n: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """(mean, components [n, D]) of samples x [M, D]; rows of components are unit vectors."""
    x = np.asarray(x, dtype=np.float64)
    mean = x.mean(axis=0)
    _, _, vt = np.linalg.svd(x - mean, full_matrices=False)
    comps = vt[:n]
    if comps.shape[0] < n:
        comps = np.vstack([comps, np.zeros((n - comps.shape[0], x.shape[1]))])
    return mean, comps


def project(x: np.ndarray, mean: np.ndarray, comps: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)[..., : mean.shape[0]]
    return (x - mean) @ comps.T


def save_figure(fig, stem: PathLike) -> list[str]:
    """Write ``<stem>.pdf`` and ``<stem>.png`` atomically (folders created) and close the figure."""
    import matplotlib.pyplot as plt
    stem = Path(stem)
    if stem.suffix in (".pdf", ".png"):
        stem = stem.with_suffix("")
    out = []
    try:
        for ext in ("pdf", "png"):
            p = stem.with_name(stem.name + "." + ext)
            with atomic_path(p) as tmp:
                fig.savefig(tmp, bbox_inches="tight")
            out.append(str(p))
    finally:
        plt.close(fig)
    return out
