"""Whole DQN runs in one XLA-compiled TensorFlow call: any twin, any switch, many seeds.

`GraphDQN(env, config, seeds, probe_starts)` holds S independent runs of the
packaged agent's algorithm (`utils.DQNAgent`, the same `DQNConfig`) on one
environment written in TensorFlow ops (a `utils.twins.Twin`: CartPole-v1,
Acrobot-v1, MountainCar-v0). Every tensor carries a leading seed axis S: the
Q-network's parameters [S, P], the target network's, Adam's two moments, the
replay memories [S, capacity, ...], the environments [S, num_envs, ...]. One call
of `train(steps)` runs `steps` vector steps of every seed inside one
`tf.function(jit_compile=True)`:

    act (epsilon-greedy) -> step the environments -> store the (n-step)
    transitions -> every `train_every` steps, `gradient_steps` times: sample a
    minibatch, one gradient step, move the target network -> restart finished
    episodes

and ends by playing the greedy policy from the probe starts (and the validation
starts, if given) in the twin, keeping each seed's weights when its probe mean is
its best so far. Learning comes after storing, as in stable-baselines3 and
CleanRL (the packaged agent learns first, from the memory as it was before the
step): XLA then writes the memory in place; sampling it first and writing it
after made XLA copy the whole memory at every step (5x slower at 32 seeds).
Learning starts when a run's memory holds `learning_starts` transitions before
the step, as in the packaged agent.

Each seed draws from its own random streams: `SeedSequence(seed)` spawns one
child each for the initial weights, the environment's start states, the
exploration and the replay sampler, and a draw is the stateless Threefry number
of (child key, counter). A seed's random numbers therefore do not depend on which
other seeds share the call (its arithmetic may round differently: XLA may
vectorise a sum in another order when S changes).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import tensorflow as tf

from utils.config import DQNConfig, check_seeds, is_integer
from utils.twins import Twin, first_outside_starts, greedy_returns, twin

# Keras 3's Adam defaults, which notebook 06 and the packaged agent use
BETA_1, BETA_2, ADAM_EPSILON = 0.9, 0.999, 1e-7
# XLA's own counter-based generator (JAX's default too); named, it is also about
# three times cheaper per draw inside the loop than TensorFlow's "auto_select"
ALG = "threefry"
# layers with at most this many outputs are fused products, not matmuls (`dense`)
FUSED_UP_TO = 2


def seed_keys(seed: int) -> dict[str, np.ndarray]:
    """The four stream keys of one run: init, env, explore, replay (int64s)."""
    children = np.random.SeedSequence(seed).spawn(4)
    names = ("init", "env", "explore", "replay")
    return {
        name: child.generate_state(1, np.uint64)[0].astype(np.int64)
        for name, child in zip(names, children)
    }


@tf.function(jit_compile=True, reduce_retracing=True)
def compiled_uniform(shape, seed: tf.Tensor) -> tf.Tensor:
    """Threefry draws in [0, 1) outside the loop (only XLA implements Threefry)."""
    return tf.random.stateless_uniform(shape, seed, alg=ALG)


def compile_once(method) -> tf.types.experimental.PolymorphicFunction:
    """One engine's method, compiled by XLA the first time it is called.

    Every engine compiles its own programs, once each. TensorFlow counts traces per
    source function, not per engine, and would warn of "retracing" from the sixth
    engine on; that warning is switched off for these (TensorFlow's own switch,
    which it sets for restored functions)."""
    compiled = tf.function(method, jit_compile=True)
    compiled._omit_frequent_tracing_warning = True
    return compiled


def network_shapes(
    observation_size: int, n_actions: int, hidden_units: Sequence[int], dueling: bool
) -> list[tuple[int, ...]]:
    """Kernel and bias shapes of the Q-network, in the order Keras holds them
    (`utils.qnetwork.build_q_network`): the hidden Dense layers, then either the
    output layer or the dueling head's value (1 unit) and advantage layers."""
    sizes = (observation_size, *hidden_units)
    shapes = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        shapes += [(fan_in, fan_out), (fan_out,)]
    last = sizes[-1]
    if dueling:
        return shapes + [(last, 1), (1,), (last, n_actions), (n_actions,)]
    return shapes + [(last, n_actions), (n_actions,)]


def glorot_params(key: int, shapes: Sequence[tuple[int, ...]]) -> np.ndarray:
    """One network's flat parameters as Keras' Dense initialises them: Glorot
    uniform kernels, zero biases."""
    pieces = []
    for k, shape in enumerate(shapes):
        if len(shape) == 1:
            pieces.append(np.zeros(shape, np.float32))
            continue
        limit = math.sqrt(6 / sum(shape))
        draws = compiled_uniform(shape, tf.constant([key, k], tf.int64))
        pieces.append((draws.numpy() * 2 - 1) * limit)
    return np.concatenate([piece.ravel() for piece in pieces])


def unflatten(params: tf.Tensor, shapes: Sequence[tuple[int, ...]]) -> list:
    """S rows of flat parameters [S, P] as the kernels and biases [S, *shape]."""
    weights, start = [], 0
    for shape in shapes:
        size = math.prod(shape)
        weights.append(tf.reshape(params[:, start : start + size], [-1, *shape]))
        start += size
    return weights


def dense(inputs: tf.Tensor, kernel: tf.Tensor, bias: tf.Tensor) -> tf.Tensor:
    """S Dense layers at once: inputs [S, N, i], kernel [S, i, o] -> [S, N, o].

    A batched matmul, except for a layer of at most `FUSED_UP_TO` outputs (CartPole's
    two Q-values, a dueling head's value), written as a broadcast product summed
    over the inputs: XLA fuses that into one loop, spread over the CPU's cores,
    where it runs a batched matmul this thin one seed at a time. Measured side by
    side (`benchmarks/graph_dqn_speed.py`): 1.3-1.6x the all-matmul engine on
    CartPole; fusing wider layers too (Acrobot's three Q-values, or the 256-unit
    hidden layer) was slower than the matmul.
    `tests/utils/test_graph_dqn.py` checks both forms give the matmul's numbers."""
    if kernel.shape[-1] <= FUSED_UP_TO:
        return (
            tf.reduce_sum(inputs[..., :, None] * kernel[:, None], axis=-2)
            + bias[:, None]
        )
    return inputs @ kernel + bias[:, None]


def q_values(weights: Sequence[tf.Tensor], observations: tf.Tensor, dueling: bool):
    """Q-values [S, N, actions] of observations [S, N, size] under S networks."""
    hidden = observations
    layers = len(weights) // 2 - (2 if dueling else 1)
    for k in range(layers):
        hidden = tf.nn.relu(dense(hidden, weights[2 * k], weights[2 * k + 1]))
    if not dueling:
        return dense(hidden, weights[-2], weights[-1])
    value = dense(hidden, weights[-4], weights[-3])
    advantages = dense(hidden, weights[-2], weights[-1])
    return value + advantages - tf.reduce_mean(advantages, axis=-1, keepdims=True)


def uniform(keys: Sequence[np.ndarray], counter: tf.Tensor, shape) -> tf.Tensor:
    """Each seed's draws in [0, 1) for this counter, from its own key: [S, *shape]."""
    draws = []
    for key in keys:
        seed = tf.stack([tf.cast(key, tf.int64), counter])
        draws.append(tf.random.stateless_uniform(shape, seed, alg=ALG))
    return tf.stack(draws)


def nstep_matrix(n_step: int, discount: float) -> np.ndarray:
    """[n, n] with discount^(i - j) where i >= j: queued rewards @ it = the return of
    every queued move from its own position to the newest."""
    i, j = np.indices((n_step, n_step))
    return np.where(i >= j, discount ** (i - j), 0.0).astype(np.float32)


def check_starts(env: Twin, name: str, observations) -> np.ndarray:
    """Start observations [N, size] of `env` as float32 states [N, state_size]."""
    size = env.observation_size
    what = (
        f"{name} must be start observations of {env.env_id}, shape [N, {size}] "
        "(N >= 1, from gymnasium's env.reset(seed=s))"
    )
    array = None if isinstance(observations, (set, dict, str)) else observations
    array = np.asarray(array) if array is not None else None
    if array is None or array.dtype.kind not in "iuf":
        raise ValueError(f"{what}, got {observations!r}")
    if array.ndim != 2 or array.shape[1] != size or len(array) < 1:
        raise ValueError(f"{what}, got shape {array.shape}")
    with np.errstate(over="ignore"):  # too large for float32: inf, refused below
        array = array.astype(np.float32)
    if not np.isfinite(array).all():
        raise ValueError(f"{what}, got a NaN or an infinite value (or one too large)")
    states = env.states_from_observations(array)
    seen = env.observe(tf.constant(states)).numpy()  # Acrobot: cos^2 + sin^2 = 1
    wrong = (np.abs(seen - array) > 1e-5).any(axis=1)
    if wrong.any():
        row = int(np.flatnonzero(wrong)[0])
        raise ValueError(
            f"{what}: row {row}, {array[row].tolist()}, is no observation of any "
            f"state (its nearest state is seen as {seen[row].tolist()})"
        )
    row = first_outside_starts(env, states)
    if row is not None:
        raise ValueError(
            f"{what}: every state variable of a start lies in [{env.start_low}, "
            f"{env.start_high}], got row {row}: {array[row].tolist()}"
        )
    return states


class GraphDQN:
    """S independent DQN runs on one twin, trained by one compiled call.

    `env` is a `utils.twins.Twin` (or the gymnasium id of one); `config` any
    `DQNConfig`; `seeds` names the runs; `probe_starts` holds gymnasium start
    observations ([P, size], from `env.reset(seed=s)`) that choose each run's
    kept weights; `validation_starts`, if given, are played at the same moments
    and only recorded (the learning curves).

    Each run's parameters are one row of a [S, P] variable (and so are the target
    network's, Adam's moments and the kept weights), and each transition is one
    row of its replay memory: observation, next observation, action, (n-step)
    return, terminated. On a CPU every operation inside the compiled loop costs a
    few microseconds however small it is, so Adam, the target update, storing and
    sampling are one operation each instead of one per layer or per field.
    """

    def __init__(
        self,
        env: Twin | str,
        config: DQNConfig,
        seeds: Sequence[int],
        probe_starts: np.ndarray,
        validation_starts: np.ndarray | None = None,
    ) -> None:
        self.env = env if isinstance(env, Twin) else twin(env)
        if not isinstance(config, DQNConfig):
            raise ValueError(f"config must be a DQNConfig, got {config!r}")
        self.seeds = check_seeds("seeds", seeds)
        if not self.seeds:
            raise ValueError("seeds must name at least one run, got none")
        if len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"seeds must differ (one run each), got {self.seeds}")
        probes = check_starts(self.env, "probe_starts", probe_starts)
        self.n_probes = len(probes)
        if validation_starts is not None:
            curve = check_starts(self.env, "validation_starts", validation_starts)
            probes = np.concatenate([probes, curve])
        self.start_states = tf.constant(probes)
        self.config = config
        keys = [seed_keys(seed) for seed in self.seeds]
        self.keys = {name: [k[name] for k in keys] for name in keys[0]}
        env, n, envs = self.env, len(self.seeds), config.num_envs
        self.shapes = network_shapes(
            env.observation_size, env.n_actions, config.hidden_units, config.dueling
        )
        initial = np.stack([glorot_params(k, self.shapes) for k in self.keys["init"]])
        self.params = tf.Variable(initial)
        self.target_params = tf.Variable(initial)
        self.kept_params = tf.Variable(initial)
        self.adam_m = tf.Variable(tf.zeros_like(initial))
        self.adam_v = tf.Variable(tf.zeros_like(initial))
        # gradient steps each run has taken (runs start learning at different
        # steps when n-step transitions fill their memories at different rates)
        self.updates_done = tf.Variable(tf.zeros([n], tf.int64))
        # the replay memories, with one spare row per transition a step can write
        # (a step writes up to num_envs * n_step rows; the unused ones go there)
        self.row_size = 2 * env.observation_size + 3
        spare = envs * config.n_step
        self.memory = tf.Variable(
            tf.zeros([n, config.memory_capacity + spare, self.row_size])
        )
        self.rows_written = tf.Variable(tf.zeros([n], tf.int64))
        # the n-step queues: the last n_step moves of each environment's episode
        queue = [n, envs, config.n_step]
        self.queued_observations = tf.Variable(tf.zeros([*queue, env.observation_size]))
        self.queued_actions = tf.Variable(tf.zeros(queue))
        self.queued_rewards = tf.Variable(tf.zeros(queue))
        self.queued_count = tf.Variable(tf.zeros([n, envs], tf.int32))
        self.vector_steps = tf.Variable(0, dtype=tf.int64)
        # the first start states: draw -1 of each run's environment stream
        first = [  # Threefry runs in XLA only
            compiled_uniform((envs, env.start_draws), tf.constant([key, -1], tf.int64))
            for key in self.keys["env"]
        ]
        self.states = tf.Variable(env.start(tf.stack(first)))
        self.episode_steps = tf.Variable(tf.zeros([n, envs], tf.int32))
        self.episode_returns = tf.Variable(tf.zeros([n, envs]))
        # per call of `train`: finished episodes and their summed returns
        self.finished = tf.Variable(tf.zeros([n]))
        self.finished_returns = tf.Variable(tf.zeros([n]))
        self.best_probe_means = tf.Variable(tf.fill([n], -math.inf))
        self.kept_steps = tf.Variable(tf.zeros([n], tf.int64))

        self._train = compile_once(self._train_and_probe)
        self._returns = compile_once(self._greedy_returns)

    @property
    def env_steps(self) -> int:
        """Environment steps each run has played (all its environments)."""
        return int(self.vector_steps.numpy()) * self.config.num_envs

    def q_values(self, params: tf.Tensor, observations: tf.Tensor) -> tf.Tensor:
        """Q-values [S, N, actions] of observations [S, N, size] under S rows."""
        weights = unflatten(params, self.shapes)
        return q_values(weights, observations, self.config.dueling)

    # -- 1. act ---------------------------------------------------------------
    def act(self, observations, step, learning) -> tf.Tensor:
        """Epsilon-greedy actions [S, E]; random until a run's memory can train."""
        config = self.config
        played = tf.cast(step * config.num_envs, tf.float32)
        fraction = tf.minimum(1.0, played / config.epsilon_decay_steps)
        epsilon = config.epsilon_start + fraction * (
            config.epsilon_end - config.epsilon_start
        )
        epsilon = tf.where(learning, epsilon, 1.0)[:, None]
        greedy = tf.argmax(self.q_values(self.params, observations), axis=2)
        draws = uniform(self.keys["explore"], step, [config.num_envs, 2])
        random_actions = tf.cast(draws[..., 1] * self.env.n_actions, tf.int64)
        return tf.where(draws[..., 0] < epsilon, random_actions, greedy)

    # -- 2. learn: sample, one gradient step, move the target network ---------
    def sample(self, counter: tf.Tensor) -> dict[str, tf.Tensor]:
        """One minibatch per run, uniform over its filled rows: [S, batch, ...]."""
        capacity = self.config.memory_capacity
        filled = tf.minimum(self.rows_written, capacity)
        draws = uniform(self.keys["replay"], counter, [self.config.batch_size])
        slots = tf.cast(draws * tf.cast(filled, tf.float32)[:, None], tf.int64)
        slots = tf.minimum(slots, filled[:, None] - 1)
        rows, size = (
            tf.gather(self.memory, slots, batch_dims=1),
            self.env.observation_size,
        )
        return {
            "observations": rows[..., :size],
            "next_observations": rows[..., size : 2 * size],
            "actions": tf.cast(rows[..., 2 * size], tf.int32),
            "rewards": rows[..., 2 * size + 1],
            "terminated": rows[..., 2 * size + 2],
        }

    def td_targets(self, batch: dict[str, tf.Tensor]) -> tf.Tensor:
        """r + gamma^n * (1 - terminated) * Q_target(s', a*), [S, batch]."""
        config = self.config
        target = self.params if config.target == "none" else self.target_params
        next_q = self.q_values(target, batch["next_observations"])
        if config.double:  # the online network picks a*, the target values it
            online_next = self.q_values(self.params, batch["next_observations"])
            best = tf.gather(next_q, tf.argmax(online_next, axis=2), batch_dims=2)
        else:
            best = tf.reduce_max(next_q, axis=2)
        discount = config.discount**config.n_step
        return batch["rewards"] + discount * (1 - batch["terminated"]) * best

    def update(self, batch: dict[str, tf.Tensor], learners: tf.Tensor) -> tf.Tensor:
        """One Adam step on each learning run's mean loss ([S] bool `learners`;
        the others are left as they are). Returns the losses [S]."""
        targets = tf.stop_gradient(self.td_targets(batch))
        with tf.GradientTape() as tape:
            q = self.q_values(self.params, batch["observations"])
            chosen = tf.gather(q, batch["actions"], batch_dims=2)
            errors = targets - chosen
            if self.config.loss == "huber":  # Keras' Huber, delta 1
                small = tf.abs(errors) <= 1.0
                per_sample = tf.where(small, 0.5 * errors**2, tf.abs(errors) - 0.5)
            else:
                per_sample = errors**2
            losses = tf.reduce_mean(per_sample, axis=1)
            # each run's row only touches its own loss: one gradient of the sum
            total = tf.reduce_sum(losses)
        gradient = tape.gradient(total, self.params)
        self.updates_done.assign_add(tf.cast(learners, tf.int64))
        t = tf.cast(tf.maximum(self.updates_done, 1), tf.float32)[:, None]
        rate = self.config.learning_rate * tf.sqrt(1 - BETA_2**t) / (1 - BETA_1**t)
        m = self.adam_m + (gradient - self.adam_m) * (1 - BETA_1)
        v = self.adam_v + (gradient**2 - self.adam_v) * (1 - BETA_2)
        params = self.params - rate * m / (tf.sqrt(v) + ADAM_EPSILON)
        rows = learners[:, None]
        self.adam_m.assign(tf.where(rows, m, self.adam_m))
        self.adam_v.assign(tf.where(rows, v, self.adam_v))
        self.params.assign(tf.where(rows, params, self.params))
        return losses

    def update_target(self, learners: tf.Tensor) -> None:
        """Polyak (soft), a copy every N gradient steps (hard), or nothing (none),
        for the runs that just took a gradient step."""
        config = self.config
        if config.target == "soft":
            moved = config.tau * self.params + (1 - config.tau) * self.target_params
        elif config.target == "hard":
            copy = self.updates_done % config.target_update_every == 0
            learners = learners & copy
            moved = self.params
        else:
            return
        self.target_params.assign(
            tf.where(learners[:, None], moved, self.target_params)
        )

    def learn(self, step: tf.Tensor, learners: tf.Tensor) -> None:
        """`gradient_steps` updates of the learning runs, each on its own batch.

        A Python loop, unrolled when traced: inside a compiled loop over steps, a
        second loop would carry the replay memory along and copy it every step."""
        gradient_steps = self.config.gradient_steps
        for k in range(gradient_steps):
            self.update(self.sample(step * gradient_steps + k), learners)
            self.update_target(learners)

    # -- 3. step the environments ---------------------------------------------
    def step_envs(self, actions: tf.Tensor):
        """The twin's next states and rewards, and which episodes terminated or
        were cut at the time limit: [S, E, ...]."""
        next_states, rewards, terminated = self.env.step(self.states, actions)
        self.episode_steps.assign_add(tf.ones_like(self.episode_steps))
        self.episode_returns.assign_add(rewards)
        limit = self.env.max_episode_steps
        truncated = (self.episode_steps >= limit) & ~terminated
        return next_states, rewards, terminated, truncated

    # -- 4. store -------------------------------------------------------------
    def transitions(self, observations, actions, rewards, next_observations, done):
        """The rows this step completes, [S, R, row], and which of them are real
        ([S, R] bool): one per environment for 1-step returns; with n-step
        returns, `utils.NStepQueue`'s rule (see `nstep_transitions`)."""
        terminated, truncated = done
        if self.config.n_step == 1:  # every move is a transition at once
            columns = [tf.cast(actions, tf.float32), rewards]
            columns.append(tf.cast(terminated, tf.float32))
            rows = tf.concat(
                [observations, next_observations, tf.stack(columns, -1)], axis=-1
            )
            return rows, tf.ones(tf.shape(rows)[:2], tf.bool)
        return self.nstep_transitions(
            observations, actions, rewards, next_observations, terminated, truncated
        )

    def nstep_transitions(
        self, observations, actions, rewards, next_observations, terminated, truncated
    ):
        """`utils.NStepQueue.push` for every environment at once.

        Each environment queues its last n moves. A move is written with the
        discounted sum of the rewards from it to the newest and the newest next
        observation when the queue is full (the oldest move, an n-step return), or
        when the episode terminates (every queued move, partial sums, nothing to
        bootstrap from); on truncation the moves that could not see n moves ahead
        are dropped. Returns rows [S, E * n, row], oldest move first per env."""
        config, n = self.config, self.config.n_step
        queued_observations = tf.concat(
            [self.queued_observations[:, :, 1:], observations[:, :, None]], axis=2
        )
        queued_actions = tf.concat(
            [self.queued_actions[:, :, 1:], tf.cast(actions, tf.float32)[..., None]], 2
        )
        queued_rewards = tf.concat(
            [self.queued_rewards[:, :, 1:], rewards[..., None]], axis=2
        )
        count = self.queued_count + 1  # moves queued, the newest at position n - 1
        position = tf.range(n)
        queued = position >= n - count[..., None]
        full = (count == n)[..., None] & (position == 0)
        write = queued & (terminated[..., None] | full)
        returns = queued_rewards @ nstep_matrix(n, config.discount)
        shape = tf.shape(queued_rewards)
        flags = tf.broadcast_to(tf.cast(terminated, tf.float32)[..., None], shape)
        rows = tf.concat(
            [
                queued_observations,
                tf.broadcast_to(
                    next_observations[:, :, None], tf.shape(queued_observations)
                ),
                tf.stack([queued_actions, returns, flags], axis=-1),
            ],
            axis=-1,
        )
        self.queued_observations.assign(queued_observations)
        self.queued_actions.assign(queued_actions)
        self.queued_rewards.assign(queued_rewards)
        ended = terminated | truncated
        self.queued_count.assign(
            tf.where(ended, 0, count - tf.cast(count == n, tf.int32))
        )
        runs = len(self.seeds)
        return tf.reshape(rows, [runs, -1, self.row_size]), tf.reshape(
            write, [runs, -1]
        )

    def store(self, rows: tf.Tensor, real: tf.Tensor) -> None:
        """Write each run's real rows at its next slots (oldest overwritten first);
        the others go to the spare rows past the capacity."""
        capacity = self.config.memory_capacity
        count = tf.cast(real, tf.int64)
        rank = tf.cumsum(count, axis=1, exclusive=True)
        slots = (self.rows_written[:, None] + rank) % capacity
        spare = capacity + tf.range(tf.shape(rows, out_type=tf.int64)[1])
        slots = tf.where(real, slots, spare[None])
        runs = tf.broadcast_to(
            tf.range(len(self.seeds), dtype=tf.int64)[:, None], tf.shape(slots)
        )
        self.memory.scatter_nd_update(tf.stack([runs, slots], axis=-1), rows)
        self.rows_written.assign_add(tf.reduce_sum(count, axis=1))

    # -- the loop ---------------------------------------------------------------
    def reset_finished(self, next_states, done, step: tf.Tensor) -> None:
        """Finished episodes are counted and start again from fresh start states."""
        finished = tf.cast(done, tf.float32)
        self.finished.assign_add(tf.reduce_sum(finished, axis=1))
        ended_returns = tf.reduce_sum(finished * self.episode_returns, axis=1)
        self.finished_returns.assign_add(ended_returns)
        draws = uniform(
            self.keys["env"], step, [self.config.num_envs, self.env.start_draws]
        )
        starts = self.env.start(draws)
        self.states.assign(tf.where(done[..., None], starts, next_states))
        self.episode_steps.assign(tf.where(done, 0, self.episode_steps))
        self.episode_returns.assign(tf.where(done, 0.0, self.episode_returns))

    def train_step(self) -> None:
        """One vector step of every run: the packaged agent's loop body."""
        config, step = self.config, self.vector_steps.read_value()
        observations = self.env.observe(self.states)
        learning = self.rows_written >= config.learning_starts
        actions = self.act(observations, step, learning)
        next_states, rewards, terminated, truncated = self.step_envs(actions)
        next_observations = self.env.observe(next_states)
        rows, real = self.transitions(
            observations, actions, rewards, next_observations, (terminated, truncated)
        )
        self.store(rows, real)
        learners = learning & ((step + 1) % config.train_every == 0)
        if tf.reduce_any(learners):
            self.learn(step, learners)
        self.reset_finished(next_states, terminated | truncated, step)
        self.vector_steps.assign_add(1)

    def _greedy_returns(self, params: tf.Tensor, states: tf.Tensor) -> tf.Tensor:
        """Each run's greedy return from each start state, in the twin: [S, N]."""
        weights = unflatten(params, self.shapes)
        dueling = self.config.dueling
        return greedy_returns(
            self.env,
            lambda observations: q_values(weights, observations, dueling),
            states,
        )

    def _train_and_probe(self, steps: tf.Tensor) -> dict[str, tf.Tensor]:
        self.finished.assign(tf.zeros_like(self.finished))
        self.finished_returns.assign(tf.zeros_like(self.finished_returns))
        done = tf.constant(0, tf.int64)
        while done < steps:  # a runtime count: one compiled program for any steps
            self.train_step()
            done += 1
        n = len(self.seeds)
        starts = tf.tile(self.start_states[None], [n, 1, 1])
        returns = self._greedy_returns(self.params, starts)
        means = tf.reduce_mean(returns[:, : self.n_probes], axis=1)
        better = means > self.best_probe_means
        self.best_probe_means.assign(tf.where(better, means, self.best_probe_means))
        kept_at = self.vector_steps * self.config.num_envs
        self.kept_steps.assign(tf.where(better, kept_at, self.kept_steps))
        kept = tf.where(better[:, None], self.params, self.kept_params)
        self.kept_params.assign(kept)
        validation = returns[:, self.n_probes :]
        return {
            "probe_means": means,
            "validation_means": tf.reduce_mean(validation, axis=1),
            "finished": self.finished.read_value(),
            "finished_returns": self.finished_returns.read_value(),
        }

    def train(self, steps: int) -> dict[str, np.ndarray]:
        """Play `steps` environment steps of every run (all its environments), then
        probe: one call.

        Returns each run's probe mean, its validation mean (NaN without
        validation starts), and the number and mean return of the training
        episodes that ended during the call (NaN where none did)."""
        envs = self.config.num_envs
        if not is_integer(steps) or not 1 <= steps < 2**62 or steps % envs:
            raise ValueError(
                f"steps must be an integer in [1, 2**62) and a multiple of num_envs "
                f"({envs}: the runs step their environments together), got {steps!r}"
            )
        results = self._train(tf.constant(steps // envs, tf.int64))
        out = {name: value.numpy() for name, value in results.items()}
        with np.errstate(invalid="ignore", divide="ignore"):
            mean_returns = out["finished_returns"] / out["finished"]
        return {
            "probe_means": out["probe_means"],
            "validation_means": out["validation_means"],
            "episodes": out["finished"].astype(int),
            "mean_returns": np.where(out["finished"] > 0, mean_returns, np.nan),
        }

    def greedy_returns(self, observations, which: str = "kept") -> np.ndarray:
        """Every run's greedy return from each start observation ([N, size], from
        gymnasium's resets), in the twin, with its kept or its last weights: [S, N]."""
        if which not in ("kept", "last"):
            raise ValueError(f"which must be 'kept' or 'last', got {which!r}")
        states = check_starts(self.env, "observations", observations)
        params = self.kept_params if which == "kept" else self.params
        starts = tf.tile(tf.constant(states)[None], [len(self.seeds), 1, 1])
        return self._returns(params, starts).numpy()

    def arrays(self, index: int, which: str = "kept") -> list[np.ndarray]:
        """Run `index`'s kept or last weights, in the order Keras holds them
        (`build_q_network(...).set_weights(...)`)."""
        count = len(self.seeds)
        if not is_integer(index) or not 0 <= index < count:
            raise ValueError(
                f"index must be an integer in [0, {count}) (one run per seed), "
                f"got {index!r}"
            )
        if which not in ("kept", "last"):
            raise ValueError(f"which must be 'kept' or 'last', got {which!r}")
        params = self.kept_params if which == "kept" else self.params
        weights = unflatten(params[int(index) : int(index) + 1], self.shapes)
        return [w[0].numpy() for w in weights]

    def network(self, index: int, which: str = "kept"):
        """Run `index`'s kept or last weights as a Keras network (for gymnasium)."""
        from utils.qnetwork import build_q_network

        env, config = self.env, self.config
        weights = self.arrays(index, which)  # checks index and which first
        network = build_q_network(
            env.observation_size, env.n_actions, config.hidden_units, config.dueling
        )
        network.set_weights(weights)
        return network
