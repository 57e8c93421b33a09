"""Runs in worker processes: the same run as in-process, from any kind of caller."""

import dataclasses
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from utils import load_model, workers
from utils.config import DQNConfig
from utils.dqn import DQNAgent
from utils.trainlog import TrainLog
from utils.workers import Run, start_run, train_run, train_runs

TINY = DQNConfig(
    hidden_units=(16,),
    memory_capacity=400,
    batch_size=16,
    learning_starts=64,
    num_envs=1,
    gradient_steps=1,
)


def tiny_run(seed, **changes):
    return Run("CartPole-v1", TINY, seed, 300, 150, (1, 2), (3,), **changes)


def without_times(log):
    return {k: v for k, v in dataclasses.asdict(log).items() if k != "train_seconds"}


SCRIPT = textwrap.dedent(
    """
    # a learner's script: train_runs at top level, no __main__ guard
    import dataclasses, json
    from utils import DQNConfig, Run, train_runs

    config = DQNConfig(hidden_units=(16,), memory_capacity=400, batch_size=16,
                       learning_starts=64, num_envs=1, gradient_steps=1)
    runs = [
        Run("CartPole-v1", config, 4, 300, 150, (1, 2), (3,), kept_path="kept.keras"),
        Run("CartPole-v1", config, 5, 300, 150, (1, 2), (3,), final_path="last.keras"),
    ]
    logs = train_runs(runs, workers=2)
    print(json.dumps([dataclasses.asdict(log) for log in logs]))
    """
)


def test_a_plain_script_without_a_main_guard_trains_the_same_runs(tmp_path):
    script = tmp_path / "coursework.py"
    script.write_text(SCRIPT)
    result = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,  # outside the repository
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    logs = [TrainLog(**log) for log in json.loads(result.stdout.splitlines()[-1])]
    # in run order, and the same runs as in this process
    runs = [tiny_run(4), tiny_run(5)]
    assert [without_times(log) for log in logs] == [
        without_times(train_run(run)) for run in runs
    ]
    # the kept weights leave the worker process only through kept_path
    kept = load_model(tmp_path / "kept.keras").get_weights()
    agent = DQNAgent("CartPole-v1", TINY, seed=0)
    held_out = agent.evaluate(runs[0].held_out_seeds, weights=kept).mean()
    assert held_out == logs[0].kept_held_out_mean()
    # and the last weights through final_path: those of the same run trained here
    agent = DQNAgent("CartPole-v1", TINY, seed=5)
    agent.train(300, 150, probe_seeds=(1, 2), held_out_seeds=(3,), progress=False)
    last = load_model(tmp_path / "last.keras").get_weights()
    trained_here = agent.q_network.get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(last, trained_here))


def test_workers_wait_for_the_next_call_and_train_its_runs_as_new_ones(monkeypatch):
    workers.close_workers()  # none left waiting by an earlier test
    try:
        (first,) = train_runs([tiny_run(6)], workers=1)
        (waiting,) = workers._idle
        # Ctrl-C reaches the whole process group: a waiting worker ignores it
        os.kill(waiting.process.pid, signal.SIGINT)
        time.sleep(0.5)
        # the next call trains in the same process, each run as a new worker would,
        # though the caller's seed_everything has changed PYTHONHASHSEED since
        DQNAgent("CartPole-v1", TINY, seed=12345)
        again = train_runs([tiny_run(7), tiny_run(6)], workers=1)
        assert workers._idle == [waiting] and waiting.running()
        assert without_times(again[1]) == without_times(first)
        # a call from another start takes a new worker and stops the waiting one
        monkeypatch.setenv("DQN_COURSE_A_NEW_VARIABLE", "1")
        (new,) = workers.take_workers(1)
        assert new is not waiting and not waiting.running() and not workers._idle
        new.kill()  # (it has nothing to finish)
        new.close()
    finally:
        workers.close_workers()


def test_a_worker_starts_from_a_directory_an_environment_and_package_files(
    monkeypatch, tmp_path
):
    start = workers.worker_start()
    for change in (
        lambda m: m.chdir(tmp_path),  # where a run's relative paths lead
        lambda m: m.setenv("DQN_COURSE_A_NEW_VARIABLE", "1"),
        lambda m: m.delenv("PATH"),
    ):
        with monkeypatch.context() as m:
            change(m)
            assert workers.worker_start() != start
    with monkeypatch.context() as m:  # neither changes a run
        m.setenv("PYTHONHASHSEED", "12345")
        m.setenv("PYTEST_CURRENT_TEST", "another test")
        assert workers.worker_start() == start
    # an edited file of the package (in a copy of it, here)
    (tmp_path / "utils").mkdir()
    (tmp_path / "utils" / "dqn.py").write_text("# a learner's edit\n")
    monkeypatch.setattr(workers, "PACKAGE_ROOT", str(tmp_path))
    before = workers.worker_start()
    os.utime(tmp_path / "utils" / "dqn.py", ns=(0, 10**18))
    assert workers.worker_start() != before


ORPHAN = textwrap.dedent(
    """
    # a caller killed before it could stop its worker, which trains a long run
    import os, sys
    from utils import DQNConfig, Run
    from utils.workers import Worker

    worker = Worker()
    worker.submit(Run("CartPole-v1", DQNConfig(), 0, 10**9, 10**9, (), ()))
    print(worker.process.pid, flush=True)
    os._exit(0)  # no atexit, no close
    """
)


def alive(pid):
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"  # a zombie has exited


def test_a_worker_whose_caller_was_killed_exits_instead_of_training_on(tmp_path):
    caller = subprocess.run(
        [sys.executable, "-c", ORPHAN], cwd=tmp_path, capture_output=True, text=True
    )
    pid = int(caller.stdout.split()[-1])
    deadline = time.monotonic() + 30
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(pid), f"the orphaned worker {pid} still runs"


def test_a_failed_run_raises_its_own_message_in_the_caller(tmp_path):
    # a checkpoint folder without its state.json: the worker's resume refuses it
    (tmp_path / "step-000000100").mkdir()
    bad = Run("CartPole-v1", TINY, 0, 300, 150, (), (), checkpoint_dir=str(tmp_path))
    workers.close_workers()
    with pytest.raises(
        RuntimeError, match=r"(?s)CartPole-v1 run of seed 0 failed.*no state.json"
    ):
        train_runs([tiny_run(1), bad], workers=2)
    assert not workers._idle  # a failed call's workers are stopped, not kept


def test_a_killed_worker_is_reported_with_its_exit_code():
    worker = start_run(Run("CartPole-v1", TINY, 0, 10**9, 10**9, (), ()))
    assert worker.running()
    worker.kill()
    assert not worker.running() and worker.exit_code < 0
    with pytest.raises(
        RuntimeError, match="ended with exit code -9 before it finished"
    ):
        worker.result()
    worker.close()


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: train_runs([tiny_run(0)], workers=0), "workers must be an integer"),
        (lambda: train_runs(["CartPole-v1"]), "train_runs takes Runs, got 'CartPole"),
        (lambda: train_runs(tiny_run(0)), "train_runs takes a list of Runs, got Run"),
        (lambda: workers.take_workers("2"), "count must be an integer >= 0, got '2'"),
        (lambda: tiny_run(-1), "seed must be an integer in .0, 2..32., got -1"),
        (
            lambda: Run("CartPole-v1", TINY, 0, 300, 0, (), ()),
            "eval_every must be an integer >= 1",
        ),
        (lambda: Run("CartPole-v1", {}, 0, 300, 150, (), ()), "config must be a"),
        (lambda: Run("NoSuchEnv-v0", TINY, 0, 300, 150, (), ()), "is no gymnasium id"),
        (lambda: Run.from_dict({"env_id": "x", "config": {}}), "has the fields of Run"),
        (lambda: Run("CartPole-v1", TINY, 0, 300, 150, (1.5,), ()), "probe_seeds"),
        (lambda: tiny_run(0, final_path="last.h5"), "final_path must end in .keras"),
        (lambda: tiny_run(0, final_path="dir/.keras"), "final_path must end in .keras"),
        (
            lambda: tiny_run(0, kept_path="a.keras", final_path="a.keras"),
            "kept_path and final_path must be different files, got 'a.keras' and",
        ),
        (
            lambda: Run("CartPole-v1", TINY, 0, 300, 400, (1,), ()),
            r"eval_every \(400\) is beyond total_steps \(300\)",
        ),
        (
            lambda: Run(
                "CartPole-v1", TINY, 0, 300, 150, (), (3,), kept_path="k.keras"
            ),
            "kept_path needs probe_seeds",
        ),
        (
            lambda: tiny_run(0, checkpoint_dir=__file__),
            "checkpoint_dir .* is a file, not a folder",
        ),
        (
            lambda: tiny_run(0, checkpoint_dir=__file__ + "/checkpoints"),
            "checkpoint_dir .* lies inside .*test_workers.py', which is a file",
        ),
        (
            lambda: tiny_run(0, kept_path=__file__ + "/kept.keras"),
            "kept_path .* lies inside .*test_workers.py', which is a file",
        ),
        (
            lambda: Run("Pendulum-v1", TINY, 0, 300, 150, (), ()),
            "env_id 'Pendulum-v1' needs a Discrete action space",
        ),
        (
            lambda: Run("GymV26Environment-v0", TINY, 0, 300, 150, (), ()),
            "env_id 'GymV26Environment-v0' cannot be made",
        ),
        (
            lambda: Run(5, TINY, 0, 300, 150, (), ()),
            "env_id must be a gymnasium id",
        ),
        (
            lambda: Run("CartPole-v1", TINY.replace(num_envs=4), 0, 300, 150, (), ()),
            r"eval_every must be a multiple of num_envs \(4\).*got 150",
        ),
        (
            lambda: Run("CartPole-v1", TINY.replace(num_envs=4), 0, 302, 100, (), ()),
            r"total_steps must be a multiple of num_envs \(4\).*got 302",
        ),
        (lambda: tiny_run(0, evaluate_in="gym"), "evaluate_in must be 'gymnasium'"),
        (
            lambda: Run(
                "LunarLander-v3", TINY, 0, 300, 150, (), (), evaluate_in="twin"
            ),
            "evaluate_in='twin': env_id must be one of .*got 'LunarLander-v3'",
        ),
    ],
)
def test_bad_runs_are_refused_before_any_process_starts(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_runs_that_share_a_path_are_refused(tmp_path):
    shared = {"kept_path": str(tmp_path / "kept.keras")}
    with pytest.raises(ValueError, match="runs share a kept_path or final_path"):
        train_runs([tiny_run(0, **shared), tiny_run(1, **shared)])
    last = {"final_path": str(tmp_path / "last.keras")}
    with pytest.raises(ValueError, match="runs share a kept_path or final_path"):
        train_runs([tiny_run(0, **last), tiny_run(1, **last)])
    # one run's last weights would overwrite another's kept weights (another spelling)
    crossed = tiny_run(1, final_path=str(tmp_path / "sub" / ".." / "kept.keras"))
    with pytest.raises(ValueError, match="runs share a kept_path or final_path"):
        train_runs([tiny_run(0, **shared), crossed])
    folder = {"checkpoint_dir": str(tmp_path / "checkpoints")}
    with pytest.raises(ValueError, match="runs share a checkpoint_dir"):
        train_runs([tiny_run(0, **folder), tiny_run(1, **folder)])


@pytest.fixture
def no_workers(monkeypatch):
    """Any worker process that starts fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError("a worker process started")

    monkeypatch.setattr(workers.Worker, "__init__", refuse)


@pytest.mark.parametrize("name", ["kept_path", "final_path"])
def test_a_fresh_run_whose_network_file_exists_is_refused_by_run(
    tmp_path, name, no_workers
):
    earlier = tmp_path / "earlier.keras"
    earlier.write_bytes(b"another run's weights")
    with pytest.raises(FileExistsError, match=f"{name} .*earlier.keras exists"):
        tiny_run(0, **{name: str(earlier)})
    assert earlier.read_bytes() == b"another run's weights"


def test_a_network_file_that_appears_after_the_run_is_made_is_refused_by_train_runs(
    tmp_path, no_workers
):
    run = tiny_run(0, final_path=str(tmp_path / "last.keras"))
    (tmp_path / "last.keras").write_bytes(b"another run's weights")
    with pytest.raises(FileExistsError, match="final_path .*last.keras exists"):
        train_runs([run])
    assert (tmp_path / "last.keras").read_bytes() == b"another run's weights"


def test_a_resuming_run_may_name_its_own_network_files(tmp_path):
    (tmp_path / "checkpoints" / "step-000000100").mkdir(parents=True)
    (tmp_path / "last.keras").write_bytes(b"this run's last weights")
    run = tiny_run(
        0,
        final_path=str(tmp_path / "last.keras"),
        checkpoint_dir=str(tmp_path / "checkpoints"),
    )
    assert run.resumes()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"env_id": "Pendulum-v1"}, "needs a Discrete action space"),
        ({"checkpoint_dir": __file__ + "/checkpoints"}, "lies inside"),
    ],
)
def test_a_bad_run_record_is_refused_before_any_worker_starts(
    changes, message, no_workers
):
    record = {**tiny_run(0).to_dict(), **changes}
    with pytest.raises(ValueError, match=message):
        train_runs([Run.from_dict(record)])


def test_numpy_integers_become_plain_ints_so_a_run_travels_as_json():
    run = Run("CartPole-v1", TINY, np.int64(3), np.int64(300), 150, np.arange(2), ())
    assert type(run.seed) is int and run.probe_seeds == (0, 1)
    assert Run.from_dict(json.loads(json.dumps(run.to_dict()))) == run


def test_a_worker_that_cannot_start_is_an_error_with_its_last_words(monkeypatch):
    monkeypatch.setenv("PYTHONHASHSEED", "not a number")  # Python itself refuses
    with pytest.raises(RuntimeError, match="ended with exit code"):
        train_runs([tiny_run(0)], workers=1)
