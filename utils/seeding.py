"""Seeding every source of randomness a notebook uses."""

from __future__ import annotations

import os
import random
from typing import NamedTuple

import numpy as np


def seed_everything(seed: int, tensorflow: bool = False) -> np.random.Generator:
    """Seed Python, NumPy and (with `tensorflow=True`) TensorFlow with op determinism.

    Returns a NumPy Generator for the notebook's own random draws. TensorFlow is
    imported only when asked for, so tabular notebooks start fast.
    """
    from utils.config import check_seed

    seed = check_seed("seed", seed)  # before anything is seeded with it
    if not isinstance(tensorflow, (bool, np.bool_)):
        raise ValueError(f"tensorflow must be True or False, got {tensorflow!r}")
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


class RunStreams(NamedTuple):
    """The independent random streams of one training run (see `run_streams`)."""

    network: int  # seeds Python, NumPy and TensorFlow: the network's initial weights
    environments: tuple[int, ...]  # one reset seed per environment
    action_spaces: tuple[int, ...]  # the vector env's action space, then each env's
    exploration: np.random.Generator  # epsilon-greedy coin flips and random actions
    replay: np.random.Generator  # which transitions a minibatch samples


def run_streams(seed: int, num_envs: int) -> RunStreams:
    """The run's streams, each from its own child of `np.random.SeedSequence(seed)`.

    No two of them draw the same numbers, and no two runs share one: environment i
    of run `seed` is not environment 0 of run `seed + i`, as it would be with
    seeds `seed + i`, and exploration and replay are different generators.
    """
    from utils.config import check_seed, is_integer

    seed = check_seed("seed", seed)
    if not is_integer(num_envs) or num_envs < 1:
        raise ValueError(f"num_envs must be an integer >= 1, got {num_envs!r}")
    children = np.random.SeedSequence(seed).spawn(5)
    network, environments, action_spaces, exploration, replay = children
    return RunStreams(
        network=int(network.generate_state(1)[0]),
        environments=tuple(int(s) for s in environments.generate_state(num_envs)),
        action_spaces=tuple(int(s) for s in action_spaces.generate_state(num_envs + 1)),
        exploration=np.random.default_rng(exploration),
        replay=np.random.default_rng(replay),
    )
