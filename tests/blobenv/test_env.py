import re

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import blobenv
from blobenv import BlobEnv
from blobenv.env import ENEMY_COLOUR, FOOD_COLOUR, PLAYER_COLOUR
from tests.refusal import assert_refused, differences, snapshot

IDS = ["blobenv/BlobImage-v0", "blobenv/BlobTabular-v0"]
PLACE = {"player": (5, 5), "food": (7, 7), "enemy": (2, 2)}


@pytest.mark.parametrize("env_id", IDS)
def test_registered_env_passes_check_env(env_id):
    env = gym.make(env_id)
    check_env(env.unwrapped, skip_render_check=False)


@pytest.mark.parametrize("env_id", IDS)
@pytest.mark.parametrize("render_mode", ["rgb_array", "ansi"])
def test_check_env_with_render_modes(env_id, render_mode):
    check_env(gym.make(env_id, render_mode=render_mode).unwrapped)


def test_registered_variants():
    image = gym.make("blobenv/BlobImage-v0")
    tabular = gym.make("blobenv/BlobTabular-v0")
    assert image.observation_space.shape == (10, 10, 3)
    assert image.observation_space.dtype == np.uint8
    assert image.action_space.n == 9
    assert tabular.observation_space.shape == (4,)
    assert tabular.action_space.n == 4
    assert image.spec.max_episode_steps == tabular.spec.max_episode_steps == 200


def test_fixed_seed_pins_positions_and_rewards():
    env = gym.make("blobenv/BlobTabular-v0")
    obs, info = env.reset(seed=0)
    assert info == {"player": (3, 6), "food": (1, 5), "enemy": (3, 8)}
    np.testing.assert_array_equal(obs, [2, 1, 0, -2])
    steps = [env.step(a) for a in (1, 1)]
    assert [s[0].tolist() for s in steps] == [[1, 0, -1, -3], [0, -1, -2, -4]]
    assert [s[1] for s in steps] == [-1, -1]
    assert steps[-1][4]["player"] == (1, 4)


def test_same_seed_same_episode_with_moving_blobs():
    def rollout(seed):
        env = BlobEnv(obs_type="offsets", moving_food=True, moving_enemy=True)
        obs, _ = env.reset(seed=seed)
        trace = [obs.tolist()]
        for action in [0, 4, 8, 2, 7, 5, 3, 6] * 5:
            obs, reward, terminated, _, _ = env.step(action)
            trace.append((obs.tolist(), reward))
            if terminated:
                break
        return trace

    assert rollout(7) == rollout(7)
    assert rollout(7) != rollout(8)


def test_start_positions_never_overlap():
    env = BlobEnv(size=3)
    for seed in range(300):
        _, info = env.reset(seed=seed)
        assert len({info["player"], info["food"], info["enemy"]}) == 3


def test_move_costs_one():
    env = BlobEnv()
    env.reset(options=PLACE)
    _, reward, terminated, truncated, info = env.step(0)  # (+1, +1)
    assert (reward, terminated, truncated) == (-1, False, False)
    assert info["player"] == (6, 6)


def test_food_pays_and_terminates():
    env = BlobEnv()
    env.reset(options={"player": (6, 6), "food": (7, 7), "enemy": (2, 2)})
    _, reward, terminated, _, _ = env.step(0)
    assert (reward, terminated) == (25, True)


def test_enemy_costs_and_terminates():
    env = BlobEnv()
    env.reset(options={"player": (3, 3), "food": (7, 7), "enemy": (2, 2)})
    _, reward, terminated, _, _ = env.step(1)  # (-1, -1)
    assert (reward, terminated) == (-300, True)


def test_truncated_at_200_steps_by_registration():
    env = gym.make("blobenv/BlobTabular-v0")
    env.reset(options={"player": (0, 0), "food": (9, 9), "enemy": (9, 0)})
    for step in range(1, 201):
        _, _, terminated, truncated, _ = env.step(1)  # pushes into the corner
        assert not terminated
        assert truncated == (step == 200)


@pytest.mark.parametrize(
    ("action", "expected"),
    [(4, (6, 5)), (5, (4, 5)), (6, (5, 6)), (7, (5, 4)), (8, (5, 5))],
)
def test_straight_moves_and_stay_are_exact(action, expected):
    # The original treated a zero component as "not given" and stepped randomly.
    env = BlobEnv(actions="all")
    for seed in range(50):
        env.reset(seed=seed, options=PLACE)
        _, _, _, _, info = env.step(action)
        assert info["player"] == expected


def test_diagonal_push_against_wall_moves_along_it():
    env = BlobEnv(actions="diagonal")
    env.reset(options={"player": (0, 3), "food": (9, 9), "enemy": (9, 0)})
    _, _, _, _, info = env.step(2)  # (-1, +1)
    assert info["player"] == (0, 4)


def test_moving_blobs_move_and_stay_on_grid():
    env = BlobEnv(size=5, moving_food=True, moving_enemy=True)
    env.reset(seed=1)
    positions = set()
    for _ in range(40):
        _, _, terminated, _, info = env.step(8)
        positions.add(info["food"])
        assert all(0 <= c < 5 for c in info["food"] + info["enemy"])
        if terminated:
            env.reset()
    assert len(positions) > 1


def test_image_observation_colours():
    env = BlobEnv(obs_type="image")
    obs, _ = env.reset(options=PLACE)
    assert obs[5, 5].tolist() == list(PLAYER_COLOUR)
    assert obs[7, 7].tolist() == list(FOOD_COLOUR)
    assert obs[2, 2].tolist() == list(ENEMY_COLOUR)
    assert int(obs.sum(axis=2).astype(bool).sum()) == 3


def test_rgb_render_is_upscaled_nearest():
    env = BlobEnv(render_mode="rgb_array", render_size=300)
    obs, _ = env.reset(options=PLACE)
    frame = env.render()
    assert frame.shape == (300, 300, 3)
    assert frame.dtype == np.uint8
    np.testing.assert_array_equal(frame[::30, ::30], obs)


def test_ansi_render():
    env = BlobEnv(size=3, render_mode="ansi")
    env.reset(options={"player": (0, 0), "food": (2, 2), "enemy": (1, 0)})
    assert env.render() == "PE.\n...\n..F\n"


def literal(message):
    """`message` as a regular expression that matches it exactly."""
    return re.escape(message)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"size": 2}, "size must be an integer >= 3, got 2"),
        ({"size": True}, "size must be an integer >= 3, got True"),
        ({"size": 10.0}, "size must be an integer >= 3, got 10.0"),
        (
            {"obs_type": "pixels"},
            "obs_type must be one of ('image', 'offsets'), got 'pixels'",
        ),
        (
            {"obs_type": ["image"]},
            "obs_type must be one of ('image', 'offsets'), got ['image']",
        ),
        (
            {"actions": "straight"},
            "actions must be one of ('diagonal', 'all'), got 'straight'",
        ),
        (
            {"actions": ["all"]},
            "actions must be one of ('diagonal', 'all'), got ['all']",
        ),
        ({"render_mode": "human"}, "got 'human'"),
        (
            {"render_mode": ["ansi"]},
            "render_mode must be None or one of ('rgb_array', 'ansi'), got ['ansi']",
        ),
        ({"moving_food": "no"}, "moving_food must be True or False, got 'no'"),
        ({"moving_enemy": 1}, "moving_enemy must be True or False, got 1"),
        (
            {"render_size": 12.5},
            "render_size must be an integer >= size (10), got 12.5",
        ),
        (
            {"render_size": True},
            "render_size must be an integer >= size (10), got True",
        ),
    ],
)
def test_bad_arguments_name_the_value(kwargs, message):
    assert_refused(None, lambda: BlobEnv(**kwargs), ValueError, literal(message))


@pytest.mark.parametrize("action", [4, -1, 1.5, True, np.bool_(False), "1", None])
def test_action_out_of_range(action):
    env = BlobEnv(actions="diagonal", moving_food=True, moving_enemy=True)
    env.reset(seed=0)
    assert_refused(
        env,
        lambda: env.step(action),
        ValueError,
        literal(f"action must be an integer in [0, 3], got {action!r}"),
    )


BAD_OPTIONS = {
    "an unknown option": ({"bogus": 1}, "reset options are player, food and enemy"),
    "a misspelt one": (
        {"Player": (1, 1)},
        "reset options are player, food and enemy, got Player",
    ),
    "one missing": (
        {"player": (0, 0), "food": (1, 1)},
        "options must give all of player, food and enemy, enemy missing",
    ),
    "off the grid": (
        {"player": (10, 0), "food": (1, 1), "enemy": (2, 2)},
        "player must lie on the grid, 0 <= x, y < 10, got (10, 0)",
    ),
    "negative": (
        {"player": (1, 1), "food": (-1, 1), "enemy": (2, 2)},
        "food must lie on the grid, 0 <= x, y < 10, got (-1, 1)",
    ),
    "two on one cell": (
        {"player": (1, 1), "food": (1, 1), "enemy": (2, 2)},
        "player, food and enemy must differ, got [(1, 1), (1, 1), (2, 2)]",
    ),
    "fractions": (
        {"player": (2.7, 3.2), "food": (1, 1), "enemy": (2, 2)},
        "player must be a pair (x, y) of integers, got (2.7, 3.2)",
    ),
    "one number": (
        {"player": 5, "food": (1, 1), "enemy": (2, 2)},
        "player must be a pair (x, y) of integers, got 5",
    ),
    "three numbers": (
        {"player": (1, 2), "food": (1, 1, 1), "enemy": (2, 2)},
        "food must be a pair (x, y) of integers, got (1, 1, 1)",
    ),
    "a string": (
        {"player": (1, 2), "food": (1, 1), "enemy": "22"},
        "enemy must be a pair (x, y) of integers, got '22'",
    ),
    "bools": (
        {"player": (True, 1), "food": (1, 1), "enemy": (2, 2)},
        "player must be a pair (x, y) of integers, got (True, 1)",
    ),
    "a float array": (
        {"player": np.array([1.0, 2.0]), "food": (1, 1), "enemy": (2, 2)},
        "player must be a pair (x, y) of integers, got array([1., 2.])",
    ),
    "a 2-D array": (
        {"player": np.array([[1, 2]]), "food": (1, 1), "enemy": (2, 2)},
        "player must be a pair (x, y) of integers, got array([[1, 2]])",
    ),
    "not a dict": (5, "options must be a dict or None, got 5"),
    "a list of pairs": (
        [("player", (1, 1))],
        "options must be a dict or None, got [('player', (1, 1))]",
    ),
}


@pytest.mark.parametrize(("options", "message"), BAD_OPTIONS.values(), ids=BAD_OPTIONS)
def test_bad_reset_options_are_refused_before_the_seed_reseeds(options, message):
    env = BlobEnv()
    env.reset(seed=0)
    assert_refused(
        env, lambda: env.reset(seed=5, options=options), ValueError, literal(message)
    )


@pytest.mark.parametrize(
    ("seed", "message"),
    [
        (-1, "Seed must be greater or equal to zero"),
        ("5", "Seed must be a python integer"),
        (1.5, "Seed must be a python integer"),
    ],
)
def test_bad_seeds_are_refused_by_gymnasium_and_change_nothing(seed, message):
    env = BlobEnv()
    env.reset(seed=0)
    assert_refused(env, lambda: env.reset(seed=seed), gym.error.Error, message)


def test_a_refused_reset_of_a_made_env_changes_only_the_time_limits_count():
    # gymnasium's TimeLimit zeroes its step count before it calls the env's reset,
    # so that much of a refused reset is gymnasium's, outside blobenv's reach
    env = gym.make("blobenv/BlobTabular-v0")
    env.reset(seed=0)
    env.step(0)
    before = snapshot(env)
    with pytest.raises(ValueError, match="reset options are player, food and enemy"):
        env.reset(seed=5, options={"bogus": 1})
    assert differences(before, snapshot(env)) == ["root._elapsed_steps"]


def test_integer_positions_of_any_kind_are_placed():
    env = BlobEnv()
    _, info = env.reset(
        options={"player": [1, 2], "food": np.array([3, 4]), "enemy": (np.int8(5), 6)}
    )
    assert info == {"player": (1, 2), "food": (3, 4), "enemy": (5, 6)}
    assert all(type(v) is int for position in info.values() for v in position)


def test_package_exports():
    assert blobenv.ALL_MOVES[:4] == blobenv.DIAGONAL_MOVES
    assert blobenv.ALL_MOVES[8] == (0, 0)
