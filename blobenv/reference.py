"""The exact reference player: the shortest safe path to the food."""

from __future__ import annotations

from collections import deque

import gymnasium as gym
import numpy as np

from blobenv.env import FOOD_REWARD, MOVE_REWARD, BlobEnv

MAX_EPISODE_STEPS = 200


def _blob(env: gym.Env) -> BlobEnv:
    blob = env.unwrapped
    if not isinstance(blob, BlobEnv):
        raise TypeError(f"expected a BlobEnv, got {type(blob).__name__}")
    if blob.moving_food or blob.moving_enemy:
        raise ValueError(
            "the reference player needs static food and enemy, got "
            f"moving_food={blob.moving_food}, moving_enemy={blob.moving_enemy}"
        )
    return blob


def shortest_safe_path(env: gym.Env) -> list[int] | None:
    """Actions of a shortest path from the player to the food that never touches
    the enemy, with the env's own action set and wall rule; None if there is none.

    Breadth-first search over player positions (food and enemy stand still).
    """
    blob = _blob(env)
    start, food, enemy = blob.player, blob.food, blob.enemy
    parent: dict[tuple[int, int], tuple[tuple[int, int], int]] = {}
    frontier = deque([start])
    seen = {start}
    while frontier:
        position = frontier.popleft()
        if position == food:
            path = []
            while position != start:
                position, action = parent[position]
                path.append(action)
            return path[::-1]
        for action, move in enumerate(blob.moves):
            nxt = blob._move(position, move)
            if nxt == enemy or nxt in seen:
                continue
            seen.add(nxt)
            parent[nxt] = (position, action)
            frontier.append(nxt)
    return None


def optimal_return(env: gym.Env, max_steps: int = MAX_EPISODE_STEPS) -> int:
    """The best return any policy can get from the env's current state.

    Reaching the food in d <= max_steps moves pays -(d - 1) + 25; otherwise the best
    is to survive until truncation, -max_steps (touching the enemy costs -300).
    """
    path = shortest_safe_path(env)
    if path is not None and len(path) <= max_steps:
        return (len(path) - 1) * MOVE_REWARD + FOOD_REWARD
    return max_steps * MOVE_REWARD


class ReferencePlayer:
    """A policy that follows the shortest safe path, replanned at every step.

    `act(env)` returns the next action for the env's current state; if the food
    cannot be reached safely it picks a move that avoids the enemy.
    """

    def act(self, env: gym.Env) -> int:
        path = shortest_safe_path(env)
        if path:
            return path[0]
        blob = _blob(env)
        for action, move in enumerate(blob.moves):
            if blob._move(blob.player, move) != blob.enemy:
                return action
        return 0


def evaluate_reference(env: gym.Env, seeds: list[int] | np.ndarray) -> np.ndarray:
    """The reference player's best possible return from each seeded start state."""
    returns = []
    for seed in seeds:
        env.reset(seed=int(seed))
        returns.append(optimal_return(env))
    return np.array(returns)
