import numpy as np
import pytest

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
        (3, 1.5, "discount must be in"),
    ],
)
def test_bad_settings_are_named(memory, n_step, discount, message):
    with pytest.raises(ValueError, match=message):
        NStepQueue(memory, n_step=n_step, discount=discount)
