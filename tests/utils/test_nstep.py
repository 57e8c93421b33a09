import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tests.refusal import assert_refused
from utils import NStepQueue, ReplayMemory

GAMMA = 0.5


def stored(memory):
    """The memory's transitions in write order, observations as their one value."""
    n = len(memory)
    return [
        (
            int(memory.observations[i, 0]),
            int(memory.actions[i]),
            float(memory.rewards[i]),
            int(memory.next_observations[i, 0]),
            bool(memory.terminated[i]),
        )
        for i in range(n)
    ]


def play(queue, rewards, terminated_at=None, truncated_at=None, reuse_buffer=True):
    """Move t: observation t -> t + 1 with action 10 + t and the given reward.

    With `reuse_buffer`, the caller keeps its observation in one array row and
    overwrites it in place, as a vectorised loop does with `observations[i]`.
    """
    observations = np.zeros((1, 1), np.int64)
    for t, reward in enumerate(rewards):
        observation = observations[0] if reuse_buffer else np.array([t])
        next_observation = np.array([t + 1])
        queue.push(
            observation,
            10 + t,
            reward,
            next_observation,
            terminated=t == terminated_at,
            truncated=t == truncated_at,
        )
        observations[0] = next_observation  # the overwrite that must not leak


@pytest.fixture
def memory():
    return ReplayMemory(100, (1,), np.int64)


def test_each_transition_holds_its_own_observation_action_return_and_next(memory):
    queue = NStepQueue(memory, n_step=3, discount=GAMMA)
    play(queue, [1.0, 2.0, 4.0, 8.0, 16.0])
    assert stored(memory) == [
        (0, 10, 1 + 0.5 * 2 + 0.25 * 4, 3, False),
        (1, 11, 2 + 0.5 * 4 + 0.25 * 8, 4, False),
        (2, 12, 4 + 0.5 * 8 + 0.25 * 16, 5, False),
    ]


def test_observations_are_copied_not_viewed(memory):
    queue = NStepQueue(memory, n_step=3, discount=GAMMA)
    play(queue, [0.0] * 4, reuse_buffer=True)
    # with a queued view, the first stored observation would read 2, not 0
    assert [t[0] for t in stored(memory)] == [0, 1]


def test_termination_flushes_partial_returns_without_bootstrap(memory):
    queue = NStepQueue(memory, n_step=3, discount=GAMMA)
    play(queue, [1.0, 2.0, 4.0, 8.0], terminated_at=3)
    assert stored(memory) == [
        (0, 10, 1 + 0.5 * 2 + 0.25 * 4, 3, False),
        (1, 11, 2 + 0.5 * 4 + 0.25 * 8, 4, True),
        (2, 12, 4 + 0.5 * 8, 4, True),
        (3, 13, 8.0, 4, True),
    ]
    assert not queue.pending


def test_truncation_drops_the_tail_that_cannot_see_n_steps_ahead(memory):
    queue = NStepQueue(memory, n_step=3, discount=GAMMA)
    play(queue, [1.0, 2.0, 4.0, 8.0], truncated_at=3)
    assert stored(memory) == [
        (0, 10, 1 + 0.5 * 2 + 0.25 * 4, 3, False),
        (1, 11, 2 + 0.5 * 4 + 0.25 * 8, 4, False),
    ]
    assert not queue.pending


def test_next_episode_starts_with_an_empty_queue(memory):
    queue = NStepQueue(memory, n_step=2, discount=GAMMA)
    play(queue, [1.0], terminated_at=0)
    play(queue, [3.0, 5.0])
    assert stored(memory) == [(0, 10, 1.0, 1, True), (0, 10, 3 + 0.5 * 5, 2, False)]


def test_one_step_is_the_plain_transition(memory):
    queue = NStepQueue(memory, n_step=1, discount=GAMMA)
    play(queue, [1.0, 2.0], terminated_at=1)
    assert stored(memory) == [(0, 10, 1.0, 1, False), (1, 11, 2.0, 2, True)]


@pytest.mark.parametrize(
    ("n_step", "discount", "message"),
    [
        (0, 0.9, "n_step must be an integer >= 1, got 0"),
        (2.5, 0.9, "n_step must be an integer >= 1, got 2.5"),
        (True, 0.9, "n_step must be an integer >= 1, got True"),
        ("3", 0.9, "n_step must be an integer >= 1, got '3'"),
        (3, 1.5, r"discount must be a real number in \[0, 1\], got 1.5"),
        (3, -0.1, r"discount must be a real number in \[0, 1\], got -0.1"),
        (3, "0.9", r"discount must be a real number in \[0, 1\], got '0.9'"),
        (3, True, r"discount must be a real number in \[0, 1\], got True"),
        (3, math.nan, r"discount must be a real number in \[0, 1\], got nan"),
        (3, math.inf, r"discount must be a real number in \[0, 1\], got inf"),
        (3, None, r"discount must be a real number in \[0, 1\], got None"),
        (3, [0.9], r"discount must be a real number in \[0, 1\], got \[0.9\]"),
    ],
)
def test_bad_settings_are_named(memory, n_step, discount, message):
    assert_refused(
        memory,
        lambda: NStepQueue(memory, n_step=n_step, discount=discount),
        ValueError,
        message,
    )


def test_a_memory_that_is_no_replay_memory_is_refused():
    assert_refused(
        None,
        lambda: NStepQueue([], n_step=3, discount=0.9),
        ValueError,
        r"memory must be a ReplayMemory, got \[\]",
    )


# -- a refused push changes nothing: neither the queue nor the memory -----------------
MOVE = {
    "observation": np.array([7]),
    "action": 1,
    "reward": 1.0,
    "next_observation": np.array([8]),
    "terminated": False,
    "truncated": False,
}


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("action", 1.7, "action must be an integer >= 0, got 1.7"),
        ("action", 1.0, "action must be an integer >= 0, got 1.0"),
        ("action", -1, "action must be an integer >= 0, got -1"),
        ("action", "1", "action must be an integer >= 0, got '1'"),
        ("reward", math.nan, r"reward must be a finite real number .*, got nan"),
        ("reward", math.inf, r"reward must be a finite real number .*, got inf"),
        ("reward", 1e39, r"reward must be a finite real number .*, got 1e\+39"),
        ("reward", "1", r"reward must be a finite real number .*, got '1'"),
        ("reward", True, r"reward must be a finite real number .*, got True"),
        ("observation", np.array([7, 7]), r"observation must have shape \(1,\)"),
        ("observation", np.array([7.5]), r"observation must be int64 .* got float64"),
        ("next_observation", np.zeros(()), r"next_observation must have shape \(1,"),
        ("next_observation", [[8]], r"next_observation must have shape \(1,\)"),
        ("terminated", 0, "terminated must be True or False, got 0"),
        ("terminated", None, "terminated must be True or False, got None"),
        ("truncated", 1, "truncated must be True or False, got 1"),
        ("truncated", "no", "truncated must be True or False, got 'no'"),
    ],
)
# nothing played yet; or 4 moves played: 2 written, 2 queued, the next push writes
@pytest.mark.parametrize("played", [0, 4])
def test_a_bad_move_is_refused_before_the_queue_or_memory_changes(
    memory, field, value, message, played
):
    queue = NStepQueue(memory, n_step=3, discount=GAMMA)
    play(queue, [1.0, 2.0, 4.0, 8.0][:played])
    assert (len(memory), len(queue.pending)) == ((0, 0) if played == 0 else (2, 2))
    move = {**MOVE, field: value}
    assert_refused((queue, memory), lambda: queue.push(**move), ValueError, message)


def test_an_n_step_return_beyond_float32_is_refused_before_anything_changes(memory):
    queue = NStepQueue(memory, n_step=2, discount=1.0)
    queue.push(np.array([0]), 0, 3e38, np.array([1]), False, False)
    assert_refused(
        (queue, memory),
        lambda: queue.push(np.array([1]), 0, 3e38, np.array([2]), False, False),
        ValueError,
        r"reward 3e\+38 makes an n-step return of 6e\+38, outside float32's range",
    )


# -- generated: any episode pattern matches a reference written from the definition --
def reference(moves, n_step, discount):
    """The transitions (observation, action, return, next observation,
    terminated) written for `moves`, in write order, from the definition: each
    episode's move i gets the discounted sum of its next n_step rewards and the
    observation after them; on termination the last moves get their partial sums;
    on truncation (or while the episode runs) they get nothing."""
    written = []  # (write time, start, transition)
    episode = []  # (time, action, reward) of the episode so far
    for t, (action, reward, terminated, truncated) in enumerate(moves):
        episode.append((t, action, reward))
        for i, (start, first_action, _) in enumerate(episode):
            window = episode[i : i + n_step]
            complete = len(window) == n_step and window[-1][0] == t
            if complete or (terminated and i + n_step > len(episode)):
                rewards = [r for _, _, r in window]
                n_step_return = sum(discount**k * r for k, r in enumerate(rewards))
                transition = (start, first_action, n_step_return, t, terminated)
                written.append((t, start, transition))
        if terminated or truncated:
            episode = []
    return [transition for _, _, transition in sorted(written)]


MOVES = st.lists(
    st.tuples(
        st.integers(0, 8),  # action
        st.one_of(st.floats(-1e3, 1e3), st.integers(-300, 25)),  # reward
        st.booleans() | st.just(False),  # terminated (less often)
        st.booleans() | st.just(False),  # truncated
    ),
    max_size=30,
)


@settings(max_examples=100, deadline=None)
@given(
    MOVES,
    st.integers(1, 4),
    st.sampled_from([0.0, 0.5, 0.99, 1.0]) | st.floats(0, 1),
)
def test_written_transitions_match_the_reference(moves, n_step, discount):
    memory = ReplayMemory(64, (2,), np.int64)
    queue = NStepQueue(memory, n_step=n_step, discount=discount)
    buffer = np.zeros((1, 2), np.int64)  # the caller's row, overwritten in place
    for t, (action, reward, terminated, truncated) in enumerate(moves):
        buffer[0] = (t, 0)  # observation t: (t, 0); the one after move t: (t, 1)
        queue.push(buffer[0], action, reward, np.array([t, 1]), terminated, truncated)
    expected = reference(moves, n_step, discount)
    n = len(memory)
    assert n == len(expected)
    stored = [
        (
            int(memory.observations[i, 0]),
            int(memory.actions[i]),
            float(memory.rewards[i]),
            int(memory.next_observations[i, 0]),
            bool(memory.terminated[i]),
        )
        for i in range(n)
    ]
    assert stored == [
        (start, action, float(np.float32(g)), after, terminated)
        for start, action, g, after, terminated in expected
    ]
    assert (memory.observations[:n, 1] == 0).all()
    assert (memory.next_observations[:n, 1] == 1).all()
    assert not memory.truncated[:n].any()


NOT_A_FLAG = st.one_of(st.integers(), st.floats(), st.none(), st.text(max_size=2))
BAD_MOVE = {
    "observation": st.one_of(
        hnp.arrays(
            np.int64, hnp.array_shapes(min_dims=0, max_dims=2, max_side=3)
        ).filter(lambda a: a.shape != (1,)),
        hnp.arrays(np.float64, (1,)),
        hnp.arrays(np.uint64, (1,), elements=st.integers(2**63, 2**64 - 1)),
        st.none(),
    ),
    "action": st.one_of(
        st.integers(max_value=-1), st.floats(), st.booleans(), st.text(max_size=2)
    ),
    "reward": st.one_of(
        st.sampled_from([math.nan, math.inf, -math.inf]),
        st.floats(min_value=3.5e38, max_value=1e308),
        st.floats(min_value=-1e308, max_value=-3.5e38),
        st.booleans(),
        st.text(max_size=2),
        st.none(),
    ),
    "terminated": NOT_A_FLAG,
    "truncated": NOT_A_FLAG,
}
BAD_MOVE["next_observation"] = BAD_MOVE["observation"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    MOVES,
    st.integers(1, 4),
    st.sampled_from(sorted(BAD_MOVE)).flatmap(
        lambda f: st.tuples(st.just(f), BAD_MOVE[f])
    ),
)
def test_any_bad_move_is_refused_naming_its_field_and_changes_nothing(
    moves, n_step, bad
):
    memory = ReplayMemory(8, (1,), np.int64, seed=0)  # wraps after 8 writes
    queue = NStepQueue(memory, n_step=n_step, discount=0.9)
    for t, (action, reward, terminated, truncated) in enumerate(moves):
        queue.push(
            np.array([t]), action, reward, np.array([t + 1]), terminated, truncated
        )
    field, value = bad
    move = {**MOVE, field: value}
    assert_refused(
        (queue, memory), lambda: queue.push(**move), ValueError, f"^{field} "
    )
