"""A refused call changes nothing: the whole state of a `DQNAgent`, and of the
process's global generators, snapshotted before a call and compared after it.

The agent-specific part of `tests/refusal.py`'s shared check: that walk of the
agent's attributes, and beside it an explicit list of what a run is (the same
fields as `RunState`, the environments' generators, the episode in progress,
TensorFlow's global generator and PYTHONHASHSEED), which names a change by its
meaning."""

from __future__ import annotations

import dataclasses
import os
import random

import numpy as np
import pytest
import tensorflow as tf

from tests import refusal
from utils import checkpoint


def global_state() -> dict:
    """Python's, NumPy's and TensorFlow's global generators, and PYTHONHASHSEED."""
    name, keys, *rest = np.random.get_state()  # noqa: NPY002 - the global one
    return {
        "python": random.getstate(),
        "numpy": (name, keys.tolist(), *rest),
        "tensorflow": tf.random.get_global_generator().state.numpy().tolist(),
        "PYTHONHASHSEED": os.environ.get("PYTHONHASHSEED"),
    }


def agent_state(agent) -> dict:
    """Everything a `DQNAgent` holds that a call could change, copied."""
    memory = agent.memory
    envs = agent._envs
    return {
        "q_network": [w.copy() for w in agent.q_network.get_weights()],
        "target_network": [w.copy() for w in agent.target_network.get_weights()],
        "kept_weights": [np.array(w, copy=True) for w in agent.kept_weights],
        "optimizer": [v.numpy().copy() for v in agent.optimizer.variables],
        "memory": [getattr(memory, f).copy() for f in checkpoint.MEMORY_FIELDS],
        "counters": (
            agent.env_steps,
            agent.checkpoint_step,
            agent.train_seconds,
            memory.position,
            memory.size,
            float(agent.last_loss),
        ),
        "log": dataclasses.asdict(agent.log),
        "evaluation_seeds": agent._evaluation_seeds,
        "evaluate_in": agent._evaluate_in,
        "kept_path": agent._kept_path,
        "generators": (
            agent.rng.bit_generator.state,
            memory.rng.bit_generator.state,
        ),
        "environments": None
        if envs is None
        else (
            checkpoint.env_rng_states(envs),
            np.array(agent._observations, copy=True),
        ),
        "env_rng_states": agent._env_rng_states,
        "episode": (
            agent._episode_returns.copy(),
            agent._needs_reset.copy(),
            [len(queue.pending) for queue in agent._queues],
        ),
        "global": global_state(),
    }


def _same(a, b) -> bool:
    if isinstance(a, dict):
        return (
            isinstance(b, dict)
            and a.keys() == b.keys()
            and all(_same(a[k], b[k]) for k in a)
        )
    if isinstance(a, (list, tuple)):
        return (
            isinstance(b, (list, tuple))
            and len(a) == len(b)
            and all(_same(x, y) for x, y in zip(a, b))
        )
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.array_equal(a, b, equal_nan=True)
    if isinstance(a, float) and isinstance(b, float) and a != a and b != b:
        return True  # NaN
    return a == b


def assert_same_state(before: dict, after: dict) -> None:
    differ = [key for key in before if not _same(before[key], after[key])]
    assert not differ, f"a refused call changed {differ}"


def assert_refused(agent, call, error, match) -> pytest.ExceptionInfo:
    """`call()` raises `error` matching `match`, and `agent` and the process's
    global generators are as they were, every field and every generator."""
    before, walked = agent_state(agent), refusal.snapshot(agent)
    with pytest.raises(error, match=match) as info:
        call()
    assert_same_state(before, agent_state(agent))
    refusal.assert_unchanged(walked, refusal.snapshot(agent))
    return info


def assert_refused_globally(call, error, match) -> pytest.ExceptionInfo:
    """`call()` raises, and the process's global generators are as they were."""
    before = global_state()
    with pytest.raises(error, match=match) as info:
        call()
    assert_same_state(before, global_state())
    return info
