"""Notebook 01's Q-table for MountainCar, for the notebooks that compare with it (08).

The same computation as notebook 01's cells (`discretize`, `new_q_table`,
`q_update`, `epsilon_at`, `choose_action`, `run_episode`, `train`), in one
function that takes its generator and its first reset seed as arguments.
tests/utils/test_mountaincar_table.py checks it against notebook 01's checksum.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from utils.config import check_seed, is_integer, is_real

BINS = 20  # bins per observation dimension
ENV_ID = "MountainCar-v0"


_SPACE = gym.make(ENV_ID).observation_space
LOW, HIGH = _SPACE.low, _SPACE.high  # float32, as in notebook 01


def discretize(observation: np.ndarray, bins: int = BINS) -> tuple[int, int]:
    """The table index (position bin, velocity bin) of an observation."""
    index = ((observation - LOW) / ((HIGH - LOW) / bins)).astype(int)
    return tuple(np.clip(index, 0, bins - 1).tolist())


def train_table(
    episodes: int,
    rng: np.random.Generator,
    env_seed: int,
    learning_rate: float = 0.1,
    discount: float = 0.95,
    epsilon_start: float = 0.5,
    bins: int = BINS,
) -> tuple[np.ndarray, int]:
    """Notebook 01's Q-learning: (the table, the environment steps it took).

    `rng` draws the initial table and every exploration; `env_seed` seeds the
    first reset (the environment's own generator runs on from there). Epsilon
    falls linearly from `epsilon_start` to 0 at half of the episodes.
    """
    if not is_integer(episodes) or episodes < 2:
        raise ValueError(f"episodes must be an integer >= 2, got {episodes!r}")
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy Generator, got {rng!r}")
    env_seed = check_seed("env_seed", env_seed)  # before the generator draws
    for name, value, low_open in (
        ("learning_rate", learning_rate, True),
        ("discount", discount, False),
        ("epsilon_start", epsilon_start, False),
    ):
        if not is_real(value) or not (0 < value <= 1 if low_open else 0 <= value <= 1):
            interval = "(0, 1]" if low_open else "[0, 1]"
            raise ValueError(f"{name} must be a number in {interval}, got {value!r}")
    if not is_integer(bins) or bins < 2:
        raise ValueError(f"bins must be an integer >= 2, got {bins!r}")
    table = rng.uniform(-2, 0, size=(int(bins), int(bins), 3))
    env, steps = gym.make(ENV_ID), 0
    for episode in range(int(episodes)):
        epsilon = epsilon_start * max(0.0, 1 - episode / (int(episodes) // 2))
        observation, _ = env.reset(seed=env_seed if episode == 0 else None)
        state, done = discretize(observation, bins), False
        while not done:
            if rng.random() < epsilon:
                action = int(rng.integers(3))  # explore
            else:
                action = int(np.argmax(table[state]))  # exploit
            observation, reward, terminated, truncated, _ = env.step(action)
            next_state = discretize(observation, bins)
            future = 0.0 if terminated else discount * np.max(table[next_state])
            table[state][action] += learning_rate * (
                reward + future - table[state][action]
            )
            state, done, steps = next_state, terminated or truncated, steps + 1
    return table, steps


def table_policy(table: np.ndarray):
    """The table's greedy actions for a batch of observations (for `play_greedy`)."""
    shape = np.shape(table)
    if len(shape) != 3 or shape[0] != shape[1] or shape[2] != 3:
        raise ValueError(
            f"table must have shape (bins, bins, 3) (position, velocity, push), "
            f"got {shape}"
        )
    bins = shape[0]

    def actions(observations) -> np.ndarray:
        observations = np.asarray(observations)
        if observations.ndim != 2 or observations.shape[1] != 2:
            raise ValueError(
                "observations must be a batch of shape (n, 2), got shape "
                f"{observations.shape}"
            )
        return np.array([np.argmax(table[discretize(o, bins)]) for o in observations])

    return actions
