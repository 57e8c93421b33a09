import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import blobenv
from blobenv import BlobEnv
from blobenv.env import ENEMY_COLOUR, FOOD_COLOUR, PLAYER_COLOUR

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


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"size": 2}, "size must be an integer >= 3, got 2"),
        (
            {"obs_type": "pixels"},
            "obs_type must be one of ('image', 'offsets'), got 'pixels'",
        ),
        (
            {"actions": "straight"},
            "actions must be one of ('diagonal', 'all'), got 'straight'",
        ),
        ({"render_mode": "human"}, "got 'human'"),
        ({"moving_food": "no"}, "moving_food must be True or False, got 'no'"),
        (
            {"render_size": 12.5},
            "render_size must be an integer >= size (10), got 12.5",
        ),
    ],
)
def test_bad_arguments_name_the_value(kwargs, message):
    with pytest.raises(
        ValueError, match=message.replace("(", r"\(").replace(")", r"\)")
    ):
        BlobEnv(**kwargs)


@pytest.mark.parametrize("action", [4, -1, 1.5])
def test_action_out_of_range(action):
    env = BlobEnv(actions="diagonal")
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"action must be an integer in \[0, 3\]"):
        env.step(action)


def test_bad_reset_options():
    env = BlobEnv()
    with pytest.raises(ValueError, match="enemy missing"):
        env.reset(options={"player": (0, 0), "food": (1, 1)})
    with pytest.raises(ValueError, match="player must lie on the grid"):
        env.reset(options={"player": (10, 0), "food": (1, 1), "enemy": (2, 2)})
    with pytest.raises(ValueError, match="must differ"):
        env.reset(options={"player": (1, 1), "food": (1, 1), "enemy": (2, 2)})
    with pytest.raises(ValueError, match="reset options are player, food and enemy"):
        env.reset(options={"Player": (1, 1)})


def test_package_exports():
    assert blobenv.ALL_MOVES[:4] == blobenv.DIAGONAL_MOVES
    assert blobenv.ALL_MOVES[8] == (0, 0)
