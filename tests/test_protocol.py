"""The protocol's seed families are disjoint, and no notebook looks at its exam
outside its Results section."""

import itertools
import json
import re
from pathlib import Path

import pytest

from utils import protocol

NOTEBOOKS = sorted((Path(__file__).parents[1] / "notebooks").glob("*.ipynb"))
# any mention of the exam starts in code: the function or the family's name
EXAM_IN_CODE = re.compile(r"exam_starts|FAMILIES\[\s*[\"']exam[\"']\s*\]")


def test_families_are_disjoint():
    for (a, first), (b, second) in itertools.combinations(protocol.FAMILIES.items(), 2):
        assert not set(first) & set(second), f"{a} and {b} overlap"


def test_families_are_new_to_the_course():
    """Notebooks 01-09 and the benchmarks use seeds below 1,000,000."""
    assert min(r.start for r in protocol.FAMILIES.values()) >= 1_000_000


@pytest.mark.parametrize("count", [0, -1, 1.5, True, 1_000_001])
def test_refuses_a_bad_count(count):
    with pytest.raises(ValueError, match=f"got {count!r}"):
        protocol.exam_starts(count)


def sections(notebook: Path):
    """(section heading, code) for every code cell, the heading being the last
    `## ` heading above it."""
    heading = ""
    for cell in json.loads(notebook.read_text())["cells"]:
        source = "".join(cell["source"])
        if cell["cell_type"] == "markdown":
            found = re.findall(r"^## (.+)$", source, flags=re.MULTILINE)
            heading = found[-1].strip() if found else heading
        else:
            yield heading, source


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_exam_starts_only_in_results(notebook):
    for heading, code in sections(notebook):
        if EXAM_IN_CODE.search(code):
            assert heading == "Results", (
                f"{notebook.name}: exam starts used under '## {heading}'"
            )


def test_the_exam_check_can_fail(tmp_path):
    cells = [
        {"cell_type": "markdown", "source": ["## Training\n"]},
        {"cell_type": "code", "source": ["EXAM = exam_starts(100)\n"]},
    ]
    notebook = tmp_path / "bad.ipynb"
    notebook.write_text(json.dumps({"cells": cells}))
    with pytest.raises(AssertionError, match="under '## Training'"):
        test_exam_starts_only_in_results(notebook)
