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


def finite_float32(value) -> bool:
    """Whether `value` is stored as a float32 unchanged in kind (not inf or NaN)."""
    try:
        return abs(float(value)) <= FLOAT32_MAX  # False for NaN too
    except OverflowError:  # an int beyond any float
        return False


def _storing_changes(array: np.ndarray, dtype: np.dtype) -> str | None:
    """What storing `array` into `dtype` would change beyond rounding (a finite
    float that overflows to inf, an integer that wraps around), or None. Assumes
    `np.can_cast(array.dtype, dtype, "same_kind")`."""
    if np.can_cast(array.dtype, dtype, "safe") or array.size == 0:
        return None  # uint8 into float32, say: nothing overflows or wraps
    if dtype.kind == "f":
        with np.errstate(over="ignore"):
            overflows = np.isfinite(array) & ~np.isfinite(array.astype(dtype))
        if overflows.any():
            return f"{array[overflows].flat[0].item()!r} would become inf"
    elif dtype.kind in "iu" and array.dtype.kind in "iu":
        info = np.iinfo(dtype)
        outside = (array < info.min) | (array > info.max)
        if outside.any():
            value = array[outside].flat[0].item()
            return f"{value!r} is outside [{info.min}, {info.max}]"
    return None


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
            is_integer(n) and n >= 1 for n in observation_shape
        ):
            raise ValueError(
                f"observation_shape must be a tuple of sizes, got {observation_shape!r}"
            )
        try:  # np.dtype(None) would be float64
            dtype = None if observation_dtype is None else np.dtype(observation_dtype)
        except TypeError:
            dtype = None
        if dtype is None or dtype.kind not in "biuf":
            raise ValueError(
                "observation_dtype must be a NumPy bool, integer or float type, "
                f"got {observation_dtype!r}"
            )
        try:
            if isinstance(seed, (bool, np.bool_)):
                raise TypeError(seed)
            rng = np.random.default_rng(seed)
        except (TypeError, ValueError) as error:
            raise ValueError(
                f"seed must be None, an integer >= 0 or a NumPy generator, got {seed!r}"
            ) from error
        self.capacity = int(capacity)
        self.observations = np.zeros((capacity, *observation_shape), dtype)
        self.next_observations = np.zeros_like(self.observations)
        self.actions = np.zeros(capacity, np.int64)
        self.rewards = np.zeros(capacity, np.float32)
        self.terminated = np.zeros(capacity, np.bool_)
        self.truncated = np.zeros(capacity, np.bool_)
        self.rng = rng
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
        storing it would change is refused before anything is written (see
        `check`)."""
        self.check(observation, action, reward, next_observation, terminated, truncated)
        i = self.position
        self.observations[i] = observation
        self.actions[i] = action
        self.rewards[i] = reward
        self.next_observations[i] = next_observation
        self.terminated[i] = terminated
        self.truncated[i] = truncated
        self.position = (i + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def check(
        self,
        observation: np.ndarray,
        action: int,
        reward: float,
        next_observation: np.ndarray,
        terminated: bool,
        truncated: bool = False,
    ) -> None:
        """Raise the ValueError that `append` would raise for this transition, and
        write nothing: an observation of the wrong shape or with a NaN or an inf,
        or one that storing would
        change (a dtype it would cast, such as floats into uint8 pixels; a float
        that overflows this memory's float type to inf; an integer that wraps
        around); an action that is not a non-negative integer; a reward that is not
        a finite real number in float32's range; a flag that is not a bool."""
        shape, dtype = self.observations.shape[1:], self.observations.dtype
        for name, value in (
            ("observation", observation),
            ("next_observation", next_observation),
        ):
            try:
                array = np.asarray(value)
            except (ValueError, TypeError):  # a ragged nesting of sequences
                array = None
            if array is None or array.shape != shape:
                got = array.shape if array is not None else f"a ragged {value!r}"
                raise ValueError(f"{name} must have shape {shape}, got {got}")
            if array.dtype.kind == "f" and not np.isfinite(array).all():
                raise ValueError(
                    f"{name} must be finite (a NaN or inf would turn every loss it "
                    f"is sampled into NaN), got {array.tolist()!r}"[:300]
                )
            if array.dtype == dtype:
                continue  # stored as it is
            if not np.can_cast(array.dtype, dtype, "same_kind"):
                raise ValueError(
                    f"{name} must be {dtype} (this memory's dtype) or cast to it "
                    f"without change, got {array.dtype}"
                )
            change = _storing_changes(array, dtype)
            if change is not None:
                raise ValueError(
                    f"{name} must be stored unchanged as {dtype} (this memory's "
                    f"dtype), got {array.dtype} values where {change}"
                )
        if not is_integer(action) or not 0 <= action < 2**63:
            raise ValueError(f"action must be an integer >= 0, got {action!r}")
        if not is_real(reward) or not finite_float32(reward):
            raise ValueError(
                f"reward must be a finite real number (float32), got {reward!r}"
            )
        for name, flag in (("terminated", terminated), ("truncated", truncated)):
            if not isinstance(flag, (bool, np.bool_)):
                raise ValueError(f"{name} must be True or False, got {flag!r}")

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
