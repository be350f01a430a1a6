"""The national expansion notebook runs from top to bottom."""

from __future__ import annotations

import nbformat
import pytest
from nbclient import NotebookClient

from geo import config

NOTEBOOK = config.PROJECT_ROOT / "notebooks" / "expansion.ipynb"


@pytest.mark.notebook
def test_expansion_notebook_runs(processed_dir, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("VOISINMAP_DATA_DIR", str(processed_dir))  # the kernel inherits it
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= 2  # the curve and the map
    text = "".join(o.get("text", "") for o in outputs)
    assert "Objectif 20 %" in text and "minimal prouvé : True" in text
