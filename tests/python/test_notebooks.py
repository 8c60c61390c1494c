"""Every notebook in examples/notebooks runs top to bottom (small sizes: CARDIOTWIN_QUICK=1),
executed with nbclient in the notebook's own folder; a failing cell fails the test with its
traceback. The executed copies (with outputs) are written to the test's temporary folder."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "examples" / "notebooks").glob("*.ipynb"))


def test_notebooks_exist():
    names = {p.name for p in NOTEBOOKS}
    assert {"quickstart.ipynb", "scan_to_twin.ipynb", "niederer.ipynb", "ecg_sizes.ipynb"} <= names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path, tmp_path, monkeypatch):
    # Run a copy in a scratch folder laid out like the repository, so outputs stay out of the tree.
    repo = path.parents[2]
    work = tmp_path / "examples" / "notebooks"
    work.mkdir(parents=True)
    for name in ("tests", "examples/python", "examples/configs"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(repo / name, tmp_path / name)
    notebook = nbformat.read(path, as_version=4)
    assert all(not c.get("outputs") for c in notebook.cells if c.cell_type == "code"), \
        f"{path.name} is stored with outputs; clear them before committing"
    monkeypatch.setenv("CARDIOTWIN_QUICK", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    client = nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(work)}})
    try:
        client.execute()
    finally:
        nbformat.write(notebook, tmp_path / path.name)
    errors = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
    shutil.rmtree(work / "out", ignore_errors=True)
