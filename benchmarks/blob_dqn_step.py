"""Blob DQN: env steps per second, the original per-step `fit` against batched `fit`.

    .venv/bin/python benchmarks/blob_dqn_step.py

The original lesson's network (about 614k parameters), the same replay contents and
the same machine, in one process, alternating in rounds, at equal work (one gradient
step on 64 transitions per environment step):

- original: per step, `model.predict` on the single state to act, then `predict` on
  the 64 current states, `predict` on the 64 next states, a Python loop for the
  targets, and one `fit` (the lesson's `train`), with the deque + random.sample memory;
- batched fit: `utils.KerasDQN` (the DQN update in `train_step`), acting through
  `predict_on_batch`, and every 64 env steps one `fit` on 64 minibatches sampled
  as arrays from `utils.ReplayMemory` and fed by `fit_minibatches`: `fit`'s fixed
  cost is paid once per 64 steps,
  and with `steps_per_execution=64` the 64 steps run in one compiled call (no XLA:
  the notebooks run with op determinism, under which Keras turns XLA off);
- compiled tape step: the same update written by hand with `tf.GradientTape` in
  one `tf.function` (notebook 06's way), one call per env step, acting through a
  compiled function: what batched `fit` must match.

Then, labelled apart because the work differs: notebook 05's learner (its CoordConv
network, 16 environments acting in one call, one `fit` of 32 minibatches per 256 env
steps) in env steps per second.

Memory: the process's resident set size (RSS) before and after each implementation's
steps; a growth that scales with steps would show as a rising RSS across rounds.
"""

import os
import random
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import gymnasium as gym  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from common import random_play, steps_per_second  # noqa: E402

import blobenv  # noqa: E402, F401
from utils import KerasDQN, coordconv_network, original_network  # noqa: E402

BATCH_SIZE = 64  # minibatch, as in the original
DISCOUNT = 0.99  # gamma, as in the original
FIT_EVERY = 64  # env steps between batched fits (64 minibatches each: equal work)
STEPS = {
    "original predict + fit": 20,
    "batched fit": 320,
    "compiled tape step": 320,
}  # env steps per round
ROUNDS = 3  # alternating rounds; the median speed is reported
# Notebook 05's learner: 16 envs, a fit of 32 minibatches every 16 vector steps.
N05_ENVS, N05_STEPS_PER_FIT, N05_MINIBATCHES, N05_ROUNDS_STEPS = 16, 16, 32, 4_096


def rss_mib() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


keras.utils.set_random_seed(0)
model, target_model = original_network(), original_network()
model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3), loss="mse")
target_model.set_weights(model.get_weights())
dqn = KerasDQN(original_network(), discount=DISCOUNT)
dqn.compile(
    optimizer=keras.optimizers.Adam(learning_rate=1e-3),
    loss="mse",
    steps_per_execution=FIT_EVERY,  # the 64 gradient steps of a fit in one call
    jit_compile=False,  # as in the notebooks
)
rng = np.random.default_rng(0)

# The same 5,000 random-play transitions in both memories.
memory, transitions = random_play(
    "blobenv/BlobImage-v0", 5_000, (10, 10, 3), np.uint8, rng
)


def original_step(observation: np.ndarray) -> None:
    int(np.argmax(model.predict(observation[None], verbose=0)[0]))
    batch = random.sample(transitions, BATCH_SIZE)
    current_states = np.array([t[0] for t in batch])
    current_q = model.predict(current_states, verbose=0)
    next_q = target_model.predict(np.array([t[3] for t in batch]), verbose=0)
    targets = []
    for i, (_, action, reward, _, done) in enumerate(batch):
        q_values = current_q[i]
        q_values[action] = reward if done else reward + DISCOUNT * np.max(next_q[i])
        targets.append(q_values)
    model.fit(current_states, np.array(targets), batch_size=BATCH_SIZE, verbose=0)


steps_since_fit = 0


def batched_fit_step(observation: np.ndarray) -> None:
    global steps_since_fit
    int(dqn.greedy_actions(observation[None])[0])
    steps_since_fit += 1
    if steps_since_fit == FIT_EVERY:
        dqn.fit_minibatches(memory.sample(FIT_EVERY * BATCH_SIZE)[:5], BATCH_SIZE)
        steps_since_fit = 0


@tf.function(input_signature=[tf.TensorSpec([None, 10, 10, 3], tf.uint8)])
def greedy_actions(observations):
    return tf.argmax(model(observations, training=False), axis=1)


@tf.function(
    input_signature=[
        tf.TensorSpec([None, 10, 10, 3], tf.uint8),
        tf.TensorSpec([None], tf.int64),
        tf.TensorSpec([None], tf.float32),
        tf.TensorSpec([None, 10, 10, 3], tf.uint8),
        tf.TensorSpec([None], tf.bool),
    ]
)
def tape_step(observations, actions, rewards, next_observations, terminated):
    next_q = tf.reduce_max(target_model(next_observations, training=False), axis=1)
    td_targets = rewards + (1.0 - tf.cast(terminated, tf.float32)) * DISCOUNT * next_q
    with tf.GradientTape() as tape:
        q_values = model(observations, training=True)
        chosen = tf.reduce_sum(q_values * tf.one_hot(actions, 9), axis=1)
        loss = tf.reduce_mean(tf.square(td_targets - chosen))
    gradients = tape.gradient(loss, model.trainable_variables)
    model.optimizer.apply_gradients(zip(gradients, model.trainable_variables))
    return loss


def compiled_tape_step(observation: np.ndarray) -> None:
    int(greedy_actions(observation[None]).numpy()[0])
    tape_step(*memory.sample(BATCH_SIZE)[:5])


def run(step_fn, steps: int) -> tuple[float, float, float]:
    """Steps per second, and the RSS before and after."""
    before = rss_mib()
    speed = steps_per_second("blobenv/BlobImage-v0", step_fn, steps, rng)
    return speed, before, rss_mib()


def notebook_05_speed(vector_steps: int) -> float:
    """Env steps per second of notebook 05's learner (random actions stand in for
    epsilon-greedy ones; the greedy call is made every step, as in training)."""
    learner = KerasDQN(coordconv_network(), discount=0.9, n_step=3)
    learner.compile(
        optimizer=keras.optimizers.Adam(learning_rate=1e-3),
        loss="huber",
        steps_per_execution=N05_MINIBATCHES,
        jit_compile=False,
    )
    envs = gym.make_vec(
        "blobenv/BlobImage-v0", num_envs=N05_ENVS, vectorization_mode="sync"
    )
    observations, _ = envs.reset(seed=0)
    learner.greedy_actions(observations)
    learner.fit_minibatches(memory.sample(N05_MINIBATCHES * BATCH_SIZE)[:5], BATCH_SIZE)
    start = time.perf_counter()
    for step in range(1, vector_steps + 1):
        learner.greedy_actions(observations)
        observations, *_ = envs.step(rng.integers(9, size=N05_ENVS))
        if step % N05_STEPS_PER_FIT == 0:
            batch = memory.sample(N05_MINIBATCHES * BATCH_SIZE)[:5]
            learner.fit_minibatches(batch, BATCH_SIZE)
    return vector_steps * N05_ENVS / (time.perf_counter() - start)


def main() -> None:
    implementations = {
        "original predict + fit": original_step,
        "batched fit": batched_fit_step,
        "compiled tape step": compiled_tape_step,
    }
    for step_fn in implementations.values():
        run(step_fn, FIT_EVERY)  # build, trace and warm up
    results = {name: [] for name in implementations}
    for _ in range(ROUNDS):
        for name, step_fn in implementations.items():
            results[name].append(run(step_fn, STEPS[name]))
    print("Blob DQN, original network (614k parameters), one gradient step (batch 64)")
    print("per env step")
    print(f"{'implementation':<24}{'steps/s':>9}{'ms/step':>9}   RSS MiB before->after")
    speed = {}
    for name, rounds in results.items():
        speed[name] = float(np.median([r[0] for r in rounds]))
        rss = ", ".join(f"{before:.0f}->{after:.0f}" for _, before, after in rounds)
        print(f"{name:<24}{speed[name]:>9.1f}{1000 / speed[name]:>9.1f}   {rss}")
    ratio = speed["batched fit"] / speed["original predict + fit"]
    print(f"batched fit / original: {ratio:.1f}x")
    tape_ratio = speed["batched fit"] / speed["compiled tape step"]
    print(f"batched fit / compiled tape step: {tape_ratio:.2f}x")
    n05 = notebook_05_speed(N05_ROUNDS_STEPS // N05_ENVS)
    print(
        f"notebook 05's learner (CoordConv, 16 envs, one gradient step per 8 env "
        f"steps): {n05:,.0f} steps/s, {n05 / speed['original predict + fit']:.0f}x "
        "the original per-step loop (not equal work)"
    )


if __name__ == "__main__":
    main()
