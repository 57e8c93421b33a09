"""The DQN update of the packaged agent: notebook 06's, with the switches.

`DQNUpdate` holds what learning needs (the Q-network, the target network, Adam,
the loss) and the update itself: the TD targets, one gradient step, the target
network's update, and the two compiled calls the agent makes (acting alone, and
acting with `gradient_steps` updates). `DQNAgent` adds playing, the replay memory
and the run around it.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from utils.config import DQNConfig
from utils.qnetwork import build_q_network
from utils.replay import Batch


def pack(batch: Batch) -> np.ndarray:
    """A batch of transitions as one float32 array, one row per transition:
    observation, next observation, action, reward, terminated.

    A compiled call checks and converts each of its arguments in Python, which for
    a small network costs more than the gradient step itself: one argument instead
    of five makes every training call faster.
    """
    columns = [batch.actions, batch.rewards, batch.terminated]
    return np.concatenate(
        [batch.observations, batch.next_observations, np.column_stack(columns)],
        axis=1,
        dtype=np.float32,
    )


def unpack(packed, observation_size: int) -> tuple:
    """`pack`'s inverse, inside the compiled call: the five fields `update` takes."""
    size = observation_size
    observations, next_observations = packed[:, :size], packed[:, size : 2 * size]
    actions = tf.cast(packed[:, 2 * size], tf.int64)
    rewards, terminated = packed[:, 2 * size + 1], packed[:, 2 * size + 2] > 0.5
    return observations, actions, rewards, next_observations, terminated


class DQNUpdate:
    """The networks, the optimizer and the DQN update for `config`'s switches."""

    def __init__(self, observation_size: int, n_actions: int, config: DQNConfig):
        self.observation_size, self.n_actions, self.config = (
            observation_size,
            n_actions,
            config,
        )
        self.q_network = self.build_network()
        self.target_network = self.build_network()
        self.target_network.set_weights(self.q_network.get_weights())
        self.optimizer = keras.optimizers.Adam(learning_rate=config.learning_rate)
        self.optimizer.build(self.q_network.trainable_variables)
        huber = config.loss == "huber"
        self.loss_fn = (
            keras.losses.Huber() if huber else keras.losses.MeanSquaredError()
        )

    def build_network(self) -> keras.Sequential:
        config = self.config
        return build_q_network(
            self.observation_size, self.n_actions, config.hidden_units, config.dueling
        )

    # -- the update: notebook 06's, with the switches -------------------------------
    def td_targets(self, rewards, next_observations, terminated):
        """r + gamma^n * Q'(s', a*), with nothing after termination.

        Q' is the target network (the online one with `target="none"`); a* is
        the argmax of Q' (plain DQN) or of the online network (Double DQN).
        """
        config = self.config
        bootstrap = self.q_network if config.target == "none" else self.target_network
        next_q_values = bootstrap(next_observations, training=False)
        if config.double:  # pick with the online network, value with the target one
            online_q = self.q_network(next_observations, training=False)
            next_actions = tf.argmax(online_q, axis=1)
            one_hot = tf.one_hot(next_actions, self.n_actions)
            next_values = tf.reduce_sum(next_q_values * one_hot, axis=1)
        else:
            next_values = tf.reduce_max(next_q_values, axis=1)
        not_terminated = 1.0 - tf.cast(terminated, tf.float32)
        discount = config.discount**config.n_step
        return rewards + not_terminated * discount * next_values

    def update_target(self) -> None:
        """Move the target network toward the online one: by tau (soft), all the way
        every `target_update_every` gradient steps (hard), or not at all (none)."""
        config = self.config
        if config.target == "none":
            return
        if config.target == "soft":
            tau = config.tau
        else:  # hard: tau is 1 on every N-th gradient step (a copy), 0 otherwise
            copy_now = self.optimizer.iterations % config.target_update_every == 0
            tau = tf.cast(copy_now, tf.float32)
        for target_weight, weight in zip(
            self.target_network.weights, self.q_network.weights
        ):
            target_weight.assign(tau * weight + (1.0 - tau) * target_weight)

    def update(self, observations, actions, rewards, next_observations, terminated):
        """One gradient step on a batch, then the target update. Returns the loss."""
        targets = self.td_targets(rewards, next_observations, terminated)  # 1
        with tf.GradientTape() as tape:  # 2
            q_values = self.q_network(observations, training=True)
            one_hot = tf.one_hot(actions, self.n_actions)
            chosen_q_values = tf.reduce_sum(q_values * one_hot, axis=1)
            loss = self.loss_fn(targets, chosen_q_values)
        variables = self.q_network.trainable_variables
        gradients = tape.gradient(loss, variables)  # 3
        self.optimizer.apply_gradients(zip(gradients, variables))  # 4
        self.update_target()
        return loss

    def _compile(self) -> None:
        """Trace the two compiled calls once: acting, and acting + learning."""
        config, size = self.config, self.observation_size
        observations = tf.TensorSpec([None, size], tf.float32)
        # a training call's minibatches, packed: [gradient_steps, batch_size, columns]
        batches = tf.TensorSpec([config.gradient_steps, None, 2 * size + 3], tf.float32)

        @tf.function(input_signature=[observations])
        def greedy_actions(observations):
            return tf.argmax(self.q_network(observations, training=False), axis=1)

        @tf.function(input_signature=[observations, batches], jit_compile=True)
        def act_and_learn(observations, batches):
            """The greedy actions for `observations`, then `gradient_steps` updates."""
            actions = tf.argmax(self.q_network(observations, training=False), axis=1)
            loss = tf.constant(0.0)
            for step in range(config.gradient_steps):
                loss = self.update(*unpack(batches[step], size))
            return actions, loss

        self.greedy_actions = greedy_actions
        self._greedy = greedy_actions.get_concrete_function()
        self._act_and_learn = act_and_learn.get_concrete_function()
