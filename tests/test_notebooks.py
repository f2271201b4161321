"""The notebooks run top to bottom (nbclient) and are stored without
outputs, so they cannot rot and stay small in git."""

from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks")
                   .glob("*.ipynb"))


def test_the_four_notebooks_are_there():
    assert [p.name[:2] for p in NOTEBOOKS] == ["01", "02", "03", "04"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_stored_without_outputs(path):
    import nbformat

    book = nbformat.read(path, as_version=4)
    for cell in book.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_runs_top_to_bottom(path):
    import nbformat
    from nbclient import NotebookClient

    book = nbformat.read(path, as_version=4)
    # Run from notebooks/, as a user opening it would; a failing cell raises
    # CellExecutionError with the cell's traceback.
    NotebookClient(book, timeout=900, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}
                   ).execute()
