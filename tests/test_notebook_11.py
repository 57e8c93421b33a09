"""Notebook 11 quotes notebook 07's committed five-seed verdicts as constants: they
must be the ones 07 printed (a re-run of 07 that changes them fails here)."""

import json
import re
from pathlib import Path

NOTEBOOKS = Path(__file__).parents[1] / "notebooks"


def cells(name):
    return json.loads((NOTEBOOKS / name).read_text())["cells"]


def quoted_constants() -> dict:
    """Notebook 11's NOTEBOOK_07, from the cell that defines it."""
    for cell in cells("11_how_many_seeds.ipynb"):
        source = "".join(cell["source"])
        if source.startswith("NOTEBOOK_07 = {"):
            namespace = {}
            exec(source, namespace)
            return namespace["NOTEBOOK_07"]
    raise AssertionError("notebook 11 has no cell defining NOTEBOOK_07")


def printed_by_07() -> dict:
    """{(env, variant): (difference, verdict)} from 07's printed differences."""
    for cell in cells("07_dqn_improvements.ipynb"):
        if "print_differences(cartpole_exam" in "".join(cell["source"]):
            text = "".join("".join(o.get("text", [])) for o in cell["outputs"])
            break
    found, env = {}, None
    for line in text.splitlines():
        heading = re.match(r"(\S+-v\d), kept weights", line)
        row = re.match(r"(.+?)\s+([+-]\d+\.\d)\s+\[.*\]\s+\[.*\]\s+(.+)$", line)
        if heading:
            env = heading.group(1)
        elif row:
            name, difference, verdict = row.groups()
            found[env, name.strip()] = (float(difference), verdict.strip())
    return found


def test_notebook_11_quotes_notebook_07_as_it_printed():
    printed = printed_by_07()
    assert len(printed) == 10
    assert quoted_constants() == printed
