import re

import numpy as np
import pytest
from scipy import stats

from utils.stats import t_interval, welch_interval


def test_t_interval_is_students_with_ddof_1():
    mean, low, high = t_interval([1.0, 2.0, 3.0])
    half = 4.302652729911275 * 1.0 / np.sqrt(3)  # t(0.975, 2) * s / sqrt(n), s = 1
    assert (mean, low, high) == pytest.approx((2.0, 2.0 - half, 2.0 + half))
    assert t_interval([1.0, 2.0, 3.0], confidence=0.5)[2] < high


def test_welch_interval_matches_scipys_welch_test():
    rng = np.random.default_rng(0)
    a, b = rng.normal(1.0, 1.0, 5), rng.normal(0.0, 3.0, 7)
    difference, low, high = welch_interval(a, b)
    result = stats.ttest_ind(a, b, equal_var=False)
    expected = result.confidence_interval(0.95)
    assert difference == pytest.approx(a.mean() - b.mean())
    assert (low, high) == pytest.approx((expected.low, expected.high))
    assert welch_interval([2.0, 2.0], [1.0, 1.0]) == (1.0, 1.0, 1.0)


@pytest.mark.parametrize(
    "values",
    [
        [1.0],
        [],
        [1.0, float("nan")],
        [[1.0, 2.0], [3.0, 4.0]],
        ["1", "2", "3"],  # text, even text of numbers
        "123",
        [True, False, True],  # a bool is not a score
        None,
        (x for x in [1.0, 2.0]),
        [1.0, [2.0, 3.0]],  # ragged
        np.ma.array([1.0, 2.0, 3.0], mask=[0, 1, 0]),  # its mask would be ignored
        [1 + 1j, 2 + 0j],
    ],
)
def test_intervals_refuse_fewer_than_two_finite_scores(values):
    with pytest.raises(ValueError, match="at least 2 finite numbers"):
        t_interval(values)
    with pytest.raises(ValueError, match="at least 2 finite numbers"):
        welch_interval([1.0, 2.0], values)


@pytest.mark.parametrize(
    "confidence", [95, 1.5, 0, 1, -0.5, "0.95", None, True, [0.95]]
)
def test_intervals_refuse_a_confidence_that_is_not_a_number_in_0_1(confidence):
    expected = (
        f"confidence must be a number between 0 and 1, such as 0.95, got {confidence!r}"
    )
    with pytest.raises(ValueError, match=re.escape(expected)):
        t_interval([1.0, 2.0], confidence=confidence)
    with pytest.raises(ValueError, match=re.escape(expected)):
        welch_interval([1.0, 1.0], [1.0, 1.0], confidence=confidence)


def test_the_refusal_names_what_was_given_and_an_overflow_is_refused():
    with pytest.raises(ValueError, match=r"got \['1', '2'\]"):
        t_interval(["1", "2"])
    with pytest.raises(ValueError, match="out of float range"):
        t_interval([1e308, -1e308, 1e308])
