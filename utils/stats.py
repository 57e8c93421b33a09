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


# -- many seeds: the interquartile mean and bootstrap intervals -----------------------
# (Agarwal et al. 2021, "Deep RL at the Edge of the Statistical Precipice"; the
# bootstrap is scipy.stats.bootstrap's, resampling each group's runs on its own)


def iqm(scores, axis: int = -1):
    """The interquartile mean: the mean of the middle 50% of the scores (at least 2
    finite numbers; an array of groups along `axis`, as the bootstrap passes)."""
    array = np.asarray(scores)
    if array.ndim == 1:
        array = _scores("scores", array)
    return stats.trim_mean(array, 0.25, axis=axis)


def _check_rng(rng) -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise ValueError(
            f"rng must be a numpy.random.Generator (the interval's own stream), "
            f"got {rng!r}"
        )
    return rng


def _bootstrap(samples, statistic, confidence, rng, n_resamples, method="percentile"):
    if method not in ("percentile", "BCa"):
        raise ValueError(f"method must be 'percentile' or 'BCa', got {method!r}")
    _half_width(confidence, 1, 0.0)  # refuses a confidence that is not in (0, 1)
    if (
        not isinstance(n_resamples, numbers.Integral)
        or isinstance(n_resamples, (bool, np.bool_))
        or n_resamples < 1_000
    ):
        raise ValueError(
            f"n_resamples must be an integer >= 1,000 (fewer cannot place a 95% "
            f"interval's ends), got {n_resamples!r}"
        )
    result = stats.bootstrap(
        samples,
        statistic,
        confidence_level=confidence,
        n_resamples=n_resamples,
        batch=1_000,  # resamples at a time: bounded memory for pairwise statistics
        method=method,
        rng=_check_rng(rng),
    )
    low, high = map(float, result.confidence_interval)
    undefined = method == "BCa" and np.isnan(low) and np.isnan(high)
    if not undefined and not (np.isfinite(low) and np.isfinite(high)):
        raise ValueError(
            f"the bootstrap interval is not finite ({low}, {high}): the scores' "
            "spread is out of float range"
        )
    return low, high  # BCa: (nan, nan) where it is undefined (scipy warns)


def iqm_interval(
    values: Sequence[float],
    rng: np.random.Generator,
    confidence: float = 0.95,
    n_resamples: int = 10_000,
) -> tuple[float, float, float]:
    """(IQM, low, high): a percentile bootstrap interval of one group's IQM."""
    values = _scores("values", values)
    low, high = _bootstrap((values,), iqm, confidence, rng, n_resamples)
    return float(iqm(values)), low, high


def iqm_difference_interval(
    a: Sequence[float],
    b: Sequence[float],
    rng: np.random.Generator,
    confidence: float = 0.95,
    n_resamples: int = 10_000,
    method: str = "percentile",
) -> tuple[float, float, float]:
    """(IQM(a) - IQM(b), low, high): a percentile bootstrap interval (or with
    method="BCa", bias-corrected and accelerated: low and high are nan where BCa is
    undefined), each group's runs resampled on their own (independent groups, such
    as two variants)."""
    a, b = _scores("a", a), _scores("b", b)

    def difference(x, y, axis=-1):
        return iqm(x, axis) - iqm(y, axis)

    low, high = _bootstrap((a, b), difference, confidence, rng, n_resamples, method)
    return float(difference(a, b)), low, high


def probability_of_improvement(a, b, axis: int = -1):
    """P(X > Y) + P(X = Y) / 2 for a run X of group a and a run Y of group b: the
    share of all pairs that a wins, ties counted half (0.5: neither is better)."""
    a, b = np.asarray(a), np.asarray(b)
    if a.ndim == 1 and b.ndim == 1:  # one group each (the bootstrap passes arrays)
        a, b = _scores("a", a), _scores("b", b)
    a, b = np.moveaxis(a, axis, -1), np.moveaxis(b, axis, -1)
    x, y = a[..., :, None], b[..., None, :]
    return ((x > y) + 0.5 * (x == y)).mean(axis=(-2, -1))


def improvement_interval(
    a: Sequence[float],
    b: Sequence[float],
    rng: np.random.Generator,
    confidence: float = 0.95,
    n_resamples: int = 10_000,
) -> tuple[float, float, float]:
    """(P(a > b), low, high): `probability_of_improvement` with a percentile
    bootstrap interval, each group's runs resampled on their own."""
    a, b = _scores("a", a), _scores("b", b)
    low, high = _bootstrap(
        (a, b), probability_of_improvement, confidence, rng, n_resamples
    )
    return float(probability_of_improvement(a, b)), low, high


def performance_profile(values: Sequence[float], thresholds: Sequence[float]):
    """The fraction of runs that score above each threshold."""
    values = _scores("values", values)
    levels = np.asarray(thresholds)
    if (
        levels.ndim != 1
        or levels.dtype.kind not in "iuf"
        or not np.isfinite(levels).all()
    ):
        raise ValueError(
            f"thresholds must be a sequence of finite numbers, got {thresholds!r}"
        )
    return (values[None, :] > levels[:, None]).mean(axis=1)


# -- how many seeds: Welch's t, with the spreads of a pilot study taken as true --------


def _pilot(a, b):
    a, b = _scores("a", a), _scores("b", b)
    with np.errstate(all="ignore"):  # an overflow is refused below, not warned of
        pilot = float(a.mean() - b.mean()), float(a.var(ddof=1)), float(b.var(ddof=1))
    if not np.isfinite(pilot).all():
        raise ValueError(
            f"the scores' spread is out of float range (variances {pilot[1]!r} "
            f"and {pilot[2]!r})"
        )
    return pilot


def _smallest(enough, limit: int = 10**7):
    """The smallest n >= 2 with enough(n) (true from there on), or inf past limit."""
    high = 2
    while not enough(high):
        if high >= limit:
            return float("inf")
        high *= 2
    low = high // 2  # enough(low) is false, or low < 2
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (low, middle) if enough(middle) else (middle, high)
    return max(high, 2)


def _welch_t(n, va, vb, confidence):
    """Welch's standard error, degrees of freedom and critical t at n seeds a side."""
    se = np.sqrt((va + vb) / n)
    df = (va + vb) ** 2 / ((va**2 + vb**2) / (n - 1)) if va + vb else n - 1.0
    return se, df, stats.t.ppf(0.5 + confidence / 2, df)


def seeds_for_power(
    a: Sequence[float],
    b: Sequence[float],
    confidence: float = 0.95,
    power: float = 0.8,
) -> float:
    """The seeds a side at which Welch's interval at `confidence` excludes 0 in a
    share `power` of studies, if mean(a) - mean(b) and both spreads (ddof 1) were
    the truth: the noncentral t distribution, not a normal approximation (which
    undercounts a few seeds). inf for no difference, or beyond ten million."""
    _half_width(confidence, 1, 0.0)
    if (
        isinstance(power, (bool, np.bool_))
        or not isinstance(power, numbers.Real)
        or not 0 < power < 1
    ):
        raise ValueError(f"power must be a number between 0 and 1, got {power!r}")
    difference, va, vb = _pilot(a, b)
    if difference == 0 or va + vb == 0:
        return float("inf") if difference == 0 else 2

    def enough(n):
        se, df, critical = _welch_t(n, va, vb, confidence)
        shift = abs(difference) / se
        # P(T > c) + P(T < -c), the lower tail as the upper tail of -T (scipy's
        # nct.cdf is NaN far out in the tail; its sf is not)
        reach = stats.nct.sf(critical, df, shift) + stats.nct.sf(critical, df, -shift)
        return reach >= power

    return _smallest(enough)


def seeds_for_width(
    a: Sequence[float],
    b: Sequence[float],
    half_width: float,
    confidence: float = 0.95,
) -> float:
    """The seeds a side at which Welch's interval of mean(a) - mean(b) at
    `confidence` is at most +-half_width, if both spreads (ddof 1) were the truth."""
    _half_width(confidence, 1, 0.0)
    if (
        isinstance(half_width, (bool, np.bool_))
        or not isinstance(half_width, numbers.Real)
        or not 0 < float(half_width) < float("inf")
    ):
        raise ValueError(f"half_width must be a positive number, got {half_width!r}")
    _, va, vb = _pilot(a, b)

    def enough(n):
        se, _, critical = _welch_t(n, va, vb, confidence)
        return critical * se <= half_width

    return _smallest(enough)
