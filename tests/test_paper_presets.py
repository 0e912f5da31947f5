"""Every paper preset (experiments/paper/*.yaml) plans offline, with no key and no network,
with its dollar cost and GPU-hour estimate, and the table in experiments/paper/README.md
lists each preset with those numbers."""

from __future__ import annotations

from pathlib import Path

import pytest

PAPER = Path(__file__).resolve().parents[1] / "experiments" / "paper"
PRESETS = sorted(PAPER.glob("*.yaml"))


def totals(path: Path, log_dir: Path) -> tuple[float, float, int]:
    import msmkit

    graph = msmkit.Run(path, log_dir=log_dir).plan()
    nodes = graph.ordered()
    dollars = sum(n.estimate.dollars for n in nodes)
    hours = sum(n.estimate.extra.get("gpu_hours") or 0 for n in nodes)
    return dollars, hours, len(nodes)


@pytest.mark.parametrize("path", PRESETS, ids=[p.stem for p in PRESETS])
def test_a_preset_plans_offline_with_its_cost(path, tmp_path, monkeypatch):
    for key in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    dollars, hours, stages = totals(path, tmp_path / "logs")
    assert dollars > 1 and hours > 0.1 and stages > 5
    assert not (tmp_path / "logs").exists() or not any((tmp_path / "logs").iterdir())


def test_the_presets_readme_lists_every_preset():
    text = (PAPER / "README.md").read_text()
    for path in PRESETS:
        assert f"[`{path.name}`]({path.name})" in text, path.name
