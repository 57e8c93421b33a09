"""MountainCar-v0 written in TensorFlow ops: gymnasium's physics, batched, in float32.

The twin has no state of its own: `mountaincar_step` maps a batch of states and
actions to the next states, the rewards and whether each episode terminated, and
`mountaincar_start` turns uniform draws into start states. Any tensor shape works
as long as the last axis of a state holds (position, velocity), which is also the
observation, so a DQN can step [seeds, environments, 2] at once inside a compiled
loop.

The constants and the update are gymnasium 1.x's `MountainCarEnv` with its default
`goal_velocity = 0`; gymnasium's `TimeLimit` adds the truncation at 200 steps,
which the caller counts. gymnasium computes in float64 and returns float32
observations; the twin computes in float32, so one step from the same state agrees
to float32 rounding (tests/utils/test_twins.py). The one place where rounding can
change more than the last digit is the left wall: a position that lands within
float32 rounding of -1.2 may stop the car (velocity 0) in one and not the other.
"""

from __future__ import annotations

import tensorflow as tf

from utils.twins import Twin, observation_is_state

# the valley's walls: the position is clipped to [MIN_POSITION, MAX_POSITION]
MIN_POSITION = -1.2
MAX_POSITION = 0.6
# the velocity is clipped to [-MAX_SPEED, MAX_SPEED]
MAX_SPEED = 0.07
# an episode terminates at the flag: position >= GOAL_POSITION, moving right
GOAL_POSITION = 0.5
GOAL_VELOCITY = 0.0
# the engine's push per step, times -1, 0 or +1
FORCE = 0.001
# the slope's pull per step, times cos(3 position)
GRAVITY = 0.0025
# the push direction for actions 0, 1 and 2 (left, none, right)
PUSHES = (-1.0, 0.0, 1.0)
# gymnasium's TimeLimit for MountainCar-v0
MAX_EPISODE_STEPS = 200
# a start position is uniform in [START_LOW, START_HIGH), the velocity is 0
START_LOW = -0.6
START_HIGH = -0.4


def mountaincar_start(uniforms: tf.Tensor) -> tf.Tensor:
    """Start states ([..., 2]) from draws uniform in [0, 1) (shape [..., 1])."""
    position = START_LOW + uniforms * (START_HIGH - START_LOW)
    return tf.concat([position, tf.zeros_like(position)], axis=-1)


def mountaincar_step(
    states: tf.Tensor, actions: tf.Tensor
) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """One step of every state ([..., 2]) under its action ([...], 0, 1 or 2, any
    integer dtype).

    Returns the next states (also the observations), the rewards (-1 every step,
    the last one included) and `terminated`: the car reached the flag."""
    position, velocity = tf.unstack(tf.cast(states, tf.float32), axis=-1)
    push = tf.gather(tf.constant(PUSHES, tf.float32), actions)
    velocity = velocity + (push * FORCE + tf.cos(3 * position) * (-GRAVITY))
    velocity = tf.clip_by_value(velocity, -MAX_SPEED, MAX_SPEED)
    position = tf.clip_by_value(position + velocity, MIN_POSITION, MAX_POSITION)
    # the left wall stops the car
    velocity = tf.where((position == MIN_POSITION) & (velocity < 0), 0.0, velocity)
    terminated = (position >= GOAL_POSITION) & (velocity >= GOAL_VELOCITY)
    rewards = -tf.ones_like(position)
    return tf.stack([position, velocity], axis=-1), rewards, terminated


MOUNTAINCAR = Twin(
    env_id="MountainCar-v0",
    observation_size=2,
    state_size=2,
    n_actions=3,
    start_draws=1,
    max_episode_steps=MAX_EPISODE_STEPS,
    reward_threshold=-110.0,
    start=mountaincar_start,
    step=mountaincar_step,
    observe=tf.identity,
    states_from_observations=observation_is_state,
    start_low=(START_LOW, 0.0),
    start_high=(START_HIGH, 0.0),
)
