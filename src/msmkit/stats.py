"""Means and differences of per-sample scores that respect how the samples were drawn.

A sample is one scored model answer. Samples of the same *cluster* (an item asked in both
option orders, or over several epochs) are not independent, so every interval here is built
from clusters, never from raw sample counts. A *replicate* is one training seed of an arm;
when an arm has two or more, the seed is the unit of variance: item noise and training noise
both show up in how much the per-seed means differ.

Only numpy and scipy are used; nothing here knows about Inspect.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

_Z = float(sps.norm.ppf(0.975))
_ZERO_SPREAD = 1e-12  # below this, a set of differences counts as constant


@dataclass(frozen=True)
class Estimate:
    """A mean with its 95% interval; ``se`` is NaN when it cannot be estimated."""

    mean: float
    ci95: tuple[float, float]
    se: float
    n_clusters: int
    n_samples: int
    n_replicates: int
    method: str


@dataclass(frozen=True)
class Difference:
    """``diff = mean(a) - mean(b)`` (a is the first arm) with its 95% interval and p-value.

    ``n_units`` counts what the test ran over: shared items (paired), items (unpaired) or
    seeds. ``n_unshared`` counts items seen in only one arm; a paired test leaves them out.
    """

    diff: float
    ci95: tuple[float, float]
    se: float
    p_value: float
    test: str
    paired: bool
    n_units: int
    n_unshared: int = 0
    df: float = math.nan


_NAN_CI = (math.nan, math.nan)


def wilson(p: float, n: float, z: float = _Z) -> tuple[float, float]:
    """Wilson score interval for a proportion ``p`` at a (possibly fractional) size ``n``."""
    if n <= 0:
        return (0.0, 1.0)
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def _as_arrays(
    values: Sequence[float], clusters: Sequence[Hashable], replicates: Sequence[Hashable] | None
) -> tuple[np.ndarray, list[Hashable], list[Hashable] | None]:
    y = np.asarray(values, dtype=float)
    if y.ndim != 1 or y.size == 0:
        raise ValueError("values must be a non-empty 1-d sequence")
    if len(clusters) != y.size:
        raise ValueError("clusters must have one id per value")
    if replicates is not None and len(replicates) != y.size:
        raise ValueError("replicates must have one id per value")
    if not np.all(np.isfinite(y)):
        raise ValueError("values must be finite (drop missing samples before calling)")
    return y, list(clusters), None if replicates is None else list(replicates)


def _group_means(y: np.ndarray, keys: Sequence[Hashable]) -> dict[Hashable, float]:
    """Mean of ``y`` per key, keys in first-seen order."""
    sums: dict[Hashable, float] = {}
    counts: dict[Hashable, int] = {}
    for value, key in zip(y.tolist(), keys, strict=True):
        sums[key] = sums.get(key, 0.0) + value
        counts[key] = counts.get(key, 0) + 1
    return {k: sums[k] / counts[k] for k in sums}


def _is_binary(y: np.ndarray) -> bool:
    return bool(np.all((y == 0.0) | (y == 1.0)))


def cluster_robust_se(values: Sequence[float], clusters: Sequence[Hashable]) -> float:
    """SE of the sample mean with residuals summed within clusters (CR1, factor k/(k-1)).

    NaN with fewer than two clusters.
    """
    y, keys, _ = _as_arrays(values, clusters, None)
    residual_sums: dict[Hashable, float] = {}
    for r, key in zip((y - y.mean()).tolist(), keys, strict=True):
        residual_sums[key] = residual_sums.get(key, 0.0) + r
    k = len(residual_sums)
    if k < 2:
        return math.nan
    total = sum(s * s for s in residual_sums.values())
    return math.sqrt(k / (k - 1) * total) / y.size


def clustered_mean(
    values: Sequence[float],
    clusters: Sequence[Hashable],
    replicates: Sequence[Hashable] | None = None,
) -> Estimate:
    """Mean of per-sample values with an interval that treats clusters (items) honestly.

    One replicate: the mean over samples, a cluster-robust SE, and for 0/1 values a Wilson
    interval at the effective size ``p(1-p)/se**2`` (so it stays inside [0, 1]); other values
    get ``mean ± t(k-1) * se``. Two or more replicates: a t interval over the per-replicate
    means (clipped to [0, 1] for 0/1 values).
    """
    y, keys, reps = _as_arrays(values, clusters, replicates)
    k = len(set(keys))
    n = int(y.size)
    binary = _is_binary(y)
    if reps is not None and len(set(reps)) >= 2:
        rep_means = np.array(list(_group_means(y, reps).values()))
        r = rep_means.size
        mean = float(rep_means.mean())
        se = float(rep_means.std(ddof=1) / math.sqrt(r))
        half = float(sps.t.ppf(0.975, r - 1)) * se
        lo, hi = mean - half, mean + half
        if binary:
            lo, hi = max(0.0, lo), min(1.0, hi)
        return Estimate(mean, (lo, hi), se, k, n, r, "t over seeds")

    mean = float(y.mean())
    se = cluster_robust_se(y, keys)
    if binary:
        if mean in (0.0, 1.0) or not se > 0:  # also catches a NaN se (one cluster)
            n_eff = float(k)
        else:
            n_eff = min(max(mean * (1 - mean) / se**2, 1.0), float(n))
        return Estimate(mean, wilson(mean, n_eff), se, k, n, 1, "wilson, cluster-robust n_eff")
    if math.isnan(se):
        return Estimate(mean, _NAN_CI, se, k, n, 1, "t, cluster-robust se")
    half = float(sps.t.ppf(0.975, k - 1)) * se
    return Estimate(mean, (mean - half, mean + half), se, k, n, 1, "t, cluster-robust se")


def _constant(
    diff: float, test: str, paired: bool, n: int, n_unshared: int, df: float = math.nan
) -> Difference:
    """Zero spread: the interval is the point and p is 0 unless the difference is 0."""
    p = 1.0 if diff == 0.0 else 0.0
    test += " (zero variance)"
    return Difference(diff, (diff, diff), 0.0, p, test, paired, n, n_unshared, df)


def _welch(x: np.ndarray, y: np.ndarray, test: str, n_units: int, n_unshared: int) -> Difference:
    """Welch t-test of mean(x) - mean(y), with the Welch–Satterthwaite df for the interval."""
    diff = float(x.mean() - y.mean())
    if x.size < 2 or y.size < 2:
        return Difference(diff, _NAN_CI, math.nan, math.nan, test, False, n_units, n_unshared)
    vx, vy = x.var(ddof=1) / x.size, y.var(ddof=1) / y.size
    se = math.sqrt(vx + vy)
    if se <= _ZERO_SPREAD:
        return _constant(diff, test, False, n_units, n_unshared)
    df = (vx + vy) ** 2 / (vx**2 / (x.size - 1) + vy**2 / (y.size - 1))
    half = float(sps.t.ppf(0.975, df)) * se
    p = float(sps.ttest_ind(x, y, equal_var=False).pvalue)
    return Difference(
        diff, (diff - half, diff + half), se, p, test, False, n_units, n_unshared, float(df)
    )


def compare_means(
    a_values: Sequence[float],
    a_clusters: Sequence[Hashable],
    b_values: Sequence[float],
    b_clusters: Sequence[Hashable],
    a_replicates: Sequence[Hashable] | None = None,
    b_replicates: Sequence[Hashable] | None = None,
) -> Difference:
    """Test arm a against arm b; ``diff`` is ``mean(a) - mean(b)``.

    * Both arms with two or more replicates: Welch t-test over the per-replicate means.
    * Otherwise, items seen by both arms: paired t-test over those items' per-arm means
      (items seen by one arm only are left out and counted in ``n_unshared``).
    * No shared items: Welch t-test over per-item means.

    A paired test whose differences are all equal has se 0: the interval is ``[d, d]`` and
    ``p`` is 0.0 if ``d != 0`` else 1.0. Fewer than two units gives NaN se, interval and p.
    """
    ya, ka, ra = _as_arrays(a_values, a_clusters, a_replicates)
    yb, kb, rb = _as_arrays(b_values, b_clusters, b_replicates)
    items_a, items_b = _group_means(ya, ka), _group_means(yb, kb)
    shared = [c for c in items_a if c in items_b]
    unshared = len(items_a) + len(items_b) - 2 * len(shared)

    if ra is not None and rb is not None and len(set(ra)) >= 2 and len(set(rb)) >= 2:
        seeds_a = np.array(list(_group_means(ya, ra).values()))
        seeds_b = np.array(list(_group_means(yb, rb).values()))
        return _welch(seeds_a, seeds_b, "welch t over seeds", seeds_a.size + seeds_b.size, 0)

    if not shared:
        xa, xb = np.array(list(items_a.values())), np.array(list(items_b.values()))
        return _welch(xa, xb, "welch t over items", xa.size + xb.size, unshared)

    d = np.array([items_a[c] - items_b[c] for c in shared])
    m = len(shared)
    diff = float(d.mean())
    test = "paired t over items"
    if m < 2:
        return Difference(diff, _NAN_CI, math.nan, math.nan, test, True, m, unshared)
    se = float(d.std(ddof=1) / math.sqrt(m))
    if float(np.ptp(d)) <= _ZERO_SPREAD:
        return _constant(diff, test, True, m, unshared, float(m - 1))
    half = float(sps.t.ppf(0.975, m - 1)) * se
    xa = np.array([items_a[c] for c in shared])
    xb = np.array([items_b[c] for c in shared])
    p = float(sps.ttest_rel(xa, xb).pvalue)
    return Difference(diff, (diff - half, diff + half), se, p, test, True, m, unshared, m - 1.0)
