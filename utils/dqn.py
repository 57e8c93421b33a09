"""The course's DQN agent: notebook 06's agent, packaged, with switches.

Notebook 06 writes the update by hand; this module is the same code in one class,
so that notebooks 07-09 share one agent instead of copying a training loop. What
06 fixed stays fixed: the TD target is computed outside the tape, only
`terminated` stops the bootstrap, acting and learning are one compiled call per
(vector) environment step, and the reported numbers come from start states that
chose nothing.

The switches (`DQNConfig`): the target network (`"soft"` Polyak updates, a
`"hard"` copy every N gradient steps, or `"none"`: the TD target then comes from
the online network itself), Double DQN, a dueling head, Huber or MSE, n-step
returns, and how many environments, gradient steps and transitions per call.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import gymnasium as gym
import keras
import numpy as np
import tensorflow as tf

from utils.nstep import NStepQueue
from utils.replay import Batch, ReplayMemory
from utils.runs import save_model
from utils.seeding import seed_everything


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
        choices = {"loss": ("huber", "mse"), "target": ("soft", "hard", "none")}
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ValueError(
                    f"{name} must be one of {allowed}, got {getattr(self, name)!r}"
                )
        for name in (
            "n_step",
            "memory_capacity",
            "batch_size",
            "num_envs",
            "train_every",
            "gradient_steps",
            "target_update_every",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        # a training call samples batch_size * gradient_steps transitions
        needed = self.batch_size * self.gradient_steps
        if self.learning_starts < needed:
            raise ValueError(
                f"learning_starts must be >= batch_size * gradient_steps ({needed}), "
                f"got {self.learning_starts}"
            )
        if not 0.0 < self.tau <= 1.0:
            raise ValueError(f"tau must be in (0, 1], got {self.tau}")
        if not 0.0 <= self.discount <= 1.0:
            raise ValueError(f"discount must be in [0, 1], got {self.discount}")
        if self.double and self.target == "none":
            raise ValueError(
                "double=True needs a target network to value the next action "
                "(target='soft' or 'hard'), got target='none'"
            )

    def replace(self, **changes) -> DQNConfig:
        """A copy with some settings changed (the one-switch variants of 07)."""
        return dataclasses.replace(self, **changes)


@keras.saving.register_keras_serializable(package="utils")
class DuelingHead(keras.layers.Layer):
    """Q(s, a) = V(s) + A(s, a) - mean over a of A(s, a), from one feature vector.

    One Dense unit estimates the state's value V, `n_actions` units the advantage
    A of each action; subtracting the mean advantage makes the split unique.
    """

    def __init__(self, n_actions: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.n_actions = int(n_actions)
        self.value = keras.layers.Dense(1)
        self.advantage = keras.layers.Dense(self.n_actions)

    def build(self, input_shape) -> None:
        self.value.build(input_shape)
        self.advantage.build(input_shape)

    def call(self, features):
        advantages = self.advantage(features)
        centred = advantages - keras.ops.mean(advantages, axis=1, keepdims=True)
        return self.value(features) + centred

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.n_actions)

    def get_config(self) -> dict:
        return {**super().get_config(), "n_actions": self.n_actions}


def build_q_network(
    observation_size: int,
    n_actions: int,
    hidden_units: Sequence[int] = (256,),
    dueling: bool = False,
) -> keras.Sequential:
    """An MLP from observation to one Q-value per action (notebook 06's network)."""
    layers = [keras.Input((observation_size,))]
    layers += [keras.layers.Dense(units, activation="relu") for units in hidden_units]
    layers.append(DuelingHead(n_actions) if dueling else keras.layers.Dense(n_actions))
    return keras.Sequential(layers)


def pack(batch: Batch) -> np.ndarray:
    """A batch of transitions as one float32 array, one row per transition:
    observation, next observation, action, reward, terminated.

    A compiled call checks and converts each of its arguments in Python, which for
    a small network costs more than the gradient step itself: one argument instead
    of five makes every training call faster.
    """
    columns = [batch.actions, batch.rewards, batch.terminated]
    return np.concatenate(
        [batch.observations, batch.next_observations, np.column_stack(columns)],
        axis=1,
        dtype=np.float32,
    )


def unpack(packed, observation_size: int) -> tuple:
    """`pack`'s inverse, inside the compiled call: the five fields `update` takes."""
    size = observation_size
    observations, next_observations = packed[:, :size], packed[:, size : 2 * size]
    actions = tf.cast(packed[:, 2 * size], tf.int64)
    rewards, terminated = packed[:, 2 * size + 1], packed[:, 2 * size + 2] > 0.5
    return observations, actions, rewards, next_observations, terminated


@dataclass
class TrainLog:
    """What a training run recorded. Steps are environment steps (all envs)."""

    episode_steps: list[int] = field(default_factory=list)
    episode_returns: list[float] = field(default_factory=list)
    eval_steps: list[int] = field(default_factory=list)
    # greedy mean return on the probe starts (choose the kept weights)
    probe_means: list[float] = field(default_factory=list)
    # greedy mean return on the held-out starts (choose nothing)
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


@dataclass
class Episodes:
    """One greedy episode from each seeded start state."""

    returns: np.ndarray
    lengths: np.ndarray
    # the reward of the last step (LunarLander: -100 a crash, +100 at rest)
    final_rewards: np.ndarray
    # ended by the task (not by the time limit)
    terminated: np.ndarray


def play_greedy(network: Callable, env_id: str, seeds: Sequence[int]) -> Episodes:
    """Play one greedy episode from each seeded start, all in lockstep.

    `network` maps a batch of observations to Q-values (a Keras model, such as a
    loaded `.keras` file) or to actions (an agent's compiled `greedy_actions`).
    """
    envs = gym.make_vec(env_id, num_envs=len(seeds), vectorization_mode="sync")
    observations, _ = envs.reset(seed=list(seeds))
    n = len(seeds)
    returns, lengths = np.zeros(n), np.zeros(n, dtype=int)
    final_rewards, ended = np.zeros(n), np.zeros(n, dtype=bool)
    running = np.ones(n, dtype=bool)
    while running.any():
        output = np.asarray(network(tf.constant(observations, tf.float32)))
        actions = output.argmax(axis=1) if output.ndim == 2 else output
        observations, rewards, terminated, truncated, _ = envs.step(actions)
        returns += rewards * running
        lengths += running
        finished = running & (terminated | truncated)
        final_rewards[finished] = rewards[finished]
        ended[finished] = terminated[finished]
        running &= ~(terminated | truncated)
    envs.close()
    return Episodes(returns, lengths, final_rewards, ended)


class DQNAgent:
    """A DQN for a gymnasium environment with a discrete action space and a vector
    observation, trained over `config.num_envs` environments side by side.

    `train(...)` plays and learns; `evaluate(seeds)` plays one greedy episode from
    each seeded start state; `q_network` is an ordinary Keras model.
    """

    def __init__(self, env_id: str, config: DQNConfig | None = None, seed: int = 0):
        self.env_id, self.config, self.seed = env_id, config or DQNConfig(), seed
        config = self.config
        probe_env = gym.make(env_id)
        space, actions = probe_env.observation_space, probe_env.action_space
        if not isinstance(actions, gym.spaces.Discrete):
            raise ValueError(f"{env_id} needs a Discrete action space, got {actions}")
        if not (isinstance(space, gym.spaces.Box) and len(space.shape) == 1):
            raise ValueError(f"{env_id} needs a 1-D Box observation, got {space}")
        self.observation_size, self.n_actions = space.shape[0], int(actions.n)
        seed_everything(seed, tensorflow=True)
        self.q_network = self.build_network()
        self.target_network = self.build_network()
        self.target_network.set_weights(self.q_network.get_weights())
        self.optimizer = keras.optimizers.Adam(learning_rate=config.learning_rate)
        self.optimizer.build(self.q_network.trainable_variables)
        huber = config.loss == "huber"
        self.loss_fn = (
            keras.losses.Huber() if huber else keras.losses.MeanSquaredError()
        )
        self.memory = ReplayMemory(
            config.memory_capacity, (self.observation_size,), np.float32, seed=seed
        )
        self.rng = np.random.default_rng(seed)
        # the run so far: what `train` continues and a checkpoint holds
        self.env_steps = 0  # environment steps played so far (all envs)
        self.log = TrainLog()
        self.kept_weights = self.q_network.get_weights()
        self.last_loss = tf.constant(np.nan)
        self.train_seconds = 0.0  # training wall time, evaluations excluded
        self.checkpoint_step = 0  # env_steps at the last checkpoint
        self._queues = [
            NStepQueue(self.memory, config.n_step, config.discount)
            for _ in range(config.num_envs)
        ]
        self._episode_returns = np.zeros(config.num_envs)
        self._envs: gym.vector.VectorEnv | None = None
        self._env_rng_states: dict | None = None  # set by load_checkpoint
        self._observations: np.ndarray | None = None
        self._compile()

    def build_network(self) -> keras.Sequential:
        config = self.config
        return build_q_network(
            self.observation_size, self.n_actions, config.hidden_units, config.dueling
        )

    # -- the update: notebook 06's, with the switches -------------------------------
    def td_targets(self, rewards, next_observations, terminated):
        """r + gamma^n * Q'(s', a*), with nothing after termination.

        Q' is the target network (the online one with `target="none"`); a* is
        the argmax of Q' (plain DQN) or of the online network (Double DQN).
        """
        config = self.config
        bootstrap = self.q_network if config.target == "none" else self.target_network
        next_q_values = bootstrap(next_observations, training=False)
        if config.double:  # pick with the online network, value with the target one
            online_q = self.q_network(next_observations, training=False)
            next_actions = tf.argmax(online_q, axis=1)
            one_hot = tf.one_hot(next_actions, self.n_actions)
            next_values = tf.reduce_sum(next_q_values * one_hot, axis=1)
        else:
            next_values = tf.reduce_max(next_q_values, axis=1)
        not_terminated = 1.0 - tf.cast(terminated, tf.float32)
        discount = config.discount**config.n_step
        return rewards + not_terminated * discount * next_values

    def update_target(self) -> None:
        """Move the target network toward the online one: by tau (soft), all the way
        every `target_update_every` gradient steps (hard), or not at all (none)."""
        config = self.config
        if config.target == "none":
            return
        if config.target == "soft":
            tau = config.tau
        else:  # hard: tau is 1 on every N-th gradient step (a copy), 0 otherwise
            copy_now = self.optimizer.iterations % config.target_update_every == 0
            tau = tf.cast(copy_now, tf.float32)
        for target_weight, weight in zip(
            self.target_network.weights, self.q_network.weights
        ):
            target_weight.assign(tau * weight + (1.0 - tau) * target_weight)

    def update(self, observations, actions, rewards, next_observations, terminated):
        """One gradient step on a batch, then the target update. Returns the loss."""
        targets = self.td_targets(rewards, next_observations, terminated)  # 1
        with tf.GradientTape() as tape:  # 2
            q_values = self.q_network(observations, training=True)
            one_hot = tf.one_hot(actions, self.n_actions)
            chosen_q_values = tf.reduce_sum(q_values * one_hot, axis=1)
            loss = self.loss_fn(targets, chosen_q_values)
        variables = self.q_network.trainable_variables
        gradients = tape.gradient(loss, variables)  # 3
        self.optimizer.apply_gradients(zip(gradients, variables))  # 4
        self.update_target()
        return loss

    def _compile(self) -> None:
        """Trace the two compiled calls once: acting, and acting + learning."""
        config, size = self.config, self.observation_size
        observations = tf.TensorSpec([None, size], tf.float32)
        # a training call's minibatches, packed: [gradient_steps, batch_size, columns]
        batches = tf.TensorSpec([config.gradient_steps, None, 2 * size + 3], tf.float32)

        @tf.function(input_signature=[observations])
        def greedy_actions(observations):
            return tf.argmax(self.q_network(observations, training=False), axis=1)

        @tf.function(input_signature=[observations, batches], jit_compile=True)
        def act_and_learn(observations, batches):
            """The greedy actions for `observations`, then `gradient_steps` updates."""
            actions = tf.argmax(self.q_network(observations, training=False), axis=1)
            loss = tf.constant(0.0)
            for step in range(config.gradient_steps):
                loss = self.update(*unpack(batches[step], size))
            return actions, loss

        self.greedy_actions = greedy_actions
        self._greedy = greedy_actions.get_concrete_function()
        self._act_and_learn = act_and_learn.get_concrete_function()

    # -- acting ---------------------------------------------------------------------
    def epsilon(self) -> float:
        """Exploration at the current environment step (linear decay)."""
        config = self.config
        fraction = min(1.0, self.env_steps / config.epsilon_decay_steps)
        return config.epsilon_start + fraction * (
            config.epsilon_end - config.epsilon_start
        )

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
        if weights is not None:
            current = self.q_network.get_weights()
            self.q_network.set_weights(weights)
            try:
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

        from utils import checkpoint

        config = self.config
        if total_steps < config.num_envs:
            raise ValueError(
                f"total_steps must be >= num_envs ({config.num_envs}), "
                f"got {total_steps}"
            )
        if checkpoint_dir is not None:
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
            observations = self._observations
            if len(self.memory) >= config.learning_starts:
                learn = vector_step % config.train_every == 0
                actions = self.act(observations, learn)
            else:  # random play fills the memory
                actions = self.rng.integers(self.n_actions, size=config.num_envs)
            next_observations, rewards, terminated, truncated, _ = envs.step(actions)
            done = terminated | truncated
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
            if done.any():  # the finished environments start their next episode
                next_observations, _ = envs.reset(options={"reset_mask": done})
            self._observations = next_observations
        self.train_seconds += time.perf_counter() - tic
        bar.close()
        if board is not None:
            board.close()
        return log

    def _environments(self) -> gym.vector.VectorEnv:
        """The training environments, made (and reset) on the first call.

        A fresh agent seeds them with its seed; an agent loaded from a checkpoint
        restores their random generators and starts the next episode from there.
        Finished environments are reset by `train` itself (autoreset disabled), so
        that an episode end is a moment with nothing left to save.
        """
        if self._envs is None:
            envs = gym.make_vec(
                self.env_id,
                num_envs=self.config.num_envs,
                vectorization_mode="sync",
                vector_kwargs={"autoreset_mode": gym.vector.AutoresetMode.DISABLED},
            )
            if self._env_rng_states is None:
                envs.action_space.seed(self.seed)
                for i, env in enumerate(envs.envs):
                    env.action_space.seed(self.seed + i)
                self._observations, _ = envs.reset(seed=self.seed)
            else:
                from utils import checkpoint

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
        from utils import checkpoint

        state = checkpoint.read_state(path)
        config = checkpoint.config_from_state(state)
        agent = cls(state["env_id"], config, seed=state["seed"])
        agent.load_checkpoint(path)
        return agent

    def load_checkpoint(self, path: str | Path) -> None:
        """Continue the run checkpointed at `path`; see `utils.checkpoint.load`."""
        from utils import checkpoint

        checkpoint.load(self, path)

    def kept_network(self) -> keras.Sequential:
        """A copy of the Q-network holding the kept weights."""
        network = self.build_network()
        network.set_weights(self.kept_weights)
        return network


# -- many runs side by side ------------------------------------------------------------
@dataclass(frozen=True)
class Run:
    """One training run of a study: which agent, which seed, which budget."""

    env_id: str
    config: DQNConfig
    seed: int
    total_steps: int
    eval_every: int
    probe_seeds: tuple[int, ...]
    held_out_seeds: tuple[int, ...]
    # where the worker saves the kept weights' network (.keras); None: not saved
    kept_path: str | None = None
    # where the run writes its checkpoints; a run whose folder holds one resumes
    checkpoint_dir: str | None = None
    checkpoint_every: int = 50_000
    keep_checkpoints: int = 3


def train_run(run: Run) -> TrainLog:
    """Train one agent as `run` says and return its log: a fresh agent, or, when
    `run.checkpoint_dir` holds a checkpoint, the run continued from the latest."""
    from utils import checkpoint

    agent = DQNAgent(run.env_id, run.config, seed=run.seed)
    if run.checkpoint_dir is not None:
        latest = checkpoint.latest(run.checkpoint_dir)
        if latest is not None:
            agent.load_checkpoint(latest)  # refuses another run's checkpoint
    return agent.train(
        run.total_steps,
        run.eval_every,
        probe_seeds=run.probe_seeds,
        held_out_seeds=run.held_out_seeds,
        kept_path=run.kept_path,
        progress=False,
        checkpoint_dir=run.checkpoint_dir,
        checkpoint_every=run.checkpoint_every,
        keep_checkpoints=run.keep_checkpoints,
    )


def train_run_in_worker(run: Run) -> TrainLog:
    """`train_run` in a process of its own, with one thread, as `train_runs`'s
    workers run it (the target of a `multiprocessing.Process` that may be killed)."""
    _one_thread()
    return train_run(run)


def _one_thread() -> None:
    # each worker process uses one core; the pool runs one worker per core
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)


def train_runs(runs: Sequence[Run], workers: int = 2) -> list[TrainLog]:
    """Train every run, `workers` at a time in fresh processes; logs in run order.

    Each run depends only on its own seed, so the logs do not depend on how many
    workers there are or which finishes first. A worker process starts Python and
    TensorFlow once and then trains runs one after another.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from tqdm.auto import tqdm

    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    context = multiprocessing.get_context("spawn")  # no forked TensorFlow state
    with ProcessPoolExecutor(workers, context, initializer=_one_thread) as pool:
        logs = pool.map(train_run, runs)
        return list(tqdm(logs, total=len(runs), desc="runs"))
