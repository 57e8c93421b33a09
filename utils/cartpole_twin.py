"""CartPole-v1 written in TensorFlow ops: gymnasium's physics, batched, in float32.

The twin has no state of its own: `cartpole_step` maps a batch of states and
actions to the next states and whether each episode terminated, and
`cartpole_start` turns uniform draws into start states. Any tensor shape works as
long as the last axis of a state holds (x, x_dot, theta, theta_dot), so a DQN can
step [seeds, environments, 4] at once inside a compiled loop.

The constants and the update are gymnasium 1.x's `CartPoleEnv` (Euler, the
default `kinematics_integrator`); gymnasium's `TimeLimit` adds the truncation at
500 steps, which the caller counts (`MAX_EPISODE_STEPS`). gymnasium computes in
float64 and returns float32 observations; the twin computes in float32, so one
step from the same state agrees to float32 rounding (tests/utils/test_graph_dqn.py).
"""

from __future__ import annotations

import math

import tensorflow as tf

from utils.twins import Twin, observation_is_state

GRAVITY = 9.8
CART_MASS = 1.0
POLE_MASS = 0.1
TOTAL_MASS = CART_MASS + POLE_MASS
# half the pole's length
POLE_HALF_LENGTH = 0.5
POLE_MASS_LENGTH = POLE_MASS * POLE_HALF_LENGTH
# the push, left (action 0) or right (action 1)
FORCE = 10.0
# seconds per step
TAU = 0.02
# an episode terminates beyond these
X_LIMIT = 2.4
THETA_LIMIT = 12 * 2 * math.pi / 360
# gymnasium's TimeLimit for CartPole-v1
MAX_EPISODE_STEPS = 500
# every start-state variable is uniform in [-START_RANGE, START_RANGE)
START_RANGE = 0.05


def cartpole_start(uniforms: tf.Tensor) -> tf.Tensor:
    """Start states from draws uniform in [0, 1) (shape [..., 4])."""
    return uniforms * (2 * START_RANGE) - START_RANGE


def cartpole_step(states: tf.Tensor, actions: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """One Euler step of every state ([..., 4]) under its action ([...], 0 or 1).

    Returns the next states (also the observations) and `terminated`: the cart
    left [-2.4, 2.4] or the pole tipped beyond 12 degrees."""
    x, x_dot, theta, theta_dot = tf.unstack(tf.cast(states, tf.float32), axis=-1)
    force = tf.gather([-FORCE, FORCE], actions)  # action 0 pushes left, 1 right
    cos_theta, sin_theta = tf.cos(theta), tf.sin(theta)
    temp = (force + POLE_MASS_LENGTH * theta_dot**2 * sin_theta) / TOTAL_MASS
    theta_acc = (GRAVITY * sin_theta - cos_theta * temp) / (
        POLE_HALF_LENGTH * (4.0 / 3.0 - POLE_MASS * cos_theta**2 / TOTAL_MASS)
    )
    x_acc = temp - POLE_MASS_LENGTH * theta_acc * cos_theta / TOTAL_MASS
    x, x_dot = x + TAU * x_dot, x_dot + TAU * x_acc
    theta, theta_dot = theta + TAU * theta_dot, theta_dot + TAU * theta_acc
    terminated = (tf.abs(x) > X_LIMIT) | (tf.abs(theta) > THETA_LIMIT)
    return tf.stack([x, x_dot, theta, theta_dot], axis=-1), terminated


def _step(states: tf.Tensor, actions: tf.Tensor):
    """`cartpole_step` with the reward: +1 for every step, the last one included."""
    next_states, terminated = cartpole_step(states, actions)
    return next_states, tf.ones_like(next_states[..., 0]), terminated


CARTPOLE = Twin(
    env_id="CartPole-v1",
    observation_size=4,
    state_size=4,
    n_actions=2,
    start_draws=4,
    max_episode_steps=MAX_EPISODE_STEPS,
    reward_threshold=475.0,
    start=cartpole_start,
    step=_step,
    observe=tf.identity,
    states_from_observations=observation_is_state,
    start_low=(-START_RANGE,) * 4,
    start_high=(START_RANGE,) * 4,
)
