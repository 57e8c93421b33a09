"""The course's evaluation protocol: which seeds may choose what, defined once.

Start states are gymnasium reset seeds, in three disjoint families, the same
ranges for every environment:

- *probe* starts choose the kept weights during a run;
- *validation* starts choose settings, rungs, tie-breaks and which seed to draw;
- *exam* starts are measured once per reported configuration, in a notebook's
  Results section, after every choice is fixed (tests/test_protocol.py fails if a
  notebook asks for them anywhere else).

Training seeds come in two more families: *reported* runs, whose numbers are
reported and which chose nothing, and *scratch* runs, which may choose anything
and are never reported. No seed in these five ranges was used anywhere in the
course before they were defined (notebooks 01-09 use seeds below 1,000,000).
"""

from __future__ import annotations

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


def notebook_exam_starts(notebook: int, count: int) -> tuple[int, ...]:
    """Notebook `notebook`'s own first `count` exam start seeds (Results only)."""
    return _block("exam", notebook, count)


def notebook_reported_seeds(notebook: int, count: int) -> tuple[int, ...]:
    """Notebook `notebook`'s own first `count` reported training seeds."""
    return _block("reported", notebook, count)
