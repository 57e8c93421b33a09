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
