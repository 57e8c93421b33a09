"""Every notebook's code cells, pasted in order into one plain script, run as
`python script.py` outside the repository, as a learner's coursework would.

A kernel hides what a script shows: `__main__` has no file there, so a worker
process that re-imports the caller's script (multiprocessing's `spawn`) works in a
notebook and fails in a copy. Magics become `get_ipython()` calls, as Jupyter's
"Download as .py" writes them; cells tagged `skip-execution` (a TensorBoard
widget) are left out, as the test run leaves them out.
"""

import os
import subprocess
import sys
from pathlib import Path

import nbformat
from IPython.core.inputtransformer2 import TransformerManager

NOTEBOOKS = sorted((Path(__file__).parents[1] / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def notebook_as_script(path: Path) -> str:
    """The notebook's executed code cells, one after another, as Python."""
    transform = TransformerManager().transform_cell
    cells = [
        transform(cell.source)
        for cell in nbformat.read(path, as_version=4).cells
        if cell.cell_type == "code"
        and "skip-execution" not in cell.metadata.get("tags", [])
    ]
    return "\n\n".join(cells) + "\n"


def test_a_magic_becomes_a_call_that_a_script_skips_off_colab():
    source = notebook_as_script(NOTEBOOKS[0])
    assert "%pip" not in source and "get_ipython().run_line_magic('pip'" in source


def run_as_script(path: Path, folder: Path) -> None:
    script = folder / f"{path.stem}.py"
    script.write_text(notebook_as_script(path))
    env = {**os.environ, "SMOKE_TEST": "1", "MPLBACKEND": "Agg"}
    result = subprocess.run(
        [sys.executable, script.name],
        cwd=folder,  # outside the repository
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-4000:]


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
