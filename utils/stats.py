"""How sure a small number of seeds lets us be: Student's t-intervals, ddof 1."""

from __future__ import annotations

import numbers
import reprlib
from collections.abc import Sequence

import numpy as np
from scipy import stats


def _scores(name: str, values: Sequence[float]) -> np.ndarray:
    """The scores as floats, or a ValueError naming what was given."""
    refusal = ValueError(
        f"{name} must be at least 2 finite numbers (one per seed), "
        f"got {reprlib.repr(values)}"
    )
    if isinstance(values, (str, bytes, np.ma.MaskedArray)):
        raise refusal  # a masked array's mask would be ignored: pass .compressed()
    try:
        scores = np.asarray(values)
    except ValueError as error:  # a ragged list
        raise refusal from error
    if (
        scores.dtype.kind not in "iuf"  # not bools, strings, objects or complex
        or scores.ndim != 1
        or len(scores) < 2
        or not np.isfinite(scores).all()
    ):
        raise refusal
    return scores.astype(float)


def _half_width(confidence: float, df: float, se: float) -> float:
    if (
        isinstance(confidence, (bool, np.bool_))
        or not isinstance(confidence, numbers.Real)
        or not 0 < confidence < 1
    ):
        raise ValueError(
            f"confidence must be a number between 0 and 1, such as 0.95, "
            f"got {confidence!r}"
        )
    half = float(stats.t.ppf(0.5 + confidence / 2, df) * se)
    if not np.isfinite(half):  # a spread beyond float range, or one that underflows
        raise ValueError(
            f"the scores' spread is out of float range (standard error {se!r})"
        )
    return half


def t_interval(
    values: Sequence[float], confidence: float = 0.95
) -> tuple[float, float, float]:
    """(mean, low, high): Student's t-interval of the mean of one score per seed."""
    values = _scores("values", values)
    mean = float(values.mean())
    with np.errstate(all="ignore"):  # an overflow is refused below, not warned of
        se = stats.sem(values)
    half = _half_width(confidence, len(values) - 1, se)
    return mean, mean - half, mean + half


def welch_interval(
    a: Sequence[float], b: Sequence[float], confidence: float = 0.95
) -> tuple[float, float, float]:
    """(difference, low, high): the interval of mean(a) - mean(b), Welch's t."""
    a, b = _scores("a", a), _scores("b", b)
    with np.errstate(all="ignore"):  # an overflow is refused below, not warned of
        va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
        difference, se = float(a.mean() - b.mean()), float(np.sqrt(va + vb))
        df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    if se == 0:  # every seed of both groups scored the same: no spread to widen by
        _half_width(confidence, 1, 0.0)
        return difference, difference, difference
    half = _half_width(confidence, df, se)
    return difference, difference - half, difference + half
