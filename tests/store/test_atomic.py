"""The one atomic writer (rnnatlas.store.atomic) and the writers built on it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from rnnatlas.store.atomic import atomic_path, temporary_sibling, write_json, write_text
from rnnatlas.store.h5io import atomic_h5, open_h5


class Boom(RuntimeError):
    pass


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_final_file_appears_only_after_the_block(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "out.txt"
    with atomic_path(path) as tmp:
        assert tmp.parent == path.parent and path.parent.is_dir()
        tmp.write_text("new")
        assert not path.exists()
        assert _names(path.parent) == [tmp.name]
    assert path.read_text() == "new"
    assert _names(path.parent) == ["out.txt"]


def test_temporary_is_hidden_and_keeps_the_suffix(tmp_path: Path) -> None:
    for name in ("a.h5", "b.nc", "c.counts.json", "d.npz", "e.pdf", "f"):
        with atomic_path(tmp_path / name) as tmp:
            assert tmp.name.startswith(f".{name}.tmp-")
            assert tmp.name.endswith(f".tmp-{os.getpid()}{Path(name).suffix}")
            assert tmp == temporary_sibling(tmp_path / name)
            tmp.write_bytes(b"x")


def test_exception_keeps_old_bytes_and_leaves_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "out.json"
    path.write_bytes(b'{"old": 1}\n')
    with pytest.raises(Boom):
        with atomic_path(path) as tmp:
            tmp.write_text("half a fi")
            raise Boom
    assert path.read_bytes() == b'{"old": 1}\n'
    assert _names(tmp_path) == ["out.json"]


def test_exception_without_old_file_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(Boom):
        with atomic_path(tmp_path / "out.csv") as tmp:
            tmp.write_text("a,b\n")
            raise Boom
    assert _names(tmp_path) == []


def test_block_that_writes_nothing_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nothing was written"):
        with atomic_path(tmp_path / "out.txt"):
            pass
    assert _names(tmp_path) == []


def test_write_json_is_byte_identical_to_the_old_format(tmp_path: Path) -> None:
    data = {"b": [1, 2.5, None], "a": {"z": "é", "y": True}, "c": "x"}
    expected = (json.dumps(data, indent=2, sort_keys=True) + "\n").encode()
    write_json(tmp_path / "new.json", data)
    assert (tmp_path / "new.json").read_bytes() == expected
    assert _names(tmp_path) == ["new.json"]


def test_write_text_replaces_an_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("old\n")
    write_text(path, "a,b\n1,2\n")
    assert path.read_text() == "a,b\n1,2\n"
    assert _names(tmp_path) == ["t.csv"]


def test_numpy_savez_through_the_temporary_keeps_the_name(tmp_path: Path) -> None:
    path = tmp_path / "tile.npz"
    with atomic_path(path) as tmp:
        np.savez(tmp, x=np.arange(3))  # would append .npz to a name without that suffix
    assert _names(tmp_path) == ["tile.npz"]
    with np.load(path) as z:
        assert z["x"].tolist() == [0, 1, 2]


def test_failing_hdf5_write_leaves_the_previous_file_intact(tmp_path: Path) -> None:
    path = tmp_path / "model.h5"
    with atomic_h5(path, "test-kind", {"version": 1}) as f:
        f.create_dataset("x", data=np.arange(4))
    old = path.read_bytes()
    with pytest.raises(Boom):
        with atomic_h5(path, "test-kind", {"version": 2}) as f:
            f.create_dataset("x", data=np.zeros(1000))
            raise Boom
    assert path.read_bytes() == old
    assert _names(tmp_path) == ["model.h5"]
    with open_h5(path, "test-kind") as f:
        assert f["x"][()].tolist() == [0, 1, 2, 3]


def test_save_figure_writes_pdf_and_png_and_no_temporaries(tmp_path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from rnnatlas.figures.io import save_figure

    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    out = save_figure(fig, tmp_path / "figs" / "fig1.pdf")
    assert out == [str(tmp_path / "figs" / "fig1.pdf"), str(tmp_path / "figs" / "fig1.png")]
    assert _names(tmp_path / "figs") == ["fig1.pdf", "fig1.png"]
    assert (tmp_path / "figs" / "fig1.pdf").read_bytes().startswith(b"%PDF")
    assert (tmp_path / "figs" / "fig1.png").read_bytes().startswith(b"\x89PNG")
    assert not plt.fignum_exists(fig.number)


def test_save_figure_failure_leaves_no_half_figure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from rnnatlas.figures.io import save_figure

    fig, ax = plt.subplots()
    real = fig.savefig

    def savefig(path, **kwargs):
        if str(path).endswith(".png"):
            Path(path).write_bytes(b"\x89PNG half")
            raise Boom
        real(path, **kwargs)

    monkeypatch.setattr(fig, "savefig", savefig)
    with pytest.raises(Boom):
        save_figure(fig, tmp_path / "fig2")
    assert _names(tmp_path) == ["fig2.pdf"]
    assert not plt.fignum_exists(fig.number)
