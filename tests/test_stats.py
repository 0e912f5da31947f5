"""msmkit.stats against hand-worked numbers and scipy's own tests."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from msmkit.stats import Estimate, cluster_robust_se, clustered_mean, compare_means, wilson

Z = 1.959963984540054


def _wilson_by_hand(p: float, n: float) -> tuple[float, float]:
    centre = (p + Z**2 / (2 * n)) / (1 + Z**2 / n)
    half = Z / (1 + Z**2 / n) * math.sqrt(p * (1 - p) / n + Z**2 / (4 * n**2))
    return centre - half, centre + half


def _width(e: Estimate) -> float:
    return e.ci95[1] - e.ci95[0]


# ------------------------------------------------------------------------ clustered_mean


def test_cluster_robust_se_hand_worked() -> None:
    # c1: 1,1  c2: 1,0  c3: 0,0  c4: 1  -> p = 4/7
    values = [1, 1, 1, 0, 0, 0, 1]
    clusters = ["c1", "c1", "c2", "c2", "c3", "c3", "c4"]
    # residuals 3/7 (for 1) and -4/7 (for 0), summed per cluster:
    sums = [6 / 7, -1 / 7, -8 / 7, 3 / 7]
    se = math.sqrt(4 / 3 * sum(s * s for s in sums)) / 7
    assert cluster_robust_se(values, clusters) == pytest.approx(se, rel=1e-12)

    est = clustered_mean(values, clusters)
    assert est.mean == pytest.approx(4 / 7)
    assert est.se == pytest.approx(se, rel=1e-12)
    assert (est.n_clusters, est.n_samples, est.n_replicates) == (4, 7, 1)
    assert est.method == "wilson, cluster-robust n_eff"
    n_eff = (4 / 7) * (3 / 7) / se**2
    assert 1 <= n_eff <= 7
    assert est.ci95 == pytest.approx(_wilson_by_hand(4 / 7, n_eff), rel=1e-9)


def test_one_sample_per_cluster_is_the_ordinary_standard_error() -> None:
    rng = np.random.default_rng(0)
    values = rng.normal(size=25)
    est = clustered_mean(values, list(range(25)))
    assert est.se == pytest.approx(sps.sem(values), rel=1e-12)
    lo, hi = sps.t.interval(0.95, df=24, loc=values.mean(), scale=sps.sem(values))
    assert est.ci95 == pytest.approx((lo, hi), rel=1e-9)
    assert est.method == "t, cluster-robust se"


def test_non_binary_values_use_t_with_clusters_minus_one_df() -> None:
    values = [0.2, 0.4, 0.9, 0.5, 0.7, 0.3]
    clusters = ["x", "x", "y", "z", "z", "z"]
    mean = sum(values) / 6
    sums = [0.2 + 0.4 - 2 * mean, 0.9 - mean, 0.5 + 0.7 + 0.3 - 3 * mean]
    se = math.sqrt(3 / 2 * sum(s * s for s in sums)) / 6
    half = sps.t.ppf(0.975, 2) * se
    est = clustered_mean(values, clusters)
    assert est.ci95 == pytest.approx((mean - half, mean + half), rel=1e-9)


def test_duplicated_orders_do_not_narrow_the_interval() -> None:
    """Both option orders with identical answers carry no more information than one."""
    once = [1] * 12 + [0] * 18
    items = [f"item{i}" for i in range(30)]
    single = clustered_mean(once, items)
    doubled = clustered_mean(once + once, items + items)
    assert doubled.mean == single.mean
    assert doubled.n_clusters == 30 and doubled.n_samples == 60
    assert _width(doubled) == pytest.approx(_width(single), rel=1e-9)
    # treating the 60 samples as independent (the old bug) would narrow it by about 1/sqrt(2)
    naive = clustered_mean(once + once, list(range(60)))
    assert _width(naive) < 0.8 * _width(single)
    lo, hi = wilson(0.4, 60)
    assert hi - lo < 0.8 * _width(single)


def test_extreme_rates_use_the_number_of_clusters() -> None:
    est = clustered_mean([1, 1, 1, 1, 1, 1], ["a", "a", "b", "b", "c", "c"])
    assert est.se == 0.0
    assert est.ci95 == pytest.approx(_wilson_by_hand(1.0, 3))
    assert est.ci95[1] == 1.0
    single = clustered_mean([0, 0], ["a", "a"])  # one cluster: no se at all
    assert math.isnan(single.se)
    assert single.ci95 == pytest.approx(_wilson_by_hand(0.0, 1))


def test_replicates_give_a_t_interval_over_seed_means() -> None:
    values = [1, 0, 1, 1, 1, 1, 0, 0, 1, 0, 0, 1]
    seeds = ["s1"] * 4 + ["s2"] * 4 + ["s3"] * 4
    items = ["i1", "i2", "i3", "i4"] * 3
    seed_means = np.array([3 / 4, 2 / 4, 2 / 4])
    est = clustered_mean(values, items, seeds)
    assert est.method == "t over seeds"
    assert (est.n_clusters, est.n_samples, est.n_replicates) == (4, 12, 3)
    assert est.mean == pytest.approx(seed_means.mean())
    lo, hi = sps.t.interval(0.95, df=2, loc=seed_means.mean(), scale=sps.sem(seed_means))
    assert est.ci95 == pytest.approx((max(lo, 0.0), min(hi, 1.0)), rel=1e-9)
    # a single distinct replicate falls back to the clustered estimate
    assert clustered_mean(values, items, ["s1"] * 12) == clustered_mean(values, items)


def test_bad_input_is_rejected() -> None:
    with pytest.raises(ValueError):
        clustered_mean([], [])
    with pytest.raises(ValueError):
        clustered_mean([1, 0], ["a"])
    with pytest.raises(ValueError):
        clustered_mean([1, float("nan")], ["a", "b"])


# ------------------------------------------------------------------------- compare_means


def test_paired_on_items_matches_ttest_rel() -> None:
    # arm a answers each item in two orders; arm b once. Item means computed by hand.
    a_values = [1, 1, 1, 0, 0, 0, 1, 1, 0, 1]
    a_items = ["i1", "i1", "i2", "i2", "i3", "i3", "i4", "i4", "i5", "i5"]
    b_values = [0, 1, 0, 1, 0]
    b_items = ["i1", "i2", "i3", "i4", "i5"]
    a_means = np.array([1.0, 0.5, 0.0, 1.0, 0.5])
    b_means = np.array([0.0, 1.0, 0.0, 1.0, 0.0])
    res = compare_means(a_values, a_items, b_values, b_items)
    ref = sps.ttest_rel(a_means, b_means)
    assert res.paired and res.test == "paired t over items"
    assert res.diff == pytest.approx((a_means - b_means).mean())
    assert res.p_value == pytest.approx(ref.pvalue, rel=1e-12)
    assert res.ci95 == pytest.approx(tuple(ref.confidence_interval()), rel=1e-9)
    assert (res.n_units, res.n_unshared) == (5, 0)
    # the sign convention: swapping arms flips the difference
    assert compare_means(b_values, b_items, a_values, a_items).diff == pytest.approx(-res.diff)


def test_paired_leaves_unshared_items_out() -> None:
    a_values, a_items = [1, 0, 1, 1, 1], ["i1", "i2", "i3", "only_a", "only_a2"]
    b_values, b_items = [0, 0, 0, 1], ["i1", "i2", "i3", "only_b"]
    res = compare_means(a_values, a_items, b_values, b_items)
    ref = sps.ttest_rel([1, 0, 1], [0, 0, 0])
    assert (res.n_units, res.n_unshared) == (3, 3)
    assert res.p_value == pytest.approx(ref.pvalue)
    assert res.diff == pytest.approx(2 / 3)


def test_paired_zero_variance_is_explicit() -> None:
    items = ["i1", "i2", "i3"]
    res = compare_means([1, 1, 1], items, [0, 0, 0], items)
    assert res.diff == 1.0 and res.ci95 == (1.0, 1.0) and res.p_value == 0.0
    assert res.test.endswith("(zero variance)")
    same = compare_means([1, 0, 1], items, [1, 0, 1], items)
    assert same.diff == 0.0 and same.ci95 == (0.0, 0.0) and same.p_value == 1.0
    one = compare_means([1], ["i1"], [0], ["i1"])
    assert one.diff == 1.0 and math.isnan(one.p_value) and math.isnan(one.ci95[0])


def test_no_shared_items_is_welch_on_item_means() -> None:
    a_values, a_items = [1, 1, 0, 1, 0, 0, 1], ["a1", "a1", "a2", "a3", "a3", "a4", "a5"]
    b_values, b_items = [0, 1, 0, 0], ["b1", "b2", "b3", "b4"]
    a_means = np.array([1.0, 0.0, 0.5, 0.0, 1.0])
    b_means = np.array([0.0, 1.0, 0.0, 0.0])
    res = compare_means(a_values, a_items, b_values, b_items)
    ref = sps.ttest_ind(a_means, b_means, equal_var=False)
    assert not res.paired and res.test == "welch t over items"
    assert res.diff == pytest.approx(a_means.mean() - b_means.mean())
    assert res.p_value == pytest.approx(ref.pvalue, rel=1e-12)
    assert res.ci95 == pytest.approx(tuple(ref.confidence_interval()), rel=1e-9)
    assert res.df == pytest.approx(ref.df)
    assert res.n_units == 9 and res.n_unshared == 9


def test_seeds_on_both_arms_use_welch_over_seed_means() -> None:
    items = ["i1", "i2", "i3", "i4"]
    a = {"s1": [1, 1, 0, 1], "s2": [1, 0, 0, 1], "s3": [1, 1, 1, 1]}
    b = {"t1": [0, 0, 1, 0], "t2": [0, 1, 1, 0]}

    def flat(arm: dict[str, list[int]]) -> tuple[list[int], list[str], list[str]]:
        values = [v for vs in arm.values() for v in vs]
        seeds = [s for s, vs in arm.items() for _ in vs]
        return values, items * len(arm), seeds

    av, ai, ar = flat(a)
    bv, bi, br = flat(b)
    res = compare_means(av, ai, bv, bi, ar, br)
    a_means, b_means = np.array([0.75, 0.5, 1.0]), np.array([0.25, 0.5])
    ref = sps.ttest_ind(a_means, b_means, equal_var=False)
    assert res.test == "welch t over seeds" and not res.paired and res.n_units == 5
    assert res.diff == pytest.approx(a_means.mean() - b_means.mean())
    assert res.p_value == pytest.approx(ref.pvalue, rel=1e-12)
    assert res.ci95 == pytest.approx(tuple(ref.confidence_interval()), rel=1e-9)
    # only one arm with seeds: fall back to pairing on items (seed means pooled per item)
    mixed = compare_means(av, ai, bv[:4], bi[:4], ar, None)
    assert mixed.paired and mixed.n_units == 4
    a_items = np.array([1.0, 2 / 3, 1 / 3, 1.0])
    ref_rel = sps.ttest_rel(a_items, np.array([0, 0, 1, 0]))
    assert mixed.p_value == pytest.approx(ref_rel.pvalue, rel=1e-12)
