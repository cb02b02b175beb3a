"""The A/B statistics against published values: Wilson intervals from Newcombe (1998),
and a two-proportion z-test as R's prop.test(correct = FALSE) reports it."""

from __future__ import annotations

import pytest

from nurture.analytics.proportions import (
    p_value_text,
    two_proportion_test,
    wilson_interval,
    z_for,
)


def test_the_critical_value_for_95_percent_is_1_96() -> None:
    assert z_for(0.95) == pytest.approx(1.959964, abs=1e-6)
    assert z_for(0.99) == pytest.approx(2.575829, abs=1e-6)


@pytest.mark.parametrize(
    ("successes", "trials", "low", "high"),
    [
        # Newcombe, "Two-sided confidence intervals for the single proportion" (1998),
        # table I, method 3 (score interval without continuity correction).
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_the_wilson_interval_matches_published_values(
    successes: int, trials: int, low: float, high: float
) -> None:
    found = wilson_interval(successes, trials)
    assert found == pytest.approx((low, high), abs=5e-5)


def test_an_interval_stays_inside_zero_and_one_and_narrows_with_more_messages() -> None:
    assert wilson_interval(10, 10)[1] == 1.0
    assert wilson_interval(0, 0) == (0.0, 1.0)
    small = wilson_interval(10, 100)
    large = wilson_interval(100, 1000)
    assert large[1] - large[0] < small[1] - small[0]
    with pytest.raises(ValueError, match="not a rate"):
        wilson_interval(11, 10)


def test_two_rates_are_compared_as_prop_test_does() -> None:
    # prop.test(c(200, 250), c(1000, 1000), correct = FALSE):
    # X-squared = 7.1685, p-value = 0.007419
    compared = two_proportion_test(200, 1000, 250, 1000)
    assert compared.difference == pytest.approx(0.05)
    assert compared.z**2 == pytest.approx(7.1685, abs=1e-4)
    assert compared.p_value == pytest.approx(0.007419, abs=1e-6)
    assert compared.significant(0.99)
    assert not compared.significant(0.999)


def test_equal_rates_are_never_significant() -> None:
    assert two_proportion_test(0, 50, 0, 80).p_value == 1.0
    assert two_proportion_test(30, 100, 30, 100).p_value == pytest.approx(1.0)
    assert not two_proportion_test(30, 100, 33, 100).significant(0.95)


def test_a_p_value_is_shown_to_three_places_and_tiny_ones_as_below_a_thousandth() -> None:
    assert p_value_text(0.007419) == "p = 0.007"
    assert p_value_text(0.25) == "p = 0.250"
    assert p_value_text(0.00005) == "p < 0.001"
