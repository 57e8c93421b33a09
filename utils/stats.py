"""How sure a small number of seeds lets us be: Student's t-intervals, ddof 1."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import stats


def _scores(name: str, values: Sequence[float]) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    if values.ndim != 1 or len(values) < 2 or not np.isfinite(values).all():
        raise ValueError(
            f"{name} must be at least 2 finite numbers (one per seed), got {values!r}"
        )
    return values


def _half_width(confidence: float, df: float, se: float) -> float:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence!r}")
    return float(stats.t.ppf(0.5 + confidence / 2, df) * se)


def t_interval(
    values: Sequence[float], confidence: float = 0.95
) -> tuple[float, float, float]:
    """(mean, low, high): Student's t-interval of the mean of one score per seed."""
    values = _scores("values", values)
    mean = float(values.mean())
    half = _half_width(confidence, len(values) - 1, stats.sem(values))
    return mean, mean - half, mean + half


def welch_interval(
    a: Sequence[float], b: Sequence[float], confidence: float = 0.95
) -> tuple[float, float, float]:
    """(difference, low, high): the interval of mean(a) - mean(b), Welch's t."""
    a, b = _scores("a", a), _scores("b", b)
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    difference, se = float(a.mean() - b.mean()), float(np.sqrt(va + vb))
    if se == 0:  # every seed of both groups scored the same: no spread to widen by
        _half_width(confidence, 1, 0.0)
        return difference, difference, difference
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    half = _half_width(confidence, df, se)
    return difference, difference - half, difference + half
