"""The report's figures as data, from a comparison and arms alone (no logs): the token
efficiency lines from the axes, placement by axes, and nothing drawn for nothing scored."""

from __future__ import annotations

from msmkit.report.figures import efficiency_figures, metric_figures, placement
from msmkit.report.runs import ReportArm

COLUMN = "agentic_misalignment/am_scorer/classifier_verdict"


def _cell(value: float) -> dict:
    return {"value": value, "ci95": [value - 0.1, value + 0.1], "n_items": 27, "n_seeds": 1}


def _sweep():
    arms, cells = [], {}
    for condition in ("msm-aft", "aft"):
        for size in (1250, 5000, 20000):
            label = f"{condition}-{size}"
            axes = {"spec": "philosophy", "condition": condition, "aft_tokens": size * 300}
            arms.append(ReportArm(label, axes, [("run", label)], None))
            rate = 0.4 / (1 + size / 5000) + (0.0 if condition == "msm-aft" else 0.2)
            cells[label] = {COLUMN: _cell(rate)}
    comparison = {"columns": [COLUMN], "arms": cells, "pairs": [], "notes": []}
    return arms, comparison


def test_efficiency_lines_come_from_the_axes():
    from msmkit.report.extras import aft_size

    arms, comparison = _sweep()
    sizes = {a.label: aft_size(a) for a in arms}
    assert sizes["aft-5000"] == {"tokens": 1_500_000.0, "source": "axis aft_tokens"}
    [fig], notes = efficiency_figures(comparison, arms, sizes)
    assert notes == [] and fig["xlabel"] == "AFT tokens"
    [panel] = fig["panels"]
    assert [s["line"] for s in panel["series"]] == ["condition=msm-aft", "condition=aft"]
    for series in panel["series"]:
        assert [p["x"] for p in series["points"]] == [375_000, 1_500_000, 6_000_000]
        for point in series["points"]:
            assert point["value"] == comparison["arms"][point["arm"]][COLUMN]["value"]


def test_one_size_or_mixed_units_draw_no_efficiency_figure():
    arms, comparison = _sweep()
    one = {a.label: {"tokens": 100.0} for a in arms}
    assert efficiency_figures(comparison, arms, one) == ([], [])
    mixed = {
        a.label: ({"tokens": 5.0} if a.label.startswith("aft-") else {"samples": 9.0}) for a in arms
    }
    figures, notes = efficiency_figures(comparison, arms, mixed)
    assert figures == [] and "not all in one unit" in notes[0]


def test_placement_and_unscored_cells():
    arms, comparison = _sweep()
    where = placement(arms)
    assert where["aft-1250"] == ("condition=aft", "aft_tokens=375000")
    comparison["arms"]["aft-1250"][COLUMN] = None  # nothing scored: no bar, not a zero
    [fig], _ = metric_figures(comparison, arms, {})
    assert "aft-1250" not in [b["arm"] for b in fig["panels"][0]["bars"]]
    assert len(fig["panels"][0]["bars"]) == 5
