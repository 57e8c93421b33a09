"""The DQN agent's settings, checked where they are made.

`DQNConfig` refuses, when it is constructed (or `replace`d), every setting that
would make training fail later or silently do nothing: each field's type and
range, and the relations between fields. The error is one `ValueError` that names
every bad field, its value and what was expected. Nothing here needs TensorFlow.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

CHOICES = {"loss": ("huber", "mse"), "target": ("soft", "hard", "none")}
# integer fields and their smallest allowed value
INTEGERS = {
    "target_update_every": 1,
    "n_step": 1,
    "memory_capacity": 1,
    "batch_size": 1,
    "learning_starts": 1,
    "num_envs": 1,
    "train_every": 1,
    "gradient_steps": 1,
    "epsilon_decay_steps": 1,
}
# real fields: (low, high, low included, high included)
REALS = {
    "learning_rate": (0.0, math.inf, False, False),
    "discount": (0.0, 1.0, True, True),
    "tau": (0.0, 1.0, False, True),
    "epsilon_start": (0.0, 1.0, True, True),
    "epsilon_end": (0.0, 1.0, True, True),
}
BOOLEANS = ("dueling", "double")


@dataclass(frozen=True)
class DQNConfig:
    """Every setting of the agent. The defaults are notebook 06's, but for four
    environments side by side: one compiled call acts for all four and takes four
    gradient steps, so that there is still one gradient step per environment step."""

    # the Q-network: hidden Dense layers (ReLU), then one linear output per action
    hidden_units: tuple[int, ...] = (256,)
    # a dueling head: Q(s, a) = V(s) + A(s, a) - mean over a of A(s, a)
    dueling: bool = False
    # Adam's step size
    learning_rate: float = 1e-3
    # gamma; an n-step transition bootstraps with gamma ** n_step
    discount: float = 0.99
    # "huber" or "mse", between the TD targets and Q(s, a)
    loss: str = "huber"
    # Double DQN: the online network picks the next action, the target network values it
    double: bool = False
    # "soft" (Polyak, every gradient step), "hard" (a copy every N), or "none"
    target: str = "soft"
    # soft: the fraction of the way the target network moves per gradient step
    tau: float = 0.005
    # hard: gradient steps between two copies
    target_update_every: int = 500
    # rewards summed before bootstrapping (1: the one-step target of notebook 06)
    n_step: int = 1
    # transitions kept; the oldest are overwritten first
    memory_capacity: int = 32_000
    # transitions per gradient step
    batch_size: int = 64
    # transitions stored (random play) before the first gradient step
    learning_starts: int = 500
    # environments stepped side by side (one compiled call acts for all)
    num_envs: int = 4
    # vector steps between two training calls
    train_every: int = 1
    # gradient steps per training call (each on its own minibatch)
    gradient_steps: int = 4
    # exploration: epsilon falls linearly from start to end over decay_steps env steps
    epsilon_start: float = 1.0
    epsilon_end: float = 0.05
    epsilon_decay_steps: int = 5_000

    def __post_init__(self) -> None:
        problems, normalised = check(self)
        if problems:
            raise ValueError("DQNConfig: " + "; ".join(problems))
        for name, value in normalised.items():  # e.g. a list of units -> a tuple
            object.__setattr__(self, name, value)

    def replace(self, **changes) -> DQNConfig:
        """A copy with some settings changed (the one-switch variants of 07)."""
        _check_names(changes)
        return dataclasses.replace(self, **changes)

    def epsilon_at(self, env_steps: int) -> float:
        """Exploration after `env_steps` environment steps (linear decay)."""
        fraction = min(1.0, env_steps / self.epsilon_decay_steps)
        return self.epsilon_start + fraction * (self.epsilon_end - self.epsilon_start)

    def to_dict(self) -> dict:
        """The settings as plain JSON values (`hidden_units` as a list)."""
        settings = dataclasses.asdict(self)
        settings["hidden_units"] = list(self.hidden_units)
        return settings

    @classmethod
    def from_dict(cls, settings: dict) -> DQNConfig:
        """`to_dict`'s inverse; unknown names are refused with the known ones."""
        if not isinstance(settings, dict):
            raise ValueError(f"DQNConfig.from_dict takes a dict, got {settings!r}")
        _check_names(settings)
        return cls(**settings)


def _check_names(settings: dict) -> None:
    known = {f.name for f in dataclasses.fields(DQNConfig)}
    unknown = sorted(map(str, set(settings) - known))
    if unknown:
        raise ValueError(
            f"DQNConfig has no setting {', '.join(map(repr, unknown))}; "
            f"the settings are {', '.join(sorted(known))}"
        )


def is_integer(value) -> bool:
    """An int or a NumPy integer, not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(
        value, (bool, np.bool_)
    )


def is_real(value) -> bool:
    """A finite-or-not real number (int, float, NumPy), not a bool."""
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


SEED_LIMIT = 2**32  # NumPy's and TensorFlow's seeds are 32-bit


def check_seed(name: str, value) -> int:
    """`value` as a seed (an integer in [0, 2**32)), or a ValueError naming it."""
    if not is_integer(value) or not 0 <= value < SEED_LIMIT:
        raise ValueError(f"{name} must be an integer in [0, 2**32), got {value!r}")
    return int(value)


def check_integer(name: str, value, low: int, high: int | None = None) -> int:
    """`value` as an int in [low, high] (no upper bound if `high` is None), or a
    ValueError naming it, the value and the range."""
    if not is_integer(value) or value < low or (high is not None and value > high):
        allowed = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ValueError(f"{name} must be an integer {allowed}, got {value!r}")
    return int(value)


def check_path(name: str, value, kind: str, suffix: str | None = None) -> Path:
    """`value` as a Path where a `kind` ("file" or "folder") can be written, or a
    ValueError naming it: not a path, the wrong suffix, the wrong kind of thing
    already there, or a file where one of its folders should be."""
    if not isinstance(value, (str, os.PathLike)):
        raise ValueError(f"{name} must be a path, got {value!r}")
    path = Path(value)
    if suffix is not None and path.suffix != suffix:
        raise ValueError(f"{name} must end in {suffix}, got {str(path)!r}")
    if kind == "file" and path.is_dir():
        raise ValueError(f"{name} {str(path)!r} is a folder, not a file")
    if kind == "folder" and path.exists() and not path.is_dir():
        raise ValueError(f"{name} {str(path)!r} is a file, not a folder")
    for folder in path.parents:
        if folder.exists() and not folder.is_dir():
            raise ValueError(
                f"{name} {str(path)!r} lies inside {str(folder)!r}, which is a file, "
                "not a folder"
            )
    return path


def check_env(name: str, env_id, vector_observations: bool = True):
    """The (observation, action) spaces of gymnasium id `env_id`, or a ValueError
    naming it: an id gymnasium does not know (the course's `blobenv/` ids are
    registered first), one it cannot make, actions that are not Discrete, or
    (with `vector_observations`) observations that are not a 1-D Box."""
    import gymnasium as gym

    import blobenv  # noqa: F401 - registers the course's own ids (blobenv/...)

    if not isinstance(env_id, str):
        raise ValueError(f"{name} must be a gymnasium id (str), got {env_id!r}")
    try:
        gym.spec(env_id)
    except gym.error.Error as error:
        raise ValueError(f"{name} {env_id!r} is no gymnasium id: {error}") from error
    try:
        env = gym.make(env_id)
    except Exception as error:  # noqa: BLE001 - an environment raises its own kinds
        first = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise ValueError(
            f"{name} {env_id!r} cannot be made: {type(error).__name__}: {first}"
        ) from error
    space, actions = env.observation_space, env.action_space
    env.close()
    if not isinstance(actions, gym.spaces.Discrete):
        raise ValueError(
            f"{name} {env_id!r} needs a Discrete action space, got {actions}"
        )
    one_dimensional = isinstance(space, gym.spaces.Box) and len(space.shape) == 1
    if vector_observations and not one_dimensional:
        raise ValueError(f"{name} {env_id!r} needs a 1-D Box observation, got {space}")
    return space, actions


def check_seeds(name: str, seeds) -> tuple[int, ...]:
    """A sequence of start-state seeds as a tuple of ints, or a ValueError."""
    unordered = (str, bytes, set, frozenset, dict)
    if isinstance(seeds, unordered) or not hasattr(seeds, "__len__"):
        raise ValueError(f"{name} must be a sequence of seeds, got {seeds!r}")
    return tuple(check_seed(f"each of {name}", s) for s in seeds)


def check_schedule(
    total_steps: int,
    eval_every: int,
    num_envs: int,
    probe_seeds: tuple,
    held_out_seeds: tuple,
    kept_path,
) -> None:
    """A ValueError for a training schedule the agent cannot keep as asked.

    The agent steps its `num_envs` environments together, so it can stop, and
    evaluate, only at multiples of `num_envs` environment steps (an `eval_every`
    beyond `total_steps` asks for no evaluation, and is not checked then); start
    states given with no evaluation would never be played; and the kept weights
    are those with the best probe mean, so `kept_path` needs probe starts.
    """
    checked = [("total_steps", total_steps)]
    if eval_every <= total_steps:  # beyond it, no evaluation: any value does
        checked.append(("eval_every", eval_every))
    for name, value in checked:
        if value % num_envs:
            raise ValueError(
                f"{name} must be a multiple of num_envs ({num_envs}): the agent "
                f"steps {num_envs} environments together, got {value!r}"
            )
    if (probe_seeds or held_out_seeds) and eval_every > total_steps:
        raise ValueError(
            f"eval_every ({eval_every:,}) is beyond total_steps ({total_steps:,}): "
            "the probe and held-out starts would never be played"
        )
    if kept_path is not None and not probe_seeds:
        raise ValueError(
            "kept_path needs probe_seeds: the kept weights are the ones with the "
            "best mean on the probe starts"
        )


@dataclass(frozen=True)
class TrainingPlan:
    """What one `DQNAgent.train` call is asked to do, checked where it is made (as
    `DQNConfig` is): every argument's type and range, the paths, and the schedule.
    What depends on the run so far (its step, its earlier evaluations, the files it
    wrote) the agent checks against it (`DQNAgent.check_plan`)."""

    # environment steps (all environments) the run trains until
    total_steps: int
    # environment steps between two evaluations
    eval_every: int
    # environments stepped side by side (the agent's num_envs)
    num_envs: int
    # start states that choose the kept weights (best greedy mean)
    probe_seeds: tuple[int, ...] = ()
    # start states that are only measured
    held_out_seeds: tuple[int, ...] = ()
    # where the kept weights' network is saved (.keras); None: not saved
    kept_path: Path | None = None
    # where TensorBoard's episode records go; None: nowhere
    log_dir: Path | None = None
    # a progress bar
    progress: bool = True
    # the progress bar's label
    description: str = ""
    # where checkpoints go; None: none are written
    checkpoint_dir: Path | None = None
    # environment steps between two checkpoints (each at the next episode end)
    checkpoint_every: int = 50_000
    # checkpoints kept (the newest)
    keep_checkpoints: int = 3
    # called with the agent after each evaluation (it may raise to stop the run)
    callback: Callable | None = None
    # where the evaluations play: "gymnasium", or "twin" (utils.twins: the same
    # physics in TensorFlow, every episode in one compiled call)
    evaluate_in: str = "gymnasium"

    def __post_init__(self) -> None:
        def set_(name, value):
            object.__setattr__(self, name, value)

        set_("num_envs", check_integer("num_envs", self.num_envs, 1))
        set_(
            "total_steps", check_integer("total_steps", self.total_steps, self.num_envs)
        )
        for name in ("eval_every", "checkpoint_every", "keep_checkpoints"):
            set_(name, check_integer(name, getattr(self, name), 1))
        for name in ("probe_seeds", "held_out_seeds"):
            set_(name, check_seeds(name, getattr(self, name)))
        if self.callback is not None and not callable(self.callback):
            raise ValueError(
                f"callback must be callable or None, got {self.callback!r}"
            )
        if not isinstance(self.description, str):
            raise ValueError(f"description must be a str, got {self.description!r}")
        if not isinstance(self.progress, (bool, np.bool_)):
            raise ValueError(f"progress must be True or False, got {self.progress!r}")
        check_evaluate_in(self.evaluate_in)
        for name, kind, suffix in (
            ("kept_path", "file", ".keras"),
            ("log_dir", "folder", None),
            ("checkpoint_dir", "folder", None),
        ):
            if getattr(self, name) is not None:
                set_(name, check_path(name, getattr(self, name), kind, suffix))
        check_schedule(
            self.total_steps,
            self.eval_every,
            self.num_envs,
            self.probe_seeds,
            self.held_out_seeds,
            self.kept_path,
        )
        if self.checkpoint_dir is not None and self.num_envs != 1:
            raise ValueError(
                "checkpoints need num_envs=1 (a checkpoint is written at an episode "
                "end, and a Box2D world cannot be saved mid-episode), got "
                f"num_envs={self.num_envs}"
            )

    @property
    def evaluation_seeds(self) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """(probe, held-out): the starts each evaluation plays."""
        return self.probe_seeds, self.held_out_seeds


EVALUATE_IN = ("gymnasium", "twin")


def check_evaluate_in(value, env_id: str | None = None) -> str:
    """Where evaluations play: "gymnasium", or "twin" (with `env_id`: an environment
    that has one)."""
    if not isinstance(value, str) or value not in EVALUATE_IN:
        raise ValueError(
            f"evaluate_in must be 'gymnasium' or 'twin' (utils.twins), got {value!r}"
        )
    if value == "twin" and env_id is not None:
        from utils.twins import twin  # TensorFlow: imported only when it is needed

        try:
            twin(env_id)
        except ValueError as error:
            raise ValueError(f"evaluate_in='twin': {error}") from None
    return value


def check(config: DQNConfig) -> tuple[list[str], dict]:
    """Every problem of `config` as a sentence, and the values to normalise."""
    problems, normalised = [], {}
    for name, allowed in CHOICES.items():
        value = getattr(config, name)
        if not (isinstance(value, str) and value in allowed):
            problems.append(f"{name} must be one of {allowed}, got {value!r}")
        else:
            normalised[name] = str(value)
    for name in BOOLEANS:
        value = getattr(config, name)
        if not isinstance(value, (bool, np.bool_)):
            problems.append(f"{name} must be True or False, got {value!r}")
        else:
            normalised[name] = bool(value)
    for name, low in INTEGERS.items():
        value = getattr(config, name)
        if not is_integer(value) or value < low:
            problems.append(f"{name} must be an integer >= {low}, got {value!r}")
        else:
            normalised[name] = int(value)
    for name, (low, high, low_in, high_in) in REALS.items():
        value = getattr(config, name)
        try:
            inside = is_real(value) and math.isfinite(value)
        except OverflowError:  # an int too large for a float
            inside = False
        inside = inside and (low <= value if low_in else low < value)
        inside = inside and (value <= high if high_in else value < high)
        if not inside:
            interval = (
                f"{'[' if low_in else '('}{low:g}, {high:g}{']' if high_in else ')'}"
            )
            problems.append(f"{name} must be a number in {interval}, got {value!r}")
        else:
            normalised[name] = float(value)
    units = config.hidden_units
    ordered = isinstance(units, (list, tuple)) or (
        isinstance(units, np.ndarray) and units.ndim == 1
    )
    if not ordered:
        problems.append(
            f"hidden_units must be a sequence of integers >= 1, got {units!r}"
        )
    else:
        units = tuple(units)
        if not all(is_integer(u) and u >= 1 for u in units):
            problems.append(
                f"hidden_units must be a sequence of integers >= 1, got {units!r}"
            )
        else:
            normalised["hidden_units"] = tuple(int(u) for u in units)
    if problems:  # the relations below assume the fields themselves are sound
        return problems, normalised
    needed = config.batch_size * config.gradient_steps
    if not needed <= config.learning_starts <= config.memory_capacity:
        problems.append(
            "learning_starts must be between batch_size * gradient_steps "
            f"({config.batch_size} * {config.gradient_steps} = {needed}: a training "
            "call samples that many) and memory_capacity "
            f"({config.memory_capacity}: the memory never holds more), "
            f"got {config.learning_starts}"
        )
    if config.epsilon_end > config.epsilon_start:
        problems.append(
            f"epsilon_end must be <= epsilon_start ({config.epsilon_start}: "
            f"exploration falls), got {config.epsilon_end}"
        )
    if config.double and config.target == "none":
        problems.append(
            "double=True needs a target network to value the next action "
            "(target='soft' or 'hard'), got target='none'"
        )
    return problems, normalised
