"""How many seeds the demo's test needs: power of a two-sided one-sample t-test over seeds.

The verdict tests the per-seed differences (affordability − America, mean log-odds) with a
t-test at ``report.ALPHA``. Given their mean and standard deviation measured on some seeds,
``power(n, ...)`` is the chance that ``n`` fresh seeds give p < alpha in the predicted
direction (noncentral t), and ``seeds_needed`` the fewest seeds reaching a target power.
"""

from __future__ import annotations

import math


def power(n: int, mean: float, sd: float, alpha: float = 0.01) -> float:
    """P(t-test over ``n`` seeds rejects at ``alpha``, two-sided, in the direction of
    ``mean``) when per-seed differences are normal with this mean and SD."""
    from scipy import stats

    if n < 2:
        return 0.0
    if sd <= 0:
        return 1.0 if mean else 0.0
    df = n - 1
    crit = float(stats.t.ppf(1 - alpha / 2, df))
    shift = abs(mean) / sd * math.sqrt(n)
    return float(stats.nct.sf(crit, df, shift))


def seeds_needed(
    mean: float, sd: float, alpha: float = 0.01, target: float = 0.8, most: int = 200
) -> int | None:
    """The fewest seeds whose power reaches ``target`` (None: not within ``most``)."""
    for n in range(2, most + 1):
        if power(n, mean, sd, alpha) >= target:
            return n
    return None


def curve(mean: float, sd: float, alpha: float = 0.01, seeds=(2, 3, 4, 5, 6, 8, 10, 15, 20)):
    """[(n, power)] for a table."""
    return [(n, power(n, mean, sd, alpha)) for n in seeds]
