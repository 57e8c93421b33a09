"""The protocol's seed families are disjoint, and no notebook looks at its exam
outside its Results section."""

import itertools
import json
import re
import warnings
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


def test_each_notebook_has_its_own_exam_and_reported_seeds(monkeypatch):
    monkeypatch.setattr(protocol, "HANDED_OUT", [])
    shared_exam, shared_reported = protocol.exam_starts(1), protocol.reported_seeds(1)
    exams = [set(protocol.notebook_exam_starts(n, 1_000, "all")) for n in range(1, 20)]
    reported = [set(protocol.notebook_reported_seeds(n, 1_000)) for n in range(1, 20)]
    for blocks, shared in ((exams, shared_exam), (reported, shared_reported)):
        assert not any(set(shared) & block for block in blocks)
        for first, second in itertools.combinations(blocks, 2):
            assert not first & second
    assert protocol.notebook_exam_starts(11, 2, "two") == (3_550_000, 3_550_001)
    assert set(protocol.notebook_exam_starts(19, 50_000, "every start")) <= set(
        protocol.FAMILIES["exam"]
    )


@pytest.mark.parametrize(
    "notebook, count, expected",
    [
        (0, 1, "notebook must be"),
        (20, 1, "notebook must be"),
        ("11", 1, "got '11'"),
        (11, 50_001, "count must be"),
        (11, 0, "count must be"),
    ],
)
def test_a_notebooks_block_refuses_what_is_not_one(notebook, count, expected):
    with pytest.raises(ValueError, match=expected):
        protocol.notebook_exam_starts(notebook, count, "the kept weights")


@pytest.mark.parametrize("configuration", ["", "  ", None, 3])
def test_an_exam_hand_out_names_what_it_measures(configuration, monkeypatch):
    monkeypatch.setattr(protocol, "HANDED_OUT", [])
    with pytest.raises(
        ValueError, match=f"configuration must .* got {configuration!r}"
    ):
        protocol.notebook_exam_starts(11, 5, configuration)
    assert protocol.HANDED_OUT == []


def test_every_hand_out_is_recorded_and_a_second_look_warns(tmp_path, monkeypatch):
    log = tmp_path / "exam.jsonl"
    monkeypatch.setattr(protocol, "HANDED_OUT", [])
    monkeypatch.setenv(protocol.EXAM_LOG, str(log))
    protocol.notebook_exam_starts(11, 5, "every run")
    protocol.notebook_exam_starts(12, 5, "every run")  # another notebook: no warning
    with pytest.warns(protocol.SecondLookWarning, match="notebook 11.*'every run'"):
        assert protocol.notebook_exam_starts(11, 3, "every run") == (
            3_550_000,
            3_550_001,
            3_550_002,
        )
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert records == protocol.HANDED_OUT
    assert [(r["notebook"], r["count"]) for r in records] == [(11, 5), (12, 5), (11, 3)]


def test_a_second_look_refused_as_an_error_leaves_no_record(tmp_path, monkeypatch):
    log = tmp_path / "exam.jsonl"
    monkeypatch.setattr(protocol, "HANDED_OUT", [])
    monkeypatch.setenv(protocol.EXAM_LOG, str(log))
    protocol.notebook_exam_starts(11, 5, "every run")
    with warnings.catch_warnings():
        warnings.simplefilter("error", protocol.SecondLookWarning)
        with pytest.raises(protocol.SecondLookWarning):
            protocol.notebook_exam_starts(11, 5, "every run")
    assert len(log.read_text().splitlines()) == len(protocol.HANDED_OUT) == 1


def test_a_hand_out_that_cannot_be_recorded_is_refused_and_changes_nothing(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(protocol, "HANDED_OUT", [])
    monkeypatch.setenv(protocol.EXAM_LOG, str(tmp_path))  # a folder, not a file
    with pytest.raises(ValueError, match="DQN_COURSE_EXAM_LOG environment variable"):
        protocol.notebook_exam_starts(11, 5, "every run")
    assert protocol.HANDED_OUT == []


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
