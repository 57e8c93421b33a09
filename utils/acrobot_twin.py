"""Acrobot-v1 written in TensorFlow ops: gymnasium's physics, batched, in float32.

The twin has no state of its own: `acrobot_step` maps a batch of states and
actions to the next states, the rewards and whether each episode terminated,
`acrobot_start` turns uniform draws into start states and `acrobot_observe` turns
states into observations. Any tensor shape works as long as the last axis of a
state holds (theta1, theta2, dtheta1, dtheta2): the angles themselves, where the
agent sees (cos theta1, sin theta1, cos theta2, sin theta2, dtheta1, dtheta2).

The constants and the update are gymnasium 1.x's `AcrobotEnv` with its defaults:
the book's dynamics (`book_or_nips = "book"`), no torque noise, and one
fourth-order Runge-Kutta step of 0.2 s per action, after which the angles are
wrapped into [-pi, pi] and the velocities clipped to 4 pi and 9 pi. gymnasium's
`TimeLimit` adds the truncation at 500 steps, which the caller counts.

gymnasium integrates in float64 (its start state is float32, every later one
float64); the twin computes in float32, so one step from the same state agrees to
float32 rounding (tests/utils/test_twins.py), but the double pendulum is chaotic
and the two drift apart over a long episode. Measured: from gymnasium's start
(`reset(seed=s)`, s = 0 .. 99), each stepping its own state under the same
uniformly random actions (episodes not cut at a termination), the largest
difference in a state variable (angles modulo 2 pi) first exceeded 1e-3 after 623
steps at the median, 291 at the fewest (392 for the tenth percentile; one of the
100 stayed within 1e-3 for all 2,000 steps). Under actions that swing it up (the
torque along dtheta2, a random action three times in ten) it exceeded 1e-3 after
126 steps at the median, 89 at the fewest. An episode of the twin is an Acrobot
episode, not a replay of gymnasium's.
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

from utils.twins import Twin

# seconds per step: one Runge-Kutta step over [0, DT]
DT = 0.2
# length of the first link (the second's only draws the picture)
LINK_LENGTH_1 = 1.0
# masses of the two links
LINK_MASS_1 = 1.0
LINK_MASS_2 = 1.0
# distance from each link's joint to its centre of mass
LINK_COM_POS_1 = 0.5
LINK_COM_POS_2 = 0.5
# moment of inertia of either link
LINK_MOI = 1.0
GRAVITY = 9.8
# the speeds of the two joints are clipped to these after every step
MAX_VEL_1 = 4 * math.pi
MAX_VEL_2 = 9 * math.pi
# the torque on the middle joint for actions 0, 1 and 2
TORQUES = (-1.0, 0.0, 1.0)
# an episode terminates when the free end rises this far above the fixed joint
GOAL_HEIGHT = 1.0
# gymnasium's TimeLimit for Acrobot-v1
MAX_EPISODE_STEPS = 500
# every start-state variable is uniform in [-START_RANGE, START_RANGE)
START_RANGE = 0.1


def acrobot_start(uniforms: tf.Tensor) -> tf.Tensor:
    """Start states from draws uniform in [0, 1) (shape [..., 4])."""
    return uniforms * (2 * START_RANGE) - START_RANGE


def rk4(derivs, y0: tf.Tensor, dt: float) -> tf.Tensor:
    """One fourth-order Runge-Kutta step of dy/dt = derivs(y) from y0 over [0, dt]:
    gymnasium's `rk4` with t = [0, dt] (derivatives at 0, dt/2 twice and dt)."""
    k1 = derivs(y0)
    k2 = derivs(y0 + dt / 2 * k1)
    k3 = derivs(y0 + dt / 2 * k2)
    k4 = derivs(y0 + dt * k3)
    return y0 + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)


def dsdt(augmented: tf.Tensor) -> tf.Tensor:
    """The time derivative of states with their torque appended ([..., 5]): the
    book's equations of motion (the torque is constant over a step)."""
    m1, m2, l1 = LINK_MASS_1, LINK_MASS_2, LINK_LENGTH_1
    lc1, lc2, i1, i2, g = LINK_COM_POS_1, LINK_COM_POS_2, LINK_MOI, LINK_MOI, GRAVITY
    theta1, theta2, dtheta1, dtheta2, torque = tf.unstack(augmented, axis=-1)
    d1 = m1 * lc1**2 + m2 * (l1**2 + lc2**2 + 2 * l1 * lc2 * tf.cos(theta2)) + i1 + i2
    d2 = m2 * (lc2**2 + l1 * lc2 * tf.cos(theta2)) + i2
    phi2 = m2 * lc2 * g * tf.cos(theta1 + theta2 - math.pi / 2.0)
    phi1 = (
        -m2 * l1 * lc2 * dtheta2**2 * tf.sin(theta2)
        - 2 * m2 * l1 * lc2 * dtheta2 * dtheta1 * tf.sin(theta2)
        + (m1 * lc1 + m2 * l1) * g * tf.cos(theta1 - math.pi / 2)
        + phi2
    )
    ddtheta2 = (
        torque + d2 / d1 * phi1 - m2 * l1 * lc2 * dtheta1**2 * tf.sin(theta2) - phi2
    ) / (m2 * lc2**2 + i2 - d2**2 / d1)
    ddtheta1 = -(d2 * ddtheta2 + phi1) / d1
    return tf.stack(
        [dtheta1, dtheta2, ddtheta1, ddtheta2, tf.zeros_like(torque)], axis=-1
    )


def wrap(x: tf.Tensor, low: float, high: float) -> tf.Tensor:
    """`x` moved into [low, high] by whole turns of (high - low): gymnasium's `wrap`
    (which subtracts a turn while x > high and adds one while x < low)."""
    turn = high - low
    x = tf.where(x > high, x - turn * tf.math.ceil((x - high) / turn), x)
    return tf.where(x < low, x + turn * tf.math.ceil((low - x) / turn), x)


def acrobot_terminated(states: tf.Tensor) -> tf.Tensor:
    """Whether the free end is above the goal: -cos t1 - cos(t1 + t2) > 1."""
    theta1, theta2 = states[..., 0], states[..., 1]
    return -tf.cos(theta1) - tf.cos(theta2 + theta1) > GOAL_HEIGHT


def acrobot_step(
    states: tf.Tensor, actions: tf.Tensor
) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """One Runge-Kutta step of every state ([..., 4]) under its action ([...], 0, 1
    or 2, any integer dtype).

    Returns the next states, the rewards (-1, or 0 on the terminating step) and
    `terminated`: the free end rose above the goal line."""
    states = tf.cast(states, tf.float32)
    torque = tf.gather(tf.constant(TORQUES, tf.float32), actions)
    augmented = tf.concat([states, torque[..., None]], axis=-1)
    theta1, theta2, dtheta1, dtheta2, _ = tf.unstack(rk4(dsdt, augmented, DT), axis=-1)
    next_states = tf.stack(
        [
            wrap(theta1, -math.pi, math.pi),
            wrap(theta2, -math.pi, math.pi),
            tf.clip_by_value(dtheta1, -MAX_VEL_1, MAX_VEL_1),
            tf.clip_by_value(dtheta2, -MAX_VEL_2, MAX_VEL_2),
        ],
        axis=-1,
    )
    terminated = acrobot_terminated(next_states)
    rewards = tf.where(terminated, 0.0, -1.0)
    return next_states, rewards, terminated


def acrobot_observe(states: tf.Tensor) -> tf.Tensor:
    """What the agent sees ([..., 6]): the cosines and sines of both angles, then
    both angular velocities."""
    theta1, theta2, dtheta1, dtheta2 = tf.unstack(states, axis=-1)
    return tf.stack(
        [
            tf.cos(theta1),
            tf.sin(theta1),
            tf.cos(theta2),
            tf.sin(theta2),
            dtheta1,
            dtheta2,
        ],
        axis=-1,
    )


def _states_from_observations(observations: np.ndarray) -> np.ndarray:
    """The angles back from their cosines and sines (atan2), the velocities as seen."""
    o = np.asarray(observations, np.float64)
    theta1, theta2 = np.arctan2(o[:, 1], o[:, 0]), np.arctan2(o[:, 3], o[:, 2])
    return np.stack([theta1, theta2, o[:, 4], o[:, 5]], axis=-1).astype(np.float32)


ACROBOT = Twin(
    env_id="Acrobot-v1",
    observation_size=6,
    state_size=4,
    n_actions=3,
    start_draws=4,
    max_episode_steps=MAX_EPISODE_STEPS,
    reward_threshold=-100.0,
    start=acrobot_start,
    step=acrobot_step,
    observe=acrobot_observe,
    states_from_observations=_states_from_observations,
    start_low=(-START_RANGE,) * 4,
    start_high=(START_RANGE,) * 4,
)
