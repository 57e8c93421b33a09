"""The course's DQN agent: notebook 06's agent, packaged, with switches.

Notebook 06 writes the update by hand; this is the same code, packaged, so that
notebooks 07-09 share one agent instead of copying a training loop. The update
itself lives in `utils.update` (`DQNUpdate`, which `DQNAgent` extends), the network
in `utils.qnetwork`, greedy evaluation in `utils.evaluation`, the settings in
`utils.config`; this module plays, remembers and trains. What 06 fixed stays
fixed: the TD target is computed outside the tape, only `terminated` stops the
bootstrap, acting and learning are one compiled call per (vector) environment
step, and the reported numbers come from start states that chose nothing.

The switches (`DQNConfig`): the target network (`"soft"` Polyak updates, a
`"hard"` copy every N gradient steps, or `"none"`: the TD target then comes from
the online network itself), Double DQN, a dueling head, Huber or MSE, n-step
returns, and how many environments, gradient steps and transitions per call.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import gymnasium as gym
import keras
import numpy as np
import tensorflow as tf

from utils import checkpoint
from utils.config import DQNConfig, check_schedule, check_seed, check_seeds, is_integer
from utils.evaluation import Episodes, play_greedy
from utils.nstep import NStepQueue
from utils.qnetwork import DuelingHead, build_q_network
from utils.replay import ReplayMemory
from utils.runs import save_model
from utils.seeding import run_streams, seed_everything
from utils.trainlog import TrainLog
from utils.update import DQNUpdate, pack

# the names notebooks and tests import from here
__all__ = [
    "DQNAgent",
    "DQNConfig",
    "DuelingHead",
    "Episodes",
    "TrainLog",
    "build_q_network",
    "play_greedy",
]


class DQNAgent(DQNUpdate):
    """A DQN for a gymnasium environment with a discrete action space and a vector
    observation, trained over `config.num_envs` environments side by side.

    `train(...)` plays and learns; `evaluate(seeds)` plays one greedy episode from
    each seeded start state; `q_network` is an ordinary Keras model.
    """

    def __init__(self, env_id: str, config: DQNConfig | None = None, seed: int = 0):
        if config is not None and not isinstance(config, DQNConfig):
            raise ValueError(f"config must be a DQNConfig or None, got {config!r}")
        seed = check_seed("seed", seed)  # before anything is seeded with it
        self.env_id, self.config, self.seed = env_id, config or DQNConfig(), seed
        config = self.config
        probe_env = gym.make(env_id)
        space, actions = probe_env.observation_space, probe_env.action_space
        if not isinstance(actions, gym.spaces.Discrete):
            raise ValueError(f"{env_id} needs a Discrete action space, got {actions}")
        if not (isinstance(space, gym.spaces.Box) and len(space.shape) == 1):
            raise ValueError(f"{env_id} needs a 1-D Box observation, got {space}")
        self.observation_size, self.n_actions = space.shape[0], int(actions.n)
        # independent streams, each a SeedSequence child of the run's seed
        streams = run_streams(seed, config.num_envs)
        seed_everything(streams.network, tensorflow=True)
        super().__init__(self.observation_size, self.n_actions, config)
        self.memory = ReplayMemory(
            config.memory_capacity,
            (self.observation_size,),
            np.float32,
            seed=streams.replay,
        )
        self.rng = streams.exploration
        self._streams = streams  # the environments' seeds, used when they are made
        # the run so far: what `train` continues and a checkpoint holds
        self.env_steps = 0  # environment steps played so far (all envs)
        self.log = TrainLog()
        self._evaluation_seeds = None  # (probe, held-out) of the log's evaluations
        self.kept_weights = self.q_network.get_weights()
        self.last_loss = tf.constant(np.nan)
        self.train_seconds = 0.0  # training wall time, evaluations excluded
        self.checkpoint_step = 0  # env_steps at the last checkpoint
        self._queues = [
            NStepQueue(self.memory, config.n_step, config.discount)
            for _ in range(config.num_envs)
        ]
        self._episode_returns = np.zeros(config.num_envs)
        # environments whose episode ended at the last step (reset at the next one)
        self._needs_reset = np.zeros(config.num_envs, dtype=bool)
        self._envs: gym.vector.VectorEnv | None = None
        self._env_rng_states: dict | None = None  # set by load_checkpoint
        self._observations: np.ndarray | None = None
        self._compile()

    # -- acting ---------------------------------------------------------------------
    def epsilon(self) -> float:
        """Exploration at the current environment step (linear decay)."""
        return self.config.epsilon_at(self.env_steps)

    def act(self, observations: np.ndarray, learn: bool) -> np.ndarray:
        """Epsilon-greedy actions for a batch of observations; with `learn`, the same
        compiled call also takes `gradient_steps` gradient steps."""
        config = self.config
        tensor = tf.constant(observations, tf.float32)
        if learn:
            batch = self.memory.sample(config.batch_size * config.gradient_steps)
            packed = pack(batch).reshape(config.gradient_steps, config.batch_size, -1)
            greedy, self.last_loss = self._act_and_learn(tensor, tf.constant(packed))
        else:
            greedy = self._greedy(tensor)
        actions = greedy.numpy()
        explore = self.rng.random(len(actions)) < self.epsilon()
        actions[explore] = self.rng.integers(self.n_actions, size=explore.sum())
        return actions

    def evaluate(
        self, seeds: Sequence[int], weights: list[np.ndarray] | None = None
    ) -> np.ndarray:
        """Greedy return of one episode from each seeded start state, all in lockstep
        (one batched network call per step); with `weights`, those weights'."""
        seeds = check_seeds("seeds", seeds)
        if not seeds:
            raise ValueError("seeds must hold at least one start state's seed")
        if weights is not None:
            current = self.q_network.get_weights()
            shapes = [np.shape(w) for w in weights]
            if shapes != [w.shape for w in current]:
                raise ValueError(
                    f"weights must have the Q-network's shapes "
                    f"{[w.shape for w in current]}, got {shapes}"
                )
            try:
                self.q_network.set_weights(weights)
                return self.evaluate(seeds)
            finally:
                self.q_network.set_weights(current)
        return play_greedy(self._greedy, self.env_id, seeds).returns

    # -- training -------------------------------------------------------------------
    def train(
        self,
        total_steps: int,
        eval_every: int,
        probe_seeds: Sequence[int] = (),
        held_out_seeds: Sequence[int] = (),
        kept_path: str | Path | None = None,
        log_dir: str | Path | None = None,
        progress: bool = True,
        description: str = "",
        checkpoint_dir: str | Path | None = None,
        checkpoint_every: int = 50_000,
        keep_checkpoints: int = 3,
        callback: Callable[[DQNAgent], None] | None = None,
    ) -> TrainLog:
        """Play and learn until `total_steps` environment steps (all envs together).

        A fresh agent starts from its seed; an agent that has trained, or was
        loaded with `load_checkpoint`, continues where it stopped, so that
        `train(n)` after a resume finishes the same run.

        Every `eval_every` steps the greedy agent plays the probe starts and the
        held-out starts (timed apart from training), then `callback(self)` runs
        (it may raise to stop the run: a search prunes a trial that way). The
        weights with the best probe mean are kept in `self.kept_weights` (and
        saved atomically to `kept_path`); the held-out starts are only measured.
        With `checkpoint_dir`, a checkpoint (`utils.checkpoint`) is written at the
        first episode end after every `checkpoint_every` steps, keeping the last
        `keep_checkpoints`. With `log_dir`, every episode's return, epsilon and the
        last loss go to TensorBoard through one `ModifiedTensorBoard` writer.
        """
        from tqdm.auto import tqdm

        config = self.config
        for name, value, low in (
            ("total_steps", total_steps, config.num_envs),
            ("eval_every", eval_every, 1),
            ("checkpoint_every", checkpoint_every, 1),
            ("keep_checkpoints", keep_checkpoints, 1),
        ):
            if not is_integer(value) or value < low:
                raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
        if total_steps < self.env_steps:
            raise ValueError(
                f"total_steps ({total_steps:,}) is below the {self.env_steps:,} steps "
                "this agent has trained: train(n) trains until step n"
            )
        probe_seeds = check_seeds("probe_seeds", probe_seeds)
        held_out_seeds = check_seeds("held_out_seeds", held_out_seeds)
        self._check_evaluation_seeds(probe_seeds, held_out_seeds)
        if callback is not None and not callable(callback):
            raise ValueError(f"callback must be callable or None, got {callback!r}")
        if not isinstance(description, str):
            raise ValueError(f"description must be a str, got {description!r}")
        if (
            log_dir is not None
            and Path(log_dir).exists()
            and not Path(log_dir).is_dir()
        ):
            raise ValueError(f"log_dir {log_dir} is a file, not a folder")
        if kept_path is not None:
            if not isinstance(kept_path, (str, os.PathLike)):
                raise ValueError(f"kept_path must be a path, got {kept_path!r}")
            kept_path = Path(kept_path)
            if kept_path.suffix != ".keras":
                raise ValueError(
                    f"kept_path must end in .keras, got {str(kept_path)!r}"
                )
            if kept_path.is_dir():
                raise ValueError(
                    f"kept_path {str(kept_path)!r} is a folder, not a file"
                )
            if self.env_steps == 0 and kept_path.exists():  # a fresh run's file
                raise FileExistsError(
                    f"{kept_path} exists: it holds another run's kept weights; "
                    "choose a new path"
                )
        check_schedule(
            total_steps,
            eval_every,
            config.num_envs,
            probe_seeds,
            held_out_seeds,
            kept_path,
        )
        if checkpoint_dir is not None:
            if Path(checkpoint_dir).exists() and not Path(checkpoint_dir).is_dir():
                raise ValueError(
                    f"checkpoint_dir {checkpoint_dir} is a file, not a folder"
                )
            checkpoint.check_can_write(self, checkpoint_dir, checkpoint_every)
        envs = self._environments()
        board = None
        if log_dir is not None:
            from utils.tensorboard import ModifiedTensorBoard

            board = ModifiedTensorBoard(log_dir=str(log_dir))
        log = self.log
        bar = tqdm(
            initial=self.env_steps,
            total=total_steps,
            desc=description,
            disable=not progress,
            mininterval=1,
        )
        tic = time.perf_counter()
        for vector_step in range(
            self.env_steps // config.num_envs + 1, total_steps // config.num_envs + 1
        ):
            if self._needs_reset.any():  # the finished environments start anew
                self._observations, _ = envs.reset(
                    options={"reset_mask": self._needs_reset}
                )
                self._needs_reset[:] = False
            observations = self._observations
            if len(self.memory) >= config.learning_starts:
                learn = vector_step % config.train_every == 0
                actions = self.act(observations, learn)
            else:  # random play fills the memory
                actions = self.rng.integers(self.n_actions, size=config.num_envs)
            next_observations, rewards, terminated, truncated, _ = envs.step(actions)
            done = terminated | truncated
            # reset at the next step: an episode end is a moment with nothing to save
            self._observations, self._needs_reset = next_observations, done
            for i in range(config.num_envs):
                self._queues[i].push(
                    observations[i],
                    actions[i],
                    rewards[i],
                    next_observations[i],
                    terminated[i],
                    truncated[i],
                )
            self.env_steps += config.num_envs
            self._episode_returns += rewards
            for i in np.flatnonzero(done):
                log.episode_steps.append(self.env_steps)
                log.episode_returns.append(float(self._episode_returns[i]))
                log.episode_terminated.append(bool(terminated[i]))
                self._episode_returns[i] = 0.0
                if board is not None:
                    board.step = len(log.episode_returns)
                    board.update_stats(
                        episode_return=log.episode_returns[-1],
                        epsilon=self.epsilon(),
                        loss=float(self.last_loss),
                    )
                recent = np.mean(log.episode_returns[-20:])
                bar.set_postfix(avg_return=f"{recent:.1f}", refresh=False)
            bar.update(config.num_envs)
            if self.env_steps % eval_every < config.num_envs:
                self.train_seconds += time.perf_counter() - tic
                self._evaluate_during_training(probe_seeds, held_out_seeds, kept_path)
                if callback is not None:
                    callback(self)
                tic = time.perf_counter()
            if (
                checkpoint_dir is not None
                and done.all()
                and self.env_steps - self.checkpoint_step >= checkpoint_every
            ):  # an episode boundary: nothing of the episode is left to save
                self.train_seconds += time.perf_counter() - tic
                self.checkpoint_step = self.env_steps
                checkpoint.save(self, checkpoint_dir, keep=keep_checkpoints)
                tic = time.perf_counter()
        self.train_seconds += time.perf_counter() - tic
        bar.close()
        if board is not None:
            board.close()
        return log

    def _check_evaluation_seeds(
        self, probe_seeds: tuple, held_out_seeds: tuple
    ) -> None:
        """Refuse evaluation starts other than those of the run's earlier evaluations:
        the log's means would mix two sets of starts (and a checkpoint of it would
        not load)."""
        log, seeds = self.log, (probe_seeds, held_out_seeds)
        if not log.eval_steps:
            self._evaluation_seeds = seeds
            return
        earlier = self._evaluation_seeds  # None: the run was loaded from disk
        had = (bool(log.probe_means), bool(log.held_out_means))
        if (earlier is not None and seeds != earlier) or had != (
            bool(probe_seeds),
            bool(held_out_seeds),
        ):
            raise ValueError(
                "probe_seeds and held_out_seeds must be the starts of this run's "
                f"earlier evaluations ({len(log.eval_steps)} so far, with "
                f"{'no' if not had[0] else 'the'} probe and "
                f"{'no' if not had[1] else 'the'} held-out starts), got "
                f"{len(probe_seeds)} probe and {len(held_out_seeds)} held-out seeds"
            )
        self._evaluation_seeds = seeds

    def _environments(self) -> gym.vector.VectorEnv:
        """The training environments, made (and reset) on the first call.

        A fresh agent seeds each with its own seed from the run's streams
        (`utils.seeding.run_streams`); an agent loaded from a checkpoint
        restores their random generators and starts the next episode from there.
        Finished environments are reset by `train` itself (autoreset disabled), at
        the start of the next step, so that an episode end is a moment with nothing
        left to save, whether `train` is running or has returned.
        """
        if self._envs is None:
            envs = gym.make_vec(
                self.env_id,
                num_envs=self.config.num_envs,
                vectorization_mode="sync",
                vector_kwargs={"autoreset_mode": gym.vector.AutoresetMode.DISABLED},
            )
            if self._env_rng_states is None:
                vector_space, *spaces = self._streams.action_spaces
                envs.action_space.seed(vector_space)
                for env, space_seed in zip(envs.envs, spaces):
                    env.action_space.seed(space_seed)
                reset_seeds = list(self._streams.environments)
                self._observations, _ = envs.reset(seed=reset_seeds)
            else:
                checkpoint.restore_env_rngs(envs, self._env_rng_states)
                everyone = np.ones(self.config.num_envs, dtype=bool)
                self._observations, _ = envs.reset(options={"reset_mask": everyone})
            self._envs = envs
        return self._envs

    def _evaluate_during_training(
        self,
        probe_seeds: Sequence[int],
        held_out_seeds: Sequence[int],
        kept_path: str | Path | None,
    ) -> None:
        """Measure the greedy agent on the probe and held-out starts; keep the
        weights when the probe mean is the best so far."""
        log = self.log
        log.eval_steps.append(self.env_steps)
        log.train_seconds.append(self.train_seconds)
        if probe_seeds:
            probe_mean = float(self.evaluate(probe_seeds).mean())
            log.probe_means.append(probe_mean)
            if log.kept_step is None or probe_mean > max(log.probe_means[:-1]):
                log.kept_step = self.env_steps
                self.kept_weights = self.q_network.get_weights()
                if kept_path is not None:
                    save_model(kept_path, self.q_network, overwrite=True)
        if held_out_seeds:
            log.held_out_means.append(float(self.evaluate(held_out_seeds).mean()))

    # -- checkpoints ----------------------------------------------------------------
    @classmethod
    def from_checkpoint(cls, path: str | Path) -> DQNAgent:
        """A new agent that continues the run checkpointed at `path` (its
        environment, settings and seed are the checkpoint's)."""
        state = checkpoint.read_state(path)
        config = checkpoint.config_from_state(state)
        # a damaged file is refused before the agent is built (which seeds Python,
        # NumPy and TensorFlow)
        checkpoint.check_files(Path(path), state["files"])
        agent = cls(state["env_id"], config, seed=state["seed"])
        agent.load_checkpoint(path)
        return agent

    def load_checkpoint(self, path: str | Path) -> None:
        """Continue the run checkpointed at `path`; see `utils.checkpoint.load`."""
        checkpoint.load(self, path)

    def kept_network(self) -> keras.Sequential:
        """A copy of the Q-network holding the kept weights."""
        network = self.build_network()
        network.set_weights(self.kept_weights)
        return network
