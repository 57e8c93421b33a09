"""The three twins (CartPole, Acrobot, MountainCar) against gymnasium, through their
`Twin` records: one step from the same state gives the same next state, reward and
termination; start states, observations and the records' sizes are gymnasium's.

"The same state" is a float32 state: the twin is given it, and gymnasium is given
it as float64 (`env.unwrapped.state`), so the only difference is the arithmetic.
The tolerance is float32 rounding (1e-6 of the value plus 1e-6 of the variable's
range; the rounding itself is ~6e-8) plus twenty times gymnasium's `spread`: how
far gymnasium's own next state moves when one variable of the state moves by one
float32 step (a row's largest move as a fraction of that variable's range, applied
to every variable's range). Along ordinary episodes the spread is ~1e-7 and the
twin is within 1e-6 anyway, so a wrong constant fails. Where Acrobot's joints spin
near their speed limits, a step amplifies rounding up to a thousandfold, in
gymnasium as in the twin, and the spread grows to ~1e-3: over 110,000 random
in-range Acrobot states the twin's error beyond float32 rounding was at most 7.7
spreads (more than 3 in 1 state in 6,000). The spread also covers results that
jump, such as MountainCar's left wall stopping a car whose position lands within
rounding of it. Angles are compared modulo 2 pi.
`terminated` and the reward are compared away from the termination boundary: rows
whose next state lies within 1e-5 of it are skipped, as float32 may round them to
either side.
"""

import os

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass  # noqa: E402

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from utils.acrobot_twin import ACROBOT  # noqa: E402
from utils.cartpole_twin import CARTPOLE  # noqa: E402
from utils.mountaincar_twin import MOUNTAINCAR  # noqa: E402
from utils.twins import Twin, greedy_returns, start_states, twin  # noqa: E402

# a next state variable may differ from gymnasium's by RTOL times its size plus
# ATOL times the variable's range (float32 rounding is ~6e-8 of either)...
RTOL = ATOL = 1e-6
# ... plus this many times gymnasium's own spread (see the module docstring)
SPREAD_FACTOR = 20
# rows whose next state is this close to the termination boundary are not
# compared on `terminated` and the reward
BOUNDARY = 1e-5


def random_restart(env, rng: np.random.Generator, episode: int) -> np.ndarray:
    """gymnasium's own start state."""
    env.reset(seed=int(rng.integers(2**31)))
    return np.array(env.state, np.float64)


def cartpole_restart(env, rng: np.random.Generator, episode: int) -> np.ndarray:
    """gymnasium's start state, or (every other episode) one near an end of the
    track moving outwards, so that leaving the track ends episodes too."""
    if episode % 2 == 0:
        return random_restart(env, rng, episode)
    side = rng.choice([-1.0, 1.0])
    x, x_dot = side * rng.uniform(2.2, 2.4), side * rng.uniform(0.0, 2.0)
    return np.array([x, x_dot, *rng.uniform(-0.05, 0.05, size=2)])


def mountaincar_restart(env, rng: np.random.Generator, episode: int) -> np.ndarray:
    """gymnasium's start state (one episode in six), or a start near the left wall
    moving left (two in six: it hits the wall), near the flag moving right (two in
    six: it ends within a few steps, some first meeting the right wall) or at the
    flag nearly still (one in six: it ends as soon as it stops rolling back)."""
    kind = episode % 6
    if kind == 0:
        return random_restart(env, rng, episode)
    if kind in (1, 3):
        return np.array([rng.uniform(-1.2, -1.15), rng.uniform(-0.07, -0.03)])
    if kind == 5:
        return np.array([rng.uniform(0.5, 0.6), rng.uniform(-0.001, 0.001)])
    return np.array([rng.uniform(0.45, 0.58), rng.uniform(0.0, 0.07)])


def acrobot_policy(state: np.ndarray, rng: np.random.Generator) -> int:
    """A random action three times in ten, else the torque along the second
    joint's swing: it pumps energy in, so episodes reach the goal (~100 steps)
    where uniformly random actions alone almost never do within 500."""
    if rng.random() < 0.3:
        return int(rng.integers(3))
    return 2 if state[3] > 0 else 0


def cartpole_margin(env, next_states: np.ndarray) -> np.ndarray:
    """How far next states are from |x| = 2.4 or |theta| = 12 degrees."""
    x, theta = np.abs(next_states[:, 0]), np.abs(next_states[:, 2])
    return np.minimum(
        np.abs(x - env.x_threshold), np.abs(theta - env.theta_threshold_radians)
    )


def acrobot_margin(env, next_states: np.ndarray) -> np.ndarray:
    """How far the free end of next states is from the goal line (height 1)."""
    theta1, theta2 = next_states[:, 0], next_states[:, 1]
    return np.abs(-np.cos(theta1) - np.cos(theta1 + theta2) - 1.0)


def mountaincar_margin(env, next_states: np.ndarray) -> np.ndarray:
    """How far next states are from the edge of the flag's region (position >=
    0.5 and velocity >= 0), position and velocity taken as one distance."""
    below_goal = env.goal_position - next_states[:, 0]
    below_speed = env.goal_velocity - next_states[:, 1]
    inside = (below_goal <= 0) & (below_speed <= 0)
    outside = np.hypot(np.maximum(below_goal, 0), np.maximum(below_speed, 0))
    return np.where(inside, np.minimum(-below_goal, -below_speed), outside)


@dataclass(frozen=True)
class Case:
    """One twin and how to test it."""

    twin: Twin
    # the state variables that are angles (compared modulo 2 pi)
    angles: tuple[int, ...]
    # every state variable of an arbitrary in-range state lies in [low, high]
    low: tuple[float, ...]
    high: tuple[float, ...]
    # (float32 state, rng) -> the action the driven episodes take
    policy: Callable[[np.ndarray, np.random.Generator], int]
    # (env, rng, episode number) -> the state a driven episode starts from
    restart: Callable
    # (env, float64 next states [N, state]) -> distance to the termination boundary
    margin: Callable[[object, np.ndarray], np.ndarray]


def random_policy(n_actions: int):
    """Uniformly random actions."""
    return lambda state, rng: int(rng.integers(n_actions))


PI, VEL_1, VEL_2 = np.pi, 4 * np.pi, 9 * np.pi
CASES = {
    "CartPole-v1": Case(
        CARTPOLE,
        angles=(),
        # the observation space's x and theta (twice the termination limits)
        low=(-4.8, -10.0, -0.42, -10.0),
        high=(4.8, 10.0, 0.42, 10.0),
        policy=random_policy(2),
        restart=cartpole_restart,
        margin=cartpole_margin,
    ),
    "Acrobot-v1": Case(
        ACROBOT,
        angles=(0, 1),
        low=(-PI, -PI, -VEL_1, -VEL_2),
        high=(PI, PI, VEL_1, VEL_2),
        policy=acrobot_policy,
        restart=random_restart,
        margin=acrobot_margin,
    ),
    "MountainCar-v0": Case(
        MOUNTAINCAR,
        angles=(),
        low=(-1.2, -0.07),
        high=(0.6, 0.07),
        policy=random_policy(3),
        restart=mountaincar_restart,
        margin=mountaincar_margin,
    ),
}
ENV_IDS = list(CASES)


def difference(case: Case, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a - b, with angles' differences taken modulo 2 pi into [-pi, pi)."""
    d = np.asarray(a, np.float64) - np.asarray(b, np.float64)
    for i in case.angles:
        d[..., i] = (d[..., i] + np.pi) % (2 * np.pi) - np.pi
    return d


def gym_step(env, state: np.ndarray, action: int):
    """gymnasium's one step from `state` (given as float64): the next state (its
    float64 `state`), the observation, the reward and `terminated`."""
    env.state = np.array(state, np.float64)
    env.steps_beyond_terminated = None  # CartPole: a step after an end pays 0
    observation, reward, terminated, _, _ = env.step(action)
    return np.array(env.state, np.float64), observation, reward, terminated


def gym_reference(case: Case, states: np.ndarray, actions: np.ndarray):
    """gymnasium's step from every float32 state: next states, observations,
    rewards, `terminated`, and its spread: how far its next state moves, at most,
    when one variable of the state moves by one float32 step either way."""
    env = gym.make(case.twin.env_id).unwrapped
    env.reset(seed=0)
    rows = [gym_step(env, s, int(a)) for s, a in zip(states, actions)]
    next_states = np.array([r[0] for r in rows])
    spread = np.zeros_like(next_states)
    for i in range(states.shape[1]):
        for direction in (-np.inf, np.inf):
            nudged = states.copy()
            nudged[:, i] = np.nextafter(nudged[:, i], np.float32(direction))
            moved = np.array(
                [gym_step(env, s, int(a))[0] for s, a in zip(nudged, actions)]
            )
            spread = np.maximum(spread, np.abs(difference(case, moved, next_states)))
    return (
        next_states,
        np.array([r[1] for r in rows]),
        np.array([r[2] for r in rows], np.float32),
        np.array([r[3] for r in rows]),
        spread,
    )


def assert_steps_agree(case: Case, states: np.ndarray, actions: np.ndarray):
    """The twin's step from float32 `states` under `actions` is gymnasium's: next
    states, observations, rewards and `terminated`. Returns gymnasium's
    `terminated` and each row's margin (distance of its next state to the
    termination boundary)."""
    assert states.dtype == np.float32
    expected, observations, rewards, terminated, spread = gym_reference(
        case, states, actions
    )
    got, got_rewards, got_terminated = case.twin.step(
        tf.constant(states), tf.constant(actions)
    )
    assert got.dtype == tf.float32 and got.shape == states.shape
    assert got_rewards.dtype == tf.float32 and got_rewards.shape == actions.shape
    assert got_terminated.dtype == tf.bool and got_terminated.shape == actions.shape
    got = got.numpy()
    scale = np.maximum(np.abs(case.low), np.abs(case.high))
    # a row's spread: its variables' largest, as a fraction of that one's range
    spread = (spread / scale).max(axis=1, keepdims=True) * scale
    tolerance = RTOL * np.abs(expected) + ATOL * scale + SPREAD_FACTOR * spread
    error = np.abs(difference(case, got, expected))
    worst = np.unravel_index(np.argmax(error - tolerance), error.shape)[0]
    assert (error <= tolerance).all(), (
        f"{case.twin.env_id}: from {states[worst]} under {actions[worst]} the twin "
        f"gives {got[worst]}, gymnasium {expected[worst]}"
    )
    for i in case.angles:  # wrapped like gymnasium's
        assert (np.abs(got[:, i]) <= np.float32(np.pi)).all()
    seen = case.twin.observe(tf.constant(got)).numpy()
    row_tolerance = tolerance.max(axis=1, keepdims=True)
    assert (np.abs(seen - observations) <= ATOL + row_tolerance).all()
    margin = case.margin(gym.make(case.twin.env_id).unwrapped, expected)
    clear = margin >= BOUNDARY
    np.testing.assert_array_equal(got_terminated.numpy()[clear], terminated[clear])
    np.testing.assert_array_equal(got_rewards.numpy()[clear], rewards[clear])
    return terminated, margin


def driven(case: Case, steps: int, seed: int):
    """`steps` float32 states of gymnasium's own episodes under `case.policy` (the
    state rounded to float32 before each step), the actions taken from them and
    whether each step terminated; an episode that terminates or reaches 100 steps
    (or its time limit) is followed by a new one."""
    env = gym.make(case.twin.env_id).unwrapped
    rng = np.random.default_rng(seed)
    length = min(100, case.twin.max_episode_steps)
    states, actions, ends, episode, t = [], [], [], 0, 0
    state = case.restart(env, rng, episode)
    for _ in range(steps):
        states.append(np.asarray(state, np.float32))
        actions.append(case.policy(states[-1], rng))
        state, _, _, terminated = gym_step(env, states[-1], actions[-1])
        ends.append(terminated)
        t += 1
        if terminated or t == length:
            episode, t = episode + 1, 0
            state = case.restart(env, rng, episode)
    return np.array(states), np.array(actions), np.array(ends)


def toward_the_boundary(case: Case, states, actions, ends, pairs: int = 10):
    """States whose step ends ever nearer the termination boundary: for `pairs`
    terminating steps (spread over the rows), bisect (30 halvings) the segment
    from the state before (where that action does not terminate) to the
    terminating state, keeping every midpoint and the terminating action."""
    env = gym.make(case.twin.env_id).unwrapped
    env.reset(seed=0)
    found, found_actions = [], []
    terminating = np.flatnonzero(ends)
    for i in np.unique(
        terminating[np.linspace(0, len(terminating) - 1, pairs, dtype=int)]
    ):
        a, b, action = states[i - 1], states[i], int(actions[i])
        if i == 0 or gym_step(env, a, action)[3]:
            continue
        low, high = 0.0, 1.0
        for _ in range(30):
            middle = (low + high) / 2
            state = (a + np.float32(middle) * (b - a)).astype(np.float32)
            found.append(state)
            found_actions.append(action)
            if gym_step(env, state, action)[3]:
                high = middle
            else:
                low = middle
    return np.array(found), np.array(found_actions)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_steps_like_gymnasium_along_its_episodes(env_id):
    case = CASES[env_id]
    states, actions, ends = driven(case, 2_000, seed=1)
    near_states, near_actions = toward_the_boundary(case, states, actions, ends)
    terminated, margin = assert_steps_agree(
        case,
        np.concatenate([states, near_states]),
        np.concatenate([actions, near_actions]),
    )
    compared = margin >= BOUNDARY
    assert compared[: len(states)].mean() > 0.99  # few rows are skipped...
    assert (terminated & compared).sum() >= 10  # ...and episode ends are compared,
    assert (compared & (margin < 1e-3)).sum() >= 20  # some just beside the boundary
    if env_id == "MountainCar-v0":  # the left wall stops the car: compared too
        next_states = case.twin.step(states, actions)[0].numpy()
        assert (next_states == np.float32([-1.2, 0.0])).all(axis=1).sum() >= 10


@pytest.mark.parametrize("env_id", ENV_IDS)
@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_steps_like_gymnasium_from_any_state(env_id, data):
    case = CASES[env_id]
    n_actions = case.twin.n_actions
    dtype = data.draw(st.sampled_from([np.int32, np.int64]))
    variables = [
        st.floats(float(np.float32(lo)), float(np.float32(hi)), width=32)
        for lo, hi in zip(case.low, case.high)
    ]
    rows = data.draw(
        st.lists(
            st.tuples(st.tuples(*variables), st.integers(0, n_actions - 1)),
            min_size=1,
            max_size=16,
        )
    )
    states = np.array([r[0] for r in rows], np.float32)
    actions = np.array([r[1] for r in rows], dtype)
    assert_steps_agree(case, states, actions)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_steps_any_leading_shape_and_integer_dtype(env_id):
    case = CASES[env_id]
    states, actions, _ = driven(case, 24, seed=2)
    flat = case.twin.step(tf.constant(states), tf.constant(actions, tf.int32))
    shaped = case.twin.step(
        tf.constant(states.reshape(2, 3, 4, -1)),
        tf.constant(actions.reshape(2, 3, 4), tf.int64),
    )
    for a, b in zip(flat, shaped):
        np.testing.assert_array_equal(a.numpy(), b.numpy().reshape(a.shape))


@pytest.mark.parametrize(
    ("env_id", "steps", "policy"),
    [
        # alternating pushes keep the pole up for a while
        ("CartPole-v1", 500, lambda t, rng: t % 2),
        # Acrobot's float32 twin drifts from gymnasium's float64 trajectory (the
        # module docstring: > 1e-3 after 291 random steps at the earliest)
        ("Acrobot-v1", 100, lambda t, rng: rng.integers(3)),
        ("MountainCar-v0", 200, lambda t, rng: rng.integers(3)),
    ],
)
def test_follows_gymnasiums_episodes_from_their_starts(env_id, steps, policy):
    """Three episodes from gymnasium's starts, each side stepping its own state:
    they agree to 1e-3 (and on `terminated`) until each episode ends."""
    case, seeds = CASES[env_id], (0, 1, 2)
    envs = [gym.make(env_id).unwrapped for _ in seeds]
    observations = np.array([env.reset(seed=s)[0] for env, s in zip(envs, seeds)])
    states = case.twin.states_from_observations(observations)
    rng, running = np.random.default_rng(0), np.ones(len(seeds), bool)
    for t in range(steps):
        actions = np.array([policy(t, rng) for _ in seeds])
        ended = np.array(
            [run and env.step(int(a))[2] for env, a, run in zip(envs, actions, running)]
        )
        states, _, terminated = case.twin.step(states, tf.constant(actions))
        expected = np.array([np.array(env.state, np.float64) for env in envs])
        error = np.abs(difference(case, states.numpy(), expected)).max(axis=1)
        assert (error[running] < 1e-3).all()
        assert (terminated.numpy()[running] == ended[running]).all()
        running &= ~ended
        if not running.any():
            break
    assert t > 20


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_states_from_gymnasiums_start_observations(env_id):
    record, env = CASES[env_id].twin, gym.make(env_id)
    observations, expected = [], []
    for seed in range(50):
        observations.append(env.reset(seed=seed)[0])
        expected.append(np.array(env.unwrapped.state, np.float64))
    states = record.states_from_observations(np.array(observations))
    assert states.dtype == np.float32 and states.shape == (50, record.state_size)
    np.testing.assert_allclose(states, np.array(expected), rtol=2**-23, atol=1e-7)
    assert (states >= np.float32(record.start_low)).all()
    assert (states <= np.float32(record.start_high)).all()
    np.testing.assert_allclose(  # observing the state gives the observation back
        record.observe(tf.constant(states)).numpy(), observations, atol=1e-7
    )


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_start_maps_uniform_draws_onto_the_start_box(env_id):
    record = CASES[env_id].twin
    low, high = np.float32(record.start_low), np.float32(record.start_high)
    below_one = np.nextafter(np.float32(1), np.float32(0))
    draws = tf.concat(
        [
            tf.zeros([1, record.start_draws]),
            tf.fill([1, record.start_draws], below_one),
            tf.random.stateless_uniform([10_000, record.start_draws], seed=(0, 0)),
        ],
        axis=0,
    )
    starts = record.start(draws).numpy()
    assert starts.dtype == np.float32 and starts.shape == (10_002, record.state_size)
    assert (starts >= low).all() and (starts <= high).all()
    np.testing.assert_array_equal(starts[0], low)
    np.testing.assert_allclose(starts[1], high, atol=1e-7)
    # uniform over the box: low + u (high - low), coordinate by coordinate
    u = draws.numpy()[2:]
    if record.start_draws == 1:  # MountainCar: one draw for the position
        np.testing.assert_allclose(
            starts[2:, 0], low[0] + u[:, 0] * (high[0] - low[0]), atol=1e-7
        )
    else:
        np.testing.assert_allclose(starts[2:], low + u * (high - low), atol=1e-7)
    shaped = record.start(tf.reshape(draws[2:], [100, 100, record.start_draws]))
    assert shaped.shape == (100, 100, record.state_size)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_the_record_has_gymnasiums_sizes_and_limits(env_id):
    record, env = CASES[env_id].twin, gym.make(env_id)
    env.reset(seed=0)
    assert twin(env_id) is record and record.env_id == env_id
    assert env.observation_space.shape == (record.observation_size,)
    assert env.action_space.n == record.n_actions
    assert len(np.array(env.unwrapped.state)) == record.state_size
    assert len(record.start_low) == len(record.start_high) == record.state_size
    assert env.spec.max_episode_steps == record.max_episode_steps
    assert env.spec.reward_threshold == record.reward_threshold


@pytest.mark.parametrize("env_id", ["Pendulum-v1", 5, None, "cartpole-v1"])
def test_twin_refuses_an_environment_without_one(env_id):
    with pytest.raises(ValueError) as error:
        twin(env_id)
    assert f"got {env_id!r}" in str(error.value)
    assert "CartPole-v1" in str(error.value)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: start_states(CARTPOLE, []), "seeds must hold at least one"),
        (lambda: start_states(CARTPOLE, [None]), "each of seeds must be an integer"),
        (lambda: start_states(CARTPOLE, [2**32]), "each of seeds must be an integer"),
        (lambda: start_states("CartPole-v1", [0]), "env must be a utils.twins.Twin"),
        (
            lambda: greedy_returns(
                CARTPOLE, lambda o: tf.zeros([3, 3]), tf.zeros([3, 4])
            ),
            "q_values must give 2 values per observation",
        ),
        (
            lambda: greedy_returns(
                CARTPOLE, lambda o: tf.zeros([3, 2]), tf.zeros([3, 3])
            ),
            r"states must be start states \[..., 4\]",
        ),
        (
            lambda: greedy_returns(CARTPOLE, None, tf.zeros([3, 4])),
            "q_values must be a function",
        ),
        (
            lambda: greedy_returns(CARTPOLE, lambda o: o[..., :2], [["a"] * 4]),
            "states must be start states",
        ),
        (
            lambda: greedy_returns(
                CARTPOLE, lambda o: o[..., :2], np.full([2, 4], np.nan)
            ),
            r"gymnasium's starts\): row 0 is \[nan",
        ),
        (
            lambda: greedy_returns(
                CARTPOLE, lambda o: o[..., :2], np.full([2, 4], 1e30)
            ),
            r"gymnasium's starts\): row 0",
        ),
        (
            lambda: greedy_returns(
                MOUNTAINCAR, lambda o: o[..., :3] * 0, [[-0.5, 0.01]]
            ),
            r"row 0 is \[-0.5, 0.0099",
        ),
    ],
)
def test_start_states_and_greedy_returns_refuse_what_they_cannot_play(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_start_states_are_gymnasiums_reset_states():
    env = gym.make("MountainCar-v0")
    observation, _ = env.reset(seed=7)
    assert np.allclose(start_states(MOUNTAINCAR, [7])[0], observation)
