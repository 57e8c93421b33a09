import re

import numpy as np
import pytest
from scipy import stats

from utils import stats as stats_module
from utils.stats import t_interval, welch_interval

RNG = np.random.default_rng


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


# -- many seeds: IQM, bootstrap intervals, probability of improvement ----------------
def test_iqm_is_the_mean_of_the_middle_half():
    assert stats_module.iqm([100, 1, 2, 3, 4, 5, 6, -100]) == 3.5


def test_an_iqm_interval_holds_its_iqm_and_is_reproducible():
    values = np.random.default_rng(0).normal(10, 1, 64)
    first = stats_module.iqm_interval(values, np.random.default_rng(1))
    again = stats_module.iqm_interval(values, np.random.default_rng(1))
    assert first == again
    centre, low, high = first
    assert low < centre < high and 9 < low and high < 11


def test_a_difference_interval_separates_only_groups_that_differ():
    rng = np.random.default_rng(0)
    a, b, c = rng.normal(1, 1, 64), rng.normal(0, 1, 64), rng.normal(0, 1, 64)
    _, low, _ = stats_module.iqm_difference_interval(a, b, np.random.default_rng(1))
    assert low > 0
    _, low, high = stats_module.iqm_difference_interval(b, c, np.random.default_rng(1))
    assert low < 0 < high


def test_probability_of_improvement_counts_pairs_and_half_the_ties():
    # pairs: 1 vs 1 (tie), 1 vs 0, 2 vs 1, 2 vs 0 -> (0.5 + 3) / 4
    assert stats_module.probability_of_improvement([1, 2], [1, 0]) == 0.875
    same = stats_module.improvement_interval(
        [500.0] * 8, [500.0] * 8, np.random.default_rng(0)
    )
    assert same == (0.5, 0.5, 0.5)


def test_a_performance_profile_is_the_share_above_each_threshold():
    profile = stats_module.performance_profile([1, 2, 3, 4], [0, 2.5, 4])
    np.testing.assert_array_equal(profile, [1.0, 0.5, 0.0])


@pytest.mark.parametrize(
    "call, expected",
    [
        (lambda: stats_module.iqm_interval([1.0, 2.0], 0), "rng must be"),
        (lambda: stats_module.iqm_interval([1.0], RNG()), "at least 2 finite"),
        (
            lambda: stats_module.iqm_difference_interval([1, 2], [1, 2], RNG(), 95),
            "confidence must be",
        ),
        (
            lambda: stats_module.improvement_interval([1, np.nan], [1, 2], RNG()),
            "at least 2 finite",
        ),
        (
            lambda: stats_module.iqm_difference_interval(
                [1e308, -1e308] * 2, [1, 2], RNG()
            ),
            "the bootstrap interval is not finite",
        ),
    ],
)
def test_the_bootstrap_intervals_refuse_bad_input(call, expected):
    with pytest.raises(ValueError, match=expected):
        call()


def test_a_bca_interval_where_bca_is_undefined_is_nan_not_an_error():
    with pytest.warns(Warning):  # scipy's DegenerateDataWarning says why
        difference, low, high = stats_module.iqm_difference_interval(
            [5.0] * 8, [4.0] * 8, RNG(), method="BCa"
        )
    assert difference == 1.0 and np.isnan(low) and np.isnan(high)


@pytest.mark.parametrize(
    "call, expected",
    [
        (lambda: stats_module.iqm([1.0, np.nan, 3.0]), "scores must be"),
        (lambda: stats_module.iqm([True, False]), "scores must be"),
        (
            lambda: stats_module.probability_of_improvement([1, np.nan], [0, 0]),
            "a must",
        ),
        (lambda: stats_module.performance_profile([1, 2, 3], 2), "thresholds must"),
        (
            lambda: stats_module.performance_profile([1, 2], [np.nan]),
            "thresholds must",
        ),
        (
            lambda: stats_module.iqm_interval([1.0, 2.0, 3.0], RNG(), n_resamples=1),
            "n_resamples must be an integer >= 1,000",
        ),
        (
            lambda: stats_module.improvement_interval(
                [1, 2], [1, 2], RNG(), 0.95, True
            ),
            "n_resamples must",
        ),
    ],
)
def test_the_many_seed_statistics_refuse_what_they_cannot_count(call, expected):
    with pytest.raises(ValueError, match=expected):
        call()


def _pilot(difference, n=50):
    """Two groups of n scores with standard deviation exactly 1 (ddof 1)."""
    x = np.linspace(-1.0, 1.0, n)
    x = x / x.std(ddof=1)
    return x + difference, x


@pytest.mark.parametrize("effect, seeds", [(0.5, 64), (0.8, 26), (1.0, 17)])
def test_seeds_for_power_are_the_textbook_t_test_sample_sizes(effect, seeds):
    # Cohen's two-sample table (and G*Power): 95%, power 0.8, two-sided
    assert stats_module.seeds_for_power(*_pilot(effect)) == seeds
    assert stats_module.seeds_for_power(*_pilot(-effect)) == seeds


def test_seeds_for_power_hold_for_a_difference_far_out_in_the_tail():
    # scipy's nct.cdf is NaN this far out; the count must still be the smallest
    a = -438.9 + 2.0 * _pilot(0.0, 64)[1]
    b = 124.0 * _pilot(0.0, 64)[1]
    n = stats_module.seeds_for_power(a, b, 0.995)
    assert n == 5

    def power(m):  # the two tails of the noncentral t, both as upper tails
        se = np.sqrt((4.0 + 124.0**2) / m)
        df = (4.0 + 124.0**2) ** 2 / ((4.0**2 + 124.0**4) / (m - 1))
        c = stats.t.ppf(0.9975, df)
        return stats.nct.sf(c, df, 438.9 / se) + stats.nct.sf(c, df, -438.9 / se)

    assert power(n) >= 0.8 > power(n - 1)


def test_a_bca_interval_holds_its_estimate_and_a_bad_method_is_refused():
    a, b = _pilot(1.0)
    d, low, high = stats_module.iqm_difference_interval(a, b, RNG(0), method="BCa")
    assert low < d < high
    with pytest.raises(ValueError, match="method must be 'percentile' or 'BCa'"):
        stats_module.iqm_difference_interval(a, b, RNG(0), method="bca")


def test_seeds_for_power_grow_with_the_confidence_and_are_inf_for_no_difference():
    a, b = _pilot(0.5)
    assert stats_module.seeds_for_power(a, b, 0.995) > 64
    assert stats_module.seeds_for_power(a, b, 0.95, 0.9) > 64
    assert stats_module.seeds_for_power(b, b) == float("inf")


def test_seeds_for_width_is_the_first_count_whose_interval_is_narrow_enough():
    a, b = _pilot(0.5)
    n = stats_module.seeds_for_width(a, b, 0.3)

    def half(m):  # equal spreads and counts: Welch's df is 2 (m - 1)
        return stats.t.ppf(0.975, 2 * (m - 1)) * np.sqrt(2 / m)

    assert half(n) <= 0.3 < half(n - 1)


@pytest.mark.parametrize(
    "call, expected",
    [
        (lambda: stats_module.seeds_for_power([1, 2], [1, np.nan]), "b must"),
        (lambda: stats_module.seeds_for_power([1, 2], [1, 3], 95), "confidence"),
        (lambda: stats_module.seeds_for_power([1, 2], [1, 3], 0.95, 1.5), "power must"),
        (lambda: stats_module.seeds_for_width([1, 2], [1, 3], 0), "half_width must"),
        (lambda: stats_module.seeds_for_width([1, 2], [1, 3], "5"), "half_width"),
        (
            lambda: stats_module.seeds_for_power([1e300, 1.1e300], [1, 2]),
            "out of float range",
        ),
    ],
)
def test_the_seed_counts_refuse_bad_input(call, expected):
    with pytest.raises(ValueError, match=expected):
        call()
