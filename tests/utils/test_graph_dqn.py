"""The CartPole twin against gymnasium, and the one-call DQN: its update against the
packaged agent's, same seed same run, seeds that do not depend on each other."""

import os

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

from utils.cartpole_twin import (  # noqa: E402
    MAX_EPISODE_STEPS,
    START_RANGE,
    cartpole_start,
    cartpole_step,
)
from utils.config import DQNConfig  # noqa: E402
from utils.graph_dqn import GraphDQN  # noqa: E402
from utils.update import DQNUpdate  # noqa: E402

# the smallest run that fills, samples and learns: a few hundred steps
SMALL = DQNConfig(
    hidden_units=(16,),
    memory_capacity=200,
    batch_size=8,
    learning_starts=20,
    num_envs=1,
    gradient_steps=1,
    epsilon_decay_steps=100,
)
PROBE_STARTS = np.zeros((3, 4), np.float32)


def gym_transitions(steps: int, seed: int = 0):
    """`steps` random-action steps of gymnasium's CartPole-v1, resetting on each
    end: the float64 state before each step, the action, the observation after and
    whether the step terminated."""
    env, rng = gym.make("CartPole-v1"), np.random.default_rng(seed)
    env.reset(seed=seed)
    states, actions, observations, terminated = [], [], [], []
    for _ in range(steps):
        states.append(np.array(env.unwrapped.state))
        actions.append(int(rng.integers(2)))
        observation, _, ended, truncated, _ = env.step(actions[-1])
        observations.append(observation)
        terminated.append(ended)
        if ended or truncated:
            env.reset()
    return (np.array(states), np.array(actions), np.array(observations), terminated)


def test_twin_steps_like_gymnasium_from_the_same_states():
    states, actions, observations, terminated = gym_transitions(5_000)
    assert 100 < sum(terminated) < 1_000  # many episodes, ends included
    next_states, twin_terminated = cartpole_step(
        tf.constant(states, tf.float32), tf.constant(actions)
    )
    np.testing.assert_allclose(next_states.numpy(), observations, rtol=1e-5, atol=1e-6)
    assert twin_terminated.numpy().tolist() == terminated


def test_twin_follows_a_whole_episode_from_gymnasiums_start():
    env = gym.make("CartPole-v1")
    observation, _ = env.reset(seed=3)
    state, steps = tf.constant(observation[None]), 0
    for action in [0, 1] * 250:  # alternating pushes keep it up for a while
        observation, _, terminated, truncated, _ = env.step(action)
        state, twin_terminated = cartpole_step(state, tf.constant([action]))
        np.testing.assert_allclose(state.numpy()[0], observation, rtol=1e-4, atol=1e-5)
        assert bool(twin_terminated[0]) == terminated
        steps += 1
        if terminated or truncated:
            break
    assert steps > 20


def test_twin_start_states_are_uniform_in_the_start_range():
    starts = cartpole_start(tf.random.uniform([10_000, 4])).numpy()
    assert starts.min() >= -START_RANGE and starts.max() < START_RANGE
    assert starts.min() < -0.049 and starts.max() > 0.049


def batch_for(dqn: GraphDQN, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    n, size = len(dqn.seeds), dqn.config.batch_size
    return {
        "observations": tf.constant(rng.normal(size=(n, size, 4)), tf.float32),
        "next_observations": tf.constant(rng.normal(size=(n, size, 4)), tf.float32),
        "actions": tf.constant(rng.integers(2, size=(n, size)), tf.int32),
        "rewards": tf.constant(rng.normal(size=(n, size)), tf.float32),
        "terminated": tf.constant(rng.random((n, size)) < 0.3, tf.float32),
    }


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"loss": "mse", "double": True},
        {"target": "hard", "target_update_every": 2},
        {"target": "none", "discount": 0.9},
    ],
    ids=["huber-soft", "mse-double", "hard", "none"],
)
def test_update_matches_the_packaged_agents_update(changes):
    """Hand-written Adam, Huber and target moves = Keras' (utils.update.DQNUpdate)."""
    config = SMALL.replace(**changes)
    dqn = GraphDQN(config, [7], PROBE_STARTS)
    keras_update = DQNUpdate(4, 2, config)
    keras_update.q_network.set_weights(dqn.kept_arrays(0))
    keras_update.target_network.set_weights(dqn.kept_arrays(0))
    for step in range(3):
        batch = batch_for(dqn, step)
        dqn.update(batch)
        dqn.update_target()
        keras_update.update(
            batch["observations"][0],
            batch["actions"][0],
            batch["rewards"][0],
            batch["next_observations"][0],
            batch["terminated"][0] > 0.5,
        )
    dqn.kept_params.assign(dqn.params)
    online = keras_update.q_network.get_weights()
    for ours, keras_weights in zip(dqn.kept_arrays(0), online):
        np.testing.assert_allclose(ours, keras_weights, rtol=1e-4, atol=1e-6)
    dqn.kept_params.assign(dqn.target_params)
    target = keras_update.target_network.get_weights()
    for ours, keras_weights in zip(dqn.kept_arrays(0), target):
        np.testing.assert_allclose(ours, keras_weights, rtol=1e-4, atol=1e-6)


@pytest.fixture(scope="module")
def two_runs():
    """Seeds 11 and 12 side by side, and seed 12 alone, after 300 steps each."""
    together = GraphDQN(SMALL, [11, 12], PROBE_STARTS)
    together_log = together.train(300)
    alone = GraphDQN(SMALL, [12], PROBE_STARTS)
    alone_log = alone.train(300)
    return together, together_log, alone, alone_log


def test_a_run_learns_and_keeps_its_best_probe_weights(two_runs):
    together, log, _, _ = two_runs
    assert int(together.env_steps.numpy()) == 300
    assert int(together.gradient_steps.numpy()) == 300 - SMALL.learning_starts + 1
    assert log["episodes"].min() > 0 and np.isfinite(log["mean_returns"]).all()
    np.testing.assert_array_equal(together.best_probe_means.numpy(), log["probe_means"])
    np.testing.assert_array_equal(together.kept_params.numpy(), together.params.numpy())
    stored = together.memory.numpy()[:, :200]
    assert set(np.unique(stored[:, :, 8])) == {0.0, 1.0}  # both actions explored
    assert (stored[:, :, 9] == 1.0).all()  # reward 1 a step


def test_same_seed_same_run():
    runs = [GraphDQN(SMALL, [11, 12], PROBE_STARTS) for _ in range(2)]
    logs = [run.train(100) for run in runs]
    np.testing.assert_array_equal(runs[0].params.numpy(), runs[1].params.numpy())
    np.testing.assert_array_equal(runs[0].memory.numpy(), runs[1].memory.numpy())
    np.testing.assert_array_equal(logs[0]["probe_means"], logs[1]["probe_means"])


def test_a_seeds_streams_do_not_depend_on_its_neighbours(two_runs):
    """Random play takes the same actions alone or beside another seed, its states
    and the parameters after it agree to float rounding (XLA may vectorise the
    arithmetic differently for another number of seeds)."""
    together, _, alone, _ = two_runs
    random_play = slice(0, SMALL.learning_starts)
    beside = together.memory.numpy()[1, random_play]
    by_itself = alone.memory.numpy()[0, random_play]
    np.testing.assert_array_equal(beside[:, 8:], by_itself[:, 8:])
    np.testing.assert_allclose(beside, by_itself, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        together.params.numpy()[1], alone.params.numpy()[0], rtol=1e-4, atol=1e-5
    )


def test_two_runs_never_share_a_start_state(two_runs):
    together, *_ = two_runs
    memory = together.memory.numpy()
    # a transition's observation that starts an episode: the first, and every one
    # after a stored end (terminated) or 500 steps
    firsts = [memory[s, 0, :4] for s in range(2)]
    assert not np.array_equal(firsts[0], firsts[1])
    rows = {tuple(row) for row in memory[0, :, :4]}
    assert not any(tuple(row) in rows for row in memory[1, :, :4])


def test_episodes_are_cut_at_500_steps():
    dqn = GraphDQN(SMALL, [3], PROBE_STARTS)
    dqn.episode_steps.assign([MAX_EPISODE_STEPS - 1])
    dqn.states.assign(tf.zeros([1, 4]))
    _, terminated, truncated = dqn.step_envs(tf.constant([0]))
    assert not bool(terminated[0]) and bool(truncated[0])


@pytest.mark.parametrize(
    "changes, expected",
    [
        (
            {"num_envs": 4, "gradient_steps": 4, "learning_starts": 32},
            "num_envs=4, gradient_steps=4",
        ),
        ({"dueling": True}, "dueling=True"),
        ({"n_step": 3}, "n_step=3"),
    ],
)
def test_refuses_settings_it_does_not_run(changes, expected):
    with pytest.raises(ValueError, match=expected):
        GraphDQN(SMALL.replace(**changes), [0], PROBE_STARTS)


@pytest.mark.parametrize(
    "seeds, probe_starts, expected",
    [
        ([], PROBE_STARTS, "at least one run"),
        ([1, 1], PROBE_STARTS, "must differ"),
        ([-1], PROBE_STARTS, "seeds"),
        ([0], np.zeros((3, 5)), r"shape \[P, 4\] .*got shape \(3, 5\)"),
        ([0], np.zeros((0, 4)), r"P >= 1.*got shape \(0, 4\)"),
        ([0], np.full((2, 4), np.nan), "got a NaN or an infinite value"),
        ([0], np.full((2, 4), 1e40), "got a NaN or an infinite value"),
        ([0], [["0.1"] * 4], "real start observations"),
        ({0: "a"}, PROBE_STARTS, "seeds must be a sequence"),
    ],
)
def test_refuses_bad_seeds_and_probe_starts(seeds, probe_starts, expected):
    with pytest.raises(ValueError, match=expected):
        GraphDQN(SMALL, seeds, probe_starts)


@pytest.mark.parametrize("steps", [0, 2.5, True, "100"])
def test_train_refuses_a_bad_step_count(two_runs, steps):
    together, *_ = two_runs
    expected = rf"steps must be an integer in \[1, 2\*\*62\), got {steps!r}"
    with pytest.raises(ValueError, match=expected):
        together.train(steps)


@pytest.mark.parametrize("index", [2, -1, True, None, "0"])
def test_kept_arrays_refuses_an_index_that_is_not_a_run(two_runs, index):
    together, *_ = two_runs
    with pytest.raises(ValueError, match=r"index must be an integer in \[0, 2\)"):
        together.kept_arrays(index)
