"""Blob DQN: environment steps per second with one training step per env step.

    .venv/bin/python benchmarks/blob_dqn_step.py

The original lesson's network (about 614k parameters), the same replay contents and
the same machine, in one process, alternating in rounds:

- original: per step, `model.predict` on the single state to act, then `predict` on
  the 64 current states, `predict` on the 64 next states, a Python loop for the
  targets, and `fit` (the lesson's `train`), with the deque + random.sample memory;
- ours: `model(x, training=False)` through a compiled function to act, the batch
  sampled as arrays from `utils.ReplayMemory`, and one compiled `tf.function` train
  step that builds the same targets in the graph.

Memory: the process's resident set size (RSS) before and after each implementation's
steps; a growth that scales with steps would show as a rising RSS across rounds.
"""

import os
import random

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from common import random_play, steps_per_second  # noqa: E402

import blobenv  # noqa: E402, F401

BATCH_SIZE = 64  # minibatch, as in the original
DISCOUNT = 0.99  # gamma, as in the original
STEPS = {"original predict + fit": 20, "ours (compiled)": 300}  # env steps per round
ROUNDS = 3  # alternating rounds; the median speed is reported


def build_original_network() -> keras.Model:
    model = keras.Sequential(
        [
            keras.Input((10, 10, 3)),
            keras.layers.Rescaling(1 / 255),
            keras.layers.Conv2D(256, 3, activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Dropout(0.2),
            keras.layers.Conv2D(256, 3, activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Dropout(0.2),
            keras.layers.Flatten(),
            keras.layers.Dense(64),
            keras.layers.Dense(9),
        ]
    )
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3), loss="mse")
    return model


def rss_mib() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


keras.utils.set_random_seed(0)
model, target_model = build_original_network(), build_original_network()
target_model.set_weights(model.get_weights())
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
def train_step(observations, actions, rewards, next_observations, terminated):
    next_q = tf.reduce_max(target_model(next_observations, training=False), axis=1)
    td_targets = rewards + (1.0 - tf.cast(terminated, tf.float32)) * DISCOUNT * next_q
    with tf.GradientTape() as tape:
        q_values = model(observations, training=True)
        mask = tf.one_hot(actions, 9)
        targets = tf.stop_gradient(q_values * (1 - mask) + mask * td_targets[:, None])
        loss = tf.reduce_mean(tf.square(targets - q_values))
    gradients = tape.gradient(loss, model.trainable_variables)
    model.optimizer.apply_gradients(zip(gradients, model.trainable_variables))
    return loss


def our_step(observation: np.ndarray) -> None:
    int(greedy_actions(observation[None]).numpy()[0])
    train_step(*memory.sample(BATCH_SIZE)[:5])


def run(step_fn, steps: int) -> tuple[float, float, float]:
    """Steps per second, and the RSS before and after."""
    before = rss_mib()
    speed = steps_per_second("blobenv/BlobImage-v0", step_fn, steps, rng)
    return speed, before, rss_mib()


def main() -> None:
    implementations = {
        "original predict + fit": original_step,
        "ours (compiled)": our_step,
    }
    for step_fn in implementations.values():
        run(step_fn, 3)  # build, trace and warm up
    results = {name: [] for name in implementations}
    for _ in range(ROUNDS):
        for name, step_fn in implementations.items():
            results[name].append(run(step_fn, STEPS[name]))
    print(
        "Blob DQN, original network (614k parameters), one training step per env step"
    )
    print(f"{'implementation':<24}{'steps/s':>9}{'ms/step':>9}   RSS MiB before->after")
    speed = {}
    for name, rounds in results.items():
        speed[name] = float(np.median([r[0] for r in rounds]))
        rss = ", ".join(f"{before:.0f}->{after:.0f}" for _, before, after in rounds)
        print(f"{name:<24}{speed[name]:>9.1f}{1000 / speed[name]:>9.1f}   {rss}")
    ratio = speed["ours (compiled)"] / speed["original predict + fit"]
    print(f"ours / original: {ratio:.1f}x")


if __name__ == "__main__":
    main()
