"""Regenerate a notebook's committed outputs: a full-length run, then a metadata scrub.

    .venv/bin/python .ci/execute_notebook.py notebooks/01_q_learning.ipynb [...]

Runs every cell top to bottom in a fresh kernel from the notebook's folder (as
Restart & Run All does), with SMOKE_TEST unset and TensorFlow's log noise off,
then keeps only what a reader needs: outputs, in-order execution counts, cell tags
and the `python3` kernelspec. A tqdm progress bar is a widget whose final state
lives in notebook metadata; it is replaced by its final line of text, so that
GitHub shows "100% 25000/25000 [...]" rather than the bar's first frame.
"""

import html
import os
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def progress_text(model_id: str, state: dict) -> str | None:
    """The final text of a tqdm bar (an HBox of HTML, FloatProgress, HTML)."""
    box = state.get(model_id, {}).get("state", {})
    children = [
        state.get(c.replace("IPY_MODEL_", ""), {}) for c in box.get("children", [])
    ]
    if [c.get("model_name") for c in children] != [
        "HTMLModel",
        "FloatProgressModel",
        "HTMLModel",
    ]:
        return None
    left, bar, right = (c["state"] for c in children)
    filled = round(10 * bar.get("value", 0) / bar["max"]) if bar.get("max") else 0
    bar_text = "█" * filled + " " * (10 - filled)
    text = f"{left.get('value', '')}|{bar_text}|{right.get('value', '')}"
    return html.unescape(text).replace("\u2007", " ")


def scrub(notebook: nbformat.NotebookNode) -> None:
    state = notebook.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    for cell in notebook.cells:
        cell.metadata = nbformat.NotebookNode(
            {k: v for k, v in cell.metadata.items() if k == "tags"}
        )
        for output in cell.get("outputs", []):
            view = output.get("data", {}).pop(WIDGET_VIEW, None)
            if view is not None:
                text = progress_text(view["model_id"], state)
                if text is not None:
                    output.data["text/plain"] = text
    notebook.metadata = nbformat.NotebookNode(
        kernelspec={
            "display_name": "Python 3",
            "language": "python",
            "name": "python3",
        },
        language_info={"name": "python"},
    )


def execute(path: Path) -> None:
    os.environ.pop("SMOKE_TEST", None)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    # SDL (pygame, which draws the classic-control frames) complains without it.
    os.environ.setdefault("XDG_RUNTIME_DIR", tempfile.mkdtemp())
    notebook = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    client = NotebookClient(
        notebook,
        timeout=None,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    scrub(notebook)
    nbformat.write(notebook, path)
    print(f"{path}: executed in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    for arg in sys.argv[1:]:
        execute(Path(arg))
