"""The Blob world: a player, a food and an enemy on a small square grid."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import cv2
import gymnasium as gym
import numpy as np
from gymnasium import spaces

# Moves as (dx, dy). The first four are the diagonals of the tabular lesson; the
# full set adds the four straight moves and "stay", in the original's order.
DIAGONAL_MOVES: tuple[tuple[int, int], ...] = ((1, 1), (-1, -1), (-1, 1), (1, -1))
ALL_MOVES: tuple[tuple[int, int], ...] = DIAGONAL_MOVES + (
    (1, 0),
    (-1, 0),
    (0, 1),
    (0, -1),
    (0, 0),
)
ACTION_SETS: dict[str, tuple[tuple[int, int], ...]] = {
    "diagonal": DIAGONAL_MOVES,
    "all": ALL_MOVES,
}

# Colours are RGB, like matplotlib and gymnasium's "rgb_array" frames.
PLAYER_COLOUR = (0, 175, 255)  # light blue
FOOD_COLOUR = (0, 255, 0)  # green
ENEMY_COLOUR = (255, 0, 0)  # red

MOVE_REWARD = -1
FOOD_REWARD = 25
ENEMY_REWARD = -300

OBS_TYPES = ("image", "offsets")
POSITIONS = ("player", "food", "enemy")  # the blobs `reset(options=...)` may place


def _is_integer(value) -> bool:
    """An int or a NumPy integer, not a bool."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


class BlobEnv(gym.Env):
    """A player blob looks for food on a grid while avoiding an enemy.

    ## Description
    The course's home-made environment. Three blobs stand on a `size` x `size`
    grid: the player (blue), the food (green) and the enemy (red). The player
    moves; food and enemy stand still unless `moving_food` / `moving_enemy` is set,
    in which case each takes a random step (one of the 9 moves) after the player.

    ## Action Space
    `Discrete(4)` with `actions="diagonal"`: 0 (+1, +1), 1 (-1, -1), 2 (-1, +1),
    3 (+1, -1) as (dx, dy). `Discrete(9)` with `actions="all"`: the same four, then
    4 (+1, 0), 5 (-1, 0), 6 (0, +1), 7 (0, -1) and 8 "stay" (0, 0). A move that
    would leave the grid is clipped at the wall: a diagonal push against a wall
    moves along it, which is the only way a diagonal-only player changes the
    parity of x + y.

    ## Observation Space
    `obs_type="image"`: the grid as a `(size, size, 3)` uint8 RGB image, indexed
    `[y, x]`, black except the three blobs (the enemy drawn last, so it shows
    when the player stands on it). `obs_type="offsets"`: int64 array
    `(player_x - food_x, player_y - food_y, player_x - enemy_x, player_y - enemy_y)`,
    each in `[-(size - 1), size - 1]`.

    ## Rewards
    -1 for a move, +25 on reaching the food, -300 on touching the enemy (the enemy
    wins when the player lands on food and enemy at once).

    ## Starting State
    Three distinct cells drawn uniformly from `self.np_random`, or the positions
    given in `reset(options={"player": (x, y), "food": (x, y), "enemy": (x, y)})`.

    ## Episode End
    Terminated on food or enemy. Truncated after 200 steps by the registered
    `TimeLimit` of the registered ids (`gymnasium.make("blobenv/BlobImage-v0")`,
    `"blobenv/BlobTabular-v0"`); the bare class never truncates.

    ## Arguments
    `size` (>= 3, default 10), `obs_type` ("image" | "offsets"), `actions`
    ("all" | "diagonal"), `moving_food`, `moving_enemy` (default False),
    `render_mode` (None | "rgb_array" | "ansi"), `render_size` (pixels a side of
    an "rgb_array" frame, default 300).

    ## Version History
    v0: the course's first version. Fixes the original lesson's movement defect,
    where a zero move component was taken as "not given" and replaced by a random
    step, so straight moves drifted sideways and "stay" walked.
    """

    metadata = {"render_modes": ["rgb_array", "ansi"], "render_fps": 4}

    def __init__(
        self,
        size: int = 10,
        obs_type: str = "image",
        actions: str = "all",
        moving_food: bool = False,
        moving_enemy: bool = False,
        render_mode: str | None = None,
        render_size: int = 300,
    ) -> None:
        if not _is_integer(size) or size < 3:
            raise ValueError(f"size must be an integer >= 3, got {size!r}")
        if not isinstance(obs_type, str) or obs_type not in OBS_TYPES:
            raise ValueError(f"obs_type must be one of {OBS_TYPES}, got {obs_type!r}")
        if not isinstance(actions, str) or actions not in ACTION_SETS:
            raise ValueError(
                f"actions must be one of {tuple(ACTION_SETS)}, got {actions!r}"
            )
        modes = self.metadata["render_modes"]
        if render_mode is not None and (
            not isinstance(render_mode, str) or render_mode not in modes
        ):
            raise ValueError(
                f"render_mode must be None or one of {tuple(modes)}, "
                f"got {render_mode!r}"
            )
        for name, value in (
            ("moving_food", moving_food),
            ("moving_enemy", moving_enemy),
        ):
            if not isinstance(value, (bool, np.bool_)):
                raise ValueError(f"{name} must be True or False, got {value!r}")
        if not _is_integer(render_size) or render_size < size:
            raise ValueError(
                f"render_size must be an integer >= size ({size}), got {render_size!r}"
            )
        self.size = int(size)
        self.obs_type = obs_type
        self.moves = ACTION_SETS[actions]
        self.moving_food = bool(moving_food)
        self.moving_enemy = bool(moving_enemy)
        self.render_mode = render_mode
        self.render_size = int(render_size)

        self.action_space = spaces.Discrete(len(self.moves))
        if obs_type == "image":
            self.observation_space = spaces.Box(
                0, 255, shape=(self.size, self.size, 3), dtype=np.uint8
            )
        else:
            self.observation_space = spaces.Box(
                -(self.size - 1), self.size - 1, shape=(4,), dtype=np.int64
            )
        self.player = (0, 0)
        self.food = (0, 0)
        self.enemy = (0, 0)

    # -- gymnasium API -----------------------------------------------------------
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        # the options are checked before the seed reseeds the generator: a refused
        # reset changes nothing
        positions = self._positions_from(options)
        super().reset(seed=seed)
        if positions is not None:
            self.player, self.food, self.enemy = positions
        else:
            cells = self.np_random.choice(self.size * self.size, size=3, replace=False)
            self.player, self.food, self.enemy = (
                (int(c % self.size), int(c // self.size)) for c in cells
            )
        return self._get_obs(), self._get_info()

    def step(self, action: int) -> tuple[np.ndarray, int, bool, bool, dict[str, Any]]:
        boolean = isinstance(action, (bool, np.bool_))  # Discrete takes True as 1
        if boolean or not self.action_space.contains(action):
            raise ValueError(
                f"action must be an integer in [0, {self.action_space.n - 1}], "
                f"got {action!r}"
            )
        self.player = self._move(self.player, self.moves[int(action)])
        if self.moving_food:
            self.food = self._random_move(self.food)
        if self.moving_enemy:
            self.enemy = self._random_move(self.enemy)

        if self.player == self.enemy:
            reward = ENEMY_REWARD
        elif self.player == self.food:
            reward = FOOD_REWARD
        else:
            reward = MOVE_REWARD
        terminated = reward != MOVE_REWARD
        return self._get_obs(), reward, terminated, False, self._get_info()

    def render(self) -> np.ndarray | str | None:
        if self.render_mode == "rgb_array":
            return cv2.resize(
                self._image(),
                (self.render_size, self.render_size),
                interpolation=cv2.INTER_NEAREST,
            )
        if self.render_mode == "ansi":
            grid = [["." for _ in range(self.size)] for _ in range(self.size)]
            for (x, y), letter in ((self.food, "F"), (self.player, "P")):
                grid[y][x] = letter
            grid[self.enemy[1]][self.enemy[0]] = "E"
            return "\n".join("".join(row) for row in grid) + "\n"
        return None

    # -- helpers -----------------------------------------------------------------
    def _move(
        self, position: tuple[int, int], move: tuple[int, int]
    ) -> tuple[int, int]:
        x = min(max(position[0] + move[0], 0), self.size - 1)
        y = min(max(position[1] + move[1], 0), self.size - 1)
        return (x, y)

    def _random_move(self, position: tuple[int, int]) -> tuple[int, int]:
        return self._move(position, ALL_MOVES[int(self.np_random.integers(9))])

    def _image(self) -> np.ndarray:
        image = np.zeros((self.size, self.size, 3), dtype=np.uint8)
        for (x, y), colour in (
            (self.food, FOOD_COLOUR),
            (self.player, PLAYER_COLOUR),
            (self.enemy, ENEMY_COLOUR),
        ):
            image[y, x] = colour
        return image

    def _get_obs(self) -> np.ndarray:
        if self.obs_type == "image":
            return self._image()
        (px, py), (fx, fy), (ex, ey) = self.player, self.food, self.enemy
        return np.array([px - fx, py - fy, px - ex, py - ey], dtype=np.int64)

    def _get_info(self) -> dict[str, Any]:
        return {"player": self.player, "food": self.food, "enemy": self.enemy}

    def _positions_from(
        self, options: dict[str, Any] | None
    ) -> list[tuple[int, int]] | None:
        """The three positions `options` gives, None if it gives none, or a
        ValueError naming what is wrong; reads no generator."""
        if options is None:
            return None
        if not isinstance(options, Mapping):
            raise ValueError(f"options must be a dict or None, got {options!r}")
        unknown = sorted(map(str, set(options) - set(POSITIONS)))
        if unknown:
            raise ValueError(
                f"reset options are player, food and enemy, got {', '.join(unknown)}"
            )
        if not options:
            return None
        positions = []
        for name in POSITIONS:
            if name not in options:
                raise ValueError(
                    f"options must give all of player, food and enemy, {name} missing"
                )
            value = options[name]
            pair = (isinstance(value, (tuple, list)) and len(value) == 2) or (
                isinstance(value, np.ndarray) and value.shape == (2,)
            )
            if not pair or not all(_is_integer(v) for v in value):
                raise ValueError(
                    f"{name} must be a pair (x, y) of integers, got {value!r}"
                )
            x, y = int(value[0]), int(value[1])
            if not (0 <= x < self.size and 0 <= y < self.size):
                raise ValueError(
                    f"{name} must lie on the grid, 0 <= x, y < {self.size}, "
                    f"got {value!r}"
                )
            positions.append((x, y))
        if len(set(positions)) != 3:
            raise ValueError(f"player, food and enemy must differ, got {positions}")
        return positions
