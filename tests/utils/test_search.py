"""The hyperparameter search: trials that report, and workers that share a study."""

import json
import subprocess
import sys

import optuna
import pytest

from utils import search
from utils.dqn import DQNConfig

TINY = {
    "hidden_units": [16],
    "num_envs": 1,
    "gradient_steps": 2,
    "learning_starts": 512,
    "memory_capacity": 2_000,
}


def worker(storage, seed):
    command = [sys.executable, "-m", "utils.search", "--storage", str(storage)]
    command += ["--study", "shared", "--trials", "6", "--env", "CartPole-v1"]
    command += ["--steps", "900", "--eval-every", "300", "--probes", "2"]
    command += ["--seed", str(seed), "--base", json.dumps(TINY)]
    return subprocess.Popen(command, stdout=subprocess.PIPE, text=True)


def test_two_worker_processes_share_one_journal_study(tmp_path):
    storage = tmp_path / "study.journal"
    workers = [worker(storage, seed) for seed in (1, 2)]
    outputs = [w.communicate()[0] for w in workers]
    assert [w.returncode for w in workers] == [0, 0], outputs
    study = optuna.load_study(
        study_name="shared", storage=search.storage_from(str(storage))
    )
    trials = study.get_trials(states=search.FINISHED)
    assert 6 <= len(trials) <= 7  # each worker may start one more before it sees 6
    numbers = [t.number for t in trials]
    assert len(set(numbers)) == len(numbers)
    assert len({t.user_attrs["seed"] for t in trials}) == len(trials)
    assert len({t.user_attrs["worker"] for t in trials}) == 2  # both did trials
    complete = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert study.best_value == max(t.value for t in complete)
    for t in trials:  # every trial reported its evaluations to the pruner
        assert set(t.intermediate_values) <= {0, 1, 2} and t.intermediate_values
    assert all("finished trials, best" in output for output in outputs)


def test_a_rerun_resumes_the_study_to_its_total(tmp_path):
    storage = f"sqlite:///{tmp_path}/study.db"
    base = DQNConfig(**{**TINY, "hidden_units": (16,)})
    args = (base, "CartPole-v1", 600, 300, (1, 2))
    first = search.work(storage, "resumable", 2, *args, seed=0)
    assert len(first.get_trials(states=search.FINISHED)) == 2
    again = search.work(storage, "resumable", 3, *args, seed=0)
    trials = again.get_trials(states=search.FINISHED)
    assert [t.number for t in trials] == [0, 1, 2]  # the first two were kept
    path = search.save_best(again, tmp_path / "best.json")
    saved = json.loads(path.read_text())
    assert saved["trial"] == again.best_trial.number and saved["params"]
    assert (
        search.config_from_params(base, saved["params"]).learning_rate
        == (saved["params"]["learning_rate"])
    )
    with pytest.raises(FileExistsError, match="saved once"):
        search.save_best(again, path)


def test_bad_counts_are_refused_with_their_value():
    with pytest.raises(SystemExit):
        search.parse(["--trials", "0"])
