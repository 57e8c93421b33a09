"""CartPole DQN: environment steps per second with one gradient step per env step.

    .venv/bin/python benchmarks/cartpole_step.py

Three implementations of the same update (MLP 4-256-2, Adam, batch 64), measured side
by side in one process, alternating in rounds so that the machine's ups and downs hit
all of them alike:

- original eager: the original lesson's loop: an eager network call to act, the batch
  rebuilt from Python tuples, the target computed inside the GradientTape, all eager;
- predict + fit: the Keras way of the Blob lesson: `predict` to act, `predict` for the
  current and next states, `fit` on the batch;
- ours: notebook 06: one XLA-compiled call per step (`act_and_learn`, a tf.function
  with a fixed signature, called through its concrete function) that picks the action
  and takes the gradient step, the batch sampled as arrays from `utils.ReplayMemory`.
"""

import os
import random

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# As in notebook 06: for a 4-256-2 network the plain kernels beat oneDNN's (all three
# implementations run with the same setting).
os.environ["TF_ENABLE_ONEDNN_OPTS"] = "0"

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from common import make_act_and_learn, random_play, steps_per_second  # noqa: E402

BATCH_SIZE = 64  # transitions per gradient step
DISCOUNT = 0.99  # gamma
STEPS = {"original eager": 200, "predict + fit": 40, "ours": 1_000}  # per round
ROUNDS = 3  # alternating rounds; the median is reported


def build_q_network() -> keras.Model:
    return keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(256, activation="relu"),
            keras.layers.Dense(2),
        ]
    )


q_network, target_network = build_q_network(), build_q_network()
optimizer = keras.optimizers.Adam(learning_rate=1e-3)
optimizer.build(q_network.trainable_variables)
rng = np.random.default_rng(0)

# Filled with real CartPole transitions, the same for all three.
memory, transitions = random_play("CartPole-v1", 2_000, (4,), np.float32, rng)


def original_eager(observation: np.ndarray) -> None:
    int(np.argmax(q_network(tf.convert_to_tensor([observation]))))
    batch = random.sample(transitions, BATCH_SIZE)
    observations = tf.convert_to_tensor([t[0] for t in batch], dtype=tf.float32)
    actions = tf.convert_to_tensor([t[1] for t in batch])
    rewards = tf.convert_to_tensor([t[2] for t in batch], dtype=tf.float32)
    next_observations = tf.convert_to_tensor([t[3] for t in batch], dtype=tf.float32)
    dones = tf.convert_to_tensor([float(t[4]) for t in batch])
    with tf.GradientTape() as tape:
        next_q = tf.reduce_max(target_network(next_observations), axis=1)
        targets = rewards + (1 - dones) * DISCOUNT * next_q
        q_values = q_network(observations)
        chosen = tf.reduce_sum(q_values * tf.one_hot(actions, 2), axis=1)
        loss = tf.reduce_mean(tf.square(targets - chosen))
    gradients = tape.gradient(loss, q_network.trainable_variables)
    optimizer.apply_gradients(zip(gradients, q_network.trainable_variables))


fit_network = build_q_network()
fit_network.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3), loss="mse")
fit_target = build_q_network()


def predict_fit(observation: np.ndarray) -> None:
    int(np.argmax(fit_network.predict(observation[None], verbose=0)[0]))
    batch = random.sample(transitions, BATCH_SIZE)
    observations = np.array([t[0] for t in batch])
    next_observations = np.array([t[3] for t in batch])
    q_values = fit_network.predict(observations, verbose=0)
    next_q = fit_target.predict(next_observations, verbose=0)
    for i, (_, action, reward, _, done) in enumerate(batch):
        q_values[i, action] = reward if done else reward + DISCOUNT * np.max(next_q[i])
    fit_network.fit(
        observations, q_values, batch_size=BATCH_SIZE, verbose=0, shuffle=False
    )


act_and_learn_graph = make_act_and_learn(
    q_network, target_network, optimizer, DISCOUNT, tau=0.005
)


def ours(observation: np.ndarray) -> None:
    batch = memory.sample(BATCH_SIZE)[:5]
    tensors = [tf.constant(observation)] + [tf.constant(field) for field in batch]
    int(act_and_learn_graph(*tensors)[0])


def main() -> None:
    implementations = {
        "original eager": original_eager,
        "predict + fit": predict_fit,
        "ours": ours,
    }
    for step_fn in implementations.values():
        steps_per_second("CartPole-v1", step_fn, 5, rng)  # trace and warm up
    rounds = {name: [] for name in implementations}
    for _ in range(ROUNDS):
        for name, step_fn in implementations.items():
            rounds[name].append(
                steps_per_second("CartPole-v1", step_fn, STEPS[name], rng)
            )
    speed = {name: float(np.median(values)) for name, values in rounds.items()}
    print("CartPole-v1, one gradient step (batch 64) per environment step, MLP 4-256-2")
    print(f"{'implementation':<16}{'steps/s':>10}{'ms/step':>10}")
    for name, value in speed.items():
        print(f"{name:<16}{value:>10.0f}{1000 / value:>10.2f}")
    print(
        f"ours / original eager: {speed['ours'] / speed['original eager']:.1f}x, "
        f"ours / predict + fit: {speed['ours'] / speed['predict + fit']:.0f}x"
    )


if __name__ == "__main__":
    main()
