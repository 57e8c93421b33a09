"""Environments written in TensorFlow ops ("twins"), as records the engine takes.

A twin is gymnasium's physics as pure functions of tensors, with no state of its
own (gymnax's interface): `start` turns uniform draws into start states, `step`
maps states and actions to the next states, the rewards and which episodes
terminated, and `observe` turns states into what the agent sees. Any leading
shape works, so the engine steps [seeds, environments, ...] at once inside one
compiled loop. The time limit (gymnasium's `TimeLimit`) is counted by the caller.

`utils.graph_dqn.GraphDQN` takes a `Twin` as its first argument: one engine, a
record per environment. The functions compute in float32 (other float states are
cast) and take integer actions 0 .. n_actions - 1: they are the engine's, which
only passes those; called directly, an action outside that range is an error in
eager TensorFlow and is clamped to the nearest action inside a compiled call. The
exam is always played in gymnasium's own environments; a twin is for training and
for what is measured during training (probe and validation starts, from gymnasium's
own start states: `start_states`, `greedy_returns`). CartPole and MountainCar play
the same episodes as gymnasium; Acrobot's physics is chaotic, so its float32 twin
drifts from gymnasium's float64 one and a single episode can end differently (see
utils/acrobot_twin.py), while means over many starts agree closely.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import tensorflow as tf


@dataclass(frozen=True)
class Twin:
    """One environment in TensorFlow ops, and the sizes the engine needs."""

    # the gymnasium id it copies, e.g. "CartPole-v1"
    env_id: str
    # length of an observation (what the Q-network sees)
    observation_size: int
    # length of a state (what the physics needs; Acrobot's angles, not cos/sin)
    state_size: int
    # actions 0 .. n_actions - 1
    n_actions: int
    # uniform draws in [0, 1) one start state takes
    start_draws: int
    # gymnasium's TimeLimit: an episode is truncated after this many steps
    max_episode_steps: int
    # gymnasium's reward_threshold: the mean return that counts as solved
    reward_threshold: float
    # uniforms [..., start_draws] -> start states [..., state_size]
    start: Callable[[tf.Tensor], tf.Tensor]
    # (states [..., state_size], actions [...] int) ->
    #   (next states, rewards [...] float32, terminated [...] bool)
    step: Callable[[tf.Tensor, tf.Tensor], tuple[tf.Tensor, tf.Tensor, tf.Tensor]]
    # states [..., state_size] -> observations [..., observation_size]
    observe: Callable[[tf.Tensor], tf.Tensor]
    # gymnasium start observations [N, observation_size] (from env.reset(seed=s))
    # -> states [N, state_size], float32 NumPy
    states_from_observations: Callable[[np.ndarray], np.ndarray]
    # every state variable of a start lies in [start_low, start_high] (gymnasium's
    # reset distribution); probe starts outside it are refused
    start_low: tuple[float, ...]
    start_high: tuple[float, ...]


def observation_is_state(observations: np.ndarray) -> np.ndarray:
    """`states_from_observations` of a twin whose observation is its state
    (CartPole, MountainCar)."""
    return np.asarray(observations, np.float32)


def first_outside_starts(env: Twin, states: np.ndarray) -> int | None:
    """The first row of `states` [N, state_size] that no gymnasium reset could give
    (a variable not finite, or outside [start_low, start_high]), or None."""
    low, high = np.array(env.start_low), np.array(env.start_high)
    outside = ~np.isfinite(states) | (states < low - 1e-6) | (states > high + 1e-6)
    rows = np.flatnonzero(outside.any(axis=1))
    return int(rows[0]) if rows.size else None


def twin(env_id: str) -> Twin:
    """The twin of gymnasium's `env_id`, or a ValueError naming the ones there are."""
    from utils.acrobot_twin import ACROBOT
    from utils.cartpole_twin import CARTPOLE
    from utils.mountaincar_twin import MOUNTAINCAR

    twins = {t.env_id: t for t in (CARTPOLE, ACROBOT, MOUNTAINCAR)}
    if not isinstance(env_id, str) or env_id not in twins:
        raise ValueError(
            f"env_id must be one of {sorted(twins)} (the environments with a "
            f"TensorFlow twin), got {env_id!r}"
        )
    return twins[env_id]


def _check_twin(env) -> Twin:
    if not isinstance(env, Twin):
        raise ValueError(f"env must be a utils.twins.Twin (twin(env_id)), got {env!r}")
    return env


def greedy_returns(
    env: Twin, q_values: Callable[[tf.Tensor], tf.Tensor], states: tf.Tensor
) -> tf.Tensor:
    """The return of one greedy episode from each start state [..., state_size],
    played in the twin: `q_values` maps observations [..., observation_size] to
    [..., n_actions]. The loop stops when every episode has ended, or at the time
    limit; call it inside a compiled function."""
    _check_twin(env)
    if not callable(q_values):
        raise ValueError(
            f"q_values must be a function from observations to Q-values (such as "
            f"a Keras network), got {q_values!r}"
        )
    what = f"states must be start states [..., {env.state_size}] of {env.env_id}"
    if not tf.is_tensor(states):
        array = np.asarray(states) if not isinstance(states, (str, bytes)) else None
        if array is None or array.dtype.kind not in "iuf":
            raise ValueError(f"{what} (utils.twins.start_states), got {states!r:.80}")
    states = tf.convert_to_tensor(states, tf.float32)
    if states.shape.rank in (None, 0) or states.shape[-1] != env.state_size:
        raise ValueError(f"{what}, got shape {states.shape}")
    if tf.executing_eagerly():  # values can be checked outside a compiled call
        values = states.numpy().reshape(-1, env.state_size)
        row = first_outside_starts(env, values)
        if row is not None:
            raise ValueError(
                f"{what}, each variable in [{env.start_low}, {env.start_high}] "
                f"(gymnasium's starts): row {row} is {values[row].tolist()}"
            )
    width = q_values(env.observe(states)).shape[-1]
    if width is not None and width != env.n_actions:
        raise ValueError(
            f"q_values must give {env.n_actions} values per observation "
            f"({env.env_id}'s actions), gives {width}"
        )
    returns = tf.zeros(tf.shape(states)[:-1])
    running = tf.ones(tf.shape(states)[:-1], tf.bool)
    t = tf.constant(0)
    while t < env.max_episode_steps and tf.reduce_any(running):
        actions = tf.argmax(q_values(env.observe(states)), axis=-1)
        next_states, rewards, terminated = env.step(states, actions)
        returns += tf.where(running, rewards, 0.0)
        states = tf.where(running[..., None], next_states, states)
        running &= ~terminated
        t += 1
    return returns


def start_states(env: Twin, seeds) -> np.ndarray:
    """The states [len(seeds), state_size] that gymnasium's seeded resets of
    `env.env_id` start from (float32): a twin plays gymnasium's own starts."""
    import gymnasium as gym

    from utils.config import check_seeds

    _check_twin(env)
    seeds = list(check_seeds("seeds", seeds))
    if not seeds:
        raise ValueError("seeds must hold at least one start state's seed")
    envs = gym.make_vec(env.env_id, num_envs=len(seeds), vectorization_mode="sync")
    try:
        observations, _ = envs.reset(seed=list(seeds))
    finally:
        envs.close()
    return env.states_from_observations(observations.astype(np.float32))
