"""The Q-network of the packaged agent: an MLP, optionally with a dueling head."""

from __future__ import annotations

from collections.abc import Sequence

import keras


@keras.saving.register_keras_serializable(package="utils")
class DuelingHead(keras.layers.Layer):
    """Q(s, a) = V(s) + A(s, a) - mean over a of A(s, a), from one feature vector.

    One Dense unit estimates the state's value V, `n_actions` units the advantage
    A of each action; subtracting the mean advantage makes the split unique.
    """

    def __init__(self, n_actions: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.n_actions = int(n_actions)
        self.value = keras.layers.Dense(1)
        self.advantage = keras.layers.Dense(self.n_actions)

    def build(self, input_shape) -> None:
        self.value.build(input_shape)
        self.advantage.build(input_shape)

    def call(self, features):
        advantages = self.advantage(features)
        centred = advantages - keras.ops.mean(advantages, axis=1, keepdims=True)
        return self.value(features) + centred

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.n_actions)

    def get_config(self) -> dict:
        return {**super().get_config(), "n_actions": self.n_actions}


def build_q_network(
    observation_size: int,
    n_actions: int,
    hidden_units: Sequence[int] = (256,),
    dueling: bool = False,
) -> keras.Sequential:
    """An MLP from observation to one Q-value per action (notebook 06's network)."""
    layers = [keras.Input((observation_size,))]
    layers += [keras.layers.Dense(units, activation="relu") for units in hidden_units]
    layers.append(DuelingHead(n_actions) if dueling else keras.layers.Dense(n_actions))
    return keras.Sequential(layers)
