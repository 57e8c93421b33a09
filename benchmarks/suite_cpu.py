"""Where the test suite's CPU goes: README's test command, with every process it
starts sorted by kind.

    .venv/bin/python benchmarks/suite_cpu.py [pytest arguments]

The suite is CPU-bound (on two cores its processes keep both busy most of the
time), so its time follows its CPU seconds, and those are spent by dozens of
processes: the notebooks' kernels, their plain-script copies, the training and
search workers these start, the unit tests. This runs `.venv/bin/pytest` (with
any arguments given) and prints the wall time and the CPU seconds (user +
system) of pytest and every process it started, exactly (the kernel's count for
waited-for children; this script adopts orphans, so none escapes), and their
split two ways: by the kind of process, and by what started it (a process counts
with its nearest ancestor that is a kernel, a script copy, a pytest-xdist worker
or pytest). The split comes from polling /proc every quarter second, so it
misses a process's last quarter second and processes that live less than that:
it prints how much of the exact total it accounts for. The polling costs some
CPU of its own, outside the totals. Linux only (/proc, prctl).
"""

from __future__ import annotations

import ctypes
import os
import re
import resource
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TICKS = os.sysconf("SC_CLK_TCK")
PR_SET_CHILD_SUBREAPER = 36  # <linux/prctl.h>

# (kind, pattern in the command line), the first match wins
KINDS = [
    ("training worker", r"-m utils\.workers\b"),
    ("search worker", r"-m utils\.search\b"),
    ("notebook kernel", r"-m ipykernel_launcher\b"),
    ("plain-script copy", r"(^|[ /])\d\d_\w+\.py( |$)"),
    ("pytest-xdist worker", r"exec\(eval\(sys\.stdin\.readline\(\)\)\)"),
    ("pip", r"-m pip "),
    ("PostgreSQL", r"postgres"),
    ("pytest", r"bin/pytest\b"),
    ("other Python", r"python"),
]
# the kinds a process's CPU is charged to in the second split (the nearest wins)
STARTERS = ("notebook kernel", "plain-script copy", "pytest-xdist worker", "pytest")


def kind(command: str) -> str:
    for name, pattern in KINDS:
        if re.search(pattern, command):
            return name
    return "other"


def read_process(pid: str) -> dict | None:
    """A live process's parent, start time, command line and CPU seconds."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:  # it exited
        return None
    # the fields after the command name in parentheses; fields[0] is stat's field 3
    fields = stat[stat.rindex(")") + 2 :].split()
    return {
        "parent": fields[1],
        "started": fields[19],  # with the pid, names one process (pids are reused)
        "command": command.replace(b"\0", b" ").decode(errors="replace"),
        "cpu": (int(fields[11]) + int(fields[12])) / TICKS,  # utime + stime
    }


def poll(suite: subprocess.Popen) -> tuple[dict, int]:
    """Every process seen until `suite` exits, by (pid, start time), with its last
    CPU seconds; and the suite's exit code. Orphans are reaped here."""
    seen, pids = {}, {}  # (pid, started) -> process; pid -> its (pid, started)
    returncode = None
    while returncode is None:
        for pid in filter(str.isdigit, os.listdir("/proc")):
            process = read_process(pid)
            if process is None:
                continue
            key = (pid, process["started"])
            if key not in seen:  # its parent as first seen, before any adoption
                parent = pids.get(process["parent"], (process["parent"], None))
                seen[key] = {"parent": parent, "command": ""}
                pids[pid] = key
            seen[key]["cpu"] = process["cpu"]
            if process["command"]:  # a zombie's is empty; a fork's changes at exec
                seen[key]["command"] = process["command"]
        while True:  # reap: pytest, and the orphans this process adopted
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            if pid == suite.pid:
                returncode = suite.returncode = os.waitstatus_to_exitcode(status)
        time.sleep(0.25)
    return seen, returncode


def ancestors(seen: dict, key):
    """The process itself, its parent, and so on, as far as they were seen."""
    while key in seen:
        yield key
        key = seen[key]["parent"]


def main() -> None:
    # orphaned descendants (a server started in the background, a worker whose
    # caller exited) are re-parented to this process, so they count and are reaped
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1)
    tic = time.perf_counter()
    suite = subprocess.Popen([".venv/bin/pytest", "-q", *sys.argv[1:]], cwd=ROOT)
    seen, returncode = poll(suite)
    wall = time.perf_counter() - tic
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    exact = children.ru_utime + children.ru_stime

    me = next(key for key in seen if key[0] == str(os.getpid()))
    by_kind, processes = defaultdict(float), defaultdict(int)
    by_starter = defaultdict(float)
    for key, process in seen.items():
        lineage = list(ancestors(seen, key))  # the process first
        if key == me or me not in lineage:
            continue  # this script, or not started by this run of pytest
        kinds = [kind(seen[k]["command"]) for k in lineage]
        by_kind[kinds[0]] += process["cpu"]
        processes[kinds[0]] += 1
        starter = next((k for k in kinds if k in STARTERS), kinds[0])
        by_starter[starter] += process["cpu"]

    polled = sum(by_kind.values())
    print(f"\npytest exited {returncode} after {wall:.0f} s")
    print(f"CPU of pytest and every process it started: {exact:.0f} s")
    print(f"of which the split below accounts for {polled:.0f} s\n")
    print(f"{'by kind of process':<30}{'processes':>10}{'CPU s':>8}")
    for name, cpu in sorted(by_kind.items(), key=lambda item: -item[1]):
        print(f"  {name:<28}{processes[name]:>10}{cpu:>8.0f}")
    print(f"\n{'by what started it (with all it started)':<40}{'CPU s':>8}")
    for name, cpu in sorted(by_starter.items(), key=lambda item: -item[1]):
        print(f"  {name:<38}{cpu:>8.0f}")


if __name__ == "__main__":
    main()
