"""Read every section's files into the atlas's data: per section the network ids, their fields,
the 2-D views (one per embedding, plus any a population brings), the distance matrices
(quantised) and one card per network."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np

from ..errors import InputError
from .readers import FILE_READERS, POPULATIONS, Part, scalar
from .sections import AtlasSection

GRAPH_LABEL = "fixed-point graph"
HOVER_FIELDS = ("final_val_loss", "final_loss", "n_fixed_points", "n_stable", "n_saddles", "solution_class",
                "solution_type")
QUANT_LEVELS = 65535  # distances are sent as uint16 fractions of the matrix's largest distance


def metric_label(metric: str) -> str:
    from ..similarity.names import REGISTRY

    return REGISTRY[metric].label if metric in REGISTRY else GRAPH_LABEL if metric == "graph" else metric


def field_kinds(fields: dict[str, list]) -> dict[str, str]:
    """``number`` for fields whose values are all numbers (bools excluded), else ``category``."""
    kinds = {}
    for name, values in fields.items():
        present = [v for v in values if v is not None]
        numeric = present and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present)
        kinds[name] = "number" if numeric else "category"
    return kinds


def encode_matrix(distance: np.ndarray) -> dict:
    """A symmetric distance matrix as base64 uint16 (little-endian) fractions of its maximum:
    2 bytes per entry, resolution max/65535 (the page shows 3 digits)."""
    d = np.asarray(distance, dtype=np.float64)
    top = float(d.max()) if d.size else 0.0
    q = np.zeros(d.shape, np.uint16) if top <= 0 else np.round(d / top * QUANT_LEVELS).astype("<u2")
    return {"n": int(d.shape[0]), "scale": top / QUANT_LEVELS if top > 0 else 0.0,
            "data": base64.b64encode(q.tobytes()).decode("ascii")}


def decode_matrix(encoded: dict) -> np.ndarray:
    """Inverse of :func:`encode_matrix` (what the page does in JavaScript)."""
    n = encoded["n"]
    q = np.frombuffer(base64.b64decode(encoded["data"]), dtype="<u2").reshape(n, n)
    return q.astype(np.float64) * encoded["scale"]


def _index(ids: list[str], wanted, where: str) -> list[int]:
    position = {net: i for i, net in enumerate(ids)}
    missing = [str(n) for n in wanted if str(n) not in position]
    if missing:
        raise InputError(f"{where}: networks {missing[:3]} are not among the {len(ids)} networks this config plans "
                         "for the section (a file of another population?)")
    return [position[str(n)] for n in wanted]


def _locate(root: Path, planned: str) -> str:
    """A planned path (``results/…``, relative to the workflow's folder) under the results folder
    ``root`` the stage was given."""
    return str(root.parent / planned)


def network_section(section: AtlasSection, root: Path, options: dict) -> tuple[dict, dict[str, list[Part]]]:
    """A section of per-network files: fields, views, matrices and cards."""
    from ..store.pairwise_file import read_embedding, read_pairwise

    ids = list(section.networks)
    rows: list[dict] = []
    cards: dict[str, list[Part]] = {}
    for net, names in section.networks.items():
        paths = {name: _locate(root, path) for name, path in section.network_paths(net).items()}
        fields: dict = {}
        parts: list[Part] = []
        for name in names:
            if name in FILE_READERS:
                f, p = FILE_READERS.get(name)(paths, options)
                fields.update(f)
                parts += p
        rows.append(fields)
        cards[net] = parts
    names = list(dict.fromkeys(k for row in rows for k in row))
    fields = {name: [row.get(name) for row in rows] for name in names}
    views = []
    for metric, path in section.embeddings.items():
        ds = read_embedding(_locate(root, path))
        members = _index(ids, ds["net"].values, path)
        xy = ds["embedding"].values
        views.append({"name": metric, "label": f"{metric_label(metric)} (MDS)", "members": members,
                      "x": [scalar(float(v)) for v in xy[:, 0]], "y": [scalar(float(v)) for v in xy[:, 1]],
                      "x_label": "MDS 1", "y_label": "MDS 2", "stress": scalar(float(ds["stress"])),
                      "set_aside": _set_aside(ds.attrs)})
    matrices = {}
    for metric, path in section.distances.items():
        da = read_pairwise(_locate(root, path))
        matrices[metric] = {"label": metric_label(metric), "members": _index(ids, da["net_a"].values, path),
                            **encode_matrix(da.values)}
    return {"ids": ids, "fields": fields, "views": views, "matrices": matrices}, cards


def _set_aside(attrs: dict) -> dict:
    try:
        return json.loads(attrs.get("set_aside", "{}"))
    except (TypeError, ValueError):
        return {}


def population_section(section: AtlasSection, root: Path, options: dict) -> tuple[dict, dict[str, list[Part]]]:
    path = section.population["path"]
    population = POPULATIONS.get(section.population["reader"])(_locate(root, path), options)
    return {"ids": population.ids, "fields": population.fields, "views": population.views, "matrices": {}}, population.cards


def collect(sections: list[AtlasSection], results: str | Path, options: dict) -> tuple[list[dict], dict[str, dict]]:
    """(sections' data, cards per section key). ``results`` is the results folder; section
    paths are relative to its parent (they start with ``results/``)."""
    root = Path(results)
    data, cards = [], {}
    for section in sections:
        build = population_section if section.population else network_section
        body, section_cards = build(section, root, options)
        kinds = field_kinds(body["fields"])
        body.update({
            "key": section.key, "study": section.study, "study_title": section.study_title, "task": section.task,
            "label": section.label or section.task, "kinds": kinds,
            "hover": [f for f in HOVER_FIELDS if f in body["fields"]],
        })
        data.append(body)
        cards[section.key] = section_cards
    return data, cards
