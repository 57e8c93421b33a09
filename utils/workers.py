"""Training runs in worker processes that never import the caller's script.

A `Run` says what to train (the agent's settings, its seed, its budget, its start
states, where to save). `train_runs` trains many runs side by side, each worker a
`python -m utils.workers` process that reads runs as JSON lines on its standard
input and answers each with its `TrainLog` as a JSON line. Because a worker starts
from this module, not from the caller's `__main__`, the same code works in a
notebook, in a plain script with no `if __name__ == "__main__":` guard, and in a
test. Starting a worker (Python, then TensorFlow) takes seconds, so the workers of
a `train_runs` call that succeeded wait for the next call instead of exiting (one
that starts from the same directory, environment and package files takes them);
`close_workers` stops them. A worker leaves Ctrl-C to its caller (which stops
the workers of an interrupted call) and exits if its caller dies. `start_run`
trains one run in a process of its own, which may be killed (notebook 09 does, to
show a resume).
"""

from __future__ import annotations

import atexit
import dataclasses
import json
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from utils.config import (
    DQNConfig,
    check_env,
    check_evaluate_in,
    check_integer,
    check_path,
    check_schedule,
    check_seed,
    check_seeds,
)
from utils.trainlog import TrainLog

# the folder that holds the `utils` package, so that a worker imports the same one
PACKAGE_ROOT = str(Path(__file__).resolve().parents[1])


@dataclass(frozen=True)
class Run:
    """One training run of a study: which agent, which seed, which budget."""

    env_id: str
    config: DQNConfig
    seed: int
    total_steps: int
    eval_every: int
    probe_seeds: tuple[int, ...]
    held_out_seeds: tuple[int, ...]
    # where the worker saves the kept weights' network (.keras); None: not saved
    kept_path: str | None = None
    # where the worker saves the last weights' network (.keras); None: not saved
    final_path: str | None = None
    # where the run writes its checkpoints; a run whose folder holds one resumes
    checkpoint_dir: str | None = None
    checkpoint_every: int = 50_000
    keep_checkpoints: int = 3
    # where the evaluations play: "gymnasium" or "twin" (DQNAgent.train's)
    evaluate_in: str = "gymnasium"

    def __post_init__(self) -> None:
        def set_(name, value):
            object.__setattr__(self, name, value)

        if not isinstance(self.config, DQNConfig):
            raise ValueError(f"config must be a DQNConfig, got {self.config!r}")
        check_env("env_id", self.env_id)  # the agent's check, before a worker starts
        set_("seed", check_seed("seed", self.seed))
        integers = ("total_steps", "eval_every", "checkpoint_every", "keep_checkpoints")
        for name in integers:
            set_(name, check_integer(name, getattr(self, name), 1))
        if self.total_steps < self.config.num_envs:
            raise ValueError(
                f"total_steps must be >= num_envs ({self.config.num_envs}), "
                f"got {self.total_steps}"
            )
        for name in ("probe_seeds", "held_out_seeds"):
            set_(name, check_seeds(name, getattr(self, name)))
        check_schedule(
            self.total_steps,
            self.eval_every,
            self.config.num_envs,
            self.probe_seeds,
            self.held_out_seeds,
            self.kept_path,
        )
        for name, kind, suffix in (
            ("kept_path", "file", ".keras"),
            ("final_path", "file", ".keras"),
            ("checkpoint_dir", "folder", None),
        ):
            if getattr(self, name) is not None:
                set_(
                    name, os.fspath(check_path(name, getattr(self, name), kind, suffix))
                )
        if self.kept_path is not None and self.final_path is not None:
            if os.path.realpath(self.kept_path) == os.path.realpath(self.final_path):
                raise ValueError(
                    "kept_path and final_path must be different files, got "
                    f"{self.kept_path!r} and {self.final_path!r}"
                )
        check_evaluate_in(self.evaluate_in, self.env_id)
        if self.checkpoint_dir is not None and self.config.num_envs != 1:
            raise ValueError(
                "checkpoints need num_envs=1 (they are written at an episode end), "
                f"got num_envs={self.config.num_envs}"
            )
        self.check_files_are_free()

    def resumes(self) -> bool:
        """Whether the run continues from a checkpoint in its `checkpoint_dir`."""
        from utils import checkpoint

        return (
            self.checkpoint_dir is not None
            and checkpoint.latest(self.checkpoint_dir) is not None
        )

    def check_files_are_free(self) -> None:
        """Refuse a fresh run whose `kept_path` or `final_path` already holds a
        file: another run's network, which the run would overwrite. (A resumed run
        writes over its own; the agent checks that the kept one is its own.)"""
        if self.resumes():
            return
        for name in ("kept_path", "final_path"):
            value = getattr(self, name)
            if value is not None and Path(value).exists():
                raise FileExistsError(
                    f"{name} {value} exists: it holds another run's network, and "
                    "this run is fresh (no checkpoint to resume); choose a new path"
                )

    def to_dict(self) -> dict:
        """The run as plain JSON values."""
        return {**dataclasses.asdict(self), "config": self.config.to_dict()}

    @classmethod
    def from_dict(cls, record: dict) -> Run:
        if not isinstance(record, dict) or "config" not in record:
            raise ValueError(f"a Run record is a dict with a 'config', got {record!r}")
        try:
            return cls(**{**record, "config": DQNConfig.from_dict(record["config"])})
        except TypeError as error:  # a missing or unknown field
            raise ValueError(f"a Run record has the fields of Run: {error}") from error

    def describe(self) -> str:
        return f"the {self.env_id} run of seed {self.seed}"


def train_run(run: Run) -> TrainLog:
    """Train one agent as `run` says and return its log: a fresh agent, or, when
    `run.checkpoint_dir` holds a checkpoint, the run continued from the latest."""
    from utils import checkpoint
    from utils.dqn import DQNAgent
    from utils.runs import save_model

    agent = DQNAgent(run.env_id, run.config, seed=run.seed)
    if run.checkpoint_dir is not None:
        latest = checkpoint.latest(run.checkpoint_dir)
        if latest is not None:
            agent.load_checkpoint(latest)  # refuses another run's checkpoint
    if run.final_path is not None and agent.env_steps == 0:
        if Path(run.final_path).exists():  # a fresh run's file: another run's
            raise FileExistsError(
                f"{run.final_path} exists: it holds another run's last weights; "
                "choose a new path"
            )
    log = agent.train(
        run.total_steps,
        run.eval_every,
        probe_seeds=run.probe_seeds,
        held_out_seeds=run.held_out_seeds,
        kept_path=run.kept_path,
        progress=False,
        checkpoint_dir=run.checkpoint_dir,
        checkpoint_every=run.checkpoint_every,
        keep_checkpoints=run.keep_checkpoints,
        evaluate_in=run.evaluate_in,
    )
    if run.final_path is not None:
        save_model(run.final_path, agent.q_network, overwrite=True)
    return log


def worker_environment() -> dict[str, str]:
    """The environment a worker starts with: the caller's, with this package."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (PACKAGE_ROOT, env.get("PYTHONPATH")) if p
    )
    return env


# variables that change under a caller without changing a run: `seed_everything`
# sets PYTHONHASHSEED (a worker's hashing is fixed when it starts, and every run
# seeds itself), pytest names the test that runs
NOT_A_SETTING = ("PYTHONHASHSEED", "PYTEST_CURRENT_TEST")


def worker_start() -> tuple:
    """What a worker keeps from its start: the caller's environment (but
    NOT_A_SETTING), the working directory (where a run's relative paths lead) and
    this package's source files as (path, modified, size), which it imports once.
    A worker whose start differs from today's is not the worker the caller would
    start: it is stopped, not reused."""
    env = worker_environment()
    for name in NOT_A_SETTING:
        env.pop(name, None)
    root, code = Path(PACKAGE_ROOT), []
    for file in sorted([*root.glob("utils/*.py"), *root.glob("blobenv/**/*.py")]):
        try:
            stat = file.stat()
        except OSError:  # gone since the listing (an editor saving): not the same
            continue
        code.append((str(file), stat.st_mtime_ns, stat.st_size))
    return env, os.getcwd(), tuple(code)


class Worker:
    """A `python -m utils.workers` process that trains the runs it is given, one
    after another, and answers each with its log (or the error it raised)."""

    def __init__(self) -> None:
        # the caller's environment, so that a run is the same here as in the caller
        self.start = worker_start()
        env = worker_environment()
        self._stderr = tempfile.TemporaryFile("w+")  # read back if the worker dies
        self.process = subprocess.Popen(
            [sys.executable, "-m", "utils.workers", str(os.getpid())],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            env=env,
        )
        self._submitted: list[Run] = []
        self._replies: queue.Queue = queue.Queue()
        # a reader thread, so that a finished worker never waits on a full pipe
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self._replies.put(line)
        self._replies.put(None)  # the worker ended

    def submit(self, run: Run) -> None:
        """Send `run` to the worker (it trains the runs in the order given)."""
        if not isinstance(run, Run):
            raise ValueError(f"submit takes a Run, got {run!r}")
        self._submitted.append(run)
        try:
            self.process.stdin.write(json.dumps(run.to_dict()) + "\n")
            self.process.stdin.flush()
        except OSError:  # the worker is gone (it could not start, or was killed)
            self.result()  # raises, with the worker's exit code and last words

    def finish_input(self) -> None:
        """No more runs: the worker exits after answering those it has."""
        self.process.stdin.close()

    def result(self) -> TrainLog:
        """The log of the oldest unanswered run, once it is trained. Raises
        RuntimeError with the worker's message if training failed or the worker
        process ended (was killed, crashed) before it answered."""
        if not self._submitted:
            raise RuntimeError("this worker has no run whose result is pending")
        run = self._submitted[0]  # pending (close kills the worker) until answered
        line = self._replies.get()
        self._submitted.pop(0)
        if line is None:
            self._replies.put(None)
            code = self.process.wait()
            self._stderr.seek(0)
            tail = "\n".join(self._stderr.read().strip().splitlines()[-10:])
            raise RuntimeError(
                f"the worker process training {run.describe()} ended with exit "
                f"code {code} before it finished" + (f"; it said:\n{tail}" * bool(tail))
            )
        reply = json.loads(line)
        if "error" in reply:
            raise RuntimeError(
                f"training {run.describe()} failed in its worker process:\n"
                f"{reply['error']}"
            )
        return TrainLog(**reply["log"])

    def running(self) -> bool:
        """Whether the worker process is still alive."""
        return self.process.poll() is None

    @property
    def exit_code(self) -> int | None:
        """The process's exit code (negative: killed by that signal), or None."""
        return self.process.poll()

    def kill(self) -> None:
        """Stop the worker at once (as a closed laptop or a lost session would)."""
        self.process.kill()
        self.process.wait()

    def close(self) -> None:
        """Let the worker exit (killing it if it still trains) and free its pipes."""
        if self.process.stdin and not self.process.stdin.closed:
            try:
                self.process.stdin.close()
            except OSError:  # the worker had already gone
                pass
        if self._submitted:
            self.kill()
        self.process.wait()
        self._reader.join()
        self.process.stdout.close()
        self._stderr.close()

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def start_run(run: Run) -> Worker:
    """Train `run` in a process of its own; `.result()` waits for its log,
    `.kill()` stops it (its checkpoints stay for a resume)."""
    worker = Worker()
    worker.submit(run)
    worker.finish_input()
    atexit.register(worker.close)  # never an orphan that trains on after the caller
    return worker


# The workers of finished `train_runs` calls, alive and waiting for the next call.
_idle: list[Worker] = []
_idle_lock = threading.Lock()


def take_workers(count: int) -> list[Worker]:
    """`count` workers: waiting ones whose start is today's (`worker_start`), then
    new ones. Waiting workers that started otherwise, or have died, are stopped."""
    check_integer("count", count, 0)
    start = worker_start()
    with _idle_lock:
        usable = [w for w in _idle if w.start == start and w.running()]
        stale = [w for w in _idle if w not in usable]
        taken, _idle[:] = usable[:count], usable[count:]
    for worker in stale:
        worker.close()
    try:
        while len(taken) < count:
            taken.append(Worker())
    except BaseException:  # none may be left neither waiting nor stopped
        for worker in taken:
            worker.close()
        raise
    return taken


def close_workers() -> None:
    """Stop the workers that wait for the next `train_runs` call (each holds
    TensorFlow in memory); the next call starts new ones."""
    with _idle_lock:
        idle, _idle[:] = list(_idle), []
    for worker in idle:
        worker.close()


atexit.register(close_workers)


def train_runs(runs: Sequence[Run], workers: int = 2) -> list[TrainLog]:
    """Train every run, `workers` at a time in worker processes; logs in run order.

    Each run depends only on its own seed, so the logs do not depend on how many
    workers there are, which finishes first, or what a worker trained before. A
    worker process starts Python and TensorFlow once and then trains runs one
    after another; after a call that succeeded it waits for the next one
    (`take_workers` says which call may take it; `close_workers` stops it). The
    first run that fails stops the others and raises its error; a failed or
    interrupted call stops its workers.
    """
    from tqdm.auto import tqdm

    check_integer("workers", workers, 1)
    try:
        runs = list(runs)
    except TypeError:  # one Run, not a list of them
        raise ValueError(f"train_runs takes a list of Runs, got {runs!r:.80}") from None
    for run in runs:
        if not isinstance(run, Run):
            raise ValueError(f"train_runs takes Runs, got {run!r}")
        run.check_files_are_free()  # files may have appeared since the Run was made
    # two runs would clobber each other's files (the same file by any spelling)
    for names in (("kept_path", "final_path"), ("checkpoint_dir",)):
        paths = [
            os.path.realpath(getattr(run, name))
            for run in runs
            for name in names
            if getattr(run, name) is not None
        ]
        shared = sorted({p for p in paths if paths.count(p) > 1})
        if shared:
            what = " or ".join(names)
            raise ValueError(f"runs share a {what} (each needs its own): {shared}")
    logs: list[TrainLog | None] = [None] * len(runs)
    todo = list(range(len(runs)))
    lock, errors = threading.Lock(), []
    pool: list[Worker] = []
    bar = tqdm(total=len(runs), desc="runs")

    def serve(worker: Worker) -> None:
        while True:
            with lock:
                if errors or not todo:
                    return
                index = todo.pop(0)
            try:
                worker.submit(runs[index])
                logs[index] = worker.result()
            except Exception as error:  # noqa: BLE001 - the caller raises it
                with lock:
                    errors.append(error)
                for other in pool:  # stop the others: the study has failed
                    other.kill()
                return
            bar.update()

    finished = False
    try:
        pool += take_workers(min(workers, len(runs)))
        threads = [threading.Thread(target=serve, args=(w,)) for w in pool]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        finished = not errors
    finally:
        if finished:  # every thread is done with its worker: they wait for the next
            with _idle_lock:
                _idle.extend(pool)
        else:  # failed or interrupted: no more runs, and any still training killed
            with lock:
                todo.clear()
            for worker in pool:
                worker.close()
        bar.close()
    if errors:
        raise errors[0]
    missing = [i for i, log in enumerate(logs) if log is None]
    if missing:
        raise RuntimeError(f"runs {missing} came back without a log")
    return logs


def one_thread() -> None:
    """One core per worker process: the pool runs one worker per core."""
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)


def exit_when_orphaned(parent: int) -> None:
    """End this process once its parent has gone (killed before it could stop its
    workers): a run nobody waits for would otherwise train on."""
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


def main() -> None:
    """The worker's side: runs in (JSON lines on stdin), logs out (on stdout)."""
    replies = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # whatever else prints (Python or C) goes to stderr
    # Ctrl-C (or a kernel's interrupt) reaches the caller's whole process group: the
    # caller stops its workers itself, and a waiting worker stays for its next call
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    caller = int(sys.argv[1])  # (it may have gone before this process got here)
    threading.Thread(target=exit_when_orphaned, args=(caller,), daemon=True).start()
    one_thread()
    for line in sys.stdin:
        try:
            log = train_run(Run.from_dict(json.loads(line)))
            reply = {"log": dataclasses.asdict(log)}
        except Exception:  # the caller raises it, with this traceback
            reply = {"error": traceback.format_exc()}
        replies.write(json.dumps(reply) + "\n")
        replies.flush()


if __name__ == "__main__":
    main()
