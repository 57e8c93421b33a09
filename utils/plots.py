"""The learning-curve plot every notebook uses."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def rolling_stats(values: np.ndarray, window: int) -> tuple[np.ndarray, ...]:
    """Mean, min and max over each full window of `window` consecutive values."""
    values = np.asarray(values, dtype=np.float64)
    window = max(1, min(window, len(values)))
    windows = sliding_window_view(values, window)
    return windows.mean(axis=1), windows.min(axis=1), windows.max(axis=1)


def plot_learning_curve(
    returns: np.ndarray,
    window: int = 100,
    ax: plt.Axes | None = None,
    label: str = "return",
    target: float | None = None,
    xlabel: str = "episode",
) -> plt.Axes:
    """Rolling mean of `returns` with a min/max band; an optional target line."""
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 4))
    if len(returns) == 0:
        raise ValueError("returns is empty: nothing to plot")
    mean, low, high = rolling_stats(returns, window)
    episodes = np.arange(len(mean)) + min(window, len(returns))
    (line,) = ax.plot(
        episodes, mean, label=f"{label} (mean of {len(returns) - len(mean) + 1})"
    )
    ax.fill_between(
        episodes, low, high, alpha=0.2, color=line.get_color(), label="min-max"
    )
    if target is not None:
        ax.axhline(
            target, color="k", linestyle="--", linewidth=1, label=f"target {target}"
        )
    ax.set_xlabel(xlabel)
    ax.set_ylabel(label)
    ax.legend(loc="lower right")
    ax.grid(alpha=0.3)
    return ax
