import itertools

import gymnasium as gym
import numpy as np
import pytest

from blobenv import (
    BlobEnv,
    ReferencePlayer,
    evaluate_reference,
    optimal_return,
    shortest_safe_path,
)


def brute_force_best_return(env: BlobEnv, start: dict, horizon: int) -> int:
    """Finite-horizon dynamic programming over player positions, using env.step."""
    size = env.size
    food, enemy = start["food"], start["enemy"]
    cells = [(x, y) for x in range(size) for y in range(size)]
    outcome = {}  # (cell, action) -> (reward, terminated, next cell)
    for cell in cells:
        if cell in (food, enemy):
            continue
        for action in range(env.action_space.n):
            env.reset(options={"player": cell, "food": food, "enemy": enemy})
            _, reward, terminated, _, info = env.step(action)
            outcome[cell, action] = (reward, terminated, info["player"])
    value = dict.fromkeys(cells, 0)
    for _ in range(horizon):
        new = {}
        for cell in cells:
            if cell in (food, enemy):
                new[cell] = 0
                continue
            new[cell] = max(
                r + (0 if done else value[nxt])
                for (c, _), (r, done, nxt) in outcome.items()
                if c == cell
            )
        value = new
    return value[start["player"]]


@pytest.mark.parametrize("horizon", [2, 12])
@pytest.mark.parametrize(
    ("size", "actions"), [(3, "diagonal"), (4, "diagonal"), (3, "all"), (4, "all")]
)
def test_reference_return_equals_brute_force(size, actions, horizon):
    env = BlobEnv(size=size, actions=actions, obs_type="offsets")
    cells = [(x, y) for x in range(size) for y in range(size)]
    checked = unreachable = 0
    for player, food, enemy in itertools.permutations(cells, 3):
        start = {"player": player, "food": food, "enemy": enemy}
        env.reset(options=start)
        expected = brute_force_best_return(env, start, horizon)
        env.reset(options=start)
        assert optimal_return(env, max_steps=horizon) == expected, start
        checked += 1
        unreachable += expected == -horizon
    assert checked == len(cells) * (len(cells) - 1) * (len(cells) - 2)
    if horizon == 2:
        assert unreachable > 0  # food out of reach in time: survive to truncation


def test_reference_player_reaches_food_with_optimal_return():
    env = gym.make("blobenv/BlobImage-v0")
    player = ReferencePlayer()
    for seed in range(30):
        env.reset(seed=seed)
        best = optimal_return(env)
        total, done = 0, False
        while not done:
            _, reward, terminated, truncated, _ = env.step(player.act(env))
            total += reward
            done = terminated or truncated
        assert total == best


def test_diagonal_path_uses_a_wall_to_change_parity():
    env = BlobEnv(actions="diagonal")
    # (1, 3) -> (1, 4) changes the parity of x + y: impossible for diagonal moves
    # in open space, so the path must push against the x = 0 wall once.
    env.reset(options={"player": (1, 3), "food": (1, 4), "enemy": (9, 9)})
    path = shortest_safe_path(env)
    assert path is not None and len(path) == 3


def test_evaluate_reference_is_per_seed():
    env = gym.make("blobenv/BlobTabular-v0")
    returns = evaluate_reference(env, np.arange(20))
    assert returns.shape == (20,)
    assert returns.max() <= 25
    assert returns.min() >= -200


def test_reference_rejects_moving_blobs():
    env = BlobEnv(moving_enemy=True)
    env.reset(seed=0)
    with pytest.raises(ValueError, match="static food and enemy"):
        shortest_safe_path(env)
