"""What a training run records, as plain lists (JSON in a checkpoint, from a worker)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class TrainLog:
    """What a training run recorded. Steps are environment steps (all envs)."""

    episode_steps: list[int] = field(default_factory=list)
    episode_returns: list[float] = field(default_factory=list)
    # ended by the task (MountainCar: the flag), not by the time limit
    episode_terminated: list[bool] = field(default_factory=list)
    eval_steps: list[int] = field(default_factory=list)
    # greedy mean return on the probe starts (choose the kept weights)
    probe_means: list[float] = field(default_factory=list)
    # greedy mean return on the held-out starts (never the kept weights; notebooks 07
    # and 08 pass validation starts here, which may choose settings)
    held_out_means: list[float] = field(default_factory=list)
    # training wall time (evaluations excluded) at each evaluation
    train_seconds: list[float] = field(default_factory=list)
    # the evaluation step whose weights were kept (best probe mean, earliest on ties)
    kept_step: int | None = None

    def kept_held_out_mean(self) -> float:
        """The held-out mean of the kept weights (chosen on the probe starts)."""
        if self.kept_step is None or not self.held_out_means:
            raise ValueError("this run kept no weights or measured no held-out starts")
        return self.held_out_means[self.eval_steps.index(self.kept_step)]
