import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tests.refusal import assert_refused
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
    memory = ReplayMemory(100, (2,), seed=0)
    fill(memory, 10)
    assert_refused(
        memory,
        lambda: memory.sample(64),
        ValueError,
        "between 1 and the 10 transitions held, got 64",
    )


def test_capacity_must_be_positive():
    assert_refused(
        None, lambda: ReplayMemory(0, (2,)), ValueError, "capacity must be >= 1, got 0"
    )


def test_an_observation_of_the_wrong_shape_is_refused_and_writes_nothing():
    memory = ReplayMemory(2, (2,), np.float32, seed=0)
    memory.append(np.ones(2), 1, 1.0, np.ones(2), False)
    assert_refused(
        memory,
        lambda: memory.append(np.full(2, 9.0), 0, -99.0, np.ones(3), False),
        ValueError,
        r"next_observation must have shape \(2,\), got \(3,\)",
    )


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ((10.5, (2,)), "capacity must be an integer"),
        ((10, 4), "observation_shape"),
        (
            (10, (2, True)),
            r"observation_shape must be a tuple of sizes, got \(2, True\)",
        ),
        (
            (10, (2,), "bogus"),
            "observation_dtype must be a NumPy bool, integer or float",
        ),
        ((10, (2,), None), "observation_dtype .*, got None"),
        ((10, (2,), object), "observation_dtype .*, got <class 'object'>"),
        ((10, (2,), np.float32, -1), "seed must be None, an integer >= 0 .*, got -1"),
        ((10, (2,), np.float32, "0"), "seed must be None, .*, got '0'"),
        ((10, (2,), np.float32, True), "seed must be None, .*, got True"),
    ],
)
def test_bad_construction_is_refused(arguments, message):
    assert_refused(None, lambda: ReplayMemory(*arguments), ValueError, message)


def test_a_shared_generator_is_used_as_it_is():
    rng = np.random.default_rng(0)
    assert ReplayMemory(4, (2,), np.uint8, seed=rng).rng is rng


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
    transition = list(GOOD)
    transition[position] = value
    assert_refused(memory, lambda: memory.append(*transition), ValueError, message)


def test_numpy_scalars_and_wider_floats_are_stored():
    memory = ReplayMemory(2, (2,), np.float32, seed=0)
    memory.append(np.ones(2), np.int64(2), np.float32(0.5), np.ones(2), np.bool_(True))
    assert (memory.actions[0], memory.rewards[0], memory.terminated[0]) == (
        2,
        0.5,
        True,
    )


@pytest.mark.parametrize(
    ("dtype", "field", "value", "message"),
    [
        (
            np.float32,
            "observation",
            np.array([1e300, 0.0]),
            r"observation must be stored unchanged as float32 .*, got float64 values "
            r"where 1e\+300 would become inf",
        ),
        (
            np.float32,
            "next_observation",
            np.array([0.0, -1e39]),
            r"next_observation .* where -1e\+39 would become inf",
        ),
        (
            np.float16,
            "observation",
            np.array([7e4, 0.0], np.float32),
            r"observation .* float16 .* got float32 values where 70000.0 would",
        ),
        (
            np.float16,
            "observation",
            np.array([70_000, 0]),
            r"observation .* got int64 values where 70000 would become inf",
        ),
        (
            np.int8,
            "observation",
            np.array([300, 0]),
            r"observation .* as int8 .* where 300 is outside \[-128, 127\]",
        ),
        (
            np.int64,
            "next_observation",
            np.array([2**63, 0], np.uint64),
            r"next_observation .* where 9223372036854775808 is outside",
        ),
        (
            np.float32,
            "observation",
            [[1.0], [2.0, 3.0]],
            r"observation must have shape \(2,\), "
            r"got a ragged \[\[1.0\], \[2.0, 3.0\]\]",
        ),
        (
            np.float32,
            "observation",
            np.array([1j, 0]),
            r"observation must be float32 .* got complex128",
        ),
        (
            np.float32,
            "observation",
            "ab",
            r"observation must have shape \(2,\), got \(\)",
        ),
    ],
)
def test_a_value_that_storing_would_change_beyond_rounding_is_refused(
    dtype, field, value, message
):
    memory = ReplayMemory(3, (2,), dtype, seed=0)
    good = np.zeros(2, dtype)
    memory.append(good, 0, 1.0, good, False)
    transition = {
        "observation": good,
        "action": 1,
        "reward": 1.0,
        "next_observation": good,
        "terminated": False,
    }
    transition[field] = value
    assert_refused(memory, lambda: memory.append(**transition), ValueError, message)


def test_rounding_and_values_that_stay_what_they_are_are_stored():
    memory = ReplayMemory(3, (2,), np.float32, seed=0)
    memory.append(np.array([0.1, -3e38]), 0, 1.0, np.array([1e-30, 3e38]), False)
    memory.append(np.array([255, 0], np.uint8), 0, 1.0, np.array([2**40, 0]), False)
    stored = np.array([[0.1, -3e38], [255, 0]], np.float32)
    np.testing.assert_array_equal(memory.observations[:2], stored)
    stored_next = np.array([[1e-30, 3e38], [2**40, 0]], np.float32)
    np.testing.assert_array_equal(memory.next_observations[:2], stored_next)


# -- generated: any one bad value, after any valid transitions, changes nothing -------
SHAPE = (2,)
NOT_A_FLAG = st.one_of(
    st.integers(), st.floats(), st.none(), st.text(max_size=2), st.just([True])
)
BAD = {
    "observation": st.one_of(
        hnp.arrays(
            np.float64,
            hnp.array_shapes(min_dims=0, max_dims=3, max_side=3).filter(
                lambda shape: shape != SHAPE
            ),
        ),
        hnp.arrays(
            np.float64,
            SHAPE,
            elements=st.floats(min_value=3.5e38, max_value=1e308)
            | st.floats(min_value=-1e308, max_value=-3.5e38),
        ),
        hnp.arrays(np.complex128, SHAPE),
        st.text(max_size=2),
        st.none(),
    ),
    "action": st.one_of(
        st.integers(max_value=-1),
        st.integers(min_value=2**63),
        st.floats(),
        st.booleans(),
        st.text(max_size=2),
        st.none(),
    ),
    "reward": st.one_of(
        st.sampled_from([np.nan, np.inf, -np.inf]),
        st.floats(min_value=3.5e38, max_value=1e308),
        st.floats(min_value=-1e308, max_value=-3.5e38),
        st.integers(min_value=2**128),
        st.booleans(),
        st.text(max_size=2),
        st.none(),
        st.just(np.array(1.0)),
    ),
    "terminated": NOT_A_FLAG,
    "truncated": NOT_A_FLAG,
}
BAD["next_observation"] = BAD["observation"]


@st.composite
def valid_transition(draw):
    observation = draw(
        hnp.arrays(np.float32, SHAPE, elements=st.floats(-10, 10, width=32))
    )
    return {
        "observation": observation,
        "action": draw(st.integers(0, 8)),
        "reward": draw(st.floats(-1e6, 1e6)),
        "next_observation": observation + 1,
        "terminated": draw(st.booleans()),
        "truncated": draw(st.booleans()),
    }


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(valid_transition(), max_size=6),
    st.sampled_from(sorted(BAD)).flatmap(lambda f: st.tuples(st.just(f), BAD[f])),
    valid_transition(),
)
def test_any_bad_value_is_refused_naming_its_field_and_changes_nothing(
    history, bad, transition
):
    memory = ReplayMemory(4, SHAPE, np.float32, seed=0)  # 6 > 4: it wraps, too
    for past in history:
        memory.append(**past)
    field, value = bad
    transition[field] = value
    assert_refused(
        memory, lambda: memory.append(**transition), ValueError, f"^{field} "
    )


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_an_observation_with_a_nan_or_inf_is_refused_and_changes_nothing(bad):
    memory = ReplayMemory(4, (3,), np.float32)
    observation = np.array([bad, 0.0, 0.0], np.float32)
    assert_refused(
        memory,
        lambda: memory.append(observation, 0, 1.0, np.zeros(3, np.float32), False),
        ValueError,
        match="observation must be finite",
    )
