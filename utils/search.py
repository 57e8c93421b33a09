"""A hyperparameter search over the DQN's settings, with Optuna, that scales out.

Each trial trains a `DQNAgent` for a short budget with settings Optuna suggests,
reports the greedy mean return on the search's probe starts after every
evaluation (so that the pruner can stop a hopeless trial early), and scores the
best of them (the weights a run would keep). Each trial's seed is its number,
recorded on the trial. Held-out starts play no part: they stay for the final agent.

Where the study lives decides who can work on it:

- a SQLite URL (the default, `sqlite:///runs/09_search/study.db`): one worker; an
  interrupted search resumes where it stopped when the command is run again;
- a file path: Optuna's journal file storage, for many worker processes on one
  machine or on a shared file system;
- a server database URL (`postgresql://...`, `mysql+pymysql://...`): workers on
  many machines (Optuna advises against SQLite for parallel workers).

One worker, from the command line (`--trials` is the study's total of finished
trials, shared by all its workers, so a rerun goes on to the same total):

    python -m utils.search --storage runs/09_search/study.journal --study lander \\
        --trials 40 --seed 1
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import warnings
from collections.abc import Sequence
from pathlib import Path

import optuna

# before TensorFlow loads (through utils.dqn): for networks this small, oneDNN's
# setup costs more than the arithmetic
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

from utils.dqn import DQNAgent, DQNConfig  # noqa: E402

DEFAULT_STORAGE = "sqlite:///runs/09_search/study.db"
FINISHED = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)


def suggest_settings(trial: optuna.Trial) -> dict:
    """The settings a trial tries: the ones that matter most for a DQN."""
    return {
        "learning_rate": trial.suggest_float("learning_rate", 1e-4, 3e-3, log=True),
        "discount": trial.suggest_categorical("discount", [0.98, 0.99, 0.995]),
        "batch_size": trial.suggest_categorical("batch_size", [64, 128, 256]),
        "target_update_every": trial.suggest_categorical(
            "target_update_every", [100, 250, 500, 1000]
        ),
        "epsilon_end": trial.suggest_categorical("epsilon_end", [0.01, 0.05, 0.1]),
        "epsilon_decay_steps": trial.suggest_categorical(
            "epsilon_decay_steps", [10_000, 20_000, 40_000]
        ),
        "train_every": trial.suggest_categorical("train_every", [2, 4, 8]),
    }


def storage_from(url: str) -> str | optuna.storages.BaseStorage:
    """A storage from a URL (a database) or a path (a journal file)."""
    if "://" in url:
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(
                parents=True, exist_ok=True
            )
        # a heartbeat lets a later worker mark a killed worker's trial as failed
        # (it is then not counted among the finished trials the study is run to)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.storages.RDBStorage(url, heartbeat_interval=60)
    Path(url).parent.mkdir(parents=True, exist_ok=True)
    backend = optuna.storages.journal.JournalFileBackend(url)
    return optuna.storages.JournalStorage(backend)


def open_study(storage: str, study: str, seed: int | None = None) -> optuna.Study:
    """Create the study, or join it if another worker (or an earlier run) did."""
    return optuna.create_study(
        study_name=study,
        storage=storage_from(storage),
        direction="maximize",
        # workers with the same seed would suggest the same settings: give each its own
        sampler=optuna.samplers.TPESampler(seed=seed, n_startup_trials=5),
        # a trial whose probe mean is below the median of earlier trials at the same
        # evaluation stops, once 3 trials have finished, from its second evaluation on
        pruner=optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=1),
        load_if_exists=True,
    )


def objective(
    base: DQNConfig,
    env_id: str,
    steps: int,
    eval_every: int,
    probe_seeds: Sequence[int],
):
    """Optuna's objective: train with the suggested settings, report, score."""

    def run_trial(trial: optuna.Trial) -> float:
        config = base.replace(**suggest_settings(trial))
        seed = trial.number
        trial.set_user_attr("seed", seed)
        trial.set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}")
        agent = DQNAgent(env_id, config, seed=seed)

        def report(agent: DQNAgent) -> None:
            evaluation = len(agent.log.probe_means) - 1
            trial.report(agent.log.probe_means[-1], evaluation)
            if trial.should_prune():
                raise optuna.TrialPruned(f"probe mean {agent.log.probe_means[-1]:.1f}")

        agent.train(
            steps, eval_every, probe_seeds=probe_seeds, progress=False, callback=report
        )
        trial.set_user_attr("train_seconds", agent.train_seconds)
        return max(agent.log.probe_means)

    return run_trial


def work(
    storage: str,
    study: str,
    trials: int,
    base: DQNConfig,
    env_id: str,
    steps: int,
    eval_every: int,
    probe_seeds: Sequence[int],
    seed: int | None = None,
) -> optuna.Study:
    """Run trials until the study holds `trials` finished ones (all workers')."""
    study_ = open_study(storage, study, seed)
    run_trial = objective(base, env_id, steps, eval_every, probe_seeds)
    stop = optuna.study.MaxTrialsCallback(trials, states=FINISHED)
    if len(study_.get_trials(deepcopy=False, states=FINISHED)) < trials:
        study_.optimize(run_trial, callbacks=[stop], catch=())
    return study_


def config_from_params(base: DQNConfig, params: dict) -> DQNConfig:
    """The agent's settings with a trial's (or a saved JSON's) parameters."""
    return base.replace(**params)


def save_best(study: optuna.Study, path: str | Path) -> Path:
    """The best trial's parameters, value and seed as JSON (never overwritten)."""
    path = Path(path)
    if path.exists():
        raise FileExistsError(f"{path} exists; a study's best is saved once")
    best = study.best_trial
    record = {
        "study": study.study_name,
        "trial": best.number,
        "value": best.value,
        "seed": best.user_attrs["seed"],
        "params": best.params,
    }
    path.write_text(json.dumps(record, indent=1))
    return path


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m utils.search",
        description="Run one worker of a DQN hyperparameter search.",
    )
    parser.add_argument(
        "--storage",
        default=DEFAULT_STORAGE,
        help="a database URL (sqlite:///..., postgresql://..., mysql+pymysql://...) "
        "or a journal file path shared by the workers (default: %(default)s)",
    )
    parser.add_argument("--study", default="lander", help="the study's name")
    parser.add_argument(
        "--trials",
        type=int,
        required=True,
        help="finished trials the study should hold (all workers together)",
    )
    parser.add_argument("--env", default="LunarLander-v3", help="a gymnasium id")
    parser.add_argument("--steps", type=int, default=50_000, help="steps per trial")
    parser.add_argument(
        "--eval-every", type=int, default=10_000, help="steps between reports"
    )
    parser.add_argument(
        "--probes", type=int, default=20, help="probe starts (seeds 30,000 on)"
    )
    parser.add_argument(
        "--seed", type=int, default=None, help="this worker's sampler seed"
    )
    parser.add_argument(
        "--base",
        default=None,
        help="JSON of DQNConfig settings the search starts from (default: LANDER)",
    )
    args = parser.parse_args(argv)
    for name in ("trials", "steps", "eval_every", "probes"):
        if getattr(args, name) < 1:
            parser.error(
                f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}"
            )
    return args


# the search's starting point for LunarLander (notebook 09's hand-set settings)
LANDER = DQNConfig(
    hidden_units=(256, 256),
    learning_rate=6.3e-4,
    discount=0.99,
    loss="huber",
    double=True,
    target="hard",
    target_update_every=250,
    n_step=3,
    memory_capacity=50_000,
    batch_size=128,
    learning_starts=1_024,
    num_envs=1,
    train_every=4,
    gradient_steps=2,
    epsilon_start=1.0,
    epsilon_end=0.05,
    epsilon_decay_steps=30_000,
)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse(argv)
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)  # one core per worker
    tf.config.threading.set_inter_op_parallelism_threads(1)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    base = LANDER
    if args.base is not None:
        settings = json.loads(args.base)
        if "hidden_units" in settings:
            settings["hidden_units"] = tuple(settings["hidden_units"])
        base = DQNConfig(**settings)
    probe_seeds = range(30_000, 30_000 + args.probes)
    study = work(
        args.storage,
        args.study,
        args.trials,
        base,
        args.env,
        args.steps,
        args.eval_every,
        probe_seeds,
        args.seed,
    )
    finished = study.get_trials(deepcopy=False, states=FINISHED)
    print(
        f"study {args.study!r}: {len(finished)} finished trials, "
        f"best {study.best_value:.1f} (trial {study.best_trial.number})"
    )


if __name__ == "__main__":
    main()
