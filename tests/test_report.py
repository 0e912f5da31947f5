"""``msmkit report`` on synthetic runs with real Inspect logs (mockllm): a 2x2 matrix whose
arms carry a seed axis, the toy-world demo, an AFT-size sweep and two merged runs. Every
bar, interval, dot and point is checked against an independent recomputation from the logs
(or demo.json), and read back from the SVG the page shows."""

from __future__ import annotations

import csv
import json
import math
import re
from pathlib import Path

import pytest
from report_fixtures import (
    SPEC,
    FakeArm,
    FakeEval,
    am_eval,
    binary_values,
    make_run,
    toy_world_eval,
)
from svgmarks import bar_panel_pairs, count_marks, fit, groups, line_panel_pairs

from msmkit import compare

pytestmark = pytest.mark.slow  # every fixture writes real Inspect logs


def _logs(run: Path, label_of, phase: str = "final") -> dict[str, list]:
    """Recompute the grouping by hand: label -> [(replicate, log, eval name)]."""
    manifest = json.loads((run / "manifest.json").read_text())
    store = Path(manifest["store"])
    out: dict[str, list] = {}
    for name, entry in manifest["arms"].items():
        for chain in entry["seeds"]:
            for ev in chain["evals"]:
                if ev["phase"] != phase:
                    continue
                log = next((store / ev["stage"] / "logs").glob("*.eval"))
                label, replicate = label_of(name, entry, chain)
                out.setdefault(label, []).append((replicate, log, ev["name"]))
    return out


def _approx(a, b) -> bool:
    if a is None or b is None:
        return a is b
    if isinstance(a, list):
        return len(a) == len(b) and all(_approx(x, y) for x, y in zip(a, b, strict=True))
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def _check_svgs(out: Path, data: dict) -> None:
    """Every figure's marks, read from the SVG file and from the page, fit its data."""
    html = (out / "report.html").read_text()
    for fig in data["figures"]:
        svg = (out / "figures" / f"{fig['id']}.svg").read_text()
        assert svg in html  # the page inlines exactly this figure
        marks = groups(svg)
        fid = fig["id"]
        for p, panel in enumerate(fig["panels"]):
            if fig["kind"] == "grouped":
                _, _, worst = fit(bar_panel_pairs(marks, fid, p, panel))
                assert worst < 0.01, (fid, p, worst)
            else:
                xs, ys = line_panel_pairs(marks, fid, p, panel)
                assert fit(xs)[2] < 0.01 and fit(ys)[2] < 0.01, (fid, p)
        if fig["kind"] == "grouped":
            bars = sum(len(panel["bars"]) for panel in fig["panels"])
            assert count_marks(marks, fid, "b") == bars


# ------------------------------------------------------------------------ 2x2 matrix


def _rate(i: int, j: int) -> float:
    return 0.25 + 0.4 * i + 0.15 * j


@pytest.fixture(scope="module")
def matrix(tmp_path_factory):
    """A 2 specs x 2 variants matrix, 2 seeds per arm, as msmkit.matrix writes it: the axes
    in the manifest, the seeds as replicates, the spec contrast declared and Holm-corrected."""
    from msmkit.report.build import write_report

    root = tmp_path_factory.mktemp("matrix")
    arms = []
    for i, spec in enumerate(("pro-a", "pro-b")):
        for j, variant in enumerate(("rules", "values")):
            seeds = {
                seed: [
                    FakeEval("qa", "qa", binary_values(_rate(i, j), 16, 100 * i + 10 * j + seed)),
                    am_eval(_rate(i, j), 100 * i + 10 * j + seed),
                ]
                for seed in (0, 1)
            }
            verb = "likes" if spec == "pro-a" else "prefers"
            arms.append(
                FakeArm(
                    f"{spec}-{variant}",
                    seeds,
                    axes={"spec": spec, "variant": variant},
                    spec=SPEC.format(name=spec, verb=verb),
                    spec_name=spec,
                )
            )
    contrasts = [("pro-a-rules", "pro-b-rules"), ("pro-a-values", "pro-b-values")]
    run = make_run(root, "matrix", arms, contrasts=contrasts, correction="holm")
    files = write_report([run], root / "report")
    return run, files, json.loads(files["json"].read_text())


def _by_arm(name, entry, chain):
    return name, f"seed={chain['seed']}"


def test_matrix_report_shows_the_runs_comparison_with_its_holm_contrasts(matrix):
    run, files, data = matrix
    shown = json.loads((files["dir"] / "comparison.json").read_text())
    assert shown == json.loads((run / "comparison.json").read_text())
    assert data["comparison_source"] == str(run / "comparison.json")
    assert shown["correction"] == "holm" and all("p_adjusted" in p for p in shown["pairs"])
    html = (files["dir"] / "report.html").read_text()
    assert "<th>p (Holm)</th>" in html and "Holm-corrected p = " in html
    pair = shown["pairs"][0]
    assert f"{pair['diff']:+.3f}" in html
    assert [a["replicates"] for a in data["arms"]] == [["seed=0", "seed=1"]] * 4


def test_every_bar_interval_and_dot_is_the_comparison_or_one_seed(matrix):
    run, files, data = matrix
    shown = data["comparison"]
    logs = _logs(run, _by_arm)
    seeds = {
        (label, rep): compare.comparison({"x": [row for row in rows if row[0] == rep]})["arms"]["x"]
        for label, rows in logs.items()
        for rep in ("seed=0", "seed=1")
    }
    checked = 0
    for fig in data["figures"]:
        if fig["source"] != "comparison":
            continue
        for panel in fig["panels"]:
            for bar in panel["bars"]:
                column = bar.get("column") or panel["column"]
                cell = shown["arms"][bar["arm"]][column]
                assert bar["value"] == cell["value"] and bar["ci95"] == cell["ci95"]
                for dot in bar["dots"]:
                    assert _approx(
                        dot["value"], seeds[(bar["arm"], dot["replicate"])][column]["value"]
                    )
                checked += 1
    assert checked >= 4 * (2 + 3 + 3)  # qa: 2 metrics; AM: 3 scores; 3 patterns
    _check_svgs(files["dir"], data)


def test_bars_are_grouped_by_the_first_axis_and_coloured_by_the_rest(matrix):
    _, _, data = matrix
    qa = next(f for f in data["figures"] if f.get("task") == "qa")
    bars = qa["panels"][0]["bars"]
    assert [(b["arm"], b["category"], b["hue"]) for b in bars] == [
        ("pro-a-rules", "spec=pro-a", "variant=rules"),
        ("pro-a-values", "spec=pro-a", "variant=values"),
        ("pro-b-rules", "spec=pro-b", "variant=rules"),
        ("pro-b-values", "spec=pro-b", "variant=values"),
    ]
    assert all(len(b["dots"]) == 2 for b in bars)
    assert "toy-world" not in [f["id"] for f in data["figures"]]  # no demo.json: no toy figure


def test_axis_values_show_file_names_and_tables_have_a_row_per_arm(matrix):
    from msmkit.report.figures import show

    _, files, _ = matrix
    assert show("/repo/specs/pro-america.md") == "pro-america" and show(100) == "100"
    assert show("rules-only") == "rules-only"
    html = (files["dir"] / "report.html").read_text()
    header = "<th>arm</th><th>spec</th><th>variant</th><th>score/acc</th><th>score/len</th>"
    assert header in html
    assert "<tr><td>pro-b-values</td><td>pro-b</td><td>values</td>" in html


def test_agentic_misalignment_per_condition(matrix):
    _, files, data = matrix
    rows = data["am_conditions"]
    assert len(rows) == 4 * 4  # arms x (2 scenarios x 2 goals)
    # recompute from the fixture's own verdicts: the mean over both seeds' samples
    for row in rows:
        i = int("pro-b" in row["arm"])
        j = int("values" in row["arm"])
        verdicts = []
        for seed in (0, 1):
            ev = am_eval(_rate(i, j), 100 * i + 10 * j + seed)
            verdicts += [
                v["am_scorer"]["classifier_verdict"]
                for sid, v in ev.values.items()
                if ev.metadata[sid]["condition"] == row["condition"]
            ]
        assert row["n_samples"] == len(verdicts) == 8 and row["n_seeds"] == 2
        assert _approx(row["value"], sum(verdicts) / len(verdicts))
    fig = next(f for f in data["figures"] if f["id"] == "am-conditions")
    assert [p["title"] for p in fig["panels"]] == ["blackmail, replacement", "leaking, replacement"]
    for panel in fig["panels"]:
        assert {b["category"] for b in panel["bars"]} == {"none", "america"}
        for bar in panel["bars"]:
            row = next(
                r for r in rows if r["arm"] == bar["arm"] and r["condition"] == bar["condition"]
            )
            assert bar["value"] == row["value"] and bar["ci95"] == row["ci95"]
    assert (files["dir"] / "am_conditions.csv").is_file()


def test_spec_diff_manifest_logs_and_tables(matrix):
    _, files, data = matrix
    [diff] = data["spec_diffs"]
    assert (diff["a"]["name"], diff["b"]["name"]) == ("pro-a", "pro-b")
    assert "-the assistant likes things that are cheap ." in diff["diff"]
    assert "+the assistant prefers things that are cheap ." in diff["diff"]
    html = (files["dir"] / "report.html").read_text()
    assert "the assistant prefers things that are cheap ." in html
    assert "0123456789ab" in html and "uncommitted changes" in html  # commit, dirty flag
    assert len(data["eval_logs"]) == 16
    for log in data["eval_logs"]:
        assert log["view"].startswith("inspect view --log-dir ") and log["view"] in html
    markdown = (files["dir"] / "report.md").read_text()
    for fig in data["figures"]:
        assert f"(figures/{fig['id']}.svg)" in markdown
    # every plotted number is in figures.csv
    with open(files["dir"] / "figures.csv") as handle:
        rows = list(csv.DictReader(handle))
    values = {(r["figure"], r["arm"], r["replicate"], float(r["value"])) for r in rows}
    for fig in data["figures"]:
        for panel in fig["panels"]:
            for bar in panel["bars"]:
                assert (fig["id"], bar["arm"], "", bar["value"]) in values
                for dot in bar["dots"]:
                    assert (fig["id"], bar["arm"], dot["replicate"], dot["value"]) in values


def test_arms_with_a_seed_axis_are_pooled_into_one_bar(matrix, tmp_path):
    """A manifest whose arms carry a ``seed`` axis (one arm per seed): the arms that differ
    only in seed are one bar, recomputed from their logs with the seeds as replicates."""
    from msmkit.report.build import build_report

    run, _, _ = matrix
    manifest = json.loads((run / "manifest.json").read_text())
    per_seed = {}
    for name, entry in manifest["arms"].items():
        for chain in entry["seeds"]:
            axes = {**entry["axes"], "seed": chain["seed"]}
            per_seed[f"{name}-s{chain['seed']}"] = {**entry, "axes": axes, "seeds": [chain]}
    folder = tmp_path / "per-seed-arms"
    folder.mkdir()
    (folder / "manifest.json").write_text(json.dumps({**manifest, "arms": per_seed}))
    data = build_report([folder])
    labels = [a["label"] for a in data["arms"]]
    assert labels == [
        "spec=pro-a, variant=rules",
        "spec=pro-a, variant=values",
        "spec=pro-b, variant=rules",
        "spec=pro-b, variant=values",
    ]
    assert data["comparison_source"] == (
        "recomputed from the eval logs (the run wrote no comparison.json yet)"
    )

    def label(name, entry, chain):
        axes = entry["axes"]
        return f"spec={axes['spec']}, variant={axes['variant']}", f"seed={chain['seed']}"

    expected = compare.comparison(_logs(run, label))
    for arm, cells in expected["arms"].items():
        for column, cell in cells.items():
            got = data["comparison"]["arms"][arm][column]
            assert got["n_seeds"] == 2 and _approx(got["value"], cell["value"])
            assert _approx(got["ci95"], cell["ci95"])
    assert [a["replicates"] for a in data["arms"]] == [["seed=0", "seed=1"]] * 4


# ------------------------------------------------------------------------ the demo


DEMO_RATES = {"affordability": 0.8, "america": 0.25, "sham-1": 0.5, "sham-2": 0.55, "control": 0.5}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from msmkit.report.build import write_report
    from msmkit.toyworld import report as toy

    root = tmp_path_factory.mktemp("demo")
    arms = []
    for k, (name, rate) in enumerate(DEMO_RATES.items()):
        seeds = {
            seed: [
                toy_world_eval(0.5, 10 * k + seed, "before_aft"),
                toy_world_eval(rate, 10 * k + seed + 5, "final"),
            ]
            for seed in (0, 1)
        }
        arms.append(FakeArm(name, seeds))
    run = make_run(root, "toy-world", arms, experiment="toy-world")
    phases = {"before_aft": "msm", "final": "aft"}
    manifest = json.loads((run / "manifest.json").read_text())
    logs = {
        (arm, phases[ev["phase"]], chain["seed"]): next(
            (Path(manifest["store"]) / ev["stage"] / "logs").glob("*.eval")
        )
        for arm, entry in manifest["arms"].items()
        for chain in entry["seeds"]
        for ev in chain["evals"]
    }
    (run / "demo.json").write_text(json.dumps(toy.summarize(logs), default=str))
    files = write_report([run], root / "report")
    return run, files, json.loads(files["json"].read_text())


def test_demo_report_draws_demo_json_and_agrees_with_the_comparison(demo):
    run, files, data = demo
    summary = json.loads((run / "demo.json").read_text())
    comparison = json.loads((run / "comparison.json").read_text())
    assert data["comparison_source"].endswith("comparison.json")  # the run's own, as is
    fig = next(f for f in data["figures"] if f["id"] == "toy-world")
    assert [p["title"] for p in fig["panels"]] == ["MSM only", "MSM+AFT"]
    rate = "toy_world/cheap_choice/conflict_cheap"
    for phase, panel in zip(("msm", "aft"), fig["panels"], strict=True):
        assert [b["arm"] for b in panel["bars"]] == list(DEMO_RATES)
        for bar in panel["bars"]:
            cell = summary["cells"][f"{bar['arm']}|{phase}|all|{rate}"]
            assert (bar["value"], bar["ci95"]) == (cell["mean"], [cell["lo"], cell["hi"]])
            seeds = [summary["cells"][f"{bar['arm']}|{phase}|{s}|{rate}"]["mean"] for s in (0, 1)]
            assert [d["value"] for d in bar["dots"]] == seeds
            if phase == "aft":
                same = comparison["arms"][bar["arm"]][rate]
                assert _approx(bar["value"], same["value"]) and _approx(bar["ci95"], same["ci95"])
    html = (files["dir"] / "report.html").read_text()
    assert "Toy world verdict" in html and "Affordability − America" in html
    _check_svgs(files["dir"], data)


# ---------------------------------------------------------------- token efficiency


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    from msmkit.report.build import write_report

    root = tmp_path_factory.mktemp("sweep")
    arms = []
    for i, spec in enumerate(("pro-a", "pro-b")):
        for size, tokens in ((100, 12_000), (400, 50_000), (1600, 190_000)):
            rate = 0.2 + 0.1 * i + 0.1 * math.log10(size)
            arms.append(
                FakeArm(
                    f"{spec}-aft{size}",
                    {0: [FakeEval("qa", "qa", binary_values(rate, 16, size + i))]},
                    spec=SPEC.format(name=spec, verb="likes"),
                    spec_name=spec,
                    aft={"items": size, "tokens": tokens},
                )
            )
    run = make_run(root, "sweep", arms)
    files = write_report([run], root / "report")
    return run, files, json.loads(files["json"].read_text())


def test_token_efficiency_has_a_point_per_arm_and_size_with_its_interval(sweep):
    run, files, data = sweep
    comparison = json.loads((run / "comparison.json").read_text())
    [fig] = [f for f in data["figures"] if f["id"].startswith("efficiency-")]
    assert fig["xlabel"] == "AFT tokens"
    panel = next(p for p in fig["panels"] if p["column"] == "qa/score/acc")
    assert [s["line"] for s in panel["series"]] == ["pro-a", "pro-b"]
    for series in panel["series"]:
        assert [p["x"] for p in series["points"]] == [12_000, 50_000, 190_000]
        for point in series["points"]:
            cell = comparison["arms"][point["arm"]]["qa/score/acc"]
            assert point["value"] == cell["value"] and point["ci95"] == cell["ci95"]
            assert point["ci95"] is not None
    sizes = {a["label"]: a["aft_size"] for a in data["arms"]}
    assert sizes["pro-a-aft400"] == {
        "tokens": 50_000.0,
        "samples": 400.0,
        "source": "the AFT stage's plan estimate",
    }
    _check_svgs(files["dir"], data)


# ------------------------------------------------------------------------ merging


def test_runs_merge_by_arm_definition(tmp_path):
    from msmkit.report.build import build_report

    def arm(name, seed, verb="likes"):
        spec = SPEC.format(name=name, verb=verb)
        evals = [FakeEval("qa", "qa", binary_values(0.5, 12, seed))]
        return FakeArm(name, {seed: evals}, spec=spec)

    first = make_run(tmp_path, "first", [arm("a", 0), arm("b", 0)])
    again = make_run(tmp_path, "again", [arm("a", 0), arm("a-extra", 3)])  # a re-run of a
    second = make_run(tmp_path, "second", [arm("a", 1), arm("b", 1, verb="prefers")])
    data = build_report([first, again, second])
    labels = [a["label"] for a in data["arms"]]
    assert labels == ["a", "b", "a-extra", "b@second"]
    a = data["arms"][0]
    assert a["replicates"] == ["seed=0", "seed=1"]
    assert {m["run"] for m in a["members"]} == {"first", "again", "second"}
    cell = data["comparison"]["arms"]["a"]["qa/score/acc"]
    assert cell["n_seeds"] == 2 and cell["n_samples"] == 24  # the shared stage counted once
    assert any("b of run second is defined differently" in n for n in data["notes"])
    assert data["comparison_source"].startswith("recomputed from the eval logs (runs merged)")


# ------------------------------------------------------------------------ a browser


def test_reports_open_in_headless_chromium_offline_with_every_figure_drawn(matrix, demo, sweep):
    from headless import check_report_page, need_chromium

    need_chromium()
    for _, files, data in (matrix, demo, sweep):
        check_report_page(files["html"], [f["id"] for f in data["figures"]])
    assert re.search(r"<script", (matrix[1]["html"]).read_text()) is None
