"""The course's Blob grid world as a gymnasium environment.

Importing the package registers two ids with gymnasium, both truncated at 200 steps:

- ``blobenv/BlobImage-v0``: 10 x 10 x 3 image observations, all 9 moves (the DQN).
- ``blobenv/BlobTabular-v0``: the four offsets, the 4 diagonal moves (the Q-table).
"""

from gymnasium.envs.registration import register

from blobenv.env import (
    ACTION_SETS,
    ALL_MOVES,
    DIAGONAL_MOVES,
    ENEMY_REWARD,
    FOOD_REWARD,
    MOVE_REWARD,
    BlobEnv,
)
from blobenv.reference import (
    MAX_EPISODE_STEPS,
    ReferencePlayer,
    evaluate_reference,
    optimal_return,
    shortest_safe_path,
)

register(
    id="blobenv/BlobImage-v0",
    entry_point="blobenv.env:BlobEnv",
    max_episode_steps=MAX_EPISODE_STEPS,
    kwargs={"obs_type": "image", "actions": "all"},
)
register(
    id="blobenv/BlobTabular-v0",
    entry_point="blobenv.env:BlobEnv",
    max_episode_steps=MAX_EPISODE_STEPS,
    kwargs={"obs_type": "offsets", "actions": "diagonal"},
)

__all__ = [
    "ACTION_SETS",
    "ALL_MOVES",
    "DIAGONAL_MOVES",
    "ENEMY_REWARD",
    "FOOD_REWARD",
    "MAX_EPISODE_STEPS",
    "MOVE_REWARD",
    "BlobEnv",
    "ReferencePlayer",
    "evaluate_reference",
    "optimal_return",
    "shortest_safe_path",
]
