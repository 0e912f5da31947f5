"""benchmarks/plan_aft_cost.py: the §4 AFT plan against the reference profile (no timing)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "plan_aft_cost.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("plan_aft_cost", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


def test_paper_aft_plan_and_ratio(bench, capsys):
    out = bench.main([])
    ours, ref = out["ours"], out["reference"]
    # Opus 4.5's minimum cacheable prefix (4,096) is above the spec block: no cache saving
    assert ours["online+cache"] == ours["online"] and ours["batch+cache"] == ours["batch"]
    assert ours["batch"] == pytest.approx(ours["online"] / 2)
    assert 0 < ours["batch"] < ours["online"] < ref
    assert out["plan"]["calls"]["responses"] == 280 * 47
    text = capsys.readouterr().out
    assert "ratio" in text and "no prompt-cache saving" in text
    # a model with a 1,024-token minimum: the cache saves on top of batches
    sonnet = bench.main(["--model", "anthropic/claude-sonnet-4-5"])["ours"]
    assert sonnet["batch+cache"] < sonnet["batch"] < sonnet["online"]


def test_yield_rounds_reach_the_target(bench):
    assert bench.yield_rounds(98, 130, 0.76, 1.1, 4) == [130]  # 98.8 accepted: enough
    assert bench.yield_rounds(100, 130, 0.76, 1.1, 4) == [130, 2]  # 1.2 short: 1.2/0.76*1.1
    assert bench.yield_rounds(100, 100, 0.5, 1.1, 4) == [100, 111]  # 50 short: 50/0.5*1.1
