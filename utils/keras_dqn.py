"""The Keras way of training a DQN: a model whose `train_step` does the DQN update."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from utils.config import check_integer, is_integer, is_real


@keras.saving.register_keras_serializable(package="utils")
class CoordinateChannels(keras.layers.Layer):
    """Append two channels to an image: each pixel's x and y, scaled to [-1, 1].

    CoordConv (Liu et al. 2018): a convolution sees only a pixel's neighbourhood,
    never where that pixel is; with these channels it can read positions.
    """

    def call(self, images):
        batch, height, width = (ops.shape(images)[i] for i in range(3))
        ys = ops.linspace(-1.0, 1.0, height)
        xs = ops.linspace(-1.0, 1.0, width)
        grid_y, grid_x = ops.meshgrid(ys, xs, indexing="ij")
        coordinates = ops.stack([grid_x, grid_y], axis=-1)
        coordinates = ops.broadcast_to(
            ops.cast(coordinates, images.dtype)[None], (batch, height, width, 2)
        )
        return ops.concatenate([images, coordinates], axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] + 2)


_ONE_THREAD = tf.data.Options()
_ONE_THREAD.autotune.enabled = False
_ONE_THREAD.threading.private_threadpool_size = 1


def _flatten(metrics) -> list:
    """The metrics of a compile argument: a list, a dict of lists, or one metric."""
    if metrics is None:
        return []
    if isinstance(metrics, dict):
        return [m for value in metrics.values() for m in _flatten(value)]
    if isinstance(metrics, (list, tuple)):
        return [m for value in metrics for m in _flatten(value)]
    return [metrics]


@keras.saving.register_keras_serializable(package="utils")
class KerasDQN(keras.Model):
    """A Q-network and its target network, trained with `fit()` on replay batches.

    `fit(x=(observations, actions, returns, next_observations, terminated))`
    runs one DQN update per minibatch of `batch_size` transitions:

    - TD targets `returns + discount**n_step * max_a Q_target(next_observation, a)`,
      with nothing after a terminal state, from the target network (no gradient);
    - the Q-network's value of the action taken, pulled toward its TD target by
      the compiled loss (`compile(loss=...)`) and optimizer.

    With `n_step=1`, `returns` are the one-step rewards. `sync_target()` copies the
    Q-network's weights into the target network.

    Keras's other tools work on the same transitions: `evaluate(x=...)` gives the
    loss (and compiled metrics) of the taken actions' Q-values against their TD
    targets without learning; a metric such as `"mae"` compares the same two;
    `save("dqn.keras")` and `keras.saving.load_model` keep both networks.
    """

    def __init__(
        self,
        network: keras.Model,
        discount: float = 0.99,
        n_step: int = 1,
        **kwargs: Any,
    ) -> None:
        if not (is_real(discount) and 0.0 <= discount <= 1.0):  # NaN fails too
            raise ValueError(f"discount must be a number in [0, 1], got {discount!r}")
        n_step = check_integer("n_step", n_step, 1)
        super().__init__(**kwargs)
        self.network = network
        self.target_network = keras.models.clone_model(network)
        self.target_network.trainable = False  # it learns only by sync_target()
        self.discount = float(discount)
        self.n_step = int(n_step)
        self.sync_target()
        self.built = network.built  # its variables are the two networks'

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "network": keras.saving.serialize_keras_object(self.network),
            "discount": self.discount,
            "n_step": self.n_step,
        }

    @classmethod
    def from_config(cls, config: dict) -> KerasDQN:
        config = dict(config)
        network = keras.saving.deserialize_keras_object(config.pop("network"))
        return cls(network, **config)

    def compile(self, *args, metrics=None, weighted_metrics=None, **kwargs) -> None:
        """Keras's compile; an accuracy metric is refused (Q-values are regressed,
        not classified: "accuracy" of a Q-value means nothing)."""
        for metric in _flatten(metrics) + _flatten(weighted_metrics):
            names = [
                metric if isinstance(metric, str) else "",
                str(getattr(metric, "name", "")),
                getattr(metric, "__name__", ""),
                type(metric).__name__,
            ]
            if any("accuracy" in n.lower() or n.lower() == "acc" for n in names):
                raise ValueError(
                    f"metric {metric!r} means nothing for a Q-value regression; "
                    "use 'mae' (the mean absolute TD error) or 'mse'"
                )
        super().compile(
            *args, metrics=metrics, weighted_metrics=weighted_metrics, **kwargs
        )

    # a model that overrides compile says how its compiled state is saved and loaded
    def get_compile_config(self) -> dict | None:
        return super().get_compile_config()

    def compile_from_config(self, config: dict) -> None:
        self.compile(**keras.saving.deserialize_keras_object(config))
        if getattr(self, "optimizer", None) is not None and self.built:
            self.optimizer.build(self.trainable_variables)  # before its weights load

    def call(self, observations, training=False):
        return self.network(observations, training=training)

    def sync_target(self) -> None:
        """Hard copy: the target network takes the Q-network's weights."""
        self.target_network.set_weights(self.network.get_weights())

    def td_targets(self, returns, next_observations, terminated):
        """r + gamma^n max_a Q_target(s', a); only r where the episode terminated."""
        next_q_values = self.target_network(next_observations, training=False)
        future = ops.max(ops.stop_gradient(next_q_values), axis=1)
        alive = 1.0 - ops.cast(terminated, "float32")
        bootstrap = self.discount**self.n_step * alive * future
        return ops.cast(returns, "float32") + bootstrap

    def train_step(self, data):
        observations, actions, returns, next_observations, terminated = data[0]
        td_targets = self.td_targets(returns, next_observations, terminated)
        # Keras's own step: Q-values, loss (compute_loss below), gradient, update.
        return super().train_step((observations, (actions, td_targets)))

    def test_step(self, data):
        """`evaluate`'s step: the loss and metrics of `train_step`, no update."""
        observations, actions, returns, next_observations, terminated = data[0]
        td_targets = self.td_targets(returns, next_observations, terminated)
        return super().test_step((observations, (actions, td_targets)))

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, **kwargs):
        actions, td_targets = y
        taken = ops.cast(actions, "int32")[:, None]
        chosen = ops.take_along_axis(y_pred, taken, axis=1)[:, 0]
        return super().compute_loss(x, td_targets, chosen, sample_weight, **kwargs)

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        # metrics compare what the loss compares: Q(s, a taken) and its TD target
        actions, td_targets = y
        taken = ops.cast(actions, "int32")[:, None]
        chosen = ops.take_along_axis(y_pred, taken, axis=1)[:, 0]
        return super().compute_metrics(x, td_targets, chosen, sample_weight)

    def fit_minibatches(
        self,
        transitions: tuple[np.ndarray, ...],
        batch_size: int,
        callbacks: list[keras.callbacks.Callback] | None = None,
    ) -> keras.callbacks.History:
        """One `fit` call: a DQN update on each consecutive minibatch of `transitions`.

        `transitions` is `(observations, actions, returns, next_observations,
        terminated)`, for example `ReplayMemory.sample(m * batch_size)[:5]`. Given
        arrays, Keras builds a tf.data pipeline that prefetches in background
        threads, which on a 2-core CPU can compete with the training step. So
        the minibatches go in as a dataset that runs in one thread, in order.
        """
        check_transitions(transitions, batch_size, self.network.output_shape[-1])
        dataset = tf.data.Dataset.from_tensor_slices((tuple(transitions),))
        dataset = dataset.batch(batch_size).with_options(_ONE_THREAD)
        return self.fit(dataset, verbose=0, shuffle=False, callbacks=callbacks)

    def greedy_actions(self, observations: np.ndarray) -> np.ndarray:
        """The action with the largest Q-value for each observation of a batch."""
        return np.argmax(self.predict_on_batch(observations), axis=1)


def check_transitions(transitions, batch_size: int, n_actions: int) -> None:
    """A ValueError naming the field of `transitions` (observations, actions,
    returns, next observations, terminated) that would train silently wrong."""
    if not isinstance(transitions, (tuple, list)) or len(transitions) != 5:
        got = (
            len(transitions) if isinstance(transitions, (tuple, list)) else transitions
        )
        raise ValueError(
            "transitions must be 5 arrays (observations, actions, returns, next "
            f"observations, terminated), e.g. memory.sample(n)[:5], got {got!r:.60}"
        )
    if not is_integer(batch_size) or batch_size < 1:
        raise ValueError(f"batch_size must be an integer >= 1, got {batch_size!r}")
    observations, actions, returns, next_observations, terminated = map(
        np.asarray, transitions
    )
    n = len(observations)
    for name, array in (("actions", actions), ("returns", returns)):
        if array.shape != (n,):
            raise ValueError(f"{name} must have shape ({n},), got {array.shape}")
    if terminated.shape != (n,) or terminated.dtype != np.bool_:
        raise ValueError(
            f"terminated must be {n} booleans, got shape {terminated.shape} of "
            f"{terminated.dtype}"
        )
    if next_observations.shape != observations.shape:
        raise ValueError(
            f"next_observations must have the observations' shape "
            f"{observations.shape}, got {next_observations.shape}"
        )
    if not np.isfinite(returns).all():
        raise ValueError("returns must be finite, got NaN or inf")
    check_actions(actions, n_actions)


def check_actions(actions, n_actions: int) -> None:
    """A ValueError naming the first action that is no index of the network's
    `n_actions` outputs (compiled, an index out of range would be clamped, not
    refused)."""
    actions = np.asarray(actions)
    if not np.issubdtype(actions.dtype, np.integer):
        raise ValueError(f"actions must be integers, got dtype {actions.dtype}")
    bad = np.flatnonzero((actions < 0) | (actions >= n_actions))
    if bad.size:
        raise ValueError(
            f"actions must be in [0, {n_actions}) (the network's outputs), got "
            f"{actions[bad[0]]} at position {bad[0]}"
        )


def original_network(n_actions: int = 9) -> keras.Sequential:
    """The original lesson's Q-network for 10 x 10 x 3 Blob images (614,281 weights).

    Two blocks of Conv2D(256, 3x3) + ReLU + MaxPooling 2x2 + Dropout 0.2, then
    Dense(64) with no activation (as in the original) and one linear Q-value per
    action. Rescaling turns uint8 pixels into [0, 1].
    """
    layers = keras.layers
    return keras.Sequential(
        [
            keras.Input((10, 10, 3)),
            layers.Rescaling(1 / 255),
            layers.Conv2D(256, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Dropout(0.2),
            layers.Conv2D(256, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Dropout(0.2),
            layers.Flatten(),
            layers.Dense(64),
            layers.Dense(n_actions),
        ],
        name="original",
    )


def coordconv_network(n_actions: int = 9) -> keras.Sequential:
    """A CoordConv Q-network for 10 x 10 x 3 Blob images: it finds single pixels.

    Each pixel, with its own x and y appended, goes through the same small network
    (1x1 convolutions): it can answer "the food's x, if the food is here". The
    maximum over the image (global max pooling) then reads that answer wherever
    the food stands; dense layers turn the positions into nine Q-values.
    """
    layers = keras.layers
    return keras.Sequential(
        [
            keras.Input((10, 10, 3)),
            layers.Rescaling(1 / 255),
            CoordinateChannels(),  # + x, y: every pixel knows where it is
            layers.Conv2D(32, 1, activation="relu"),  # per pixel: what, and where
            layers.Conv2D(64, 1, activation="relu"),
            layers.GlobalMaxPooling2D(),  # the strongest answer anywhere
            layers.Dense(256, activation="relu"),
            layers.Dense(256, activation="relu"),
            layers.Dense(n_actions),
        ],
        name="coordconv",
    )
