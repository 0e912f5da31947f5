"""The demo's verdict rule on per-seed differences (no model): "yes" needs several seeds,
p < 0.01 on the primary metric (mean log-odds) and a value gap whose interval clears the
sham gap; one seed's sentence opens by saying it cannot answer."""

from __future__ import annotations

from msmkit.toyworld import report


def entry(logits: list[float], shams: list[float], shares: list[float] | None = None) -> dict:
    if len(logits) == 1:
        pair = {"diff": logits[0], "ci": [logits[0] - 0.1, logits[0] + 0.1], "p": 1e-6, "n": 32}
        sham = {"diff": shams[0], "ci": [shams[0] - 0.1, shams[0] + 0.1], "p": 0.5, "n": 32}
        return {"logit": pair, "sham_logit": sham, "value": pair, "sham": sham,
                "unit": "pairs (paired t over pairs)"}  # fmt: skip
    shares = shares or [x / 10 for x in logits]
    return {
        "logit": report._over_seeds(logits),
        "sham_logit": report._over_seeds(shams),
        "value": report._over_seeds(shares),
        "sham": report._over_seeds([x / 10 for x in shams]),
        "unit": "seeds (t over per-seed differences)",
    }


def sentence(e: dict, seeds: int) -> str:
    (text,) = report.sentences({"seeds": list(range(seeds)), "headline": {"msm": e}})
    return text


def test_yes_needs_p_below_alpha_and_the_sham_gap_cleared():
    strong = entry([1.0, 1.2, 0.9, 1.1, 1.0, 1.05], [0.1, -0.1, 0.05, 0.0, -0.05, 0.1])
    assert strong["logit"]["p"] < report.ALPHA
    assert report.verdict(strong) == "yes"
    assert sentence(strong, 6).startswith("MSM only: Yes: over 6 seeds")
    # the same gap beside a sham gap as large as its interval's low end: not a yes
    noisy_sham = entry([1.0, 1.2, 0.9, 1.1, 1.0, 1.05], [1.0, 0.9, 1.1, 0.95, 1.0, 1.05])
    assert noisy_sham["logit"]["ci"][0] < abs(noisy_sham["sham_logit"]["diff"])
    assert report.verdict(noisy_sham) == "not established"


def test_p_between_the_usual_005_and_001_is_not_established():
    diffs = [0.9, 0.2, 1.2, 0.4, 0.8]
    e = entry(diffs, [0.0] * 5)
    assert 0.01 < e["logit"]["p"] < 0.05
    assert report.verdict(e) == "not established"
    assert sentence(e, 5).startswith("MSM only: Not established over 5 seeds")


def test_the_wrong_direction_is_no():
    e = entry([-0.5, -0.7, -0.4], [0.0, 0.1, -0.1])
    assert report.verdict(e) == "no"
    assert sentence(e, 3).startswith("MSM only: No:")


def test_one_seed_says_first_that_it_cannot_answer_however_large_its_gap():
    e = entry([3.0], [0.0])
    assert report.verdict(e) == "one seed"
    text = sentence(e, 1)
    assert text.startswith(f"MSM only: {report.ONE_SEED}")
    assert "Yes" not in text and "+3.00" in text  # the seed's numbers still shown, after it


def test_value_replicates_on_one_base_are_averaged_within_the_seed(monkeypatch):
    """Two MSM replicates per value arm on the same base: the seed's difference is the mean of
    its replicates (the pair stays the cluster, the seed the unit); shams are not replicates."""
    assert report.replicate_of("affordability-2") == "affordability"
    assert report.replicate_of("america-13") == "america"
    assert report.replicate_of("sham-2") == "sham-2"
    assert report.replicate_of("affordability-x") == "affordability-x"
    level = {"affordability": 1.0, "affordability-2": 3.0, "america": 0.5, "america-2": -0.5,
             "sham-1": 0.2, "sham-2": 0.0}  # fmt: skip

    def samples(path):
        arm, seed = path.split("|")
        shift = int(seed) / 10
        rows = [(level[arm] + shift + (k % 2) * 0.1, f"pair{k}") for k in range(8)]
        share = [(float(v > 0.6), c) for v, c in rows]
        return {report.LOGIT: rows, report.RATE: share}

    monkeypatch.setattr(report, "_samples", samples)
    logs = {(arm, "msm", seed): f"{arm}|{seed}" for arm in level for seed in (0, 1, 2)}
    summary = report.summarize(logs)
    per_seed = summary["headline"]["msm"]["per_seed"]
    assert [r["replicates"] for r in per_seed] == [2, 2, 2]
    for r in per_seed:  # (1 + 3)/2 - (0.5 - 0.5)/2 = 2.0 in every seed
        assert abs(r["logit"]["diff"] - 2.0) < 1e-9
        assert abs(r["sham_logit"]["diff"] - 0.2) < 1e-9
    assert summary["headline"]["msm"]["unit"].startswith("seeds")
    assert abs(summary["headline"]["msm"]["logit"]["diff"] - 2.0) < 1e-9
