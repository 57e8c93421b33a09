"""Replay memory: ours against the original deque + random.sample, side by side.

    .venv/bin/python benchmarks/replay_memory.py

Capacity 50,000 transitions of 10x10x3 uint8 images, batch 64. Both sides hand the
trainer the same arrays: observations, actions, rewards, next observations, dones.
"""

import random
import time
from collections import deque

import numpy as np

from utils import ReplayMemory

CAPACITY = 50_000  # transitions held, as in the original lesson
BATCH_SIZE = 64  # minibatch, as in the original lesson
SAMPLES = 2_000  # batches drawn per timing
SHAPE = (10, 10, 3)  # the Blob image observation


class DequeMemory:
    """The original lesson's memory: a deque of tuples, converted per batch."""

    def __init__(self, capacity: int) -> None:
        self.buffer = deque(maxlen=capacity)

    def append(self, obs, action, reward, next_obs, terminated, truncated=False):
        self.buffer.append((obs, action, reward, next_obs, terminated))

    def sample(self, batch_size: int):
        batch = random.sample(self.buffer, batch_size)
        return (
            np.array([t[0] for t in batch]),
            np.array([t[1] for t in batch]),
            np.array([t[2] for t in batch]),
            np.array([t[3] for t in batch]),
            np.array([t[4] for t in batch]),
        )


def timed(fn, repeats: int) -> float:
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - start) / repeats


def main() -> None:
    random.seed(0)
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, size=(1_000, *SHAPE), dtype=np.uint8)
    ours, original = (
        ReplayMemory(CAPACITY, SHAPE, np.uint8, seed=0),
        DequeMemory(CAPACITY),
    )

    results = {}
    for name, memory in (("original deque", original), ("ours (NumPy)", ours)):
        start = time.perf_counter()
        for i in range(CAPACITY):
            memory.append(frames[i % 1000], i % 9, -1.0, frames[(i + 1) % 1000], False)
        append_s = (time.perf_counter() - start) / CAPACITY
        sample_s = timed(lambda m=memory: m.sample(BATCH_SIZE), SAMPLES)
        results[name] = (append_s, sample_s)
        batch = memory.sample(BATCH_SIZE)
        assert batch[0].shape == (BATCH_SIZE, *SHAPE) and batch[0].dtype == np.uint8

    print(f"capacity {CAPACITY:,}, observations {SHAPE} uint8, batch {BATCH_SIZE}")
    print(f"{'memory':<16}{'append/s':>12}{'sample batches/s':>18}")
    for name, (append_s, sample_s) in results.items():
        print(f"{name:<16}{1 / append_s:>12,.0f}{1 / sample_s:>18,.0f}")
    (a_orig, s_orig), (a_ours, s_ours) = results.values()
    print(
        f"ratio ours/original: append {a_orig / a_ours:.2f}x, "
        f"sample {s_orig / s_ours:.1f}x"
    )


if __name__ == "__main__":
    main()
