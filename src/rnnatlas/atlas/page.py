"""Write the atlas: ``results/atlas/index.html``, one page with Plotly's JavaScript, the page's
code and the run's data inside, readable from the disk with no server and no network.

Small runs (at most ``atlas.inline_max_networks`` networks in per-network sections) carry every
card and distance matrix in the page. Larger ones write them beside it, as JavaScript files the
page loads when a card or a block is asked for (``cards/<section>/<chunk>.js``,
``matrices/<section>/<metric>.js``): a ``<script>`` element may load a local file where
``fetch`` may not, so lazy loading works from ``file://`` too. Which files exist is known when
the workflow is planned (:func:`atlas_files`), so each is a rule output and a deleted one is
rebuilt.
"""

from __future__ import annotations

import json
import math
from importlib import resources
from pathlib import Path

from ..store.atomic import write_text
from .sections import AtlasSection

DEFAULT_OPTIONS = {"inline_max_networks": 500, "cards_per_file": 100}


def inline(sections: list[AtlasSection], options: dict) -> bool:
    """Cards and matrices inside the page (True) or in files beside it."""
    return sum(s.size for s in sections) <= options["inline_max_networks"]


def card_chunks(section: AtlasSection, options: dict) -> int:
    """Card files of a section in the files layout (a population's size is unknown when the
    workflow is planned: its cards go in one file)."""
    return 1 if section.population else max(1, math.ceil(section.size / options["cards_per_file"]))


def atlas_files(sections: list[AtlasSection], options: dict, folder: str = "results/atlas") -> list[str]:
    """Every file the atlas writes (index first), the same list at planning time and when written."""
    files = [f"{folder}/index.html"]
    if inline(sections, options):
        return files
    for s in sections:
        files += [f"{folder}/cards/{s.key}/{i:03d}.js" for i in range(card_chunks(s, options))]
        files += [f"{folder}/matrices/{s.key}/{m}.js" for m in s.distances]
    return files


def _js(value) -> str:
    """JSON safe inside a <script> element."""
    return json.dumps(value, separators=(",", ":"), allow_nan=False).replace("</", "<\\/")


def _static(name: str) -> str:
    return resources.files(__package__).joinpath("static", name).read_text(encoding="utf-8")


def plotly_js() -> str:
    """Plotly's bundled JavaScript (from the ``plotly`` package: its version is pinned there)."""
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


def write_atlas(sections: list[AtlasSection], data: list[dict], cards: dict[str, dict], run: dict,
                options: dict, out_dir: str | Path) -> list[Path]:
    """Write the page (and, in the files layout, the card and matrix files); returns the paths."""
    out = Path(out_dir)
    layout_inline = inline(sections, options)
    written = []
    for section, body in zip(sections, data):
        key = section.key
        ids = body["ids"]
        if layout_inline:
            body["cards"] = "inline"
            body["card_chunk"] = None
            for m in body["matrices"].values():
                m["file"] = None
            continue
        per = len(ids) if section.population else options["cards_per_file"]
        chunks = card_chunks(section, options)
        chunk_of = [min(i // max(per, 1), chunks - 1) for i in range(len(ids))]
        body["cards"] = "files"
        body["card_chunk"] = chunk_of
        for c in range(chunks):
            members = {net: cards[key][net] for net, k in zip(ids, chunk_of) if k == c}
            path = out / "cards" / key / f"{c:03d}.js"
            write_text(path, f"RNNATLAS.addCards({_js(key)},{_js(members)});\n")
            written.append(path)
        for metric, matrix in list(body["matrices"].items()):
            path = out / "matrices" / key / f"{metric}.js"
            write_text(path, f"RNNATLAS.addMatrix({_js(key)},{_js(metric)},{_js(matrix)});\n")
            written.append(path)
            body["matrices"][metric] = {"label": matrix["label"], "file": f"matrices/{key}/{metric}.js"}
    inline_cards = cards if layout_inline else {}
    page = _static("template.html")
    page = page.replace("/*PLOTLY*/", plotly_js().replace("</script", "<\\/script"))
    page = page.replace("/*STYLE*/", _static("atlas.css"))
    page = page.replace("/*DATA*/", f"window.RNNATLAS_DATA={_js({'run': run, 'sections': data})};"
                                    f"window.RNNATLAS_CARDS={_js(inline_cards)};")
    page = page.replace("/*APP*/", _static("app.js"))
    index = out / "index.html"
    write_text(index, page)
    return [index, *written]


def read_page(index: str | Path) -> tuple[dict, dict]:
    """(the page's data, its inline cards) read back from an ``index.html`` this module wrote
    (for tests and for scripts that want the atlas's numbers)."""
    text = Path(index).read_text(encoding="utf-8")
    data_at = text.index("window.RNNATLAS_DATA=") + len("window.RNNATLAS_DATA=")
    cards_at = text.index(";window.RNNATLAS_CARDS=", data_at)
    end = text.index(";</script>", cards_at)
    parse = lambda s: json.loads(s.replace("<\\/", "</"))  # noqa: E731
    return parse(text[data_at:cards_at]), parse(text[cards_at + len(";window.RNNATLAS_CARDS="):end])
