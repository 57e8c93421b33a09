"""The test suite's time: a baseline revision's against today's, on one machine.

    .venv/bin/python benchmarks/suite_time.py [--baseline 291c1d4] [--rounds 1]

Machines differ by two to three times, so a suite's time means something only
against another suite timed on the same machine. The baseline revision is
checked out into a temporary git worktree with a virtualenv of its own
(README's setup command in that tree, so its own pinned requirements; pip's
cache makes it quick after the first time). Then README's test command
(`.venv/bin/pytest`) runs in each tree, one after the other, the order
alternating round by round, so that the machine's ups and downs hit both alike.
Each run prints its seconds and pytest's summary line; each round the ratio
today / baseline, and at the end the median of the rounds' ratios.

The default baseline, 291c1d4, is the main that issue 32 ("the suite in ten
minutes: at most 70% of today's main's time") was filed on.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASELINE = "291c1d4"


def setup(tree: Path) -> None:
    """README's setup command, without opening Jupyter."""
    subprocess.run([sys.executable, "-m", "venv", ".venv"], cwd=tree, check=True)
    subprocess.run(
        [".venv/bin/pip", "install", "-q", "-r", "requirements.txt"],
        cwd=tree,
        check=True,
    )


def run_suite(tree: Path) -> tuple[float, str]:
    """README's test command in `tree`: (seconds, pytest's summary line)."""
    tic = time.perf_counter()
    result = subprocess.run(
        [".venv/bin/pytest", "-q"], cwd=tree, capture_output=True, text=True
    )
    seconds = time.perf_counter() - tic
    lines = [line for line in result.stdout.splitlines() if " in " in line]
    return seconds, (lines[-1].strip("= ") if lines else f"exit {result.returncode}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--baseline", default=BASELINE, help="a git revision")
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error(f"--rounds must be >= 1, got {args.rounds}")
    old = Path(tempfile.mkdtemp(prefix="suite-baseline-")) / "tree"
    subprocess.run(
        [
            "git",
            "-C",
            str(ROOT),
            "worktree",
            "add",
            "--detach",
            str(old),
            args.baseline,
        ],
        check=True,
        capture_output=True,
    )
    try:
        setup(old)
        trees = {f"baseline {args.baseline}": old, "today": ROOT}
        ratios = []
        for round_ in range(args.rounds):
            order = list(trees) if round_ % 2 == 0 else list(trees)[::-1]
            seconds = {}
            for name in order:
                seconds[name], summary = run_suite(trees[name])
                line = f"{name:>18}: {seconds[name]:6.0f} s  ({summary})"
                print(f"round {round_ + 1}, {line}", flush=True)
            ratios.append(seconds["today"] / seconds[f"baseline {args.baseline}"])
            print(
                f"round {round_ + 1}: today / baseline = {ratios[-1]:.2f}", flush=True
            )
        print(f"median of {len(ratios)} round(s): {statistics.median(ratios):.2f}")
    finally:
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(old)],
            capture_output=True,
        )


if __name__ == "__main__":
    main()
