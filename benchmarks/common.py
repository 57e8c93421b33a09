"""What the step benchmarks share: the same replay contents, and one timer."""

import time
from collections import deque

import gymnasium as gym

from utils import ReplayMemory


def random_play(env_id, transitions, observation_shape, dtype, rng):
    """`transitions` random-play steps of `env_id`, stored in both memories alike:
    a `utils.ReplayMemory` and the original lesson's deque of tuples."""
    memory = ReplayMemory(transitions, observation_shape, dtype, seed=0)
    tuples = deque(maxlen=transitions)
    env = gym.make(env_id)
    observation, _ = env.reset(seed=0)
    for _ in range(transitions):
        action = int(rng.integers(env.action_space.n))
        next_observation, reward, terminated, truncated, _ = env.step(action)
        memory.append(
            observation, action, reward, next_observation, terminated, truncated
        )
        tuples.append((observation, action, reward, next_observation, terminated))
        observation = env.reset()[0] if terminated or truncated else next_observation
    return memory, tuples


def steps_per_second(env_id, step_fn, steps, rng):
    """Env steps per second, with `step_fn(observation)` before each random step."""
    env = gym.make(env_id)
    observation, _ = env.reset(seed=1)
    start = time.perf_counter()
    for _ in range(steps):
        step_fn(observation)
        action = int(rng.integers(env.action_space.n))
        observation, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            observation, _ = env.reset()
    return steps / (time.perf_counter() - start)


def make_act_and_learn(q_network, target_network, optimizer, discount, tau):
    """Notebook 06's step as one XLA-compiled call, through its concrete function:
    the greedy action for one CartPole observation, then one DQN update (Huber loss,
    Polyak target update) on a batch. Returns the concrete function."""
    import keras
    import tensorflow as tf

    huber = keras.losses.Huber()
    specs = [
        tf.TensorSpec([4], tf.float32),  # the observation to act on
        tf.TensorSpec([None, 4], tf.float32),
        tf.TensorSpec([None], tf.int64),
        tf.TensorSpec([None], tf.float32),
        tf.TensorSpec([None, 4], tf.float32),
        tf.TensorSpec([None], tf.bool),
    ]

    @tf.function(input_signature=specs, jit_compile=True)
    def act_and_learn(
        observation, observations, actions, rewards, next_observations, terminated
    ):
        action = tf.argmax(q_network(observation[None], training=False), axis=1)[0]
        next_q = tf.reduce_max(target_network(next_observations, training=False), 1)
        targets = rewards + (1.0 - tf.cast(terminated, tf.float32)) * discount * next_q
        with tf.GradientTape() as tape:
            q_values = q_network(observations, training=True)
            chosen = tf.reduce_sum(q_values * tf.one_hot(actions, 2), axis=1)
            loss = huber(targets, chosen)
        gradients = tape.gradient(loss, q_network.trainable_variables)
        optimizer.apply_gradients(zip(gradients, q_network.trainable_variables))
        for target_weight, weight in zip(target_network.weights, q_network.weights):
            target_weight.assign(tau * weight + (1.0 - tau) * target_weight)
        return action, loss

    return act_and_learn.get_concrete_function()


def bare_update_rate(dqn, steps: int, warmup: int) -> float:
    """Gradient steps per second, all seeds together, of a `utils.GraphDQN`'s update
    alone: sample, gradient step and target move in one compiled loop, no acting,
    no environment, no storing (the engine's ceiling at one gradient step per env
    step). `warmup` steps compile the loop outside the clock."""
    import tensorflow as tf

    everyone = tf.ones([len(dqn.seeds)], tf.bool)

    @tf.function(jit_compile=True)
    def updates(count):
        k = tf.constant(0, tf.int64)
        while k < count:
            dqn.update(dqn.sample(k), everyone)
            dqn.update_target(everyone)
            k += 1
        return k

    updates(tf.constant(warmup, tf.int64))
    start = time.perf_counter()
    updates(tf.constant(steps, tf.int64))
    return len(dqn.seeds) * steps / (time.perf_counter() - start)
