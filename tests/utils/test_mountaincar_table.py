import numpy as np
import pytest

from utils.evaluation import play_greedy
from utils.mountaincar_table import discretize, table_policy, train_table


def test_the_table_is_notebook_01s():
    # notebook 01's last cell: 100 episodes from seed 0, "checksum: -2544.481658"
    table, steps = train_table(100, np.random.default_rng(0), env_seed=0)
    assert table.sum().round(6) == -2544.481658
    assert steps == 100 * 200  # no flag in 100 episodes: every one is cut at 200


def test_the_greedy_policy_plays_the_table():
    table = np.zeros((20, 20, 3))
    table[..., 2] = 1.0  # always push right
    episodes = play_greedy(table_policy(table), "MountainCar-v0", [1, 2])
    assert (episodes.returns == -200).all() and not episodes.terminated.any()
    assert discretize(np.array([-1.2, -0.07], np.float32)) == (0, 0)
    assert discretize(np.array([0.6, 0.07], np.float32)) == (19, 19)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"episodes": 1}, "episodes must be an integer >= 2, got 1"),
        ({"rng": 0}, "rng must be a numpy Generator, got 0"),
        ({"env_seed": -1}, r"env_seed must be an integer in \[0, 2\*\*32\), got -1"),
        ({"env_seed": None}, "env_seed must be an integer"),
        (
            {"learning_rate": float("nan")},
            r"learning_rate must be a number in \(0, 1\]",
        ),
        ({"discount": 5}, r"discount must be a number in \[0, 1\], got 5"),
        ({"bins": 0}, "bins must be an integer >= 2, got 0"),
    ],
)
def test_bad_arguments_are_refused_before_the_generator_draws(arguments, message):
    rng = np.random.default_rng(0)
    before = rng.bit_generator.state
    call = {"episodes": 10, "rng": rng, "env_seed": 0, **arguments}
    with pytest.raises(ValueError, match=message):
        train_table(**call)
    assert rng.bit_generator.state == before


def test_numpy_integers_are_accepted():
    table, steps = train_table(np.int64(2), np.random.default_rng(0), np.int64(0))
    assert table.shape == (20, 20, 3) and steps == 400


@pytest.mark.parametrize(
    ("table", "observations", "message"),
    [
        (
            np.zeros((20, 20)),
            np.zeros((1, 2)),
            r"table must have shape \(bins, bins, 3\)",
        ),
        (np.zeros((10, 20, 3)), np.zeros((1, 2)), "got \\(10, 20, 3\\)"),
        (np.zeros((20, 20, 4)), np.zeros((1, 2)), "table must have shape"),
        (
            np.zeros((20, 20, 3)),
            np.zeros(2),
            r"a batch of shape \(n, 2\), got shape \(2,\)",
        ),
    ],
)
def test_a_table_or_batch_of_the_wrong_shape_is_refused(table, observations, message):
    with pytest.raises(ValueError, match=message):
        table_policy(table)(observations)
