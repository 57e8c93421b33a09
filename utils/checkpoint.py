"""Checkpoints of a `DQNAgent` run that a fresh process can continue exactly.

A checkpoint is a folder `step-000150123` (the environment step it was written at)
holding everything the run needs to go on:

- `q_network.keras`, `target_network.keras`, `kept_network.keras`: the networks;
- `optimizer_<k>.npy`: Adam's variables, its step counter (`iterations`) included;
- `memory_<field>.npy`: the replay memory's arrays, whole;
- `state.json`: the settings, the counters (environment steps, episodes, the last
  checkpoint), the exploration position, the training log, the replay memory's
  write position and size, and the states of every random generator: Python's,
  NumPy's global one, TensorFlow's global one, the agent's and the memory's, each
  environment's and each action space's.

Nothing is pickled. A checkpoint is written into a hidden temporary folder and
renamed into place when complete, so a crash mid-write leaves the earlier
checkpoints as they were. It is written at an episode end with one environment:
then no episode is half played (a Box2D world cannot be saved) and the n-step
queue is empty; the next episode starts from the restored environment generator.
"""

from __future__ import annotations

import dataclasses
import json
import random
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from utils.runs import load_model

if TYPE_CHECKING:
    from utils.dqn import DQNAgent

FORMAT = 1
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


def checkpoints(folder: str | Path) -> list[Path]:
    """The complete checkpoints in `folder`, oldest first ([] if there are none)."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found = [p for p in folder.glob(f"{PREFIX}*") if p.is_dir()]
    return sorted(found, key=lambda p: int(p.name[len(PREFIX) :]))


def latest(folder: str | Path) -> Path | None:
    """The newest checkpoint in `folder`, or None."""
    found = checkpoints(folder)
    return found[-1] if found else None


def step_of(path: str | Path) -> int:
    """The environment step a checkpoint folder was written at."""
    return int(Path(path).name[len(PREFIX) :])


def check_can_write(agent: DQNAgent, folder: str | Path, every: int) -> None:
    """Refuse, before training, what `save` could not do or would clobber."""
    if agent.config.num_envs != 1:
        raise ValueError(
            "checkpoints need num_envs=1 (a checkpoint is written at an episode end, "
            f"and a Box2D world cannot be saved mid-episode), got "
            f"num_envs={agent.config.num_envs}"
        )
    if every < 1:
        raise ValueError(f"checkpoint_every must be >= 1, got {every}")
    newest = latest(folder)
    if newest is not None and step_of(newest) > agent.env_steps:
        raise FileExistsError(
            f"{folder} holds a checkpoint at step {step_of(newest)}, later than "
            f"this agent's step {agent.env_steps}: it belongs to another run. "
            "Resume from it (DQNAgent.from_checkpoint) or choose a new folder."
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


def _restore_global_rngs(states: dict) -> None:
    import tensorflow as tf

    version, mt_state, gauss = states["python"]
    random.setstate((version, tuple(mt_state), gauss))
    name, keys, position, has_gauss, cached = states["numpy_global"]
    np.random.set_state(  # noqa: NPY002
        (name, np.array(keys, np.uint32), position, has_gauss, cached)
    )
    tf_state = states["tensorflow_global"]
    tf.random.set_global_generator(
        tf.random.Generator.from_state(tf_state["state"], tf_state["algorithm"])
    )


# -- save ----------------------------------------------------------------------------
def save(agent: DQNAgent, folder: str | Path, keep: int = 3) -> Path:
    """Write a checkpoint of `agent` into `folder` atomically; keep the last `keep`."""
    if keep < 1:
        raise ValueError(f"keep_checkpoints must be >= 1, got {keep}")
    if any(queue.pending for queue in agent._queues):
        raise RuntimeError("a checkpoint is written at an episode end, none is pending")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{PREFIX}{agent.env_steps:09d}"
    if target.exists():
        raise FileExistsError(f"{target} exists; a checkpoint is never overwritten")
    tmp = Path(tempfile.mkdtemp(dir=folder, prefix=f".writing-{target.name}-"))
    try:
        _write(agent, tmp)
        tmp.rename(target)  # atomic: the checkpoint appears complete or not at all
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    for old in checkpoints(folder)[:-keep]:
        shutil.rmtree(old)
    return target


def _write(agent: DQNAgent, tmp: Path) -> None:
    memory, optimizer = agent.memory, agent.optimizer
    agent.q_network.save(tmp / "q_network.keras")
    agent.target_network.save(tmp / "target_network.keras")
    agent.kept_network().save(tmp / "kept_network.keras")
    for name in MEMORY_FIELDS:
        np.save(tmp / f"memory_{name}.npy", getattr(memory, name), allow_pickle=False)
    variables = optimizer.variables
    for k, variable in enumerate(variables):
        np.save(tmp / f"optimizer_{k}.npy", variable.numpy(), allow_pickle=False)
    state = {
        "format": FORMAT,
        "env_id": agent.env_id,
        "seed": agent.seed,
        "config": dataclasses.asdict(agent.config),
        "env_steps": agent.env_steps,
        "episodes": len(agent.log.episode_returns),
        "epsilon": agent.epsilon(),
        "checkpoint_step": agent.checkpoint_step,
        "train_seconds": agent.train_seconds,
        "last_loss": float(agent.last_loss),
        "log": dataclasses.asdict(agent.log),
        "memory": {
            "capacity": memory.capacity,
            "position": memory.position,
            "size": memory.size,
        },
        "optimizer_variables": [
            {"path": v.path, "shape": list(v.shape)} for v in variables
        ],
        "rng": {
            "agent": _generator_state(agent.rng),
            "memory": _generator_state(memory.rng),
            **_global_rng_states(),
            "environments": env_rng_states(agent._environments()),
        },
    }
    (tmp / "state.json").write_text(json.dumps(state, indent=1))


# -- load ----------------------------------------------------------------------------
def read_state(path: str | Path) -> dict:
    """A checkpoint's `state.json`, with a clear error if it is missing or broken."""
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
    if state.get("format") != FORMAT:
        raise ValueError(
            f"{state_file} has format {state.get('format')!r}, expected {FORMAT}"
        )
    return state


def config_from_state(state: dict):
    from utils.dqn import DQNConfig

    config = dict(state["config"])
    config["hidden_units"] = tuple(config["hidden_units"])
    return DQNConfig(**config)


def load(agent: DQNAgent, path: str | Path) -> None:
    """Make `agent` continue the run checkpointed at `path`.

    Everything is read and checked before anything is set: a missing, truncated
    or mismatched checkpoint raises an error that names what is wrong, and the
    agent is left exactly as it was.
    """
    path = Path(path)
    state = read_state(path)
    _check_matches(agent, state, path)
    networks = {name: _load_weights(agent, path, name) for name in NETWORKS}
    memory = {
        name: _load_array(path / f"memory_{name}.npy", getattr(agent.memory, name))
        for name in MEMORY_FIELDS
    }
    variables = agent.optimizer.variables
    saved_variables = state["optimizer_variables"]
    # variable names depend on how many models a process has built: compare shapes
    saved_shapes = [tuple(v["shape"]) for v in saved_variables]
    shapes = [tuple(v.shape) for v in variables]
    if saved_shapes != shapes:
        raise ValueError(
            f"{path}: the optimizer's variables have shapes {saved_shapes}, "
            f"this agent's {shapes}"
        )
    optimizer = [
        _load_array(path / f"optimizer_{k}.npy", v.numpy())
        for k, v in enumerate(variables)
    ]
    # everything is read and checked: now set it
    agent.q_network.set_weights(networks["q_network"])
    agent.target_network.set_weights(networks["target_network"])
    agent.kept_weights = networks["kept_network"]
    for name, array in memory.items():
        getattr(agent.memory, name)[...] = array
    agent.memory.position = state["memory"]["position"]
    agent.memory.size = state["memory"]["size"]
    for variable, array in zip(variables, optimizer):
        variable.assign(array)
    from utils.dqn import TrainLog

    agent.env_steps = state["env_steps"]
    agent.checkpoint_step = state["checkpoint_step"]
    agent.train_seconds = state["train_seconds"]
    agent.last_loss = np.float32(state["last_loss"])
    agent.log = TrainLog(**state["log"])
    rng = state["rng"]
    _set_generator_state(agent.rng, rng["agent"])
    _set_generator_state(agent.memory.rng, rng["memory"])
    _restore_global_rngs(rng)
    for queue in agent._queues:
        queue.pending.clear()
    agent._episode_returns[:] = 0.0
    if agent._envs is not None:
        agent._envs.close()
    agent._envs, agent._observations = None, None
    agent._env_rng_states = rng["environments"]


def _check_matches(agent: DQNAgent, state: dict, path: Path) -> None:
    if state["env_id"] != agent.env_id:
        raise ValueError(
            f"{path} was written for {state['env_id']}, this agent plays {agent.env_id}"
        )
    saved = dataclasses.asdict(config_from_state(state))
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
