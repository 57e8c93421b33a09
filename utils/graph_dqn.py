"""A whole DQN run on CartPole as one XLA-compiled TensorFlow call, many seeds at once.

Every tensor carries a leading seed axis S: the Q-network's weights [S, ...], the
target network's, Adam's two moments, the replay memories [S, capacity, ...] and
the environments (the TensorFlow twin of CartPole-v1, `utils.cartpole_twin`). One
call of `GraphDQN.train(steps)` runs `steps` iterations of notebook 04's six steps
for all S seeds inside one `tf.function(jit_compile=True)`:

    act (epsilon-greedy) -> step the environments -> store the transitions
    -> sample a minibatch -> one gradient step -> move the target network

and ends by playing the greedy policy from the probe starts (in the twin), keeping
each seed's weights when its probe mean is its best so far.

The weights are plain `tf.Variable`s rather than Keras layers: a Keras layer holds
one network, while a kernel of shape [S, inputs, units] lets one batched matmul
compute all S networks, and Adam written out (a few lines) keeps its moments on
the same axis. Each seed draws from its own random streams: `SeedSequence(seed)`
spawns one child each for the initial weights, the environment's start states,
the exploration and the replay sampler, and a step's draws are the stateless
Threefry numbers (`ALG`) of (child key, step). A seed's random numbers therefore
do not depend on which other seeds share the call (its arithmetic may round
differently: a batched matmul can sum in another order when S changes).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import tensorflow as tf

from utils.cartpole_twin import (
    MAX_EPISODE_STEPS,
    cartpole_start,
    cartpole_step,
)
from utils.config import DQNConfig, check_seeds, is_integer

OBSERVATION_SIZE, N_ACTIONS = 4, 2
# Keras 3's Adam defaults, which notebook 06 and the packaged agent use
BETA_1, BETA_2, ADAM_EPSILON = 0.9, 0.999, 1e-7
# XLA's own counter-based generator (JAX's default too); named, it is also about
# three times cheaper per draw inside the loop than TensorFlow's "auto_select"
ALG = "threefry"
# what the packaged agent does that this loop does not (yet)
UNSUPPORTED = {
    "dueling": False,
    "n_step": 1,
    "num_envs": 1,
    "train_every": 1,
    "gradient_steps": 1,
}


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


def layer_shapes(hidden_units: Sequence[int]) -> list[tuple[int, ...]]:
    """Kernel and bias shapes of the MLP 4 -> hidden units -> 2, in order."""
    sizes = (OBSERVATION_SIZE, *hidden_units, N_ACTIONS)
    shapes = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        shapes += [(fan_in, fan_out), (fan_out,)]
    return shapes


def unflatten(params: tf.Tensor, shapes: Sequence[tuple[int, ...]]) -> list:
    """S rows of flat parameters [S, P] as the kernels and biases [S, *shape]."""
    weights, start = [], 0
    for shape in shapes:
        size = math.prod(shape)
        weights.append(tf.reshape(params[:, start : start + size], [-1, *shape]))
        start += size
    return weights


def q_values(weights: Sequence[tf.Tensor], observations: tf.Tensor) -> tf.Tensor:
    """Q-values [S, N, actions] of N observations [S, N, 4] under S networks."""
    hidden = observations
    for k in range(0, len(weights) - 2, 2):
        hidden = tf.nn.relu(hidden @ weights[k] + weights[k + 1][:, None, :])
    return hidden @ weights[-2] + weights[-1][:, None, :]


def uniform(keys: Sequence[np.ndarray], step: tf.Tensor, shape, maxval=None):
    """Each seed's draws for this step, from its own key: [S, *shape].

    Floats in [0, 1), or integers in [0, maxval) when `maxval` is given."""
    draws = []
    for key in keys:
        step_key = tf.stack([key, step])
        if maxval is None:
            draws.append(tf.random.stateless_uniform(shape, step_key, alg=ALG))
        else:
            draws.append(
                tf.random.stateless_uniform(
                    shape, step_key, minval=0, maxval=maxval, dtype=tf.int32, alg=ALG
                )
            )
    return tf.stack(draws)


def check_probe_starts(probe_starts) -> np.ndarray:
    """`probe_starts` as float32 [P, 4] (P >= 1, all finite), or a ValueError."""
    what = (
        f"probe_starts must be real start observations of shape [P, {OBSERVATION_SIZE}]"
        " (P >= 1, from gymnasium's env.reset(seed=s))"
    )
    array = np.asarray(probe_starts) if not isinstance(probe_starts, set) else None
    if array is None or array.dtype.kind not in "iuf":
        raise ValueError(f"{what}, got {probe_starts!r}")
    if array.ndim != 2 or array.shape[1] != OBSERVATION_SIZE or len(array) < 1:
        raise ValueError(f"{what}, got shape {array.shape}")
    with np.errstate(over="ignore"):  # too large for float32: inf, refused below
        array = array.astype(np.float32)
    if not np.isfinite(array).all():
        raise ValueError(f"{what}, got a NaN or an infinite value (or one too large)")
    return array


class GraphDQN:
    """S independent DQN runs on the CartPole twin, trained by one compiled call.

    `config` is a `DQNConfig` with one environment and one gradient step per
    environment step (`num_envs=1, gradient_steps=1`); `seeds` names the runs;
    `probe_starts` holds the start observations ([P, 4], from gymnasium's resets)
    that choose each run's kept weights.

    Each run's parameters are one row of a [S, P] variable (and so are the target
    network's, Adam's moments and the kept weights), and each transition is one row
    of the replay memory [S, capacity, 11]: observation, next observation, action,
    reward, terminated. On a CPU every operation inside the compiled loop costs a
    few microseconds however small it is, so Adam, the target update, storing and
    sampling are one operation each instead of one per layer or per field.
    """

    def __init__(
        self, config: DQNConfig, seeds: Sequence[int], probe_starts: np.ndarray
    ) -> None:
        if not isinstance(config, DQNConfig):
            raise ValueError(f"config must be a DQNConfig, got {config!r}")
        wrong = [
            f"{name}={getattr(config, name)!r}"
            for name, value in UNSUPPORTED.items()
            if getattr(config, name) != value
        ]
        if wrong:
            needed = ", ".join(f"{k}={v!r}" for k, v in UNSUPPORTED.items())
            raise ValueError(
                f"GraphDQN runs {needed}; got {', '.join(wrong)} "
                "(use utils.DQNAgent for these)"
            )
        self.seeds = check_seeds("seeds", seeds)
        if not self.seeds:
            raise ValueError("seeds must name at least one run, got none")
        if len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"seeds must differ (one run each), got {self.seeds}")
        self.probe_starts = tf.constant(check_probe_starts(probe_starts))
        self.config = config
        keys = [seed_keys(seed) for seed in self.seeds]
        self.keys = {name: [k[name] for k in keys] for name in keys[0]}
        self.shapes = layer_shapes(config.hidden_units)
        initial = np.stack([glorot_params(k, self.shapes) for k in self.keys["init"]])
        n = len(self.seeds)
        self.params = tf.Variable(initial)
        self.target_params = tf.Variable(initial)
        self.kept_params = tf.Variable(initial)
        self.adam_m = tf.Variable(tf.zeros_like(initial))
        self.adam_v = tf.Variable(tf.zeros_like(initial))
        self.memory = tf.Variable(
            tf.zeros([n, config.memory_capacity, 2 * OBSERVATION_SIZE + 3])
        )
        self.env_steps = tf.Variable(0, dtype=tf.int64)
        self.gradient_steps = tf.Variable(0, dtype=tf.int64)
        # the first start states: draw -1 of each run's environment stream
        starts = [
            compiled_uniform((4,), tf.constant([k, -1])) for k in self.keys["env"]
        ]
        self.states = tf.Variable(cartpole_start(tf.stack(starts)))
        self.episode_steps = tf.Variable(tf.zeros([n], tf.int32))
        self.episode_returns = tf.Variable(tf.zeros([n]))
        # per call of `train`: finished episodes and their summed returns
        self.finished = tf.Variable(tf.zeros([n]))
        self.finished_returns = tf.Variable(tf.zeros([n]))
        self.best_probe_means = tf.Variable(tf.fill([n], -math.inf))
        self.kept_steps = tf.Variable(tf.zeros([n], tf.int64))

        def train_and_probe(steps):  # one function per instance, traced once
            return self._train_and_probe(steps)

        self._train = tf.function(train_and_probe, jit_compile=True)

    def q_values(self, params: tf.Tensor, observations: tf.Tensor) -> tf.Tensor:
        """Q-values [S, N, 2] of observations [S, N, 4] under S parameter rows."""
        return q_values(unflatten(params, self.shapes), observations)

    # -- 1. act ---------------------------------------------------------------
    def act(self, states: tf.Tensor, step: tf.Tensor) -> tf.Tensor:
        """Epsilon-greedy actions [S] (random until the memory can train)."""
        config = self.config
        decayed = tf.cast(step, tf.float32) / config.epsilon_decay_steps
        fraction = tf.minimum(1.0, decayed)
        epsilon = config.epsilon_start + fraction * (
            config.epsilon_end - config.epsilon_start
        )
        epsilon = tf.where(step < config.learning_starts, 1.0, epsilon)
        greedy = tf.argmax(self.q_values(self.params, states[:, None])[:, 0], axis=1)
        draws = uniform(self.keys["explore"], step, [2])
        random_actions = tf.cast(draws[:, 1] * N_ACTIONS, tf.int64)
        return tf.where(draws[:, 0] < epsilon, random_actions, greedy)

    # -- 2. step the environments ---------------------------------------------
    def step_envs(self, actions: tf.Tensor):
        """The twin's next states, and which episodes terminated or were cut."""
        next_states, terminated = cartpole_step(self.states, actions)
        self.episode_steps.assign_add(tf.ones_like(self.episode_steps))
        self.episode_returns.assign_add(tf.ones_like(self.episode_returns))
        truncated = (self.episode_steps >= MAX_EPISODE_STEPS) & ~terminated
        return next_states, terminated, truncated

    # -- 3. store -------------------------------------------------------------
    def store(self, actions, next_states, terminated, step: tf.Tensor) -> None:
        """Write each seed's transition as one row at slot `step mod capacity`."""
        n = len(self.seeds)
        slot = tf.cast(step % self.config.memory_capacity, tf.int32)
        columns = [tf.cast(actions, tf.float32), tf.ones([n])]  # reward 1 a step
        columns.append(tf.cast(terminated, tf.float32))
        rows = tf.concat([self.states, next_states, tf.stack(columns, 1)], axis=1)
        slots = tf.stack([tf.range(n), tf.fill([n], slot)], axis=1)
        self.memory.scatter_nd_update(slots, rows)

    # -- 4. sample ------------------------------------------------------------
    def sample(self, step: tf.Tensor) -> dict[str, tf.Tensor]:
        """One minibatch per seed, uniform over the filled slots: [S, batch, ...]."""
        filled = tf.cast(tf.minimum(step + 1, self.config.memory_capacity), tf.int32)
        slots = uniform(self.keys["replay"], step, [self.config.batch_size], filled)
        rows, size = tf.gather(self.memory, slots, batch_dims=1), OBSERVATION_SIZE
        return {
            "observations": rows[..., :size],
            "next_observations": rows[..., size : 2 * size],
            "actions": tf.cast(rows[..., 2 * size], tf.int32),
            "rewards": rows[..., 2 * size + 1],
            "terminated": rows[..., 2 * size + 2],
        }

    # -- 5. one gradient step -------------------------------------------------
    def td_targets(self, batch: dict[str, tf.Tensor]) -> tf.Tensor:
        """r + gamma * (1 - terminated) * Q_target(s', a*), [S, batch]."""
        config = self.config
        target = self.params if config.target == "none" else self.target_params
        next_q = self.q_values(target, batch["next_observations"])
        if config.double:  # the online network picks a*, the target values it
            online_next = self.q_values(self.params, batch["next_observations"])
            best = tf.gather(next_q, tf.argmax(online_next, axis=2), batch_dims=2)
        else:
            best = tf.reduce_max(next_q, axis=2)
        return batch["rewards"] + config.discount * (1 - batch["terminated"]) * best

    def update(self, batch: dict[str, tf.Tensor]) -> tf.Tensor:
        """One Adam step on each seed's mean loss; returns the losses [S]."""
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
            # each seed's row only touches its own loss: one gradient of the sum
            total = tf.reduce_sum(losses)
        gradient = tape.gradient(total, self.params)
        self.gradient_steps.assign_add(1)
        t = tf.cast(self.gradient_steps, tf.float32)
        rate = self.config.learning_rate * tf.sqrt(1 - BETA_2**t) / (1 - BETA_1**t)
        self.adam_m.assign_add((gradient - self.adam_m) * (1 - BETA_1))
        self.adam_v.assign_add((gradient**2 - self.adam_v) * (1 - BETA_2))
        step_sizes = rate / (tf.sqrt(self.adam_v) + ADAM_EPSILON)
        self.params.assign_sub(step_sizes * self.adam_m)
        return losses

    # -- 6. move the target network -------------------------------------------
    def update_target(self) -> None:
        """Polyak (soft), a copy every N gradient steps (hard), or nothing (none)."""
        config = self.config
        if config.target == "soft":
            self.target_params.assign(
                config.tau * self.params + (1 - config.tau) * self.target_params
            )
        elif config.target == "hard":
            copy = self.gradient_steps % config.target_update_every == 0
            self.target_params.assign(tf.where(copy, self.params, self.target_params))

    # -- the loop ---------------------------------------------------------------
    def reset_finished(self, next_states, done, step: tf.Tensor) -> None:
        """Finished episodes are counted and start again from fresh start states."""
        finished = tf.cast(done, tf.float32)
        self.finished.assign_add(finished)
        self.finished_returns.assign_add(finished * self.episode_returns)
        starts = cartpole_start(uniform(self.keys["env"], step, [4]))
        self.states.assign(tf.where(done[:, None], starts, next_states))
        self.episode_steps.assign(tf.where(done, 0, self.episode_steps))
        self.episode_returns.assign(tf.where(done, 0.0, self.episode_returns))

    def train_step(self) -> None:
        """The six steps, once for every seed."""
        step = self.env_steps.read_value()
        actions = self.act(self.states, step)
        next_states, terminated, truncated = self.step_envs(actions)
        self.store(actions, next_states, terminated, step)
        if step + 1 >= self.config.learning_starts:
            self.update(self.sample(step))
            self.update_target()
        self.reset_finished(next_states, terminated | truncated, step)
        self.env_steps.assign_add(1)

    def probe_means(self) -> tf.Tensor:
        """Each seed's mean greedy return from the probe starts, in the twin: [S]."""
        n, p = len(self.seeds), self.probe_starts.shape[0]
        states = tf.tile(self.probe_starts[None], [n, 1, 1])
        returns, running = tf.zeros([n, p]), tf.ones([n, p], tf.bool)
        weights = unflatten(self.params, self.shapes)
        for _ in tf.range(MAX_EPISODE_STEPS):
            actions = tf.argmax(q_values(weights, states), axis=2)
            states, terminated = cartpole_step(states, actions)
            returns += tf.cast(running, tf.float32)
            running &= ~terminated
        return tf.reduce_mean(returns, axis=1)

    def _train_and_probe(self, steps: tf.Tensor) -> dict[str, tf.Tensor]:
        self.finished.assign(tf.zeros_like(self.finished))
        self.finished_returns.assign(tf.zeros_like(self.finished_returns))
        for _ in tf.range(steps):
            self.train_step()
        means = self.probe_means()
        better = means > self.best_probe_means
        self.best_probe_means.assign(tf.where(better, means, self.best_probe_means))
        self.kept_steps.assign(tf.where(better, self.env_steps, self.kept_steps))
        kept = tf.where(better[:, None], self.params, self.kept_params)
        self.kept_params.assign(kept)
        return {
            "probe_means": means,
            "finished": self.finished.read_value(),
            "finished_returns": self.finished_returns.read_value(),
        }

    def train(self, steps: int) -> dict[str, np.ndarray]:
        """Run `steps` environment steps of every seed, then probe: one call.

        Returns each seed's probe mean, and the number and mean return of the
        training episodes that ended during the call (NaN where none did)."""
        if not is_integer(steps) or not 1 <= steps < 2**62:
            raise ValueError(f"steps must be an integer in [1, 2**62), got {steps!r}")
        results = self._train(tf.constant(steps, tf.int64))
        out = {name: value.numpy() for name, value in results.items()}
        with np.errstate(invalid="ignore", divide="ignore"):
            mean_returns = out["finished_returns"] / out["finished"]
        return {
            "probe_means": out["probe_means"],
            "episodes": out["finished"].astype(int),
            "mean_returns": np.where(out["finished"] > 0, mean_returns, np.nan),
        }

    def kept_arrays(self, index: int) -> list[np.ndarray]:
        """Run `index`'s kept weights, in the order Keras' Dense layers hold them."""
        count = len(self.seeds)
        if not is_integer(index) or not 0 <= index < count:
            raise ValueError(
                f"index must be an integer in [0, {count}) (one run per seed), "
                f"got {index!r}"
            )
        index = int(index)
        weights = unflatten(self.kept_params[index : index + 1], self.shapes)
        return [w[0].numpy() for w in weights]
