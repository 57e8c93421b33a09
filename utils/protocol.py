"""The course's evaluation protocol: which seeds may choose what, defined once.

Start states are gymnasium reset seeds, in three disjoint families, the same
ranges for every environment:

- *probe* starts choose the kept weights during a run;
- *validation* starts choose settings, rungs, tie-breaks and which seed to draw;
- *exam* starts are measured once per reported configuration, in a notebook's
  Results section, after every choice is fixed. A notebook's own exam starts are
  handed out by `notebook_exam_starts`, which records who asked (notebook, cell,
  configuration); tests/test_notebooks_as_scripts.py runs every notebook and fails
  if the record shows a hand-out outside Results, another notebook's exam, or one
  configuration handed out twice.

Training seeds come in two more families: *reported* runs, whose numbers are
reported and which chose nothing, and *scratch* runs, which may choose anything
and are never reported. No seed in these five ranges was used anywhere in the
course before they were defined (notebooks 01-09 use seeds below 1,000,000).
"""

from __future__ import annotations

import inspect
import json
import os
import warnings

from utils.config import is_integer

FAMILIES = {
    "probe": range(1_000_000, 2_000_000),
    "validation": range(2_000_000, 3_000_000),
    "exam": range(3_000_000, 4_000_000),
    "reported": range(4_000_000, 5_000_000),
    "scratch": range(5_000_000, 6_000_000),
}


def _first(family: str, count: int) -> tuple[int, ...]:
    seeds = FAMILIES[family]
    if not is_integer(count) or not 1 <= count <= len(seeds):
        raise ValueError(
            f"count must be an integer in [1, {len(seeds):,}] ({family} seeds), "
            f"got {count!r}"
        )
    return tuple(seeds[: int(count)])


def probe_starts(count: int) -> tuple[int, ...]:
    """The first `count` probe start seeds: they choose the kept weights."""
    return _first("probe", count)


def validation_starts(count: int) -> tuple[int, ...]:
    """The first `count` validation start seeds: they choose settings."""
    return _first("validation", count)


def exam_starts(count: int) -> tuple[int, ...]:
    """The first `count` exam start seeds: for a Results section only."""
    return _first("exam", count)


def reported_seeds(count: int) -> tuple[int, ...]:
    """The first `count` training seeds of reported runs (they choose nothing)."""
    return _first("reported", count)


def scratch_seeds(count: int) -> tuple[int, ...]:
    """The first `count` training seeds of runs that choose, never reported."""
    return _first("scratch", count)


# Each notebook's own exam starts and reported seeds: block `notebook` of each family
# (block 0, the first 50,000 seeds, is the shared one that notebooks 05-10 used
# before every notebook had its own). No notebook plays another's exam or reports
# another's training seeds, and a re-run of a notebook is visibly a second look.
BLOCK = 50_000


def _block(family: str, notebook: int, count: int) -> tuple[int, ...]:
    blocks = len(FAMILIES[family]) // BLOCK
    if not is_integer(notebook) or not 1 <= notebook < blocks:
        raise ValueError(
            f"notebook must be a notebook's number, an integer in [1, {blocks}), "
            f"got {notebook!r}"
        )
    if not is_integer(count) or not 1 <= count <= BLOCK:
        raise ValueError(
            f"count must be an integer in [1, {BLOCK:,}] (one notebook's {family} "
            f"seeds), got {count!r}"
        )
    start = FAMILIES[family].start + int(notebook) * BLOCK
    return tuple(range(start, start + int(count)))


# -- the exam's hand-outs, recorded --------------------------------------------------
EXAM_LOG = "DQN_COURSE_EXAM_LOG"  # environment variable: a file that gets every record
HANDED_OUT: list[dict] = []  # this process's hand-outs, in order


class SecondLookWarning(UserWarning):
    """One configuration's exam starts handed out twice in one process."""


def _shell():
    """The running IPython shell, or None (a plain script, or no IPython)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    return get_ipython()


def _asker() -> dict:
    """The top-level statement that asked, whatever helper it asked through: the
    outermost frame of the running notebook cell (in Jupyter, the file is the
    cell's own) or script."""
    shell = _shell()
    if shell is not None:
        outer = [f for f in inspect.stack(0) if f.frame.f_globals is shell.user_ns]
    else:
        outer = [
            f
            for f in inspect.stack(0)
            if f.frame.f_globals.get("__name__") == "__main__"
        ]
    return {"file": outer[-1].filename, "line": outer[-1].lineno} if outer else {}


def notebook_exam_starts(
    notebook: int, count: int, configuration: str
) -> tuple[int, ...]:
    """Notebook `notebook`'s own first `count` exam start seeds, for its Results
    only, handed out once per reported `configuration` (what they will measure,
    in words). The hand-out is recorded (`HANDED_OUT`, and the file named by the
    DQN_COURSE_EXAM_LOG environment variable, if set); a second hand-out of one
    configuration warns that it is a second look."""
    starts = _block("exam", notebook, count)
    if not isinstance(configuration, str) or not configuration.strip():
        raise ValueError(
            f"configuration must say in words what these exam starts will measure "
            f"(such as 'the kept weights of 32 seeds'), got {configuration!r}"
        )
    record = {
        "notebook": int(notebook),
        "count": int(count),
        "configuration": configuration,
        **_asker(),
    }
    # the warning first: turned into an error, it leaves no record behind
    if any(
        (r.get("notebook"), r.get("configuration")) == (notebook, configuration)
        for r in HANDED_OUT
    ):
        warnings.warn(
            f"notebook {notebook}'s exam starts for {configuration!r} were handed "
            "out before in this process: what they measure now is a second look",
            SecondLookWarning,
            stacklevel=2,
        )
    log = os.environ.get(EXAM_LOG)
    if log:  # written first: a hand-out that cannot be recorded is no hand-out
        try:
            with open(log, "a", encoding="utf-8") as file:
                file.write(json.dumps(record) + "\n")
        except OSError as error:
            raise ValueError(
                f"the {EXAM_LOG} environment variable must name a file the exam's "
                f"hand-outs can be appended to, got {log!r} ({error.strerror})"
            ) from None
    HANDED_OUT.append(record)
    return starts


def notebook_reported_seeds(notebook: int, count: int) -> tuple[int, ...]:
    """Notebook `notebook`'s own first `count` reported training seeds."""
    return _block("reported", notebook, count)
