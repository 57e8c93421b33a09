"""The committed notebooks are executed, scrubbed, and keep the smoke switch honest."""

import re
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).parents[1] / "notebooks").glob("[0-9][0-9]_*.ipynb"))
BUDGET_LINE = re.compile(r"^[A-Z_0-9]+ = .+ if not SMOKE_TEST else .+$")
SMOKE_DEFINITION = 'SMOKE_TEST = os.environ.get("SMOKE_TEST") == "1"'


def code_cells(path):
    """The code cells that a run executes (not those tagged skip-execution)."""
    return [
        c
        for c in nbformat.read(path, as_version=4).cells
        if c.cell_type == "code" and "skip-execution" not in c.metadata.get("tags", [])
    ]


def test_there_are_notebooks():
    assert NOTEBOOKS, "no notebooks/NN_topic.ipynb found"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_executed_in_order(path):
    counts = [c.execution_count for c in code_cells(path)]
    assert counts == list(range(1, len(counts) + 1)), (
        "run Restart & Run All before commit"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_metadata_scrubbed(path):
    notebook = nbformat.read(path, as_version=4)
    assert notebook.metadata.kernelspec.name == "python3"
    assert "widgets" not in notebook.metadata
    assert "colab" not in notebook.metadata
    for cell in notebook.cells:
        assert set(cell.metadata) <= {"tags"}, cell.metadata


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_smoke_switch_touches_only_budget_lines(path):
    for cell in code_cells(path):
        for line in cell.source.splitlines():
            if "SMOKE_TEST" in line and line.strip() != SMOKE_DEFINITION:
                code = line.split("#")[0].rstrip()
                assert BUDGET_LINE.match(code), f"not a budget line: {line!r}"
