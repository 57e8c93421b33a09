"""Checkpoints: a resumed run is the same run, and a bad checkpoint changes nothing."""

import dataclasses
import json
import random
import re
import shutil
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import tensorflow as tf
from refusal_agent import assert_refused, assert_refused_globally

from utils import checkpoint
from utils.dqn import DQNAgent, DQNConfig, RunState

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
    name, keys, *rest = np.random.get_state()  # noqa: NPY002 - the global generator
    tensorflow = tf.random.get_global_generator().state.numpy().tolist()
    global_rngs = (random.getstate(), (name, keys.tolist(), *rest), tensorflow)
    generator = agent.rng.bit_generator.state
    return arrays, counters, generator, len(agent.log.eval_steps), global_rngs


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


def truncate(file):
    file.write_bytes(file.read_bytes()[: file.stat().st_size // 2])


@pytest.fixture(scope="module")
def victim():
    """An agent that has trained (with a probe), which no failed load may change."""
    agent = DQNAgent("CartPole-v1", SMALL, seed=1)
    agent.train(200, 100, probe_seeds=(7,), progress=False)
    return agent


def damaged_copy(path, tmp_path, change):
    """A copy of checkpoint `path` with `change(copy)` applied."""
    copy = tmp_path / path.name
    shutil.copytree(path, copy)
    change(copy)
    return copy


def edit_state(edit):
    def change(copy):
        state = json.loads((copy / "state.json").read_text())
        edit(state)
        (copy / "state.json").write_text(json.dumps(state))

    return change


def assert_refused_and_unchanged(agent, copy, message):
    before = snapshot(agent)
    with pytest.raises((ValueError, FileNotFoundError), match=message):
        agent.load_checkpoint(copy)
    assert_same(before, snapshot(agent))


@pytest.mark.parametrize("name", ["target_network.keras", "kept_network.keras"])
def test_a_network_file_that_does_not_load_changes_nothing_not_even_global_rngs(
    saved, victim, tmp_path, name
):
    def replace(copy):  # a file that is not a network, under its own SHA-256
        (copy / name).write_bytes(b"not a keras file")
        edit_state(
            lambda state: state["files"].update({name: checkpoint._sha256(copy / name)})
        )(copy)

    copy = damaged_copy(saved[1], tmp_path, replace)
    assert_refused_and_unchanged(victim, copy, re.escape(name))


def test_a_damaged_file_is_refused_before_from_checkpoint_seeds_anything(
    saved, tmp_path
):
    copy = damaged_copy(
        saved[1], tmp_path, lambda c: truncate(c / "memory_rewards.npy")
    )
    before = (random.getstate(), np.random.get_state()[1].tolist())  # noqa: NPY002
    with pytest.raises(ValueError, match="memory_rewards.npy is truncated or corrupt"):
        DQNAgent.from_checkpoint(copy)
    assert (random.getstate(), np.random.get_state()[1].tolist()) == before  # noqa: NPY002


def checkpoint_files(saved):
    return sorted(p.name for p in saved[1].iterdir())


@pytest.mark.parametrize("damage", ["delete", "truncate"])
def test_every_file_deleted_or_truncated_is_named_and_changes_nothing(
    saved, victim, tmp_path, damage
):
    _, path = saved
    names = checkpoint_files(saved)
    assert len(names) > 15
    for name in names:
        act = (lambda f: f.unlink()) if damage == "delete" else truncate
        copy = damaged_copy(path, tmp_path / name, lambda c, n=name, a=act: a(c / n))
        assert_refused_and_unchanged(victim, copy, re.escape(name))


def delete(keys):
    def edit(state):
        *parents, last = keys
        for key in parents:
            state = state[key]
        del state[last]

    return edit


def set_to(keys, value):
    def edit(state):
        *parents, last = keys
        for key in parents:
            state = state[key]
        state[last] = value

    return edit


STATE_FIELDS = list(checkpoint.FIELDS)
RNG_KEYS = [*checkpoint.RNG_FIELDS, "environments"]


@pytest.mark.parametrize(
    ("edit", "message"),
    [(delete([k]), f"no '{k}'") for k in STATE_FIELDS]
    + [
        (set_to([k], None), f"'{k}' is None")
        for k in STATE_FIELDS
        if k not in checkpoint.NULLABLE
    ]
    + [(delete(["rng", k]), f"'rng' has no {k}") for k in RNG_KEYS]
    + [(set_to(["rng", k], {"x": 1}), f"rng.{k} is not") for k in RNG_KEYS]
    + [
        (delete(["format"]), "has format None, expected 4"),
        (delete(["memory", "size"]), "'memory' needs integer capacity, position"),
        (set_to(["memory", "size"], 10**6), "replay memory holds 1000000 transitions"),
        (set_to(["memory", "position"], 10), "replay position 10 does not fit size"),
        (set_to(["epsilon"], 0.5), "epsilon 0.5 is not the schedule's"),
        (set_to(["env_steps"], 999), "the checkpoint is at step 999"),
        (set_to(["log", "episode_returns"], "abc"), "'log.episode_returns' is not"),
        (set_to(["log", "kept_step"], 12345), "'log.kept_step' 12345 is not"),
        (set_to(["log", "episode_terminated"], [1]), "'log.episode_terminated' is"),
        (delete(["log", "episode_terminated"]), "'log.episode_terminated' is"),
        (set_to(["log", "episode_terminated"], []), "'log.episode_terminated' holds"),
        (set_to(["episodes"], 999), "'log.episode_steps' holds"),
        (delete(["files", "memory_rewards.npy"]), "lists no memory_rewards.npy"),
        (set_to(["memory", "position"], 501), "replay position 501 does not fit"),
        (set_to(["log", "probe"], []), "'log' does not hold a training log"),
        (set_to(["config", "n_step"], 2.5), "holds bad settings: DQNConfig: n_step"),
        (set_to(["checkpoint_step"], 10**9), "checkpoint_step 1000000000 is after"),
        (set_to(["optimizer_variables"], [{}]), "optimizer_variables is corrupt"),
        (set_to(["seed"], 2), "continues the run of seed 2, this agent's seed is 1"),
        (
            set_to(["evaluation_seeds"], [[1], []]),
            "'evaluation_seeds' is [[1], []] for",
        ),
        (set_to(["evaluation_seeds"], [[1.5], []]), "'evaluation_seeds' is [[1.5]"),
        (set_to(["kept_path"], 5), "'kept_path' is 5"),
        (set_to(["evaluate_in"], "twin"), "'evaluate_in' is 'twin' for a log of 0"),
        (set_to(["evaluate_in"], "gym"), "'evaluate_in' is 'gym'"),
    ],
)
def test_every_field_deleted_or_corrupted_is_named_and_changes_nothing(
    saved, victim, tmp_path, edit, message
):
    copy = damaged_copy(saved[1], tmp_path, edit_state(edit))
    assert_refused_and_unchanged(victim, copy, re.escape(message))


@pytest.mark.parametrize(
    ("env_id", "changes", "message"),
    [
        ("Acrobot-v1", {}, "written for CartPole-v1, this agent plays Acrobot"),
        (
            "CartPole-v1",
            {"hidden_units": (32,)},
            r"hidden_units: checkpoint \(16,\), agent \(32,\)",
        ),
        ("CartPole-v1", {"memory_capacity": 800}, "memory_capacity: checkpoint 500"),
    ],
)
def test_another_runs_checkpoint_is_refused(saved, env_id, changes, message):
    agent = DQNAgent(env_id, SMALL.replace(**changes), seed=1)
    assert_refused_and_unchanged(agent, saved[1], message)


def test_a_missing_folder_is_named(victim, tmp_path):
    assert_refused_and_unchanged(victim, tmp_path / "nowhere", "no checkpoint folder")


def test_a_resumed_run_keeps_its_evaluation_starts_and_where_they_play(tmp_path):
    config = SMALL.replace(hidden_units=[16])
    agent = DQNAgent("CartPole-v1", config, seed=4)
    agent.train(
        300, 10_000, progress=False, checkpoint_dir=tmp_path, checkpoint_every=100
    )
    resumed = DQNAgent("CartPole-v1", config, seed=4)
    resumed.load_checkpoint(checkpoint.latest(tmp_path))
    assert resumed.env_steps == checkpoint.step_of(checkpoint.latest(tmp_path))


def test_save_refuses_mid_episode_and_several_environments(saved, tmp_path):
    agent = DQNAgent("CartPole-v1", SMALL, seed=1)
    with pytest.raises(ValueError, match="has not played yet"):
        checkpoint.save(agent, tmp_path)
    agent.train(5, 10_000, progress=False)  # no CartPole episode ends in 5 steps
    with pytest.raises(ValueError, match="is mid-episode"):
        checkpoint.save(agent, tmp_path)
    several = DQNAgent("CartPole-v1", SMALL.replace(num_envs=2), seed=1)
    with pytest.raises(ValueError, match="checkpoints need num_envs=1"):
        checkpoint.save(several, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_stray_folders_are_not_checkpoints_and_leftovers_are_removed(saved, tmp_path):
    agent, path = saved
    folder = tmp_path / "run"
    shutil.copytree(path, folder / path.name)
    (folder / "step-old").mkdir()
    (folder / "notes.txt").write_text("mine")
    leftover = folder / f"{checkpoint.WRITING}step-000000001-x"
    leftover.mkdir()
    assert checkpoint.latest(folder) == folder / path.name
    resumed = DQNAgent.from_checkpoint(folder / path.name)
    resumed.train(
        resumed.env_steps + 400,
        10_000,
        progress=False,
        checkpoint_dir=folder,
        checkpoint_every=100,
    )
    assert not leftover.exists()
    assert (folder / "step-old").is_dir() and (folder / "notes.txt").exists()
    assert checkpoint.step_of(checkpoint.latest(folder)) > checkpoint.step_of(path)


def test_saving_into_a_folder_of_another_run_deletes_nothing(saved, tmp_path):
    _, path = saved
    shutil.copytree(path, tmp_path / path.name)
    other = DQNAgent("CartPole-v1", SMALL, seed=9)
    other.train(checkpoint.step_of(path) + 50, 10_000, progress=False)
    while not other.at_episode_end():  # on to an episode end
        other.train(other.env_steps + 1, 10_000, progress=False)
    with pytest.raises(FileExistsError, match="holds checkpoints of another run"):
        checkpoint.save(other, tmp_path, keep=1)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_resuming_into_a_folder_of_another_run_is_refused(saved, tmp_path):
    _, path = saved
    shutil.copytree(path, tmp_path / path.name)
    other = DQNAgent("CartPole-v1", SMALL, seed=9)
    other.train(checkpoint.step_of(path) + 50, 10_000, progress=False)
    with pytest.raises(FileExistsError, match="holds checkpoints of another run"):
        other.train(
            other.env_steps + 100, 10_000, progress=False, checkpoint_dir=tmp_path
        )


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (set_to(["epsilon"], 0.5), "epsilon 0.5 is not the schedule's"),
        (set_to(["memory", "position"], 10), "replay position 10 does not fit size"),
    ],
)
def test_from_checkpoint_refuses_a_bad_state_before_it_seeds_anything(
    saved, tmp_path, edit, message
):
    copy = damaged_copy(saved[1], tmp_path, edit_state(edit))
    assert_refused_globally(
        lambda: DQNAgent.from_checkpoint(copy), ValueError, re.escape(message)
    )


def test_from_checkpoint_keeps_the_global_generators_if_a_network_does_not_load(
    saved, tmp_path
):
    def replace(copy):  # a file that is not a network, under its own SHA-256
        (copy / "kept_network.keras").write_bytes(b"not a keras file")
        digest = checkpoint._sha256(copy / "kept_network.keras")
        edit_state(lambda s: s["files"].update({"kept_network.keras": digest}))(copy)

    copy = damaged_copy(saved[1], tmp_path, replace)
    assert_refused_globally(
        lambda: DQNAgent.from_checkpoint(copy), ValueError, "kept_network.keras"
    )


def test_a_checkpoint_holds_the_starts_of_its_evaluations(tmp_path):
    agent = DQNAgent("CartPole-v1", SMALL, seed=6)
    agent.train(
        300,
        100,
        probe_seeds=(4, 5),
        held_out_seeds=(6,),
        progress=False,
        checkpoint_dir=tmp_path,
        checkpoint_every=150,
        evaluate_in="twin",
    )
    resumed = DQNAgent.from_checkpoint(checkpoint.latest(tmp_path))
    state = checkpoint.read_state(checkpoint.latest(tmp_path))
    assert state["evaluation_seeds"] == [[4, 5], [6]]
    assert state["evaluate_in"] == "twin"
    assert resumed.resumable_state().evaluation_seeds == ((4, 5), (6,))
    assert resumed.resumable_state().evaluate_in == "twin"
    with pytest.raises(ValueError, match="earlier evaluations played \\('twin'"):
        resumed.train(400, 100, probe_seeds=(4, 5), held_out_seeds=(6,))


def test_restore_refuses_a_state_of_other_shapes_and_changes_nothing(saved):
    state = DQNAgent.from_checkpoint(saved[1]).resumable_state()
    bad = RunState(**{**vars(state), "q_weights": state.q_weights[:-1]})
    other = DQNAgent("CartPole-v1", SMALL, seed=1)
    assert_refused(other, lambda: other.restore(bad), ValueError, "q_weights must")


def test_restore_of_a_resumable_state_is_the_same_run(saved):
    agent = DQNAgent.from_checkpoint(saved[1])
    other = DQNAgent("CartPole-v1", SMALL, seed=1)
    other.restore(agent.resumable_state())
    a, b = agent.resumable_state(), other.resumable_state()
    assert a.env_steps == b.env_steps and a.log == b.log
    assert a.generators["exploration"] == b.generators["exploration"]
    for x, y in zip(
        a.q_weights + a.optimizer_variables, b.q_weights + b.optimizer_variables
    ):
        np.testing.assert_array_equal(x, y)


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
    agent.train(1_500, 500, probe_seeds=(1, 2), held_out_seeds=(3,),
                progress=False, checkpoint_every=700, **saving)
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
    assert 700 <= checkpoint.step_of(first) < 1_500
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


def test_a_run_that_says_it_evaluated_in_a_twin_its_env_lacks_is_refused(tmp_path):
    """LunarLander has no twin: a state or checkpoint saying "twin" cannot be
    continued, so it is refused where it enters, not at the next evaluation."""
    config = SMALL.replace(learning_starts=16, epsilon_decay_steps=100)
    agent = DQNAgent("LunarLander-v3", config, seed=3)
    agent.train(
        300,
        150,
        probe_seeds=[1],
        progress=False,
        checkpoint_dir=tmp_path,
        checkpoint_every=100,
    )
    message = "evaluate_in='twin': env_id must be one of"
    fresh = DQNAgent("LunarLander-v3", config, seed=3)
    fresh.load_checkpoint(checkpoint.latest(tmp_path))  # at an episode end
    state = dataclasses.replace(fresh.resumable_state(), evaluate_in="twin")
    fresh = DQNAgent("LunarLander-v3", config, seed=3)
    with pytest.raises(ValueError, match=message):
        fresh.restore(state)
    assert fresh.env_steps == 0
    copy = damaged_copy(
        checkpoint.latest(tmp_path),
        tmp_path / "copy",
        edit_state(lambda state: state.update(evaluate_in="twin")),
    )
    assert_refused_and_unchanged(fresh, copy, re.escape(message))
