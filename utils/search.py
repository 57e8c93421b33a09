"""A hyperparameter search over the DQN's settings, with Optuna, that scales out.

Each trial trains a `DQNAgent` for a short budget with settings Optuna suggests,
reports the greedy mean return on the first `--starts` validation starts of the
course's protocol (`utils.protocol.validation_starts`: a search chooses settings)
after every evaluation, so that the pruner can stop a hopeless trial early, and
scores the best of them (the weights a run would keep). Each trial trains from a
scratch seed of the protocol drawn from the search's `--seed`, the study's name
and the trial's number (`training_seed`), recorded on the trial. Exam starts play
no part: they stay for the final agent. A study records what its trials are
scored on (the environment, the base settings, the starts, the steps and the
evaluation interval); a worker with other values is refused.

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
import itertools
import json
import os
import socket
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import optuna
from sqlalchemy.exc import DatabaseError

# before TensorFlow loads (through utils.dqn): for networks this small, oneDNN's
# setup costs more than the arithmetic
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

from utils.config import DQNConfig  # noqa: E402
from utils.protocol import FAMILIES, validation_starts  # noqa: E402

DEFAULT_STORAGE = "sqlite:///runs/09_search/study.db"
TrialState = optuna.trial.TrialState
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)


# the settings a trial tries (the ones that matter most for a DQN): a range for the
# learning rate (log scale), a list of choices for the others
LEARNING_RATES = (1e-4, 3e-3)
CHOICES = {
    "discount": [0.98, 0.99, 0.995],
    "batch_size": [64, 128, 256],
    "target_update_every": [100, 250, 500, 1000],
    "epsilon_end": [0.01, 0.05, 0.1],
    "epsilon_decay_steps": [10_000, 20_000, 30_000, 40_000],
    "train_every": [2, 4, 8],
}


def suggest_settings(trial: optuna.Trial) -> dict:
    """The settings a trial tries, suggested by the study's sampler."""
    low, high = LEARNING_RATES
    settings = {
        "learning_rate": trial.suggest_float("learning_rate", low, high, log=True)
    }
    for name, choices in CHOICES.items():
        settings[name] = trial.suggest_categorical(name, choices)
    return settings


def check_space(base: DQNConfig) -> None:
    """Refuse a starting point from which the search could suggest settings that
    `DQNConfig` refuses (every combination of the choices is tried)."""
    names = list(CHOICES)
    for values in itertools.product(*CHOICES.values()):
        for learning_rate in LEARNING_RATES:
            settings = dict(zip(names, values), learning_rate=learning_rate)
            try:
                base.replace(**settings)
            except ValueError as error:
                raise ValueError(
                    f"from these base settings the search would suggest {settings}, "
                    f"which are refused: {error}"
                ) from error


class TrialSeededSampler(optuna.samplers.TPESampler):
    """Optuna's TPE sampler, whose random draws for trial k come from the search's
    seed and k alone (`trial_seed`), so that no two trials of a study, whichever
    worker runs them, and a rerun worker too, draw the same random numbers."""

    def __init__(self, seed: int, **kwargs) -> None:
        super().__init__(seed=seed, **kwargs)
        self.search_seed = seed

    def before_trial(self, study: optuna.Study, trial) -> None:
        seed = trial_seed(self.search_seed, trial.number)
        self._rng.rng.seed(seed)  # the TPE draws
        self._random_sampler._rng.rng.seed(seed)  # the random start-up draws
        super().before_trial(study, trial)


def trial_seed(search_seed: int, trial_number: int) -> int:
    """The seed of a trial's sampler draws: a SeedSequence child of the search."""
    return int(np.random.SeedSequence([search_seed, trial_number]).generate_state(1)[0])


def training_seed(search_seed: int, study_name: str, trial_number: int) -> int:
    """The seed trial `trial_number` trains from: a scratch seed of the protocol
    (`utils.protocol.FAMILIES`: runs that choose, never reported), drawn from
    the search's seed, the study's name and the trial's number, so that two
    studies (or two searches of one) do not train from the same seeds."""
    entropy = [search_seed, trial_number, *study_name.encode()]
    word = int(np.random.SeedSequence(entropy).generate_state(1)[0])
    scratch = FAMILIES["scratch"]
    return scratch[word % len(scratch)]


SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")


def check_storage(url: str) -> None:
    """Refuse a storage string that would not open, or not as the user meant."""
    if not url:
        raise ValueError("the storage is empty; give a database URL or a file path")
    if "://" in url:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError, NoSuchModuleError

        try:
            parsed = make_url(url)
            parsed.get_dialect().import_dbapi()  # the database's driver
        except (ArgumentError, NoSuchModuleError) as error:
            raise ValueError(f"{url!r} is not a database URL: {error}") from error
        except ImportError as error:
            raise ValueError(
                f"{url!r} needs a database driver that is not installed ({error}); "
                "requirements.txt installs psycopg for postgresql://, MySQL needs "
                "PyMySQL (mysql+pymysql://)"
            ) from error
        if parsed.get_backend_name() == "sqlite":
            if parsed.database in (None, "", ":memory:"):
                raise ValueError(
                    f"{url!r} names no SQLite file; write sqlite:///<path>"
                )
            check_storage_file(url, Path(parsed.database), sqlite=True)
    elif Path(url).suffix.lower() in SQLITE_SUFFIXES and not Path(url).is_dir():
        raise ValueError(
            f"{url!r} would be read as a journal file; for an SQLite database "
            f"write sqlite:///{url}"
        )
    else:
        check_storage_file(url, Path(url), sqlite=False)


def check_storage_file(url: str, path: Path, sqlite: bool) -> None:
    """Refuse a storage file that could not be made, or that holds something else."""
    if path.is_dir():
        raise ValueError(f"{url!r} is a folder; the storage must be a file's path")
    for folder in path.parents:
        if folder.exists() and not folder.is_dir():
            raise ValueError(f"{url!r}: {str(folder)!r} is a file, not a folder")
    if not path.is_file() or path.stat().st_size == 0:
        return  # a new (or empty) storage: the first worker writes it
    with path.open("rb") as file:
        if sqlite:
            holds_it = file.read(16) == b"SQLite format 3\x00"
        else:  # a journal is one JSON object per line
            try:
                holds_it = isinstance(json.loads(file.readline(1_000_000)), dict)
            except ValueError:
                holds_it = False
    if not holds_it:
        kind = "an SQLite database" if sqlite else "an Optuna journal"
        raise ValueError(f"{url!r} exists and is not {kind}")


def storage_from(url: str, heartbeat: int = 60) -> str | optuna.storages.BaseStorage:
    """A storage from a URL (a database) or a path (a journal file)."""
    check_storage(url)
    if "://" in url:
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(
                parents=True, exist_ok=True
            )
        # a heartbeat lets a later worker mark a killed worker's trial as failed
        # (it is then not counted among the finished trials the study is run to)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.storages.RDBStorage(url, heartbeat_interval=heartbeat)
    Path(url).parent.mkdir(parents=True, exist_ok=True)
    backend = optuna.storages.journal.JournalFileBackend(url)
    return optuna.storages.JournalStorage(backend)


def open_study(
    storage: str, study: str, seed: int = 0, heartbeat: int = 60
) -> optuna.Study:
    """Create the study, or join it if another worker (or an earlier run) did."""
    return optuna.create_study(
        study_name=study,
        storage=storage_from(storage, heartbeat),
        direction="maximize",
        # trial k draws from (seed, k): every worker may share the search's seed
        sampler=TrialSeededSampler(seed, n_startup_trials=5),
        # a trial whose mean is below the median of earlier trials at the same
        # evaluation stops, once 3 trials have finished, from its second evaluation on
        pruner=optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=1),
        load_if_exists=True,
    )


def objective(
    base: DQNConfig,
    env_id: str,
    steps: int,
    eval_every: int,
    starts: Sequence[int],
    search_seed: int = 0,
):
    """Optuna's objective: train with the suggested settings, report, score."""

    def train_and_score(trial: optuna.Trial) -> float:
        config = base.replace(**suggest_settings(trial))
        seed = training_seed(search_seed, trial.study.study_name, trial.number)
        trial.set_user_attr("seed", seed)
        trial.set_user_attr("sampler_seed", trial_seed(search_seed, trial.number))
        trial.set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}")
        from utils.dqn import DQNAgent

        agent = DQNAgent(env_id, config, seed=seed)

        def report(agent: DQNAgent) -> None:
            evaluation = len(agent.log.probe_means) - 1
            trial.report(agent.log.probe_means[-1], evaluation)
            if trial.should_prune():
                raise optuna.TrialPruned(f"mean {agent.log.probe_means[-1]:.1f}")

        # the trial's starts are the agent's probe starts: they pick its best report
        agent.train(
            steps, eval_every, probe_seeds=starts, progress=False, callback=report
        )
        trial.set_user_attr("train_seconds", agent.train_seconds)
        return max(agent.log.probe_means)

    def run_trial(trial: optuna.Trial) -> float:
        try:
            return train_and_score(trial)
        except optuna.TrialPruned:
            raise
        except Exception as error:  # the trial fails; the study keeps why
            trial.set_user_attr("error", f"{type(error).__name__}: {error}")
            raise

    return run_trial


def work(
    storage: str,
    study: str,
    trials: int,
    base: DQNConfig,
    env_id: str,
    steps: int,
    eval_every: int,
    starts: Sequence[int],
    seed: int = 0,
    heartbeat: int = 60,
) -> optuna.Study:
    """Run trials until the study holds `trials` finished ones (all workers').

    A trial whose training raises is recorded as failed, with its error, and the
    worker goes on; after `trials` failures in all the worker stops (something is
    wrong with every trial, not with one).
    """
    check_space(base)
    if eval_every > steps:
        raise ValueError(
            f"eval_every ({eval_every}) must be <= steps ({steps}): a trial is scored "
            "on its evaluations"
        )
    study_ = open_study(storage, study, seed, heartbeat)
    # a study is one search: workers that would search from elsewhere, or score
    # trials on other starts or budgets, are refused
    check_setup(study_, study_setup(env_id, base, starts, steps, eval_every))
    run_trial = objective(base, env_id, steps, eval_every, starts, seed)
    stops = [
        optuna.study.MaxTrialsCallback(trials, states=FINISHED),
        optuna.study.MaxTrialsCallback(trials, states=(TrialState.FAIL,)),
    ]
    if len(study_.get_trials(deepcopy=False, states=FINISHED)) < trials:
        study_.optimize(run_trial, callbacks=stops, catch=(Exception,))
    return study_


def study_setup(
    env_id: str, base: DQNConfig, starts: Sequence[int], steps: int, eval_every: int
) -> dict:
    """What a study's trials are scored on, as its user attribute `setup` holds it."""
    return {
        "env_id": env_id,
        "base": base.to_dict(),
        "starts": [int(s) for s in starts],
        "steps": int(steps),
        "eval_every": int(eval_every),
    }


# each entry of a study's setup, as its flag names it
SETUP_FLAGS = {
    "env_id": "--env",
    "base": "--base",
    "starts": "--starts",
    "steps": "--steps",
    "eval_every": "--eval-every",
}


def check_setup(study: optuna.Study, setup: dict) -> None:
    """Record `setup` on a new study; refuse a worker whose setup differs from the
    study's, naming the first flag that differs, the study's value and this
    worker's (its trials would be compared, and pruned, against other ones)."""
    recorded = study.user_attrs.get("setup")
    if recorded is None:
        study.set_user_attr("setup", setup)
        return
    for key, flag in SETUP_FLAGS.items():
        theirs, ours = recorded.get(key), setup[key]
        if theirs == ours:
            continue
        if key == "starts" and isinstance(theirs, list):
            shown = f"{len(theirs)} starts", f"{len(ours)} starts"
            if len(theirs) == len(ours):
                shown = f"starts {theirs}", f"starts {ours}"
        elif key == "base" and isinstance(theirs, dict):
            changed = sorted(k for k in ours if theirs.get(k) != ours[k])
            shown = (
                ", ".join(f"{k}={theirs.get(k)!r}" for k in changed),
                ", ".join(f"{k}={ours[k]!r}" for k in changed),
            )
        else:
            shown = ("none recorded" if theirs is None else repr(theirs)), repr(ours)
        raise ValueError(
            f"study {study.study_name!r} was searched with {flag} {shown[0]}, this "
            f"worker has {flag} {shown[1]}; give the same {flag}, or give this "
            "search another --study"
        )


def config_from_params(base: DQNConfig, params: dict) -> DQNConfig:
    """The agent's settings with a trial's (or a saved JSON's) parameters."""
    return DQNConfig.from_dict({**base.to_dict(), **params})


def searched_params(config: DQNConfig) -> dict:
    """The settings of `config` that the search chooses, as a trial's parameters
    (for `study.enqueue_trial`: a configuration the search then tries as it is)."""
    params = {"learning_rate": config.learning_rate}
    for name, choices in CHOICES.items():
        value = getattr(config, name)
        if value not in choices:
            raise ValueError(
                f"{name} {value!r} is not one of the search's choices {choices}: "
                "the search cannot try these settings as they are"
            )
        params[name] = value
    low, high = LEARNING_RATES
    if not low <= config.learning_rate <= high:
        raise ValueError(
            f"learning_rate {config.learning_rate!r} is outside the search's range "
            f"[{low}, {high}]: the search cannot try these settings as they are"
        )
    return params


def save_best(
    study: optuna.Study, path: str | Path, trial: optuna.trial.FrozenTrial | None = None
) -> Path:
    """A trial's parameters, value and seed as JSON (never overwritten): `trial`,
    or the study's best."""
    path = Path(path)
    if path.exists():
        raise FileExistsError(f"{path} exists; a study's best is saved once")
    best = study.best_trial if trial is None else trial
    if not isinstance(best, optuna.trial.FrozenTrial) or best.state != (
        TrialState.COMPLETE
    ):
        raise ValueError(
            f"trial must be a complete trial of the study (study.trials[k]), "
            f"got {best!r:.80}"
        )
    record = {
        "study": study.study_name,
        "trial": best.number,
        "value": best.value,
        "seed": best.user_attrs["seed"],
        "params": best.params,
    }
    path.write_text(json.dumps(record, indent=1))
    return path


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


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line, every value checked: a bad one is a one-line error."""
    parser = argparse.ArgumentParser(
        prog="python -m utils.search",
        description="Run one worker of a DQN hyperparameter search.",
    )
    parser.add_argument(
        "--storage",
        default=DEFAULT_STORAGE,
        help="a database URL (sqlite:///..., postgresql://..., "
        "mysql+pymysql://...) or a journal file path shared by the workers "
        "(default: %(default)s)",
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
        "--starts",
        type=int,
        default=20,
        help="validation starts a trial is scored on (the protocol's first; "
        "default: %(default)s)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        help="the search's seed: trial k's random draws and its training seed (a "
        "scratch seed of the protocol) come from it, the study's name and k, so "
        "every worker of a study can share it (default: %(default)s)",
    )
    parser.add_argument(
        "--heartbeat",
        type=int,
        default=60,
        help="seconds between a database worker's signs of life; a trial silent "
        "for twice that is marked failed (default: %(default)s)",
    )
    parser.add_argument(
        "--base",
        default=None,
        help="JSON of DQNConfig settings that adjust the starting point (LANDER)",
    )
    args = parser.parse_args(argv)
    for name, low in (
        ("trials", 1),
        ("steps", 1),
        ("eval_every", 1),
        ("starts", 1),
        ("seed", 0),
        ("heartbeat", 1),
    ):
        if getattr(args, name) < low:
            flag = f"--{name.replace('_', '-')}"
            parser.error(f"{flag} must be >= {low}, got {getattr(args, name)}")
    if args.starts > len(FAMILIES["validation"]):
        parser.error(
            f"--starts must be <= {len(FAMILIES['validation']):,} (the protocol's "
            f"validation seeds), got {args.starts:,}"
        )
    if args.seed >= 2**32:
        parser.error(f"--seed must be < 2**32, got {args.seed}")
    if not args.study.strip():
        parser.error("--study must name the study, got an empty name")
    if args.eval_every > args.steps:
        parser.error(
            f"--eval-every ({args.eval_every}) must be <= --steps ({args.steps}): "
            "a trial is scored on its evaluations"
        )
    try:
        check_storage(args.storage)
        args.base = base_from_json(args.base)
        check_space(args.base)
        check_env(args.env)
    except ValueError as error:
        parser.error(str(error))
    if args.steps < args.base.num_envs:
        parser.error(
            f"--steps must be >= num_envs ({args.base.num_envs}), got {args.steps}"
        )
    if args.steps <= args.base.learning_starts:
        parser.error(
            f"--steps ({args.steps}) must be above learning_starts "
            f"({args.base.learning_starts}): a trial that short never learns"
        )
    for flag, value in (("--steps", args.steps), ("--eval-every", args.eval_every)):
        if value % args.base.num_envs:
            parser.error(
                f"{flag} must be a multiple of num_envs ({args.base.num_envs}): the "
                f"agent steps that many environments together, got {value}"
            )
    return args


def base_from_json(text: str | None) -> DQNConfig:
    """LANDER adjusted by a JSON object of settings (None: LANDER itself)."""
    if text is None:
        return LANDER
    try:
        settings = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"--base is not JSON ({error}): {text!r}") from error
    if not isinstance(settings, dict):
        raise ValueError(f"--base must be a JSON object of settings, got {text!r}")
    searched = sorted(set(settings) & {"learning_rate", *CHOICES})
    if searched:
        raise ValueError(
            f"--base sets {', '.join(searched)}, which the search chooses; leave "
            "them out (or change utils.search's choices)"
        )
    return DQNConfig.from_dict({**LANDER.to_dict(), **settings})


def check_env(env_id: str) -> None:
    """Refuse an id gymnasium does not know or cannot make, or an environment the
    agent cannot play (`utils.config.check_env`, as the agent checks it)."""
    from utils.config import check_env as check

    check("--env", env_id)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse(argv)
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)  # one core per worker
    tf.config.threading.set_inter_op_parallelism_threads(1)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        study = run_worker(args, validation_starts(args.starts))
    except (ValueError, OSError, DatabaseError) as error:  # one line, as at parse
        first = str(error).strip().splitlines()[0]
        sys.exit(f"python -m utils.search: error: {first}")
    finished = study.get_trials(deepcopy=False, states=FINISHED)
    complete = [t for t in finished if t.state == TrialState.COMPLETE]
    best = (
        f"best {study.best_value:.1f} (trial {study.best_trial.number})"
        if complete
        else "none complete"
    )
    print(f"study {args.study!r}: {len(finished)} finished trials, {best}")


def run_worker(args: argparse.Namespace, starts) -> optuna.Study:
    return work(
        args.storage,
        args.study,
        args.trials,
        args.base,
        args.env,
        args.steps,
        args.eval_every,
        starts,
        args.seed,
        args.heartbeat,
    )


if __name__ == "__main__":
    main()
