"""n-step returns: turning single moves into n-step transitions for a replay memory."""

from __future__ import annotations

from collections import deque

import numpy as np

from utils.replay import ReplayMemory


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
    view, and the caller overwrites it on the next step.
    """

    def __init__(self, memory: ReplayMemory, n_step: int, discount: float) -> None:
        if not isinstance(memory, ReplayMemory):
            raise ValueError(f"memory must be a ReplayMemory, got {memory!r}")
        integer = isinstance(n_step, (int, np.integer)) and not isinstance(n_step, bool)
        if not integer or n_step < 1:
            raise ValueError(f"n_step must be an integer >= 1, got {n_step!r}")
        if not 0.0 <= discount <= 1.0:
            raise ValueError(f"discount must be in [0, 1], got {discount}")
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
        self.pending.append((np.array(observation, copy=True), int(action), reward))
        while self.pending and (len(self.pending) == self.n_step or terminated):
            n_step_return = sum(
                self.discount**k * r for k, (_, _, r) in enumerate(self.pending)
            )
            first_observation, first_action, _ = self.pending.popleft()
            self.memory.append(
                first_observation,
                first_action,
                n_step_return,
                next_observation,
                terminated,
            )
        if terminated or truncated:
            self.pending.clear()
