"""Every notebook's code cells, pasted in order into one plain script, run as
`python script.py` outside the repository, as a learner's coursework would.

A kernel hides what a script shows: `__main__` has no file there, so a worker
process that re-imports the caller's script (multiprocessing's `spawn`) works in a
notebook and fails in a copy. Magics become `get_ipython()` calls, as Jupyter's
"Download as .py" writes them; cells tagged `skip-execution` (a TensorBoard
widget) are left out, as the test run leaves them out.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from IPython.core.inputtransformer2 import TransformerManager

from utils import protocol

NOTEBOOKS = sorted((Path(__file__).parents[1] / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def script_cells(path: Path):
    """(the `## ` section heading above it, its Python) for every code cell that a
    run executes, in order."""
    transform = TransformerManager().transform_cell
    heading = ""
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type == "markdown":
            found = re.findall(r"^## (.+)$", cell.source, flags=re.MULTILINE)
            heading = found[-1].strip() if found else heading
        elif cell.cell_type == "code" and "skip-execution" not in cell.metadata.get(
            "tags", []
        ):
            yield heading, transform(cell.source)


def notebook_as_script(path: Path) -> str:
    """The notebook's executed code cells, one after another, as Python."""
    return "\n\n".join(code for _, code in script_cells(path)) + "\n"


def headings_by_line(path: Path) -> list[str]:
    """For each line of `notebook_as_script(path)`, the `## ` section heading above
    the cell it came from."""
    lines = []
    for heading, code in script_cells(path):
        lines += [heading] * (code.count("\n") + 2)  # its lines and the blank between
    return lines


def check_exam_record(path: Path, records: list[dict]) -> None:
    """The exam hand-outs that a run of `path` recorded (utils.protocol): each under
    its notebook's Results heading, of its own notebook's exam, and no
    configuration twice."""
    headings, notebook = headings_by_line(path), int(path.name[:2])
    for record in records:
        where = f"{path.name}, line {record['line']} of its script"
        assert record["notebook"] == notebook, (
            f"{where}: notebook {record['notebook']}'s exam starts"
        )
        heading = headings[record["line"] - 1]
        assert heading == "Results", f"{where}: exam starts under '## {heading}'"
    configurations = [record["configuration"] for record in records]
    twice = {c for c in configurations if configurations.count(c) > 1}
    assert not twice, f"{path.name}: exam starts handed out twice for {twice}"


def test_a_magic_becomes_a_call_that_a_script_skips_off_colab():
    source = notebook_as_script(NOTEBOOKS[0])
    assert "%pip" not in source and "get_ipython().run_line_magic('pip'" in source


def run_as_script(path: Path, folder: Path) -> None:
    script = folder / f"{path.stem}.py"
    script.write_text(notebook_as_script(path))
    log = folder / "exam.jsonl"
    env = {
        **os.environ,
        "SMOKE_TEST": "1",
        "MPLBACKEND": "Agg",
        protocol.EXAM_LOG: str(log),
    }
    result = subprocess.run(
        [sys.executable, script.name],
        cwd=folder,  # outside the repository
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    lines = log.read_text().splitlines() if log.exists() else []  # none handed out
    records = [json.loads(line) for line in lines]
    assert all(record["file"] == str(script) for record in records)
    check_exam_record(path, records)
    if "notebook_exam_starts(" in script.read_text():
        assert records, f"{path.name} asked for no exam starts"


def test_the_exam_record_check_fails_where_it_should():
    path = NOTEBOOKS[-1]  # notebook 11: its Results section holds the exam
    headings = headings_by_line(path)
    inside = headings.index("Results") + 1
    before = inside - 2  # the line above the first Results cell's
    good = {"notebook": 11, "count": 5, "configuration": "every run", "line": inside}
    check_exam_record(path, [good])
    for records, message in [
        ([{**good, "line": before}], f"exam starts under '## {headings[before - 1]}'"),
        ([{**good, "notebook": 10}], "notebook 10's exam starts"),
        ([good, {**good, "count": 3}], "handed out twice for {'every run'}"),
    ]:
        with pytest.raises(AssertionError, match=re.escape(message)):
            check_exam_record(path, records)


# One test class per notebook: pytest-xdist (--dist loadscope) runs each class on
# whichever worker is free, apart from the notebook's own cells.
for _path in NOTEBOOKS:
    _name = "TestScript" + _path.stem.title().replace("_", "")
    globals()[_name] = type(
        _name,
        (),
        {
            "test_runs_as_a_plain_script": (
                lambda self, tmp_path, path=_path: run_as_script(path, tmp_path)
            ),
            "__doc__": f"{_path.name} as a plain script.",
        },
    )
