import numpy as np
import pytest

from utils import ReplayMemory


def fill(memory, n, shape=(2,)):
    for i in range(n):
        obs = np.full(shape, i, dtype=memory.observations.dtype)
        memory.append(obs, i % 9, float(i), obs + 1, i % 2 == 0, i % 3 == 0)


def test_arrays_are_preallocated_with_dtypes():
    memory = ReplayMemory(50, (10, 10, 3), np.uint8)
    assert memory.observations.shape == (50, 10, 10, 3)
    assert memory.observations.dtype == np.uint8
    assert memory.next_observations.dtype == np.uint8
    assert len(memory) == 0


def test_fifo_overwrite_at_capacity():
    memory = ReplayMemory(5, (2,))
    fill(memory, 8)
    assert len(memory) == 5
    # transitions 5, 6, 7 overwrote 0, 1, 2 in place
    assert sorted(memory.rewards.tolist()) == [3.0, 4.0, 5.0, 6.0, 7.0]
    assert memory.rewards.tolist() == [5.0, 6.0, 7.0, 3.0, 4.0]


def test_sample_returns_batch_of_arrays_with_shapes_and_dtypes():
    memory = ReplayMemory(100, (10, 10, 3), np.uint8, seed=0)
    fill(memory, 100, (10, 10, 3))
    batch = memory.sample(64)
    assert batch.observations.shape == (64, 10, 10, 3)
    assert batch.observations.dtype == np.uint8
    assert batch.actions.shape == (64,) and batch.actions.dtype == np.int64
    assert batch.rewards.dtype == np.float32
    assert batch.terminated.dtype == np.bool_ and batch.truncated.dtype == np.bool_
    # fields stay aligned: transition i stores obs i, reward i, next obs i + 1
    np.testing.assert_array_equal(batch.observations[:, 0, 0, 0], batch.rewards)
    np.testing.assert_array_equal(
        batch.next_observations[:, 0, 0, 0], batch.rewards + 1
    )
    np.testing.assert_array_equal(batch.terminated, batch.rewards % 2 == 0)
    np.testing.assert_array_equal(batch.truncated, batch.rewards % 3 == 0)


def test_sampling_is_uniform_over_held_transitions():
    memory = ReplayMemory(10, (1,), seed=1)
    fill(memory, 13, (1,))  # holds rewards 3..12
    draws = np.concatenate([memory.sample(10).rewards for _ in range(5000)])
    counts = np.array([(draws == r).sum() for r in range(3, 13)])
    assert set(np.unique(draws)) == set(range(3, 13))
    expected = len(draws) / 10
    chi2 = ((counts - expected) ** 2 / expected).sum()
    assert chi2 < 27.9  # 99.9% quantile of chi-square with 9 degrees of freedom


def test_same_seed_same_batches():
    a, b = ReplayMemory(20, (1,), seed=3), ReplayMemory(20, (1,), seed=3)
    fill(a, 20, (1,))
    fill(b, 20, (1,))
    np.testing.assert_array_equal(a.sample(8).rewards, b.sample(8).rewards)


def test_sampling_more_than_held_is_a_clear_error():
    memory = ReplayMemory(100, (2,))
    fill(memory, 10)
    with pytest.raises(
        ValueError, match="between 1 and the 10 transitions held, got 64"
    ):
        memory.sample(64)


def test_capacity_must_be_positive():
    with pytest.raises(ValueError, match="capacity must be >= 1, got 0"):
        ReplayMemory(0, (2,))


def test_an_observation_of_the_wrong_shape_is_refused_and_writes_nothing():
    memory = ReplayMemory(2, (2,), np.float32, seed=0)
    memory.append(np.ones(2), 1, 1.0, np.ones(2), False)
    before = [a.copy() for a in (memory.observations, memory.actions, memory.rewards)]
    with pytest.raises(ValueError, match=r"next_observation must have shape \(2,\)"):
        memory.append(np.full(2, 9.0), 0, -99.0, np.ones(3), False)
    after = (memory.observations, memory.actions, memory.rewards)
    assert all(np.array_equal(a, b) for a, b in zip(before, after))
    assert (len(memory), memory.position) == (1, 1)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [((10.5, (2,)), "capacity must be an integer"), ((10, 4), "observation_shape")],
)
def test_bad_construction_is_refused(arguments, message):
    with pytest.raises(ValueError, match=message):
        ReplayMemory(*arguments)


GOOD = (np.zeros(2, np.uint8), 1, 1.0, np.zeros(2, np.uint8), False, False)


@pytest.mark.parametrize(
    ("position", "value", "message"),
    [
        (0, np.full(2, 300.0), "observation must be uint8 .* got float64"),
        (3, np.full(2, 0.5), "next_observation must be uint8 .* got float64"),
        (1, 2.7, r"action must be an integer >= 0, got 2.7"),
        (1, -1, r"action must be an integer >= 0, got -1"),
        (1, True, r"action must be an integer >= 0, got True"),
        (2, "1.0", r"reward must be a finite real number .*, got '1.0'"),
        (2, float("nan"), r"reward must be a finite real number .*, got nan"),
        (2, 10**400, r"reward must be a finite real number"),
        (2, 1e40, r"reward must be a finite real number .*, got 1e\+40"),
        (1, 2**63, r"action must be an integer >= 0, got 9223372036854775808"),
        (4, 1, r"terminated must be True or False, got 1"),
        (5, None, r"truncated must be True or False, got None"),
    ],
)
def test_a_value_that_storing_would_change_is_refused_and_writes_nothing(
    position, value, message
):
    memory = ReplayMemory(2, (2,), np.uint8, seed=0)
    memory.append(*GOOD)
    before = [a.copy() for a in (memory.observations, memory.actions, memory.rewards)]
    transition = list(GOOD)
    transition[position] = value
    with pytest.raises(ValueError, match=message):
        memory.append(*transition)
    after = (memory.observations, memory.actions, memory.rewards)
    assert all(np.array_equal(a, b) for a, b in zip(before, after))
    assert (len(memory), memory.position) == (1, 1)


def test_numpy_scalars_and_wider_floats_are_stored():
    memory = ReplayMemory(2, (2,), np.float32, seed=0)
    memory.append(np.ones(2), np.int64(2), np.float32(0.5), np.ones(2), np.bool_(True))
    assert (memory.actions[0], memory.rewards[0], memory.terminated[0]) == (
        2,
        0.5,
        True,
    )
