"""One TensorBoard writer for a whole run, stepped by episode."""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf


class ModifiedTensorBoard(keras.callbacks.Callback):
    """A TensorBoard callback for one `fit()` per environment step.

    Stock `keras.callbacks.TensorBoard` opens a new event file for every `fit()`
    call and counts steps per call, so a DQN that fits once per move writes
    thousands of files. This callback owns one `tf.summary` writer for its whole
    life and writes at `self.step`, which the trainer sets (the episode).

    Interface of the original lesson: `ModifiedTensorBoard(log_dir=...)`, assign
    `.step`, call `.update_stats(**scalars)`; plus `close()`. Without `fit()` (a
    GradientTape loop) use `update_stats` alone.
    """

    def __init__(self, log_dir: str, **_: Any) -> None:
        super().__init__()
        self.log_dir = str(log_dir)
        self.step = 1
        self.writer = tf.summary.create_file_writer(self.log_dir)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.update_stats(**(logs or {}))

    def update_stats(self, **stats: float) -> None:
        """Write each scalar at the current `step`."""
        with self.writer.as_default():
            for name, value in stats.items():
                tf.summary.scalar(name, float(value), step=self.step)

    def close(self) -> None:
        """Flush and close the writer."""
        self.writer.flush()
        self.writer.close()
