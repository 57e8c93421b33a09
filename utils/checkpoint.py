"""Checkpoints of a `DQNAgent` run that a fresh process can continue exactly.

A checkpoint is a folder `step-000150123` (the environment step it was written at)
holding everything the run needs to go on:

- `q_network.keras`, `target_network.keras`, `kept_network.keras`: the networks;
- `optimizer_<k>.npy`: Adam's variables, its step counter (`iterations`) included;
- `memory_<field>.npy`: the replay memory's arrays, whole;
- `state.json`: the settings, the counters (environment steps, episodes, the last
  checkpoint), the exploration position, the training log and the starts of its
  evaluations, the file the kept network is saved to, the replay memory's write
  position and size, and the states of every random generator: Python's, NumPy's
  global one, TensorFlow's global one, the agent's and the memory's, each
  environment's and each action space's.

The agent gives and takes its part as one record (`DQNAgent.resumable_state`,
`DQNAgent.restore`, a `utils.dqn.RunState`); this module writes that record, the
process-wide generators beside it, and reads both back, checked.

Nothing is pickled. A checkpoint is written into a hidden temporary folder and
renamed into place when complete, so a crash mid-write leaves the earlier
checkpoints as they were. It is written at an episode end with one environment:
then no episode is half played (a Box2D world cannot be saved) and the n-step
queue is empty; the next episode starts from the restored environment generator.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import math
import os
import random
import re
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from utils.config import (
    EVALUATE_IN,
    DQNConfig,
    check_evaluate_in,
    check_seeds,
    is_integer,
    is_real,
)
from utils.runs import current_umask, flush_to_disk, load_model
from utils.trainlog import TrainLog

if TYPE_CHECKING:
    from utils.dqn import DQNAgent, RunState

# 2: state.json holds each file's SHA-256; 3: and the evaluations' starts and the
# kept network's file
FORMAT = 4  # 4: where the evaluations played ("evaluate_in")
NETWORKS = ("q_network", "target_network", "kept_network")
MEMORY_FIELDS = (
    "observations",
    "next_observations",
    "actions",
    "rewards",
    "terminated",
    "truncated",
)
PREFIX = "step-"
NAME = re.compile(PREFIX + r"[0-9]+")
WRITING = ".writing-"  # the prefix of a checkpoint being written


def checkpoints(folder: str | Path) -> list[Path]:
    """The checkpoints in `folder`, oldest first ([] if there are none). Only
    folders named `step-<digits>` count: anything else (`step-old`, a temporary
    `.writing-*` folder, a file) is not a checkpoint and is left alone."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found = [p for p in folder.iterdir() if p.is_dir() and NAME.fullmatch(p.name)]
    return sorted(found, key=step_of)


def latest(folder: str | Path) -> Path | None:
    """The newest checkpoint in `folder`, or None."""
    found = checkpoints(folder)
    return found[-1] if found else None


def step_of(path: str | Path) -> int:
    """The environment step a checkpoint folder was written at."""
    return int(Path(path).name[len(PREFIX) :])


def check_can_write(agent: DQNAgent, folder: str | Path, every: int) -> None:
    """Refuse, before training, what `save` could not do or would clobber: several
    environments, or a folder that holds another run's checkpoints (another
    environment, seed or settings, or a later step of this one)."""
    _check_one_environment(agent)
    if every < 1:
        raise ValueError(f"checkpoint_every must be >= 1, got {every}")
    _check_folder_is_this_runs(agent, folder)


def _check_folder_is_this_runs(agent: DQNAgent, folder: str | Path) -> None:
    """Refuse a folder whose checkpoints belong to another run: saving there would
    mix two runs, and keeping the last K would delete the other run's."""
    newest = latest(folder)
    if newest is None:
        return
    if step_of(newest) > agent.env_steps:
        raise FileExistsError(
            f"{folder} holds a checkpoint at step {step_of(newest)}, later than "
            f"this agent's step {agent.env_steps}: it belongs to another run. "
            "Resume from it (DQNAgent.from_checkpoint) or choose a new folder."
        )
    try:
        _check_matches(agent, read_state(newest), newest)
    except (ValueError, FileNotFoundError) as error:
        raise FileExistsError(
            f"{folder} holds checkpoints of another run ({error}); "
            "choose a new folder for this one"
        ) from error


def _check_one_environment(agent: DQNAgent) -> None:
    if agent.config.num_envs != 1:
        raise ValueError(
            "checkpoints need num_envs=1 (a checkpoint is written at an episode end, "
            f"and a Box2D world cannot be saved mid-episode), got "
            f"num_envs={agent.config.num_envs}"
        )


# -- random generators as JSON ---------------------------------------------------------
def _generator_state(generator: np.random.Generator) -> dict:
    return generator.bit_generator.state


def _set_generator_state(generator: np.random.Generator, state: dict) -> None:
    generator.bit_generator.state = state


def env_rng_states(envs) -> dict:
    """The generators of a vector env: each environment's and each action space's."""
    return {
        "envs": [_generator_state(env.unwrapped.np_random) for env in envs.envs],
        "action_spaces": [
            _generator_state(env.action_space.np_random) for env in envs.envs
        ],
        "vector_action_space": _generator_state(envs.action_space.np_random),
    }


def restore_env_rngs(envs, states: dict) -> None:
    """Set a new vector env's generators to `env_rng_states`' record."""
    for env, state in zip(envs.envs, states["envs"]):
        _set_generator_state(env.unwrapped.np_random, state)
    for env, state in zip(envs.envs, states["action_spaces"]):
        _set_generator_state(env.action_space.np_random, state)
    _set_generator_state(envs.action_space.np_random, states["vector_action_space"])


def _global_rng_states() -> dict:
    import tensorflow as tf

    version, mt_state, gauss = random.getstate()
    name, keys, position, has_gauss, cached = np.random.get_state()  # noqa: NPY002
    tf_generator = tf.random.get_global_generator()
    return {
        "python": [version, list(mt_state), gauss],
        "numpy_global": [name, keys.tolist(), position, has_gauss, cached],
        "tensorflow_global": {
            "state": tf_generator.state.numpy().tolist(),
            "algorithm": int(tf_generator.algorithm),
        },
    }


# -- save ----------------------------------------------------------------------------
def save(agent: DQNAgent, folder: str | Path, keep: int = 3) -> Path:
    """Write a checkpoint of `agent` into `folder` atomically; keep the last `keep`.

    Only what a resume continues exactly is saved: one environment, at an episode
    end (where `train(..., checkpoint_dir=...)` writes them, or after a `train`
    whose last step ended an episode). The files and the folder are flushed to
    disk before the rename; a temporary folder left by a killed write is removed.
    """
    if not is_integer(keep) or keep < 1:
        raise ValueError(f"keep_checkpoints must be an integer >= 1, got {keep!r}")
    _check_one_environment(agent)
    _check_folder_is_this_runs(agent, folder)
    if not agent.at_episode_end():
        where = "has not played yet" if agent.env_steps == 0 else "is mid-episode"
        raise ValueError(
            f"a checkpoint is written at an episode end, and this agent {where} "
            f"(step {agent.env_steps}): a resume could not continue its episode. "
            "Pass checkpoint_dir to train, which writes them at episode ends."
        )
    run = agent.resumable_state()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{PREFIX}{run.env_steps:09d}"
    if target.exists():
        raise FileExistsError(f"{target} exists; a checkpoint is never overwritten")
    for leftover in folder.glob(f"{WRITING}*"):  # a write that was killed
        shutil.rmtree(leftover, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(dir=folder, prefix=f"{WRITING}{target.name}-"))
    try:
        _write(agent, run, tmp)
        tmp.chmod(0o777 & ~current_umask())  # as a plain mkdir would (mkdtemp: 0700)
        for file in tmp.iterdir():
            flush_to_disk(file)
        flush_to_disk(tmp)
        tmp.rename(target)  # atomic: the checkpoint appears complete or not at all
        flush_to_disk(folder)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    for old in checkpoints(folder)[:-keep]:
        shutil.rmtree(old)
    return target


def _write(agent: DQNAgent, run: RunState, tmp: Path) -> None:
    """`run` (and the global generators) as files in `tmp`."""
    network = agent.build_network()  # holds each set of weights in turn
    for name, weights in zip(
        NETWORKS, (run.q_weights, run.target_weights, run.kept_weights)
    ):
        network.set_weights(weights)
        network.save(tmp / f"{name}.keras")
    for name in MEMORY_FIELDS:
        np.save(tmp / f"memory_{name}.npy", run.memory_arrays[name], allow_pickle=False)
    for k, array in enumerate(run.optimizer_variables):
        np.save(tmp / f"optimizer_{k}.npy", array, allow_pickle=False)
    seeds = run.evaluation_seeds
    state = {
        "format": FORMAT,
        "env_id": agent.env_id,
        "seed": agent.seed,
        "config": agent.config.to_dict(),
        "env_steps": run.env_steps,
        "episodes": len(run.log.episode_returns),
        "epsilon": agent.config.epsilon_at(run.env_steps),
        "checkpoint_step": run.checkpoint_step,
        "train_seconds": run.train_seconds,
        "last_loss": run.last_loss,
        "log": dataclasses.asdict(run.log),
        "evaluation_seeds": None if seeds is None else [list(s) for s in seeds],
        "evaluate_in": run.evaluate_in,
        "kept_path": run.kept_path,
        "memory": {
            "capacity": agent.memory.capacity,
            "position": run.memory_position,
            "size": run.memory_size,
        },
        "optimizer_variables": [
            {"path": v.path, "shape": list(v.shape)} for v in agent.optimizer.variables
        ],
        "rng": {
            "agent": run.generators["exploration"],
            "memory": run.generators["replay"],
            **_global_rng_states(),
            "environments": run.generators["environments"],
        },
    }
    state["files"] = {f.name: _sha256(f) for f in sorted(tmp.iterdir())}
    (tmp / "state.json").write_text(json.dumps(state, indent=1))


def _sha256(file: Path) -> str:
    digest = hashlib.sha256()
    with open(file, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# -- load ----------------------------------------------------------------------------
def read_state(path: str | Path) -> dict:
    """A checkpoint's `state.json`, with a clear error if it is missing or broken:
    every field is checked for its presence and type, and against the others and
    the settings it holds (not yet against an agent)."""
    path = Path(path)
    if not path.is_dir():
        raise FileNotFoundError(f"no checkpoint folder at {path}")
    state_file = path / "state.json"
    if not state_file.is_file():
        raise FileNotFoundError(f"{path} is not a complete checkpoint: no state.json")
    try:
        state = json.loads(state_file.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{state_file} is truncated or corrupt: {error}") from error
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        found = state.get("format") if isinstance(state, dict) else state
        raise ValueError(f"{state_file} has format {found!r}, expected {FORMAT}")
    problems = _state_problems(state)
    if problems:
        raise ValueError(
            f"{state_file} is not a valid checkpoint: {'; '.join(problems)}"
        )
    try:
        config = config_from_state(state)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{path}/state.json holds bad settings: {error}") from error
    _check_against_settings(state, config, state_file)
    return state


def _is_seeds(value) -> bool:
    try:
        check_seeds("seeds", value)
    except ValueError:
        return False
    return isinstance(value, list)


# the fields of state.json, each with a check of its type
FIELDS = {
    "env_id": lambda v: isinstance(v, str),
    "seed": lambda v: is_integer(v) and v >= 0,
    "config": lambda v: isinstance(v, dict),
    "env_steps": lambda v: is_integer(v) and v >= 1,
    "episodes": lambda v: is_integer(v) and v >= 0,
    "epsilon": is_real,
    "checkpoint_step": lambda v: is_integer(v) and v >= 0,
    "train_seconds": lambda v: is_real(v) and v >= 0,
    "last_loss": is_real,
    "log": lambda v: isinstance(v, dict),
    # null before the first evaluation, then [probe seeds, held-out seeds]
    "evaluation_seeds": lambda v: (
        v is None or (isinstance(v, list) and len(v) == 2 and all(map(_is_seeds, v)))
    ),
    # null before the first evaluation, then where they played
    "evaluate_in": lambda v: v is None or v in EVALUATE_IN,
    "kept_path": lambda v: v is None or (isinstance(v, str) and v != ""),
    "memory": lambda v: isinstance(v, dict),
    "optimizer_variables": lambda v: isinstance(v, list),
    "rng": lambda v: isinstance(v, dict),
    "files": lambda v: (
        isinstance(v, dict) and all(isinstance(h, str) for h in v.values())
    ),
}
# fields whose value may be null
NULLABLE = ("evaluation_seeds", "evaluate_in", "kept_path")
LOG_INTEGERS = ("episode_steps", "eval_steps")
LOG_NUMBERS = ("episode_returns", "probe_means", "held_out_means", "train_seconds")
RNG_FIELDS = ("agent", "memory", "python", "numpy_global", "tensorflow_global")


def _state_problems(state: dict) -> list[str]:
    """Every problem of `state`'s fields, each as a phrase (none: a sound state)."""
    problems = []
    for name, valid in FIELDS.items():
        if name not in state:
            problems.append(f"no {name!r}")
        elif not valid(state[name]):
            problems.append(f"{name!r} is {state[name]!r:.80}")
    if problems:
        return problems
    problems = _log_problems(state["log"], state["episodes"])
    if problems:
        return problems
    return _run_problems(state)


def _log_problems(log: dict, episodes: int) -> list[str]:
    """The training log's problems: its fields, their types and their lengths."""
    try:
        TrainLog(**log)
    except TypeError as error:
        return [f"'log' does not hold a training log ({error})"]
    problems = []
    for name in (*LOG_INTEGERS, *LOG_NUMBERS):
        valid = is_integer if name in LOG_INTEGERS else is_real
        if not isinstance(log[name], list) or not all(map(valid, log[name])):
            problems.append(f"'log.{name}' is not a list of numbers: {log[name]!r:.60}")
    flags = log.get("episode_terminated")
    if not isinstance(flags, list) or not all(isinstance(f, bool) for f in flags):
        problems.append(
            f"'log.episode_terminated' is not a list of booleans: {flags!r:.60}"
        )
    if problems:
        return problems
    evaluations = len(log["eval_steps"])
    lengths = {
        "episode_steps": episodes,
        "episode_returns": episodes,
        "episode_terminated": episodes,
        "train_seconds": evaluations,
    }
    for name, length in lengths.items():
        if len(log[name]) != length:
            problems.append(f"'log.{name}' holds {len(log[name])} values, not {length}")
    for name in ("probe_means", "held_out_means"):
        if len(log[name]) not in (0, evaluations):
            problems.append(
                f"'log.{name}' holds {len(log[name])} values, not {evaluations}"
            )
    if log["kept_step"] is not None and log["kept_step"] not in log["eval_steps"]:
        problems.append(
            f"'log.kept_step' {log['kept_step']!r} is not an evaluation step"
        )
    return problems


def _run_problems(state: dict) -> list[str]:
    """Problems between the fields: the log, the counters, the memory, the starts."""
    problems = []
    log = state["log"]
    if log["episode_steps"] and log["episode_steps"][-1] != state["env_steps"]:
        problems.append(
            f"the last episode ended at step {log['episode_steps'][-1]}, the "
            f"checkpoint is at step {state['env_steps']} (written at an episode end)"
        )
    memory = state["memory"]
    if not all(is_integer(memory.get(k)) for k in ("capacity", "position", "size")):
        problems.append(f"'memory' needs integer capacity, position, size: {memory}")
    elif memory["size"] > state["env_steps"]:
        problems.append(
            f"the replay memory holds {memory['size']} transitions after only "
            f"{state['env_steps']} steps"
        )
    missing = [k for k in (*RNG_FIELDS, "environments") if k not in state["rng"]]
    if missing:
        problems.append(f"'rng' has no {', '.join(missing)}")
    if state["checkpoint_step"] > state["env_steps"]:
        problems.append(
            f"checkpoint_step {state['checkpoint_step']} is after env_steps "
            f"{state['env_steps']}"
        )
    seeds = state["evaluation_seeds"]
    measured = [bool(log["probe_means"]), bool(log["held_out_means"])]
    if (state["evaluate_in"] is None) != (not log["eval_steps"]):
        problems.append(
            f"'evaluate_in' is {state['evaluate_in']!r} for a log of "
            f"{len(log['eval_steps'])} evaluations"
        )
    elif state["evaluate_in"] is not None:
        try:  # "twin" only for an environment that has one
            check_evaluate_in(state["evaluate_in"], state["env_id"])
        except ValueError as error:
            problems.append(str(error))
    if (seeds is None) != (not log["eval_steps"]):
        problems.append(
            f"'evaluation_seeds' is {seeds!r:.60} for a log of "
            f"{len(log['eval_steps'])} evaluations"
        )
    elif seeds is not None and [bool(s) for s in seeds] != measured:
        problems.append(
            f"'evaluation_seeds' holds {len(seeds[0])} probe and {len(seeds[1])} "
            "held-out starts, the log's means are of "
            f"{' and '.join(n for n, m in zip(('probe', 'held-out'), measured) if m)}"
            " starts"
        )
    return problems


def _check_against_settings(state: dict, config: DQNConfig, where: Path) -> None:
    """Refuse an exploration position off the settings' schedule, or a replay
    memory that does not fit their capacity."""
    expected_epsilon = config.epsilon_at(state["env_steps"])
    if not math.isclose(state["epsilon"], expected_epsilon, abs_tol=1e-9):
        raise ValueError(
            f"{where}: epsilon {state['epsilon']} is not the schedule's "
            f"{expected_epsilon} at step {state['env_steps']}"
        )
    capacity, position, size = (
        state["memory"][k] for k in ("capacity", "position", "size")
    )
    if capacity != config.memory_capacity or not 0 <= size <= capacity:
        raise ValueError(
            f"{where}: the replay memory holds {size} of capacity {capacity}, "
            f"the settings' capacity is {config.memory_capacity}"
        )
    if not 0 <= position < capacity or (size < capacity and position != size):
        raise ValueError(
            f"{where}: replay position {position} does not fit size {size} and "
            f"capacity {capacity}"
        )


def config_from_state(state: dict) -> DQNConfig:
    return DQNConfig.from_dict(state["config"])


def load(agent: DQNAgent, path: str | Path) -> None:
    """Make `agent` continue the run checkpointed at `path`.

    Everything is read, checked and built before anything is set: a missing,
    truncated, corrupt or mismatched file or field raises an error that names
    what is wrong, and the agent is left exactly as it was.
    """
    path = Path(path)
    state = read_state(path)
    _check_matches(agent, state, path)
    with global_rngs_kept_on_error():  # reading a .keras file draws from them
        run, tf_generator = _stage(agent, state, path)
    agent.restore(run)  # nothing here can fail on the checkpoint: it is checked
    rng = state["rng"]
    _set_global_rngs(rng["python"], rng["numpy_global"], tf_generator)


@contextlib.contextmanager
def global_rngs_kept_on_error():
    """Python's, NumPy's and TensorFlow's global generators (and PYTHONHASHSEED)
    as they were, if the body raises."""
    import tensorflow as tf

    python, numpy = random.getstate(), np.random.get_state()  # noqa: NPY002
    tensorflow = tf.random.get_global_generator()
    kept_state = tensorflow.state.numpy()
    hash_seed = os.environ.get("PYTHONHASHSEED")
    try:
        yield
    except BaseException:
        random.setstate(python)
        np.random.set_state(numpy)  # noqa: NPY002
        tensorflow.reset(kept_state)  # in case the body drew from it
        tf.random.set_global_generator(tensorflow)
        if hash_seed is None:
            os.environ.pop("PYTHONHASHSEED", None)
        else:
            os.environ["PYTHONHASHSEED"] = hash_seed
        raise


def _set_global_rngs(python: list, numpy: list, tensorflow) -> None:
    import tensorflow as tf

    random.setstate(_python(python))
    np.random.set_state(_numpy_global(numpy))  # noqa: NPY002
    tf.random.set_global_generator(tensorflow)


def _stage(agent: DQNAgent, state: dict, path: Path):
    """The checkpoint's `RunState`, every array, weight and generator read and
    checked, and TensorFlow's global generator."""
    from utils.dqn import RunState

    where = path / "state.json"
    check_files(path, state["files"])
    memory = {
        name: _load_array(path / f"memory_{name}.npy", getattr(agent.memory, name))
        for name in MEMORY_FIELDS
    }
    optimizer = _stage_optimizer(agent, state, path)
    generators, tf_generator = _stage_generators(agent, state["rng"], where)
    # last: the slowest to read
    networks = [_load_weights(agent, path, name) for name in NETWORKS]
    seeds = state["evaluation_seeds"]
    run = RunState(
        env_steps=state["env_steps"],
        checkpoint_step=state["checkpoint_step"],
        train_seconds=state["train_seconds"],
        last_loss=state["last_loss"],
        log=TrainLog(**state["log"]),
        evaluation_seeds=None if seeds is None else tuple(map(tuple, seeds)),
        evaluate_in=state["evaluate_in"],
        kept_path=state["kept_path"],
        q_weights=networks[0],
        target_weights=networks[1],
        kept_weights=networks[2],
        optimizer_variables=optimizer,
        memory_arrays=memory,
        memory_position=state["memory"]["position"],
        memory_size=state["memory"]["size"],
        generators=generators,
    )
    return run, tf_generator


def _stage_optimizer(agent: DQNAgent, state: dict, path: Path) -> list[np.ndarray]:
    variables = agent.optimizer.variables
    saved = state["optimizer_variables"]
    # variable names depend on how many models a process has built: compare shapes
    try:
        saved_shapes = [tuple(v["shape"]) for v in saved]
    except (TypeError, KeyError) as error:
        raise ValueError(
            f"{path / 'state.json'}: optimizer_variables is corrupt: {error}"
        ) from error
    shapes = [tuple(v.shape) for v in variables]
    if saved_shapes != shapes:
        raise ValueError(
            f"{path}: the optimizer's variables have shapes {saved_shapes}, "
            f"this agent's {shapes}"
        )
    return [
        _load_array(path / f"optimizer_{k}.npy", v.numpy())
        for k, v in enumerate(variables)
    ]


def _stage_generators(agent: DQNAgent, rng: dict, where: Path):
    """The agent's generators' states (checked) and TensorFlow's global generator."""
    import tensorflow as tf

    for name in ("agent", "memory"):
        _checked(where, f"rng.{name}", _numpy_generator, rng[name])
    _checked(
        where,
        "rng.python",
        lambda s: random.Random().setstate(_python(s)),
        rng["python"],
    )
    _checked(
        where,
        "rng.numpy_global",
        lambda s: np.random.RandomState().set_state(_numpy_global(s)),
        rng["numpy_global"],
    )
    tf_generator = _checked(
        where,
        "rng.tensorflow_global",
        lambda s: tf.random.Generator.from_state(s["state"], s["algorithm"]),
        rng["tensorflow_global"],
    )
    environments = rng["environments"]
    n = agent.config.num_envs
    try:
        lists = [environments["envs"], environments["action_spaces"]]
        if [len(states) for states in lists] != [n, n]:
            raise ValueError(f"{n} environments expected")
        for state_ in [*lists[0], *lists[1], environments["vector_action_space"]]:
            _numpy_generator(state_)
    except (TypeError, KeyError, ValueError) as error:
        raise ValueError(
            f"{where}: rng.environments is not {n} environments' generators: {error}"
        ) from error
    generators = {
        "exploration": rng["agent"],
        "replay": rng["memory"],
        "environments": environments,
    }
    return generators, tf_generator


def check_files(path: Path, recorded: dict) -> None:
    """Every file of the checkpoint is there and unchanged since it was written."""
    needed = {f"{name}.keras" for name in NETWORKS}
    needed |= {f"memory_{name}.npy" for name in MEMORY_FIELDS}
    missing = sorted(needed - set(recorded))
    if missing:
        raise ValueError(f"{path}/state.json lists no {', '.join(missing)}")
    for name, digest in recorded.items():
        file = path / name
        if not file.is_file():
            raise FileNotFoundError(f"{path} is not a complete checkpoint: no {name}")
        if _sha256(file) != digest:
            raise ValueError(
                f"{file} is truncated or corrupt: it is not the file that was written "
                "(its SHA-256 differs)"
            )


def _checked(where: Path, name: str, build, value):
    try:
        return build(value)
    except Exception as error:  # noqa: BLE001 - TensorFlow raises its own kinds
        raise ValueError(
            f"{where}: {name} is not a generator state: {error}"
        ) from error


def _numpy_generator(state: dict) -> np.random.Generator:
    generator = np.random.default_rng()
    generator.bit_generator.state = state
    return generator


def _python(state: list) -> tuple:
    version, mt_state, gauss = state
    return version, tuple(mt_state), gauss


def _numpy_global(state: list) -> tuple:
    name, keys, position, has_gauss, cached = state
    return name, np.array(keys, np.uint32), position, has_gauss, cached


def _check_matches(agent: DQNAgent, state: dict, path: Path) -> None:
    if state["env_id"] != agent.env_id:
        raise ValueError(
            f"{path} was written for {state['env_id']}, this agent plays {agent.env_id}"
        )
    try:
        saved = dataclasses.asdict(config_from_state(state))
    except (TypeError, ValueError) as error:
        raise ValueError(f"{path}/state.json holds bad settings: {error}") from error
    ours = dataclasses.asdict(agent.config)
    differ = [
        f"{k}: checkpoint {saved[k]!r}, agent {ours[k]!r}"
        for k in ours
        if saved[k] != ours[k]
    ]
    if differ:
        raise ValueError(
            f"{path} has other settings than this agent: " + "; ".join(differ)
        )
    if state["seed"] != agent.seed:
        raise ValueError(
            f"{path} continues the run of seed {state['seed']}, this agent's seed is "
            f"{agent.seed}"
        )


def _load_weights(agent: DQNAgent, path: Path, name: str) -> list[np.ndarray]:
    weights = load_model(path / f"{name}.keras").get_weights()
    expected = [w.shape for w in agent.q_network.get_weights()]
    if [w.shape for w in weights] != expected:
        raise ValueError(
            f"{path / name}.keras has weight shapes {[w.shape for w in weights]}, "
            f"this agent's network has {expected}"
        )
    return weights


def _load_array(file: Path, like: np.ndarray) -> np.ndarray:
    if not file.is_file():
        raise FileNotFoundError(
            f"{file.parent} is not a complete checkpoint: no {file.name}"
        )
    try:
        array = np.load(file, allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        raise ValueError(f"{file} is truncated or corrupt: {error}") from error
    if array.shape != like.shape or array.dtype != like.dtype:
        raise ValueError(
            f"{file} holds {array.dtype} {array.shape}, "
            f"expected {like.dtype} {like.shape}"
        )
    return array
