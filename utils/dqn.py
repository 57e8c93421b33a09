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

import contextlib
import copy
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym
import keras
import numpy as np
import tensorflow as tf

from utils import checkpoint
from utils.config import (
    DQNConfig,
    TrainingPlan,
    check_env,
    check_evaluate_in,
    check_seed,
    check_seeds,
)
from utils.evaluation import Episodes, play_greedy
from utils.nstep import NStepQueue
from utils.qnetwork import DuelingHead, build_q_network
from utils.replay import ReplayMemory
from utils.runs import save_model
from utils.seeding import run_streams, seed_everything
from utils.trainlog import TrainLog
from utils.twins import greedy_returns, start_states, twin
from utils.update import DQNUpdate, pack

# the names notebooks and tests import from here
__all__ = [
    "DQNAgent",
    "DQNConfig",
    "DuelingHead",
    "Episodes",
    "RunState",
    "TrainLog",
    "TrainingPlan",
    "build_q_network",
    "play_greedy",
]


@dataclass
class RunState:
    """Where a run stands at an episode end: everything `train` continues from
    besides the agent's environment, settings and seed, as plain values. A
    checkpoint writes it whole and reads it whole (`DQNAgent.resumable_state`,
    `DQNAgent.restore`); the process-wide generators (Python's, NumPy's and
    TensorFlow's global ones) are the checkpoint's to save."""

    env_steps: int  # environment steps played (all environments)
    checkpoint_step: int  # env_steps at the last checkpoint
    train_seconds: float  # training wall time, evaluations excluded
    last_loss: float  # the loss of the last gradient step (NaN before the first)
    log: TrainLog
    # (probe, held-out) starts of the log's evaluations; None before the first
    evaluation_seeds: tuple[tuple[int, ...], tuple[int, ...]] | None
    # where the log's evaluations played ("gymnasium" or "twin"); None before the first
    evaluate_in: str | None
    # the file the run saves its kept network to (its real path); None: none yet
    kept_path: str | None
    q_weights: list[np.ndarray]
    target_weights: list[np.ndarray]
    kept_weights: list[np.ndarray]
    optimizer_variables: list[np.ndarray]  # Adam's, its step counter included
    memory_arrays: dict[str, np.ndarray]  # the replay memory's arrays, whole
    memory_position: int  # where the replay memory writes next
    memory_size: int  # transitions the replay memory holds
    # bit-generator states: "exploration", "replay", and "environments" (each
    # environment's and action space's, as `checkpoint.env_rng_states` records them)
    generators: dict


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
        space, actions = check_env("env_id", env_id)
        self.env_id, self.config, self.seed = env_id, config or DQNConfig(), seed
        config = self.config
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
        # the run so far: what `train` continues and a checkpoint holds (RunState)
        self.env_steps = 0  # environment steps played so far (all envs)
        self.log = TrainLog()
        self._evaluation_seeds = None  # (probe, held-out) of the log's evaluations
        self._evaluate_in = None  # where the log's evaluations played
        self._twin_play = None  # the compiled greedy episodes in the twin, when asked
        self._twin_starts = {}  # start seeds -> the twin's start states
        self._kept_path: str | None = None  # the file the kept network is saved to
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
        self._env_rng_states: dict | None = None  # set by restore
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
        self,
        seeds: Sequence[int],
        weights: list[np.ndarray] | None = None,
        evaluate_in: str = "gymnasium",
    ) -> np.ndarray:
        """Greedy return of one episode from each seeded start state, all in lockstep
        (one batched network call per step); with `weights`, those weights'. With
        `evaluate_in="twin"`, the episodes play in the environment's TensorFlow twin
        (`utils.twins`) from gymnasium's own start states, in one compiled call
        (CartPole's and MountainCar's episodes are gymnasium's; Acrobot's chaotic
        physics lets single episodes end differently, means agree closely)."""
        seeds = check_seeds("seeds", seeds)
        if not seeds:
            raise ValueError("seeds must hold at least one start state's seed")
        check_evaluate_in(evaluate_in, self.env_id)
        if weights is not None:
            current = self.q_network.get_weights()
            what = (
                f"weights must be a list of finite real arrays of the Q-network's "
                f"shapes {[w.shape for w in current]} (as get_weights() gives)"
            )
            if not isinstance(weights, (list, tuple)):
                raise ValueError(f"{what}, got {weights!r:.80}")
            arrays = [np.asarray(w) for w in weights]
            shapes = [a.shape for a in arrays]
            if shapes != [w.shape for w in current]:
                raise ValueError(f"{what}, got shapes {shapes}")
            if not all(a.dtype.kind in "iuf" and np.isfinite(a).all() for a in arrays):
                raise ValueError(f"{what}, got a non-real or non-finite value")
            try:
                self.q_network.set_weights(weights)
                return self.evaluate(seeds, evaluate_in=evaluate_in)
            finally:
                self.q_network.set_weights(current)
        if evaluate_in == "twin":
            return self._play_in_twin(seeds)
        return play_greedy(self._greedy, self.env_id, seeds).returns

    def _play_in_twin(self, seeds: tuple[int, ...]) -> np.ndarray:
        """The greedy returns from `seeds`' starts in the twin (compiled once)."""
        env = twin(self.env_id)
        if self._twin_play is None:
            network = self.q_network

            def play(states):
                return greedy_returns(env, lambda o: network(o, training=False), states)

            self._twin_play = tf.function(play, jit_compile=True, reduce_retracing=True)
        if seeds not in self._twin_starts:
            self._twin_starts[seeds] = start_states(env, seeds)
        return self._twin_play(self._twin_starts[seeds]).numpy().astype(float)

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
        evaluate_in: str = "gymnasium",
    ) -> TrainLog:
        """Play and learn until `total_steps` environment steps (all envs together).

        A fresh agent starts from its seed; an agent that has trained, or was
        loaded with `load_checkpoint`, continues where it stopped, so that
        `train(n)` after a resume finishes the same run.

        Every `eval_every` steps the greedy agent plays the probe starts and the
        held-out starts (timed apart from training; in gymnasium, or with
        `evaluate_in="twin"` in the environment's TensorFlow twin from gymnasium's
        own starts, all episodes in one compiled call), then `callback(self)` runs
        (it may raise to stop the run: a search prunes a trial that way). The
        weights with the best probe mean are kept in `self.kept_weights` (and
        saved atomically to `kept_path`); the held-out starts are only measured.
        With `checkpoint_dir`, a checkpoint (`utils.checkpoint`) is written at the
        first episode end after every `checkpoint_every` steps, keeping the last
        `keep_checkpoints`. With `log_dir`, every episode's return, epsilon and the
        last loss go to TensorBoard through one `ModifiedTensorBoard` writer.

        The arguments are checked before anything happens (`TrainingPlan`, then
        `check_plan`): a refused call changes nothing.
        """
        from tqdm.auto import tqdm

        plan = TrainingPlan(
            total_steps,
            eval_every,
            self.config.num_envs,
            probe_seeds,
            held_out_seeds,
            kept_path,
            log_dir,
            progress,
            description,
            checkpoint_dir,
            checkpoint_every,
            keep_checkpoints,
            callback,
            evaluate_in,
        )
        self.check_plan(plan)
        board = self._tensorboard(plan.log_dir)
        envs = self._environments()
        if plan.kept_path is not None:  # from now on, this run's file
            self._kept_path = os.path.realpath(plan.kept_path)
        num_envs = self.config.num_envs
        bar = tqdm(
            initial=self.env_steps,
            total=plan.total_steps,
            desc=plan.description,
            disable=not plan.progress,
            mininterval=1,
        )
        first, last = self.env_steps // num_envs + 1, plan.total_steps // num_envs + 1
        clock = self._training_clock()
        for vector_step in range(first, last):
            done = self._play_one_step(envs, vector_step, board, bar)
            if self.env_steps % plan.eval_every < num_envs:
                with clock.paused():
                    self._evaluate_during_training(plan)
                    if plan.callback is not None:
                        plan.callback(self)
            if (
                plan.checkpoint_dir is not None
                and done.all()
                and self.env_steps - self.checkpoint_step >= plan.checkpoint_every
            ):  # an episode boundary: nothing of the episode is left to save
                with clock.paused():
                    self.checkpoint_step = self.env_steps
                    checkpoint.save(self, plan.checkpoint_dir, plan.keep_checkpoints)
        clock.stop()
        bar.close()
        if board is not None:
            board.close()
        return self.log

    def check_plan(self, plan: TrainingPlan) -> None:
        """Refuse a plan this run cannot keep: a step it has passed, other
        evaluation starts than its earlier evaluations' (the log's means would mix
        two sets of starts), a `kept_path` that holds another run's network, or a
        checkpoint folder that `checkpoint.save` could not use."""
        if plan.num_envs != self.config.num_envs:
            raise ValueError(
                f"the plan steps {plan.num_envs} environments, this agent "
                f"{self.config.num_envs}"
            )
        if plan.total_steps < self.env_steps:
            raise ValueError(
                f"total_steps ({plan.total_steps:,}) is below the {self.env_steps:,} "
                "steps this agent has trained: train(n) trains until step n"
            )
        if self.log.eval_steps and plan.evaluation_seeds != self._evaluation_seeds:
            probe, held_out = self._evaluation_seeds
            raise ValueError(
                "probe_seeds and held_out_seeds must be the starts of this run's "
                f"earlier evaluations ({len(self.log.eval_steps)} so far, with "
                f"{len(probe)} probe and {len(held_out)} held-out seeds), got "
                f"{len(plan.probe_seeds)} probe and {len(plan.held_out_seeds)} "
                "held-out seeds, or other seeds"
            )
        if self.log.eval_steps and plan.evaluate_in != self._evaluate_in:
            raise ValueError(
                f"evaluate_in must be where this run's earlier evaluations played "
                f"({self._evaluate_in!r}: the log's means would mix two), got "
                f"{plan.evaluate_in!r}"
            )
        check_evaluate_in(plan.evaluate_in, self.env_id)
        if plan.kept_path is not None and plan.kept_path.exists():
            if os.path.realpath(plan.kept_path) != self._kept_path:
                raise FileExistsError(
                    f"{plan.kept_path} exists: it holds another run's kept weights "
                    "(this run never saved there); choose a new path"
                )
        if plan.checkpoint_dir is not None:
            checkpoint.check_can_write(self, plan.checkpoint_dir, plan.checkpoint_every)

    @staticmethod
    def _tensorboard(log_dir: Path | None):
        """One TensorBoard writer for the episodes' records, or None."""
        if log_dir is None:
            return None
        from utils.tensorboard import ModifiedTensorBoard

        return ModifiedTensorBoard(log_dir=str(log_dir))

    def _training_clock(self) -> _Clock:
        """A stopwatch that adds training time to `train_seconds`."""
        return _Clock(self)

    def _play_one_step(self, envs, vector_step: int, board, bar) -> np.ndarray:
        """One step of every environment: reset the finished ones, act (and learn,
        every `train_every` vector steps once the memory holds `learning_starts`
        transitions), remember, record the episodes that end. Returns which ended."""
        config = self.config
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
            self._record_episode(float(self._episode_returns[i]), bool(terminated[i]))
            self._episode_returns[i] = 0.0
            if board is not None:
                board.step = len(self.log.episode_returns)
                board.update_stats(
                    episode_return=self.log.episode_returns[-1],
                    epsilon=self.epsilon(),
                    loss=float(self.last_loss),
                )
            recent = np.mean(self.log.episode_returns[-20:])
            bar.set_postfix(avg_return=f"{recent:.1f}", refresh=False)
        bar.update(config.num_envs)
        return done

    def _record_episode(self, episode_return: float, terminated: bool) -> None:
        log = self.log
        log.episode_steps.append(self.env_steps)
        log.episode_returns.append(episode_return)
        log.episode_terminated.append(terminated)

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

    def _evaluate_during_training(self, plan: TrainingPlan) -> None:
        """Measure the greedy agent on the probe and held-out starts; keep the
        weights when the probe mean is the best so far."""
        log = self.log
        log.eval_steps.append(self.env_steps)
        log.train_seconds.append(self.train_seconds)
        self._evaluation_seeds = plan.evaluation_seeds
        self._evaluate_in = where = plan.evaluate_in
        if plan.probe_seeds:
            probe_mean = float(
                self.evaluate(plan.probe_seeds, evaluate_in=where).mean()
            )
            log.probe_means.append(probe_mean)
            if log.kept_step is None or probe_mean > max(log.probe_means[:-1]):
                log.kept_step = self.env_steps
                self.kept_weights = self.q_network.get_weights()
                if plan.kept_path is not None:
                    save_model(plan.kept_path, self.q_network, overwrite=True)
        if plan.held_out_seeds:
            held_out = self.evaluate(plan.held_out_seeds, evaluate_in=where)
            log.held_out_means.append(float(held_out.mean()))

    # -- checkpoints ----------------------------------------------------------------
    @classmethod
    def from_checkpoint(cls, path: str | Path) -> DQNAgent:
        """A new agent that continues the run checkpointed at `path` (its
        environment, settings and seed are the checkpoint's)."""
        # the whole state.json and every file's SHA-256 are checked before the agent
        # is built (which seeds Python, NumPy and TensorFlow); what can still fail
        # later leaves those generators as they were
        state = checkpoint.read_state(path)
        checkpoint.check_files(Path(path), state["files"])
        config = checkpoint.config_from_state(state)
        with checkpoint.global_rngs_kept_on_error():
            agent = cls(state["env_id"], config, seed=state["seed"])
            agent.load_checkpoint(path)
        return agent

    def load_checkpoint(self, path: str | Path) -> None:
        """Continue the run checkpointed at `path`; see `utils.checkpoint.load`."""
        checkpoint.load(self, path)

    def at_episode_end(self) -> bool:
        """Whether every environment has just ended its episode (and none is
        reset yet): a moment a run can be saved and continued exactly."""
        if self._envs is None:  # restored: every episode starts at the next step
            return self.env_steps > 0
        return self.env_steps > 0 and bool(self._needs_reset.all())

    def resumable_state(self) -> RunState:
        """Where the run stands, copied (what a checkpoint writes); only at an
        episode end, where nothing of an episode is left to save."""
        if not self.at_episode_end():
            where = "has not played yet" if self.env_steps == 0 else "is mid-episode"
            raise ValueError(
                f"a run is saved at an episode end, and this agent {where} "
                f"(step {self.env_steps}): a resume could not continue its episode"
            )
        assert not any(queue.pending for queue in self._queues)  # flushed at the end
        memory = self.memory
        return RunState(
            env_steps=self.env_steps,
            checkpoint_step=self.checkpoint_step,
            train_seconds=self.train_seconds,
            last_loss=float(self.last_loss),
            log=TrainLog(**copy.deepcopy(vars(self.log))),
            evaluation_seeds=self._evaluation_seeds,
            evaluate_in=self._evaluate_in,
            kept_path=self._kept_path,
            q_weights=self.q_network.get_weights(),
            target_weights=self.target_network.get_weights(),
            kept_weights=[w.copy() for w in self.kept_weights],
            optimizer_variables=[v.numpy() for v in self.optimizer.variables],
            memory_arrays={
                name: getattr(memory, name).copy() for name in checkpoint.MEMORY_FIELDS
            },
            memory_position=memory.position,
            memory_size=memory.size,
            generators={
                "exploration": self.rng.bit_generator.state,
                "replay": memory.rng.bit_generator.state,
                "environments": self._env_rng_states
                if self._envs is None  # restored, and not played since
                else checkpoint.env_rng_states(self._envs),
            },
        )

    def restore(self, state: RunState) -> None:
        """Continue the run from `state` (`resumable_state`'s, or a checkpoint's):
        the next `train` call starts a new episode in every environment, from the
        environments' restored generators. Shapes are checked before anything is
        set; the values are the caller's to vouch for (`checkpoint.load` checks
        them)."""
        problems = self._restore_problems(state)
        if problems:
            raise ValueError("restore: " + "; ".join(problems))
        self.q_network.set_weights(state.q_weights)
        self.target_network.set_weights(state.target_weights)
        self.kept_weights = [np.array(w) for w in state.kept_weights]
        for name, array in state.memory_arrays.items():
            getattr(self.memory, name)[...] = array
        self.memory.position, self.memory.size = (
            state.memory_position,
            state.memory_size,
        )
        for variable, array in zip(self.optimizer.variables, state.optimizer_variables):
            variable.assign(array)
        self.env_steps, self.checkpoint_step = state.env_steps, state.checkpoint_step
        self.train_seconds = state.train_seconds
        self.last_loss = np.float32(state.last_loss)
        self.log = TrainLog(**copy.deepcopy(vars(state.log)))
        seeds = state.evaluation_seeds
        self._evaluation_seeds = None if seeds is None else tuple(map(tuple, seeds))
        self._evaluate_in = state.evaluate_in
        self._kept_path = state.kept_path
        self.rng.bit_generator.state = state.generators["exploration"]
        self.memory.rng.bit_generator.state = state.generators["replay"]
        for queue in self._queues:
            queue.pending.clear()
        self._episode_returns[:] = 0.0
        self._needs_reset[:] = False
        if self._envs is not None:
            self._envs.close()
        self._envs, self._observations = None, None
        self._env_rng_states = state.generators["environments"]

    def _restore_problems(self, state: RunState) -> list[str]:
        if not isinstance(state, RunState):
            return [f"takes a RunState, got {state!r:.60}"]
        problems = []
        shapes = [w.shape for w in self.q_network.get_weights()]
        for name in ("q_weights", "target_weights", "kept_weights"):
            if [np.shape(w) for w in getattr(state, name)] != shapes:
                problems.append(f"{name} must have the Q-network's shapes {shapes}")
        variables = [tuple(v.shape) for v in self.optimizer.variables]
        if [np.shape(v) for v in state.optimizer_variables] != variables:
            problems.append(f"optimizer_variables must have shapes {variables}")
        for name in checkpoint.MEMORY_FIELDS:
            like = getattr(self.memory, name)
            array = state.memory_arrays.get(name)
            if np.shape(array) != like.shape:
                problems.append(f"memory_arrays[{name!r}] must have shape {like.shape}")
        if not 0 <= state.memory_size <= self.memory.capacity:
            problems.append(f"memory_size {state.memory_size} does not fit the memory")
        if state.evaluate_in not in (None, "gymnasium", "twin") or (
            (state.evaluate_in is None) != (not state.log.eval_steps)
        ):
            problems.append(
                f"evaluate_in must be None before the first evaluation and "
                f"'gymnasium' or 'twin' after it, got {state.evaluate_in!r}"
            )
        elif state.evaluate_in is not None:
            try:  # "twin" only for an environment that has one
                check_evaluate_in(state.evaluate_in, self.env_id)
            except ValueError as error:
                problems.append(str(error))
        return problems

    def kept_network(self) -> keras.Sequential:
        """A copy of the Q-network holding the kept weights."""
        network = self.build_network()
        network.set_weights(self.kept_weights)
        return network


class _Clock:
    """Training wall time, added to the agent's `train_seconds`; `paused()` leaves
    out what is not training (evaluations, checkpoints)."""

    def __init__(self, agent: DQNAgent) -> None:
        self.agent, self.tic = agent, time.perf_counter()

    def stop(self) -> None:
        self.agent.train_seconds += time.perf_counter() - self.tic

    @contextlib.contextmanager
    def paused(self):
        self.stop()
        try:
            yield
        finally:
            self.tic = time.perf_counter()
