"""A replay memory in preallocated NumPy arrays."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from utils.config import is_integer, is_real


class Batch(NamedTuple):
    """A minibatch of transitions, one array per field, first axis = batch."""

    observations: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    next_observations: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray


FLOAT32_MAX = float(np.finfo(np.float32).max)


def _finite_float32(value) -> bool:
    """Whether `value` is stored as a float32 unchanged in kind (not inf or NaN)."""
    try:
        return abs(float(value)) <= FLOAT32_MAX  # False for NaN too
    except OverflowError:  # an int beyond any float
        return False


class ReplayMemory:
    """Fixed-capacity transition store; the oldest transitions are overwritten first.

    Observations keep their own dtype (uint8 images stay uint8: 4x smaller than
    float32). `sample` draws a batch uniformly, with replacement as in the DQN paper,
    and returns it as arrays in one call. `terminated` (the episode really ended:
    do not bootstrap) is stored apart from `truncated` (the clock ran out).
    """

    def __init__(
        self,
        capacity: int,
        observation_shape: tuple[int, ...],
        observation_dtype: np.dtype | type = np.float32,
        seed: int | np.random.Generator | None = None,
    ) -> None:
        if not isinstance(capacity, (int, np.integer)) or isinstance(capacity, bool):
            raise ValueError(f"capacity must be an integer >= 1, got {capacity!r}")
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity}")
        if not isinstance(observation_shape, tuple) or not all(
            isinstance(n, (int, np.integer)) and n >= 1 for n in observation_shape
        ):
            raise ValueError(
                f"observation_shape must be a tuple of sizes, got {observation_shape!r}"
            )
        self.capacity = int(capacity)
        self.observations = np.zeros((capacity, *observation_shape), observation_dtype)
        self.next_observations = np.zeros_like(self.observations)
        self.actions = np.zeros(capacity, np.int64)
        self.rewards = np.zeros(capacity, np.float32)
        self.terminated = np.zeros(capacity, np.bool_)
        self.truncated = np.zeros(capacity, np.bool_)
        self.rng = np.random.default_rng(seed)
        self.position = 0  # where the next transition goes
        self.size = 0  # how many transitions are held

    def __len__(self) -> int:
        return self.size

    def append(
        self,
        observation: np.ndarray,
        action: int,
        reward: float,
        next_observation: np.ndarray,
        terminated: bool,
        truncated: bool = False,
    ) -> None:
        """Store one transition, overwriting the oldest when full. A value that
        would be changed by storing it (an observation of the wrong shape, or one
        that its dtype would cast, such as floats into uint8 pixels; an action
        that is not a non-negative integer; a reward or flag of the wrong kind) is
        refused before anything is written."""
        shape, dtype = self.observations.shape[1:], self.observations.dtype
        for name, value in (
            ("observation", observation),
            ("next_observation", next_observation),
        ):
            if np.shape(value) != shape:
                raise ValueError(
                    f"{name} must have shape {shape}, got {np.shape(value)}"
                )
            if not np.can_cast(np.asarray(value).dtype, dtype, "same_kind"):
                raise ValueError(
                    f"{name} must be {dtype} (this memory's dtype) or cast to it "
                    f"without change, got {np.asarray(value).dtype}"
                )
        if not is_integer(action) or not 0 <= action < 2**63:
            raise ValueError(f"action must be an integer >= 0, got {action!r}")
        if not is_real(reward) or not _finite_float32(reward):
            raise ValueError(
                f"reward must be a finite real number (float32), got {reward!r}"
            )
        for name, flag in (("terminated", terminated), ("truncated", truncated)):
            if not isinstance(flag, (bool, np.bool_)):
                raise ValueError(f"{name} must be True or False, got {flag!r}")
        i = self.position
        self.observations[i] = observation
        self.actions[i] = action
        self.rewards[i] = reward
        self.next_observations[i] = next_observation
        self.terminated[i] = terminated
        self.truncated[i] = truncated
        self.position = (i + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def sample(self, batch_size: int) -> Batch:
        """A uniform random batch of `batch_size` transitions, as arrays."""
        if not is_integer(batch_size) or not 1 <= batch_size <= self.size:
            raise ValueError(
                f"batch_size must be between 1 and the {self.size} transitions held, "
                f"got {batch_size!r}"
            )
        idx = self.rng.integers(0, self.size, size=batch_size)
        return Batch(
            self.observations[idx],
            self.actions[idx],
            self.rewards[idx],
            self.next_observations[idx],
            self.terminated[idx],
            self.truncated[idx],
        )
