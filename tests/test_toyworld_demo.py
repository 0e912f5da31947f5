"""The full toy-world demo, one seed (~3-4 min on 2 cores): opt in with ``-m demo``."""

from __future__ import annotations

import json

import pytest

from tests.conftest import REPO, run_cli

pytestmark = pytest.mark.demo


def test_the_demo_runs_one_seed_end_to_end(tmp_path) -> None:
    result = run_cli("demo", "--log-dir", str(tmp_path), cwd=REPO, timeout=1800)
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads((tmp_path / "toy-world" / "demo.json").read_text())
    assert summary["seeds"] == [0]
    assert set(summary["headline"]) == {"msm", "aft"}
    probes = summary["base"]["0"]["probes"]
    assert probes["price"] >= 0.95 and probes["origin"] >= 0.95
    for arm in ("affordability", "america", "sham-1", "sham-2", "control"):
        for phase in ("msm", "aft"):
            assert f"{arm}|{phase}|0|toy_world/cheap_choice/conflict_cheap" in summary["cells"]
    assert "Affordability − America on conflict pairs" in result.stdout
    report = tmp_path / "toy-world" / "report"
    assert f"Report: {report / 'report.html'}" in result.stderr.replace("\n", "")
    data = json.loads((report / "report.json").read_text())
    toy = next(f for f in data["figures"] if f["id"] == "toy-world")
    rate = "toy_world/cheap_choice/conflict_cheap"
    for phase, panel in zip(("msm", "aft"), toy["panels"], strict=True):
        for bar in panel["bars"]:
            assert bar["value"] == summary["cells"][f"{bar['arm']}|{phase}|0|{rate}"]["mean"]
    assert (tmp_path / "toy-world" / "status.html").is_file()
    from headless import check_report_page, chromium

    if chromium() is not None:  # the real demo's page, offline, every figure drawn
        check_report_page(report / "report.html", [f["id"] for f in data["figures"]])
    # a rerun finds every stage in the store and only recomputes the tables
    again = run_cli("demo", "--log-dir", str(tmp_path), cwd=REPO, timeout=600)
    assert again.returncode == 0
    assert "to run" in again.stderr and "(0 to run)" in again.stderr
