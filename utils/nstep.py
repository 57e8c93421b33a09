"""n-step returns: turning single moves into n-step transitions for a replay memory."""

from __future__ import annotations

from collections import deque

import numpy as np

from utils.config import is_integer, is_real
from utils.replay import ReplayMemory, finite_float32


class NStepQueue:
    """Per-environment queue of the last `n_step` moves of one episode.

    `push(...)` takes one move of one environment and writes every transition it
    completes into `memory` as `(observation, action, n-step return, next
    observation, terminated)`, where the return is `r_0 + g r_1 + ... + g^(k-1)
    r_(k-1)` and the next observation is the one `k` moves after `observation`:

    - `k = n_step` while the episode runs;
    - on termination, every queued move is written with its partial sum (`k <
      n_step`) and `terminated=True`: there is nothing to bootstrap from;
    - on truncation, the moves that could not see `n_step` moves ahead are dropped
      (bootstrapping them would need `g^k` with another `k`).

    Observations are copied when queued: a row of a batch of observations is a
    view, and the caller overwrites it on the next step. A move that the memory
    would refuse (`ReplayMemory.check`), or whose n-step return would leave
    float32's range, is refused before the queue or the memory changes.
    """

    def __init__(self, memory: ReplayMemory, n_step: int, discount: float) -> None:
        if not isinstance(memory, ReplayMemory):
            raise ValueError(f"memory must be a ReplayMemory, got {memory!r}")
        if not is_integer(n_step) or n_step < 1:
            raise ValueError(f"n_step must be an integer >= 1, got {n_step!r}")
        if not is_real(discount) or not 0.0 <= discount <= 1.0:  # False for NaN
            raise ValueError(
                f"discount must be a real number in [0, 1], got {discount!r}"
            )
        self.memory = memory
        self.n_step = int(n_step)
        self.discount = float(discount)
        self.pending: deque[tuple[np.ndarray, int, float]] = deque()

    def push(
        self,
        observation: np.ndarray,
        action: int,
        reward: float,
        next_observation: np.ndarray,
        terminated: bool,
        truncated: bool,
    ) -> None:
        """Queue one move; write the transitions it completes into the memory."""
        self.memory.check(
            observation, action, reward, next_observation, terminated, truncated
        )
        moves = [*self.pending, (np.array(observation, copy=True), int(action), reward)]
        # the moves this one completes: all of them on termination, else the oldest
        # once n_step are queued
        if terminated:
            done = len(moves)
        else:
            done = 1 if len(moves) == self.n_step else 0
        returns = [
            sum(self.discount**k * r for k, (_, _, r) in enumerate(moves[i:]))
            for i in range(done)
        ]
        for n_step_return in returns:
            if not finite_float32(n_step_return):
                raise ValueError(
                    f"reward {reward!r} makes an n-step return of {n_step_return!r}, "
                    "outside float32's range"
                )
        for (first_observation, first_action, _), n_step_return in zip(moves, returns):
            self.memory.append(
                first_observation,
                first_action,
                n_step_return,
                next_observation,
                terminated,
            )
        if terminated or truncated:
            self.pending.clear()
        else:
            self.pending.append(moves[-1])
            if done:
                self.pending.popleft()
