"""Tabular Q-learning in the Blob world: notebook 03's agent, shared with 05."""

from __future__ import annotations

from collections.abc import Callable

import gymnasium as gym
import numpy as np
from tqdm.auto import trange

ENEMY_WINDOW = 2  # the compact observation sees the enemy within this many cells
NEAR = [
    (dx, dy)
    for dx in range(-ENEMY_WINDOW, ENEMY_WINDOW + 1)
    for dy in range(-ENEMY_WINDOW, ENEMY_WINDOW + 1)
    if (dx, dy) != (0, 0)
]
NEAR_INDEX = {offset: i for i, offset in enumerate(NEAR)}  # enemy - player -> cell
FAR = len(NEAR)  # the index for "the enemy is further away"
COMPACT_SHAPE = (19, 19, FAR + 1)  # food dx, food dy, enemy window cell


def offsets_index(observation: np.ndarray) -> tuple[int, ...]:
    """Table index of the offsets: each offset shifted from -9..9 to 0..18."""
    return tuple((observation + 9).tolist())


def compact_index(observation: np.ndarray) -> tuple[int, int, int]:
    """(food dx, food dy, enemy window cell) from the offsets observation."""
    food_dx, food_dy, enemy_dx, enemy_dy = observation.tolist()
    return (food_dx + 9, food_dy + 9, NEAR_INDEX.get((-enemy_dx, -enemy_dy), FAR))


def new_table(
    shape: tuple[int, ...], n_actions: int, rng: np.random.Generator
) -> np.ndarray:
    """A Q-table initialised uniform in [-5, 0), as in the lesson."""
    return rng.uniform(-5, 0, size=(*shape, n_actions))


def train(
    env: gym.Env,
    table: np.ndarray,
    index: Callable[[np.ndarray], tuple[int, ...]],
    episodes: int,
    rng: np.random.Generator,
    learning_rate: float = 0.1,
    discount: float = 0.95,
    epsilon: float = 0.9,
    epsilon_decay: float = 0.9998,
    seed: int = 0,
    show_progress: bool = True,
) -> np.ndarray:
    """Q-learning on `table` in place; returns each episode's return."""
    n_actions = table.shape[-1]
    returns = np.zeros(episodes)
    progress = trange(
        episodes, desc="training", mininterval=1, disable=not show_progress
    )
    for episode in progress:
        observation, _ = env.reset(seed=seed if episode == 0 else None)
        state, done = index(observation), False
        while not done:
            explore = rng.random() < epsilon
            action = (
                int(rng.integers(n_actions))
                if explore
                else int(np.argmax(table[state]))
            )
            observation, reward, terminated, truncated, _ = env.step(action)
            next_state = index(observation)
            future = 0.0 if terminated else discount * np.max(table[next_state])
            table[state][action] += learning_rate * (
                reward + future - table[state][action]
            )
            state, done = next_state, terminated or truncated
            returns[episode] += reward
        epsilon *= epsilon_decay
        if episode % 500 == 0:
            progress.set_postfix(
                avg_return=f"{returns[max(0, episode - 499) : episode + 1].mean():.1f}"
            )
    return returns
