"""Checkpoints: a resumed run is the same run, and a bad checkpoint changes nothing."""

import json
import shutil
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from utils import checkpoint
from utils.dqn import DQNAgent, DQNConfig

SMALL = DQNConfig(
    hidden_units=(16,),
    memory_capacity=500,
    batch_size=16,
    learning_starts=64,
    num_envs=1,
    gradient_steps=1,
    n_step=3,
    epsilon_decay_steps=400,
)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A CartPole run of 600 steps with a checkpoint after 300: (agent, folder)."""
    folder = tmp_path_factory.mktemp("checkpoints")
    agent = DQNAgent("CartPole-v1", SMALL, seed=1)
    agent.train(
        600, 10_000, progress=False, checkpoint_dir=folder, checkpoint_every=300
    )
    return agent, checkpoint.latest(folder)


def snapshot(agent):
    """Everything a load could change, copied."""
    arrays = [w.copy() for w in agent.q_network.get_weights()]
    arrays += [w.copy() for w in agent.target_network.get_weights()]
    arrays += [v.numpy().copy() for v in agent.optimizer.variables]
    arrays += [getattr(agent.memory, name).copy() for name in checkpoint.MEMORY_FIELDS]
    counters = (agent.env_steps, agent.memory.position, agent.memory.size)
    return arrays, counters, agent.rng.bit_generator.state, len(agent.log.eval_steps)


def assert_same(a, b):
    arrays_a, *rest_a = a
    arrays_b, *rest_b = b
    assert len(arrays_a) == len(arrays_b)
    assert all(np.array_equal(x, y) for x, y in zip(arrays_a, arrays_b))
    assert rest_a == rest_b


def test_a_checkpoint_is_written_at_an_episode_end_and_holds_the_run(saved):
    agent, path = saved
    step = checkpoint.step_of(path)
    assert 300 <= step < 600 and step in agent.log.episode_steps
    state = checkpoint.read_state(path)
    assert state["env_steps"] == step and state["memory"]["capacity"] == 500
    assert state["episodes"] == agent.log.episode_steps.index(step) + 1
    paths = [v["path"] for v in state["optimizer_variables"]]
    iterations = [p.endswith("/iteration") for p in paths].index(True)
    saved_iterations = int(np.load(path / f"optimizer_{iterations}.npy"))
    assert 0 < saved_iterations < step  # gradient steps began after learning_starts
    resumed = DQNAgent.from_checkpoint(path)
    assert int(resumed.optimizer.iterations) == saved_iterations
    assert resumed.epsilon() == state["epsilon"] < 1.0  # exploration goes on
    files = {p.name for p in path.iterdir()}
    assert {"q_network.keras", "target_network.keras", "kept_network.keras"} <= files
    assert not any(name.endswith((".pkl", ".pickle")) for name in files)


def test_only_the_last_checkpoints_are_kept(tmp_path):
    agent = DQNAgent("CartPole-v1", SMALL, seed=2)
    agent.train(
        1_000,
        10_000,
        progress=False,
        checkpoint_dir=tmp_path,
        checkpoint_every=100,
        keep_checkpoints=2,
    )
    steps = [checkpoint.step_of(p) for p in checkpoint.checkpoints(tmp_path)]
    assert len(steps) == 2 and all(s in agent.log.episode_steps for s in steps)
    assert agent.checkpoint_step == steps[-1]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_crash_mid_write_leaves_the_earlier_checkpoints_intact(tmp_path, monkeypatch):
    agent = DQNAgent("CartPole-v1", SMALL, seed=3)
    agent.train(
        400, 10_000, progress=False, checkpoint_dir=tmp_path, checkpoint_every=200
    )
    (before,) = checkpoint.checkpoints(tmp_path)
    real_save = np.save

    def crash_on_the_rewards(file, array, **kwargs):
        if "memory_rewards" in str(file):
            raise OSError("disk full")
        real_save(file, array, **kwargs)

    monkeypatch.setattr(checkpoint.np, "save", crash_on_the_rewards)
    with pytest.raises(OSError, match="disk full"):
        agent.train(
            2_000, 10_000, progress=False, checkpoint_dir=tmp_path, checkpoint_every=200
        )
    assert checkpoint.checkpoints(tmp_path) == [before]
    assert [p.name for p in tmp_path.iterdir()] == [before.name]
    assert DQNAgent.from_checkpoint(before).env_steps == checkpoint.step_of(before)


def test_a_fresh_run_refuses_a_folder_with_another_runs_checkpoints(saved):
    _, path = saved
    agent = DQNAgent("CartPole-v1", SMALL, seed=1)
    with pytest.raises(FileExistsError, match="belongs to another run"):
        agent.train(600, 10_000, progress=False, checkpoint_dir=path.parent)
    assert agent.env_steps == 0


def test_checkpoints_need_one_environment(tmp_path):
    agent = DQNAgent("CartPole-v1", SMALL.replace(num_envs=2), seed=0)
    with pytest.raises(ValueError, match="checkpoints need num_envs=1"):
        agent.train(100, 10_000, progress=False, checkpoint_dir=tmp_path)


def truncate(file):
    file.write_bytes(file.read_bytes()[: file.stat().st_size // 2])


@pytest.mark.parametrize(
    ("env_id", "changes", "damage", "message"),
    [
        ("CartPole-v1", {}, "missing", "no checkpoint folder at"),
        ("CartPole-v1", {}, "no_state", "not a complete checkpoint: no state.json"),
        ("CartPole-v1", {}, "state.json", r"state.json is truncated or corrupt"),
        ("CartPole-v1", {}, "memory_observations.npy", "truncated or corrupt"),
        ("CartPole-v1", {}, "optimizer_3.npy", "optimizer_3.npy is truncated"),
        ("CartPole-v1", {}, "kept_network.keras", "not a readable .keras model"),
        ("Acrobot-v1", {}, None, "written for CartPole-v1, this agent plays Acrobot"),
        (
            "CartPole-v1",
            {"hidden_units": (32,)},
            None,
            r"hidden_units: checkpoint \(16,\), agent \(32,\)",
        ),
        (
            "CartPole-v1",
            {"memory_capacity": 800},
            None,
            "memory_capacity: checkpoint 500, agent 800",
        ),
    ],
)
def test_a_bad_checkpoint_names_what_is_wrong_and_changes_nothing(
    saved, tmp_path, env_id, changes, damage, message
):
    _, path = saved
    copy = tmp_path / path.name
    shutil.copytree(path, copy)
    if damage == "missing":
        shutil.rmtree(copy)
    elif damage == "no_state":
        (copy / "state.json").unlink()
    elif damage is not None:
        truncate(copy / damage)
    agent = DQNAgent(env_id, SMALL.replace(**changes), seed=1)
    agent.train(200, 100, probe_seeds=(7,), progress=False)
    before = snapshot(agent)
    with pytest.raises((ValueError, FileNotFoundError), match=message):
        agent.load_checkpoint(copy)
    assert_same(before, snapshot(agent))


# -- the same run, interrupted and resumed in a fresh process --------------------------
RUN = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    from utils import checkpoint
    from utils.dqn import DQNAgent, DQNConfig

    mode, folder, out = sys.argv[1:]
    config = DQNConfig(
        hidden_units=(32,), memory_capacity=1_500, batch_size=32, learning_starts=256,
        num_envs=1, train_every=2, gradient_steps=2, n_step=3, double=True,
        target="hard", target_update_every=50, epsilon_decay_steps=2_000,
    )
    if mode == "resume":
        agent = DQNAgent.from_checkpoint(checkpoint.latest(folder))
        print("resumed at", agent.env_steps, flush=True)
    else:
        agent = DQNAgent("LunarLander-v3", config, seed=5)
    saving = {} if mode == "straight" else {"checkpoint_dir": folder}
    agent.train(3_000, 1_000, probe_seeds=(1, 2), held_out_seeds=(3,),
                progress=False, checkpoint_every=1_500, **saving)
    arrays = agent.q_network.get_weights() + agent.target_network.get_weights()
    arrays += [v.numpy() for v in agent.optimizer.variables]
    arrays += [getattr(agent.memory, f) for f in checkpoint.MEMORY_FIELDS]
    np.savez(out + ".npz", *arrays)
    log = {k: v for k, v in vars(agent.log).items() if k != "train_seconds"}
    log["position"] = agent.memory.position
    json.dump(log, open(out + ".json", "w"))
    """
)


def run_python(*args):
    return subprocess.Popen([sys.executable, "-c", RUN, *map(str, args)])


def test_half_then_a_fresh_process_resuming_is_the_same_run_bit_for_bit(tmp_path):
    folder = tmp_path / "checkpoints"
    straight = run_python("straight", folder, tmp_path / "straight")
    interrupted = run_python("interrupt", folder, tmp_path / "interrupted")
    while not checkpoint.checkpoints(folder) and interrupted.poll() is None:
        time.sleep(0.05)
    interrupted.kill()  # as a closed laptop or a lost Colab session would
    interrupted.wait()
    (first,) = checkpoint.checkpoints(folder)
    assert 1_500 <= checkpoint.step_of(first) < 3_000
    resumed = run_python("resume", folder, tmp_path / "resumed")
    assert resumed.wait() == 0 and straight.wait() == 0
    a = np.load(tmp_path / "straight.npz")
    b = np.load(tmp_path / "resumed.npz")
    assert len(a.files) == len(b.files) > 10
    for name in a.files:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
    log_a = json.loads((tmp_path / "straight.json").read_text())
    log_b = json.loads((tmp_path / "resumed.json").read_text())
    assert log_a == log_b
    assert len(log_a["eval_steps"]) == 3  # evaluations before and after the resume
