import dataclasses
import os
import subprocess
import sys

import gymnasium as gym
import keras
import numpy as np
import pytest
from refusal_agent import assert_refused

from utils import checkpoint, load_model, play_greedy, save_model
from utils.dqn import DQNAgent, DQNConfig, DuelingHead

GAMMA = 0.5
# a linear Q-network on CartPole's 4 numbers: Q(e_k) is row k of the kernel
ONLINE = np.array([[1.0, 3.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0]], np.float32)
TARGET = np.array([[10.0, 2.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0]], np.float32)
NO_BIAS = np.zeros(2, np.float32)
E0 = np.array([[1.0, 0.0, 0.0, 0.0]], np.float32)


def linear_agent(**switches):
    config = DQNConfig(
        hidden_units=(),
        discount=GAMMA,
        batch_size=2,
        learning_starts=2,
        num_envs=1,
        gradient_steps=1,
        **switches,
    )
    agent = DQNAgent("CartPole-v1", config, seed=0)
    agent.q_network.set_weights([ONLINE, NO_BIAS])
    agent.target_network.set_weights([TARGET, NO_BIAS])
    return agent


def targets(agent, terminated=False, reward=1.0):
    return agent.td_targets(
        np.array([reward], np.float32), E0, np.array([terminated])
    ).numpy()


@pytest.mark.parametrize("target", ["soft", "hard"])
def test_the_target_network_values_the_next_state(target):
    # max over a' of Q_target(e0, a') = 10, not the online network's 3
    assert targets(linear_agent(target=target)) == pytest.approx([1 + GAMMA * 10])


def test_without_a_target_network_the_online_network_values_the_next_state():
    assert targets(linear_agent(target="none")) == pytest.approx([1 + GAMMA * 3])


def test_double_dqn_picks_with_the_online_network_and_values_with_the_target():
    # the online network picks action 1 (3 > 1); the target network says it is worth 2
    assert targets(linear_agent(double=True)) == pytest.approx([1 + GAMMA * 2])


@pytest.mark.parametrize("switches", [{}, {"target": "none"}, {"double": True}])
def test_terminated_transitions_do_not_bootstrap(switches):
    agent = linear_agent(**switches)
    assert targets(agent, terminated=True, reward=-1.0) == pytest.approx([-1.0])


def test_n_step_transitions_bootstrap_with_gamma_to_the_n():
    assert targets(linear_agent(n_step=3)) == pytest.approx([1 + GAMMA**3 * 10])


def one_update(agent):
    batch = (E0, np.array([0]), np.array([1.0], np.float32), E0, np.array([True]))
    return float(agent.update(*batch))


def test_soft_updates_move_the_target_a_fraction_tau_per_gradient_step():
    agent = linear_agent(target="soft", tau=0.25)
    one_update(agent)
    online = agent.q_network.get_weights()[0]
    expected = 0.25 * online + 0.75 * TARGET
    np.testing.assert_allclose(agent.target_network.get_weights()[0], expected)


def test_hard_updates_copy_every_n_gradient_steps_and_keep_the_target_between():
    agent = linear_agent(target="hard", target_update_every=2)
    one_update(agent)
    np.testing.assert_array_equal(agent.target_network.get_weights()[0], TARGET)
    one_update(agent)
    online = agent.q_network.get_weights()[0]
    np.testing.assert_array_equal(agent.target_network.get_weights()[0], online)


def test_without_a_target_network_the_target_weights_never_move():
    agent = linear_agent(target="none")
    one_update(agent)
    np.testing.assert_array_equal(agent.target_network.get_weights()[0], TARGET)


@pytest.mark.parametrize(("loss", "expected"), [("huber", 8.5), ("mse", 81.0)])
def test_huber_and_mse_losses(loss, expected):
    # Q(e0, 0) = 1, target = 1 + 0 (terminated) -> error 0; make it 9 by hand
    agent = linear_agent(loss=loss)
    batch = (E0, np.array([0]), np.array([10.0], np.float32), E0, np.array([True]))
    assert float(agent.update(*batch)) == pytest.approx(expected)


def test_the_dueling_head_is_value_plus_centred_advantages(tmp_path):
    network = keras.Sequential([keras.Input((1,)), DuelingHead(3)])
    value_kernel, advantage_kernel = np.array([[2.0]]), np.array([[1.0, 2.0, 6.0]])
    network.set_weights([value_kernel, np.zeros(1), advantage_kernel, np.zeros(3)])
    # V = 2, A = (1, 2, 6), mean A = 3 -> Q = 2 + (-2, -1, 3)
    expected = [[0.0, 1.0, 5.0]]
    np.testing.assert_allclose(network(np.array([[1.0]])), expected)
    path = save_model(tmp_path / "dueling.keras", network)
    np.testing.assert_allclose(load_model(path)(np.array([[1.0]])), expected)


def test_a_dueling_agent_has_a_dueling_head():
    agent = DQNAgent("CartPole-v1", DQNConfig(dueling=True), seed=0)
    assert isinstance(agent.q_network.layers[-1], DuelingHead)
    assert agent.q_network(E0).shape == (1, 2)


def test_one_training_call_takes_gradient_steps_updates_and_acts_for_every_env():
    config = DQNConfig(num_envs=3, gradient_steps=4, batch_size=2, learning_starts=8)
    agent = DQNAgent("CartPole-v1", config, seed=0)
    for _ in range(8):
        agent.memory.append(E0[0], 0, 1.0, E0[0], False)
    actions = agent.act(np.repeat(E0, 3, axis=0), learn=True)
    assert actions.shape == (3,)
    assert int(agent.optimizer.iterations) == 4


def test_stored_transitions_belong_together_and_truncation_keeps_the_bootstrap():
    # CartPole cut at 30 steps: episodes end by the pole (terminated) or the clock
    import gymnasium as gym

    gym.register(
        "CartPole30-v1",
        "gymnasium.envs.classic_control:CartPoleEnv",
        max_episode_steps=30,
    )
    config = DQNConfig(
        memory_capacity=400,
        batch_size=8,
        learning_starts=8,
        num_envs=1,
        gradient_steps=1,
    )
    agent = DQNAgent("CartPole30-v1", config, seed=0)
    agent.train(400, eval_every=10_000, progress=False)
    memory = agent.memory  # one env: transitions in the order they were played
    observations, next_observations = memory.observations, memory.next_observations
    fell = (np.abs(next_observations[:, 2]) > 0.2095) | (
        np.abs(next_observations[:, 0]) > 2.4
    )
    # terminated exactly when the stored next observation is past the limits
    np.testing.assert_array_equal(memory.terminated, fell)
    # the episode ends: terminated, or the 30th step of an episode
    ends, length = np.zeros(400, bool), 0
    for i in range(400):
        length += 1
        if memory.terminated[i] or length == 30:
            ends[i], length = True, 0
    truncated = ends & ~memory.terminated
    assert truncated.sum() >= 2 and memory.terminated.sum() >= 2
    # within an episode, each next observation is the following observation
    ongoing = np.flatnonzero(~ends[:-1])
    np.testing.assert_array_equal(next_observations[ongoing], observations[ongoing + 1])
    # after an end, the next observation is the last state, not the new start
    finished = np.flatnonzero(ends[:-1])
    assert (next_observations[finished] != observations[finished + 1]).all(axis=1).all()
    # the log says how each episode ended: by the task, or by the clock
    assert agent.log.episode_steps == list(np.flatnonzero(ends) + 1)
    assert agent.log.episode_terminated == memory.terminated[ends].tolist()


def test_same_seed_same_weights():
    weights = []
    for _ in range(2):
        agent = DQNAgent("CartPole-v1", DQNConfig(learning_starts=256), seed=3)
        agent.train(600, eval_every=10_000, progress=False)
        weights.append(agent.q_network.get_weights())
    assert all(np.array_equal(a, b) for a, b in zip(*weights))


def test_no_two_runs_or_generators_share_a_stream():
    # seeds side by side, as a study trains them: with env seeds `seed + i`, env 1 of
    # run 0 would start where env 0 of run 1 starts
    config = DQNConfig(num_envs=4)
    agents = [DQNAgent("CartPole-v1", config, seed=seed) for seed in (0, 1, 2)]
    for agent in agents:
        agent._environments()  # made and reset on first use
    starts = np.concatenate([agent._observations for agent in agents])
    assert len(np.unique(starts, axis=0)) == len(starts) == 12
    for agent in agents:  # exploration and replay draw different numbers
        assert not np.array_equal(agent.rng.random(8), agent.memory.rng.random(8))
    draws = [agent.rng.random(8) for agent in agents]
    assert len(np.unique(np.concatenate(draws))) == 24


def test_run_streams_are_children_of_the_seed():
    from utils.seeding import run_streams

    a, b = run_streams(5, 3), run_streams(5, 3)
    assert a.environments == b.environments and a.network == b.network
    assert np.array_equal(a.replay.random(4), b.replay.random(4))
    assert len(set(a.environments) | set(a.action_spaces) | {a.network}) == 3 + 4 + 1
    assert set(a.environments).isdisjoint(run_streams(6, 3).environments)
    with pytest.raises(ValueError, match="seed must be an integer in"):
        run_streams(-1, 3)


def test_an_environment_without_discrete_actions_is_refused():
    with pytest.raises(
        ValueError, match="env_id 'Pendulum-v1' needs a Discrete action space"
    ):
        DQNAgent("Pendulum-v1")


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: DQNAgent("CartPole-v1", seed=-1), r"seed must be an integer in \[0"),
        (lambda: DQNAgent("CartPole-v1", seed=True), "seed must be an integer"),
        (lambda: DQNAgent("CartPole-v1", seed=2**32), "seed must be an integer"),
        (lambda: DQNAgent("CartPole-v1", config={}), "config must be a DQNConfig"),
    ],
)
def test_a_bad_seed_or_config_is_refused_before_anything_is_seeded(make, message):
    before = os.environ.get("PYTHONHASHSEED")
    with pytest.raises(ValueError, match=message):
        make()
    assert os.environ.get("PYTHONHASHSEED") == before


@pytest.fixture(scope="module")
def small_agent():
    config = DQNConfig(hidden_units=(8,), num_envs=1, gradient_steps=1)
    return DQNAgent("CartPole-v1", config, seed=0)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"probe_seeds": 5}, "probe_seeds must be a sequence of seeds"),
        ({"probe_seeds": [1.5]}, "each of probe_seeds must be an integer"),
        ({"held_out_seeds": [-3]}, "each of held_out_seeds must be an integer"),
        ({"probe_seeds": {1, 2}}, "probe_seeds must be a sequence"),
        ({"kept_path": "kept.h5"}, "kept_path must end in .keras"),
        ({"callback": 5}, "callback must be callable"),
        ({"description": 5}, "description must be a str, got 5"),
        ({"progress": "no"}, "progress must be True or False, got 'no'"),
        ({"kept_path": "kept.keras"}, "kept_path needs probe_seeds"),
        ({"kept_path": 5}, "kept_path must be a path, got 5"),
        ({"evaluate_in": "gym"}, "evaluate_in must be 'gymnasium' or 'twin'"),
    ],
)
def test_bad_training_arguments_are_refused_and_change_nothing(
    small_agent, arguments, message
):
    assert_refused(
        small_agent,
        lambda: small_agent.train(100, 50, **{"progress": False, **arguments}),
        ValueError,
        message,
    )


def test_steps_that_the_environments_cannot_stop_at_are_refused():
    agent = DQNAgent("CartPole-v1", DQNConfig(hidden_units=(8,), num_envs=4), seed=0)
    with pytest.raises(ValueError, match=r"eval_every must be a multiple of num_envs"):
        agent.train(400, 50, progress=False)  # 50 steps is 12.5 vector steps
    with pytest.raises(ValueError, match=r"total_steps must be a multiple of num_envs"):
        agent.train(402, 100, progress=False)
    assert agent.env_steps == 0


def test_paths_of_the_wrong_kind_and_starts_never_played_are_refused(
    small_agent, tmp_path
):
    (tmp_path / "kept.keras").mkdir()
    (tmp_path / "logs").write_text("a file")
    for arguments, message in [
        ({"kept_path": tmp_path / "kept.keras", "probe_seeds": [1]}, "is a folder"),
        ({"log_dir": tmp_path / "logs"}, "log_dir .* is a file, not a folder"),
        ({"eval_every": 200, "probe_seeds": [1]}, r"eval_every \(200\) is beyond"),
    ]:
        with pytest.raises(ValueError, match=message):
            small_agent.train(100, **{"eval_every": 50, **arguments}, progress=False)
    assert small_agent.env_steps == 0


def test_evaluation_starts_cannot_change_within_a_run(small_agent):
    agent = DQNAgent("CartPole-v1", small_agent.config, seed=2)
    agent.train(20, 10, probe_seeds=[1], progress=False)
    for probe, held_out in [([2], []), ([1], [3]), ([], [])]:
        with pytest.raises(ValueError, match="must be the starts of this run's"):
            agent.train(40, 10, probe_seeds=probe, held_out_seeds=held_out)
    agent.train(40, 10, probe_seeds=[1], progress=False)  # the same starts go on
    assert agent.log.eval_steps == [10, 20, 30, 40] and len(agent.log.probe_means) == 4


def test_evaluating_weights_that_are_not_the_networks_changes_nothing(small_agent):
    before = small_agent.q_network.get_weights()
    wrong_shape = [np.full_like(w, 7.0) for w in before]
    wrong_shape[-1] = np.zeros(5, np.float32)
    not_finite = [np.full_like(w, np.nan) for w in before]
    text = [np.full(w.shape, "a") for w in before]
    for bad, detail in [
        (wrong_shape, "got shapes"),
        (not_finite, "non-finite"),
        (text, "non-real"),
        (5, "got 5"),
        ((w for w in before), "got <generator"),
    ]:
        with pytest.raises(ValueError, match=f"weights must be a list .*{detail}"):
            small_agent.evaluate([1, 2], weights=bad)
    after = small_agent.q_network.get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(before, after))


def test_training_to_a_step_already_passed_is_refused(small_agent):
    agent = DQNAgent("CartPole-v1", small_agent.config, seed=1)
    agent.train(20, 20, progress=False)
    with pytest.raises(ValueError, match=r"total_steps \(10\) is below the 20 steps"):
        agent.train(10, 10, progress=False)
    assert agent.env_steps == 20


def test_a_fresh_run_does_not_overwrite_another_runs_kept_weights(
    small_agent, tmp_path
):
    path = tmp_path / "kept.keras"
    path.write_bytes(b"an earlier run's network")
    with pytest.raises(FileExistsError, match="another run's kept weights"):
        small_agent.train(100, 50, [1], kept_path=path, progress=False)
    assert path.read_bytes() == b"an earlier run's network"


def balancing_agent(env_id="CartPole-v1"):
    """An agent whose greedy policy pushes toward the side the pole falls to
    (angle + angular velocity): episodes of many lengths, without training."""
    agent = DQNAgent(env_id, DQNConfig(hidden_units=(2,), num_envs=1), seed=0)
    lean = np.array([0.0, 0.0, 1.0, 1.0], np.float32)
    hidden = np.stack([lean, -lean], axis=1)  # relu(lean), relu(-lean)
    agent.q_network.set_weights(
        [
            hidden,
            np.zeros(2, np.float32),
            np.eye(2, dtype=np.float32)[::-1].copy(),
            np.zeros(2, np.float32),
        ]
    )
    return agent


def test_evaluating_in_the_twin_plays_gymnasiums_starts_and_episodes():
    agent = balancing_agent()
    seeds = list(range(100, 130))
    in_gymnasium = agent.evaluate(seeds)
    in_twin = agent.evaluate(seeds, evaluate_in="twin")
    assert in_gymnasium.std() > 10  # episodes of many lengths: the starts matter
    assert np.abs(in_twin - in_gymnasium).max() <= 2  # float32 physics, same episodes
    assert np.abs(in_twin[::-1] - in_gymnasium).max() > 10  # not whatever starts


def test_a_run_evaluated_in_the_twin_keeps_evaluating_there(small_agent):
    agent = DQNAgent("CartPole-v1", small_agent.config, seed=2)
    agent.train(20, 10, probe_seeds=[1], progress=False, evaluate_in="twin")
    assert_refused(
        agent,
        lambda: agent.train(40, 10, probe_seeds=[1], progress=False),
        ValueError,
        "evaluate_in must be where this run's earlier evaluations played \\('twin'",
    )
    agent.train(40, 10, probe_seeds=[1], progress=False, evaluate_in="twin")
    assert len(agent.log.probe_means) == 4


def test_restore_refuses_evaluations_played_nowhere(small_agent, tmp_path):
    agent = DQNAgent("CartPole-v1", small_agent.config, seed=3)
    agent.train(
        60,
        20,
        probe_seeds=[1],
        progress=False,
        evaluate_in="twin",
        checkpoint_dir=tmp_path,
        checkpoint_every=20,
    )
    resumed = DQNAgent.from_checkpoint(checkpoint.latest(tmp_path))
    state = resumed.resumable_state()
    assert state.evaluate_in == "twin"
    for where in ("Twin", None):
        bad = dataclasses.replace(state, evaluate_in=where)
        assert_refused(
            resumed,
            lambda bad=bad: resumed.restore(bad),
            ValueError,
            "evaluate_in must be None before the first evaluation",
        )


def test_evaluating_in_a_twin_that_does_not_exist_is_refused():
    agent = DQNAgent("LunarLander-v3", DQNConfig(hidden_units=(8,), num_envs=1), seed=0)
    assert_refused(
        agent,
        lambda: agent.train(20, 10, probe_seeds=[1], evaluate_in="twin"),
        ValueError,
        "evaluate_in='twin': env_id must be one of .*'CartPole-v1'.*LunarLander-v3",
    )
    with pytest.raises(ValueError, match="evaluate_in='twin': env_id must be"):
        agent.evaluate([1], evaluate_in="twin")


def test_evaluate_refuses_no_seeds(small_agent):
    with pytest.raises(ValueError, match="at least one start state"):
        small_agent.evaluate([])


def test_a_checkpoint_folder_that_is_a_file_is_refused(small_agent, tmp_path):
    file = tmp_path / "checkpoints"
    file.write_text("not a folder")
    with pytest.raises(ValueError, match="is a file, not a folder"):
        small_agent.train(100, 50, checkpoint_dir=file, progress=False)
    assert small_agent.env_steps == 0


def test_a_loaded_network_plays_exactly_as_the_agent_that_saved_it(tmp_path):
    # play_greedy compiles a Keras model's call; the greedy actions stay the agent's
    agent = DQNAgent("CartPole-v1", DQNConfig(hidden_units=(16,)), seed=7)
    agent.q_network.set_weights(
        [np.random.default_rng(0).normal(size=w.shape) for w in agent.kept_weights]
    )
    path = save_model(tmp_path / "net.keras", agent.q_network)
    seeds = range(40)
    episodes = play_greedy(load_model(path), "CartPole-v1", seeds)
    np.testing.assert_array_equal(episodes.returns, agent.evaluate(seeds))
    assert len(np.unique(episodes.returns)) > 1  # the starts play out differently


def test_play_greedy_refuses_no_seeds_and_q_values_of_the_wrong_width():
    def push_left(observations):
        return np.zeros(len(observations), int)

    with pytest.raises(ValueError, match="at least one start state"):
        play_greedy(push_left, "CartPole-v1", [])
    with pytest.raises(ValueError, match="gives 3 Q-values .* has 2 actions"):
        play_greedy(lambda o: np.zeros((len(o), 3)), "CartPole-v1", [1])
    episodes = play_greedy(push_left, "CartPole-v1", np.arange(2))  # NumPy seeds
    assert episodes.terminated.all()


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        (lambda o: np.zeros(1, int), r"for 2 observations, 2 integer actions"),
        (lambda o: np.full(len(o), 0.7), r"it gave float64 of shape \(2,\)"),
        (
            lambda o: np.full(len(o), 5),
            r"actions \[5, 5\]; the environment's are 0 to 1",
        ),
        (lambda o: None, r"it gave object of shape \(\)"),
        (lambda o: np.zeros((len(o), 2, 1)), r"an \(2, 2\) array of Q-values"),
    ],
)
def test_play_greedy_refuses_output_that_is_neither_actions_nor_q_values(
    policy, message
):
    with pytest.raises(ValueError, match=message):
        play_greedy(policy, "CartPole-v1", [1, 2])


def test_play_greedy_refuses_an_environment_without_discrete_actions():
    with pytest.raises(
        ValueError, match="needs Discrete actions; 'Pendulum-v1' has Box"
    ):
        play_greedy(lambda o: np.zeros(len(o), int), "Pendulum-v1", [1])


def test_play_greedy_records_the_observation_each_episode_ended_in():
    # episodes of different lengths: a row is the episode's own last observation,
    # not one from the reset that follows it nor one that a later step overwrote
    def push_left(observations):
        return np.zeros(len(observations), int)

    seeds = [3, 4, 5]
    episodes = play_greedy(push_left, "CartPole-v1", seeds)
    for seed, last, length in zip(seeds, episodes.final_observations, episodes.lengths):
        env = gym.make("CartPole-v1")
        env.reset(seed=seed)
        for _ in range(length):
            observation, *_ = env.step(0)
        env.close()
        np.testing.assert_array_equal(last, observation)
    assert len(set(episodes.lengths)) > 1  # the episodes ended at different steps


# -- a refused call changes nothing: the agent's whole state, every generator ----------
@pytest.mark.parametrize("name", ["log_dir", "checkpoint_dir"])
def test_a_folder_argument_that_is_no_path_is_a_value_error_naming_it(
    small_agent, name
):
    assert_refused(
        small_agent,
        lambda: small_agent.train(100, 50, progress=False, **{name: 5}),
        ValueError,
        f"{name} must be a path, got 5",
    )


@pytest.mark.parametrize(
    ("name", "inside", "extra"),
    [
        ("checkpoint_dir", "checkpoints", {}),
        ("log_dir", "logs", {}),
        ("kept_path", "kept.keras", {"probe_seeds": [1]}),
    ],
)
def test_a_path_inside_a_file_is_refused_before_a_step_naming_it(
    small_agent, tmp_path, name, inside, extra
):
    (tmp_path / "notes.txt").write_text("a file, not a folder")
    path = tmp_path / "notes.txt" / inside
    assert_refused(
        small_agent,
        lambda: small_agent.train(100, 50, progress=False, **{name: path}, **extra),
        ValueError,
        f"{name} .* lies inside .*notes.txt', which is a file",
    )


def test_an_environment_that_cannot_be_made_is_refused():
    with pytest.raises(ValueError, match="env_id 'GymV26Environment-v0' cannot be"):
        DQNAgent("GymV26Environment-v0")


def test_a_blobenv_id_needs_no_import_of_blobenv():
    script = (
        "import sys\n"
        "from utils.dqn import DQNAgent, DQNConfig\n"
        "assert 'blobenv' not in sys.modules\n"
        "agent = DQNAgent('blobenv/BlobTabular-v0', DQNConfig(hidden_units=(8,)))\n"
        "print(agent.observation_size, agent.n_actions)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["4", "4"]


RESUMABLE = DQNConfig(
    hidden_units=(16,),
    memory_capacity=500,
    batch_size=16,
    learning_starts=64,
    num_envs=1,
    gradient_steps=1,
    epsilon_decay_steps=400,
)
PROBES = (7, 8)


@pytest.fixture(scope="module")
def resumable(tmp_path_factory):
    """A checkpoint of a run that evaluated on PROBES and kept weights in a file:
    (checkpoint folder, the run's kept_path)."""
    folder = tmp_path_factory.mktemp("resumable")
    kept = folder / "kept.keras"
    agent = DQNAgent("CartPole-v1", RESUMABLE, seed=3)
    agent.train(
        300,
        100,
        probe_seeds=PROBES,
        kept_path=kept,
        progress=False,
        checkpoint_dir=folder / "checkpoints",
        checkpoint_every=200,
    )
    path = checkpoint.latest(folder / "checkpoints")
    assert path is not None and checkpoint.read_state(path)["log"]["eval_steps"]
    return path, kept


def continued(agent, kept):
    agent.train(agent.env_steps + 150, 100, probe_seeds=PROBES, progress=False)
    arrays = agent.q_network.get_weights() + agent.target_network.get_weights()
    arrays += [v.numpy() for v in agent.optimizer.variables]
    log = {k: v for k, v in vars(agent.log).items() if k != "train_seconds"}
    return arrays, log


def test_a_resumed_run_survives_a_refused_train_and_continues_bit_identically(
    resumable,
):
    path, kept = resumable
    refused = DQNAgent.from_checkpoint(path)
    assert_refused(
        refused,
        lambda: refused.train(
            refused.env_steps + 150, 100, PROBES, callback=5, progress=False
        ),
        ValueError,
        "callback must be callable",
    )
    arrays, log = continued(refused, kept)
    straight_arrays, straight_log = continued(DQNAgent.from_checkpoint(path), kept)
    assert log == straight_log and len(log["eval_steps"]) >= 3
    assert all(np.array_equal(a, b) for a, b in zip(arrays, straight_arrays))


@pytest.mark.parametrize(
    ("probe", "held_out"), [((7,), ()), ((7, 9), ()), (PROBES, (3,)), ((), ())]
)
def test_a_resumed_run_refuses_other_evaluation_starts(resumable, probe, held_out):
    agent = DQNAgent.from_checkpoint(resumable[0])
    assert_refused(
        agent,
        lambda: agent.train(
            agent.env_steps + 100, 100, probe, held_out, progress=False
        ),
        ValueError,
        "must be the starts of this run's earlier evaluations",
    )


def test_a_resumed_run_refuses_a_kept_path_holding_another_runs_network(
    resumable, tmp_path
):
    other = tmp_path / "other.keras"
    other.write_bytes(b"another run's network")
    agent = DQNAgent.from_checkpoint(resumable[0])
    assert_refused(
        agent,
        lambda: agent.train(
            agent.env_steps + 100, 100, PROBES, kept_path=other, progress=False
        ),
        FileExistsError,
        "holds another run's kept weights",
    )
    assert other.read_bytes() == b"another run's network"


def test_a_resumed_run_goes_on_saving_to_its_own_kept_path(resumable):
    path, kept = resumable
    agent = DQNAgent.from_checkpoint(path)
    assert checkpoint.read_state(path)["kept_path"] == os.path.realpath(kept)
    agent.train(agent.env_steps + 100, 100, PROBES, kept_path=kept, progress=False)
    assert agent.env_steps > checkpoint.step_of(path)
