"""Seeding every source of randomness a notebook uses."""

from __future__ import annotations

import os
import random

import numpy as np


def seed_everything(seed: int, tensorflow: bool = False) -> np.random.Generator:
    """Seed Python, NumPy and (with `tensorflow=True`) TensorFlow with op determinism.

    Returns a NumPy Generator for the notebook's own random draws. TensorFlow is
    imported only when asked for, so tabular notebooks start fast.
    """
    from utils.config import check_seed

    seed = check_seed("seed", seed)  # before anything is seeded with it
    os.environ["PYTHONHASHSEED"] = str(seed)
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 - code that still uses the global RNG
    if tensorflow:
        import keras
        import tensorflow as tf

        keras.utils.set_random_seed(seed)
        # TensorFlow's global generator too, so that a checkpoint can record it
        tf.random.set_global_generator(tf.random.Generator.from_seed(seed))
        tf.config.experimental.enable_op_determinism()
    return np.random.default_rng(seed)
