"""The seeds-needed calculation against a simulation of the demo's own t-test."""

from __future__ import annotations

import random

from msmkit.toyworld import power


def test_power_matches_a_simulated_t_test_and_grows_with_seeds():
    from scipy import stats

    mean, sd, n, alpha = 0.5, 0.6, 8, 0.01
    rng = random.Random(3)
    trials = 4000
    hits = 0
    for _ in range(trials):
        diffs = [rng.gauss(mean, sd) for _ in range(n)]
        res = stats.ttest_1samp(diffs, 0.0)
        hits += res.pvalue < alpha and res.statistic > 0
    simulated = hits / trials
    assert abs(power.power(n, mean, sd, alpha) - simulated) < 0.03
    values = [p for _, p in power.curve(0.8, 0.6, alpha)]
    assert values == sorted(values) and values[0] < 0.05 < 0.9 < values[-1]


def test_seeds_needed_is_the_first_n_reaching_the_target():
    n = power.seeds_needed(1.0, 1.0, alpha=0.01, target=0.8)
    assert n is not None
    assert power.power(n, 1.0, 1.0) >= 0.8 > power.power(n - 1, 1.0, 1.0)
    assert power.seeds_needed(0.01, 1.0, most=50) is None  # a tiny effect: not within 50
    assert power.power(1, 5.0, 1.0) == 0.0  # one seed cannot be tested
