"""The one-call DQN engine: its update against the packaged agent's for every
switch, its n-step transitions against `NStepQueue`'s, its schedule, same seed same
run, seeds that do not depend on each other, and what it refuses.
(The twins themselves are checked against gymnasium in test_twins.py.)"""

import os

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

from tests.refusal import assert_refused  # noqa: E402
from utils import NStepQueue, ReplayMemory  # noqa: E402
from utils.cartpole_twin import CARTPOLE, MAX_EPISODE_STEPS  # noqa: E402
from utils.config import DQNConfig  # noqa: E402
from utils.graph_dqn import GraphDQN, dense  # noqa: E402
from utils.twins import twin  # noqa: E402
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
# Acrobot's observation with both links hanging down, at rest: cos 0, sin 0, ...
ACROBOT_DOWN = np.array([[1, 0, 1, 0, 0, 0]], np.float32)


@pytest.mark.parametrize("outputs", [1, 2, 3, 16])  # fused up to 2, matmul beyond
def test_dense_computes_the_batched_matmul(outputs):
    rng = np.random.default_rng(0)
    inputs = tf.constant(rng.normal(size=(3, 5, 7)), tf.float32)
    kernel = tf.constant(rng.normal(size=(3, 7, outputs)), tf.float32)
    bias = tf.constant(rng.normal(size=(3, outputs)), tf.float32)
    expected = inputs @ kernel + bias[:, None]
    np.testing.assert_allclose(
        dense(inputs, kernel, bias), expected, rtol=1e-5, atol=1e-5
    )


def batch_for(dqn: GraphDQN, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    n, size = len(dqn.seeds), dqn.config.batch_size
    obs = dqn.env.observation_size
    return {
        "observations": tf.constant(rng.normal(size=(n, size, obs)), tf.float32),
        "next_observations": tf.constant(rng.normal(size=(n, size, obs)), tf.float32),
        "actions": tf.constant(
            rng.integers(dqn.env.n_actions, size=(n, size)), tf.int32
        ),
        "rewards": tf.constant(rng.normal(size=(n, size)), tf.float32),
        "terminated": tf.constant(rng.random((n, size)) < 0.3, tf.float32),
    }


SWITCHES = {
    "huber-soft": {},
    "mse-double": {"loss": "mse", "double": True},
    "hard": {"target": "hard", "target_update_every": 2},
    "none": {"target": "none", "discount": 0.9},
    "dueling": {"dueling": True},
    "n-step": {"n_step": 3, "discount": 0.9},
    "two-hidden-layers": {"hidden_units": (8, 12), "double": True},
}


@pytest.mark.parametrize("changes", SWITCHES.values(), ids=SWITCHES.keys())
@pytest.mark.parametrize("env_id", ["CartPole-v1", "Acrobot-v1"])
def test_update_matches_the_packaged_agents_update(env_id, changes):
    """TD targets, hand-written Adam, the losses and the target moves equal Keras'
    (utils.update.DQNUpdate) for every switch, over three gradient steps."""
    env, config = twin(env_id), SMALL.replace(**changes)
    starts = PROBE_STARTS if env_id == "CartPole-v1" else ACROBOT_DOWN
    dqn = GraphDQN(env, config, [7], starts)
    keras_update = DQNUpdate(env.observation_size, env.n_actions, config)
    keras_update.q_network.set_weights(dqn.arrays(0))
    keras_update.target_network.set_weights(dqn.arrays(0))
    everyone = tf.constant([True])
    for step in range(3):
        batch = batch_for(dqn, step)
        fields = [batch[name][0] for name in ("rewards", "next_observations")]
        keras_targets = keras_update.td_targets(*fields, batch["terminated"][0] > 0.5)
        np.testing.assert_allclose(
            dqn.td_targets(batch)[0], keras_targets, rtol=1e-5, atol=1e-5
        )
        losses = dqn.update(batch, everyone)
        dqn.update_target(everyone)
        keras_loss = keras_update.update(
            batch["observations"][0],
            batch["actions"][0],
            batch["rewards"][0],
            batch["next_observations"][0],
            batch["terminated"][0] > 0.5,
        )
        np.testing.assert_allclose(losses[0], keras_loss, rtol=1e-5)
    for which, network in [
        ("last", keras_update.q_network),
        ("target", keras_update.target_network),
    ]:
        if which == "target":
            dqn.params.assign(dqn.target_params)
        for ours, theirs in zip(dqn.arrays(0, "last"), network.get_weights()):
            np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-6)


def test_a_runs_network_as_keras_gives_the_engines_q_values():
    config = SMALL.replace(dueling=True, hidden_units=(8, 8))
    dqn = GraphDQN(CARTPOLE, config, [1, 2], PROBE_STARTS)
    observations = np.random.default_rng(0).normal(size=(2, 5, 4)).astype(np.float32)
    ours = dqn.q_values(dqn.params, tf.constant(observations)).numpy()
    for index in range(2):
        keras_q = dqn.network(index, "last")(observations[index]).numpy()
        np.testing.assert_allclose(ours[index], keras_q, rtol=1e-5, atol=1e-6)


def scripted_moves(rng, steps: int, envs: int):
    """Random moves of `envs` environments: rewards, actions, ends at random."""
    for _ in range(steps):
        terminated = rng.random(envs) < 0.15
        truncated = ~terminated & (rng.random(envs) < 0.1)
        yield (
            rng.normal(size=(envs, 4)).astype(np.float32),
            rng.integers(2, size=envs),
            rng.normal(size=envs).astype(np.float32),
            rng.normal(size=(envs, 4)).astype(np.float32),
            terminated,
            truncated,
        )


@pytest.mark.parametrize("n_step", [1, 2, 3, 5])
def test_nstep_transitions_equal_the_nstep_queues(n_step):
    """Every row the engine writes, in order, is the row `NStepQueue` writes, over
    random episode ends (terminations and truncations) in two environments."""
    envs, steps = 2, 120
    config = SMALL.replace(
        n_step=n_step, num_envs=envs, discount=0.9, memory_capacity=1_000
    )
    dqn = GraphDQN(CARTPOLE, config, [0], PROBE_STARTS)
    memory = ReplayMemory(1_000, (4,), np.float32)
    queues = [NStepQueue(memory, n_step, 0.9) for _ in range(envs)]
    for obs, actions, rewards, next_obs, terminated, truncated in scripted_moves(
        np.random.default_rng(n_step), steps, envs
    ):
        rows, real = dqn.transitions(
            tf.constant(obs[None]),
            tf.constant(actions[None], tf.int64),
            tf.constant(rewards[None]),
            tf.constant(next_obs[None]),
            (tf.constant(terminated[None]), tf.constant(truncated[None])),
        )
        dqn.store(rows, real)
        for i in range(envs):
            queues[i].push(
                obs[i], actions[i], rewards[i], next_obs[i], terminated[i], truncated[i]
            )
    written = int(dqn.rows_written.numpy()[0])
    assert written == len(memory) > steps * envs // 2
    ours = dqn.memory.numpy()[0, :written]
    np.testing.assert_array_equal(ours[:, :4], memory.observations[:written])
    np.testing.assert_array_equal(ours[:, 4:8], memory.next_observations[:written])
    np.testing.assert_array_equal(ours[:, 8], memory.actions[:written])
    np.testing.assert_allclose(
        ours[:, 9], memory.rewards[:written], rtol=1e-6, atol=1e-6
    )
    np.testing.assert_array_equal(ours[:, 10], memory.terminated[:written])


@pytest.fixture(scope="module")
def two_runs():
    """Seeds 11 and 12 side by side, and seed 12 alone, after 300 steps each."""
    together = GraphDQN(CARTPOLE, SMALL, [11, 12], PROBE_STARTS)
    together_log = together.train(300)
    alone = GraphDQN(CARTPOLE, SMALL, [12], PROBE_STARTS)
    alone_log = alone.train(300)
    return together, together_log, alone, alone_log


def test_a_run_learns_and_keeps_its_best_probe_weights(two_runs):
    together, log, _, _ = two_runs
    assert together.env_steps == 300
    # the first gradient step comes once the memory holds learning_starts rows
    expected = 300 - SMALL.learning_starts
    np.testing.assert_array_equal(together.updates_done.numpy(), [expected] * 2)
    assert log["episodes"].min() > 0 and np.isfinite(log["mean_returns"]).all()
    assert np.isnan(log["validation_means"]).all()  # no validation starts given
    np.testing.assert_array_equal(together.best_probe_means.numpy(), log["probe_means"])
    np.testing.assert_array_equal(together.kept_params.numpy(), together.params.numpy())
    stored = together.memory.numpy()[:, :200]
    assert set(np.unique(stored[:, :, 8])) == {0.0, 1.0}  # both actions explored
    assert (stored[:, :, 9] == 1.0).all()  # reward 1 a step


@pytest.mark.parametrize(
    "changes, updates",
    [
        # 4 envs: 100 vector steps; learning from the 8th on (32 rows), every step
        ({"num_envs": 4, "gradient_steps": 4, "learning_starts": 32}, (100 - 8) * 4),
        # every 4th vector step once 20 rows are in: vector steps 24, 28, ..., 300
        ({"train_every": 4, "gradient_steps": 2}, 70 * 2),
    ],
)
def test_train_every_and_gradient_steps_set_the_number_of_updates(changes, updates):
    dqn = GraphDQN(CARTPOLE, SMALL.replace(**changes), [5], PROBE_STARTS)
    dqn.train(400 if changes.get("num_envs") else 300)
    assert int(dqn.updates_done.numpy()[0]) == updates


def test_validation_starts_are_measured_and_do_not_choose():
    validation = np.full((2, 4), 0.01, np.float32)
    dqn = GraphDQN(CARTPOLE, SMALL, [3], PROBE_STARTS, validation_starts=validation)
    log = dqn.train(100)
    returns = dqn.greedy_returns(validation, "last")
    assert log["validation_means"][0] == returns.mean()
    assert log["probe_means"][0] == dqn.greedy_returns(PROBE_STARTS, "last").mean()


def test_same_seed_same_run():
    config = SMALL.replace(n_step=3, num_envs=2)
    runs = [GraphDQN(CARTPOLE, config, [11, 12], PROBE_STARTS) for _ in range(2)]
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
    firsts = [memory[s, 0, :4] for s in range(2)]
    assert not np.array_equal(firsts[0], firsts[1])
    written = slice(0, SMALL.memory_capacity)  # past it: the spare rows
    rows = {tuple(row) for row in memory[0, written, :4]}
    assert not any(tuple(row) in rows for row in memory[1, written, :4])


def test_episodes_are_cut_at_the_time_limit():
    dqn = GraphDQN(CARTPOLE, SMALL, [3], PROBE_STARTS)
    dqn.episode_steps.assign([[MAX_EPISODE_STEPS - 1]])
    dqn.states.assign(tf.zeros([1, 1, 4]))
    _, _, terminated, truncated = dqn.step_envs(tf.constant([[0]], tf.int64))
    assert not bool(terminated[0, 0]) and bool(truncated[0, 0])


def test_one_compiled_program_for_any_step_count():
    dqn = GraphDQN(CARTPOLE, SMALL, [3], PROBE_STARTS)
    for steps in (10, 30, 70):
        dqn.train(steps)
    assert dqn._train.experimental_get_tracing_count() == 1
    assert dqn.env_steps == 110


@pytest.mark.parametrize(
    "args, expected",
    [
        (("Pendulum-v1", SMALL, [0], PROBE_STARTS), "env_id must be one of"),
        ((CARTPOLE, {"n_step": 1}, [0], PROBE_STARTS), "config must be a DQNConfig"),
        ((CARTPOLE, SMALL, [], PROBE_STARTS), "at least one run"),
        ((CARTPOLE, SMALL, [1, 1], PROBE_STARTS), "must differ"),
        ((CARTPOLE, SMALL, [-1], PROBE_STARTS), "seeds"),
        ((CARTPOLE, SMALL, {0: "a"}, PROBE_STARTS), "seeds must be a sequence"),
        (
            (CARTPOLE, SMALL, [0], np.zeros((3, 5))),
            r"shape \[N, 4\].*got shape \(3, 5\)",
        ),
        ((CARTPOLE, SMALL, [0], np.zeros((0, 4))), r"N >= 1.*got shape \(0, 4\)"),
        ((CARTPOLE, SMALL, [0], np.full((2, 4), np.nan)), "NaN or an infinite"),
        ((CARTPOLE, SMALL, [0], np.full((2, 4), 1e40)), "NaN or an infinite"),
        ((CARTPOLE, SMALL, [0], [["0.1"] * 4]), "start observations of CartPole-v1"),
        # a cart beyond 2.4 has already terminated: no start state of CartPole
        ((CARTPOLE, SMALL, [0], [[3.0, 0, 0, 0]]), r"got row 0: \[3.0"),
    ],
)
def test_refuses_what_it_cannot_run(args, expected):
    with pytest.raises(ValueError, match=expected):
        GraphDQN(*args)


@pytest.mark.parametrize("steps", [0, 2.5, True, "100"])
def test_train_refuses_a_bad_step_count(two_runs, steps):
    together, *_ = two_runs
    with pytest.raises(ValueError, match=rf"steps must be an integer .*got {steps!r}"):
        together.train(steps)


def test_train_refuses_steps_off_the_vector_step():
    dqn = GraphDQN(
        CARTPOLE,
        SMALL.replace(num_envs=4, gradient_steps=4, learning_starts=32),
        [0],
        PROBE_STARTS,
    )
    with pytest.raises(ValueError, match=r"multiple of num_envs \(4.*got 10"):
        dqn.train(10)
    assert dqn.env_steps == 0


@pytest.mark.parametrize("index", [2, -1, True, None, "0"])
def test_arrays_refuses_an_index_that_is_not_a_run(two_runs, index):
    together, *_ = two_runs
    with pytest.raises(ValueError, match=r"index must be an integer in \[0, 2\)"):
        together.arrays(index)


@pytest.mark.parametrize(
    "row",
    [[0.5, 0, 1, 0, 0, 0], [0, 0, 0, 0, 0, 0]],  # cos^2 + sin^2 != 1
    ids=["half-a-cosine", "all-zero"],
)
def test_refuses_start_observations_no_state_could_give(row):
    with pytest.raises(ValueError, match="is no observation of any state"):
        GraphDQN("Acrobot-v1", SMALL, [0], np.array([row], np.float32))


def test_network_checks_its_index_before_building_anything(two_runs):
    together, *_ = two_runs
    assert_refused(  # Python's, NumPy's and TensorFlow's generators untouched
        None, lambda: together.network(5), ValueError, match="index must be"
    )
