"""The statistics of an A/B test: a rate's confidence interval, and whether two rates differ.

Both are textbook formulas over the normal distribution (the standard library's
NormalDist), so no statistics package is needed:

- the Wilson score interval for a rate k/n (Wilson 1927), which unlike the simple
  "p ± z·√(p(1-p)/n)" stays inside [0, 1] and behaves with few or no successes;
- the two-proportion z-test with a pooled rate, two-sided, for "do these two
  variants' rates differ" (the test most A/B tools report).
"""

from __future__ import annotations

from dataclasses import dataclass
from math import sqrt
from statistics import NormalDist

_NORMAL = NormalDist()


def z_for(confidence: float) -> float:
    """The two-sided critical value: 1.96 for 0.95."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1, not {confidence}")
    return _NORMAL.inv_cdf(0.5 + confidence / 2)


def wilson_interval(successes: int, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval of successes/trials; (0.0, 1.0) when there are no trials."""
    if successes < 0 or trials < 0 or successes > trials:
        raise ValueError(f"{successes} successes out of {trials} trials is not a rate")
    if trials == 0:
        return 0.0, 1.0
    z = z_for(confidence)
    rate = successes / trials
    z2n = z * z / trials
    centre = (rate + z2n / 2) / (1 + z2n)
    half = z * sqrt(rate * (1 - rate) / trials + z2n / (4 * trials)) / (1 + z2n)
    # Rounding can leave the ends a hair outside [0, 1] at 0 or n successes.
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True, slots=True)
class Comparison:
    """Two rates compared: their difference (b - a), the z statistic and its p-value."""

    difference: float
    z: float
    p_value: float

    def significant(self, confidence: float) -> bool:
        """Whether the difference holds at `confidence` (p below 1 - confidence)."""
        return self.p_value < 1 - confidence


def two_proportion_test(
    successes_a: int, trials_a: int, successes_b: int, trials_b: int
) -> Comparison:
    """The pooled two-proportion z-test of b's rate against a's, two-sided."""
    if trials_a <= 0 or trials_b <= 0:
        raise ValueError("each side needs at least one trial")
    rate_a, rate_b = successes_a / trials_a, successes_b / trials_b
    pooled = (successes_a + successes_b) / (trials_a + trials_b)
    spread = sqrt(pooled * (1 - pooled) * (1 / trials_a + 1 / trials_b))
    if spread == 0:
        # Both all successes or all failures: the rates are equal, nothing to tell apart.
        return Comparison(rate_b - rate_a, 0.0, 1.0)
    z = (rate_b - rate_a) / spread
    return Comparison(rate_b - rate_a, z, 2 * (1 - _NORMAL.cdf(abs(z))))


def p_value_text(p_value: float) -> str:
    """'p = 0.012', or 'p < 0.001' where more digits would only look precise."""
    return "p < 0.001" if p_value < 0.001 else f"p = {p_value:.3f}"
