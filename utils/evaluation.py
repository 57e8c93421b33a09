"""Greedy episodes from seeded start states, all in lockstep."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import gymnasium as gym
import keras
import numpy as np
import tensorflow as tf

from utils.config import check_seeds


@dataclass
class Episodes:
    """One greedy episode from each seeded start state."""

    returns: np.ndarray
    lengths: np.ndarray
    # the reward of the last step (LunarLander: -100 a crash, +100 at rest)
    final_rewards: np.ndarray
    # ended by the task (not by the time limit)
    terminated: np.ndarray
    # the observation each episode ended in, one row per start (LunarLander: where
    # the lander came to rest or crashed)
    final_observations: np.ndarray


def play_greedy(network: Callable, env_id: str, seeds: Sequence[int]) -> Episodes:
    """Play one greedy episode from each seeded start, all in lockstep.

    `network` maps a batch of observations to Q-values (a Keras model, such as a
    loaded `.keras` file) or to actions (an agent's compiled `greedy_actions`).
    A Keras model is called through one compiled call (`tf.function`), traced
    once: the same Q-values as an eager call, bit for bit, in half the time.
    """
    seeds = check_seeds("seeds", seeds)
    if not seeds:
        raise ValueError("seeds must hold at least one start state's seed")
    if isinstance(network, keras.Model):
        network = tf.function(lambda observations, model=network: model(observations))
    envs = gym.make_vec(env_id, num_envs=len(seeds), vectorization_mode="sync")
    try:
        if not isinstance(envs.single_action_space, gym.spaces.Discrete):
            raise ValueError(
                f"play_greedy needs Discrete actions; {env_id!r} has "
                f"{envs.single_action_space}"
            )
        return _play(network, envs, seeds)
    finally:
        envs.close()


def _play(network: Callable, envs: gym.vector.VectorEnv, seeds: tuple) -> Episodes:
    n_actions = int(envs.single_action_space.n)
    observations, _ = envs.reset(seed=list(seeds))
    n = len(seeds)
    returns, lengths = np.zeros(n), np.zeros(n, dtype=int)
    final_rewards, ended = np.zeros(n), np.zeros(n, dtype=bool)
    final_observations = np.zeros((n, *envs.single_observation_space.shape))
    running = np.ones(n, dtype=bool)
    while running.any():
        output = np.asarray(network(tf.constant(observations, tf.float32)))
        actions = _actions(output, n, n_actions)
        observations, rewards, terminated, truncated, _ = envs.step(actions)
        returns += rewards * running
        lengths += running
        finished = running & (terminated | truncated)
        final_rewards[finished] = rewards[finished]
        ended[finished] = terminated[finished]
        # the vector env resets an ended episode at the next step, so these rows are
        # still the episodes' last observations (copied: the env reuses its array)
        final_observations[finished] = observations[finished]
        running &= ~(terminated | truncated)
    return Episodes(returns, lengths, final_rewards, ended, final_observations)


def _actions(output: np.ndarray, n: int, n_actions: int) -> np.ndarray:
    """The actions from a network's output: Q-values (n, n_actions) or actions (n,)."""
    if output.shape == (n, n_actions):
        return output.argmax(axis=1)
    if output.ndim == 2 and output.shape[0] == n:
        raise ValueError(
            f"the network gives {output.shape[1]} Q-values per observation, the "
            f"environment has {n_actions} actions"
        )
    if output.shape == (n,) and output.dtype.kind in "iu":
        if ((output < 0) | (output >= n_actions)).any():
            raise ValueError(
                f"the network gives actions {output.tolist()}; the environment's are "
                f"0 to {n_actions - 1}"
            )
        return output
    raise ValueError(
        f"the network must give, for {n} observations, {n} integer actions or an "
        f"({n}, {n_actions}) array of Q-values; it gave {output.dtype} of shape "
        f"{output.shape}"
    )
