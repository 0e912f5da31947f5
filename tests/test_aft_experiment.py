"""experiments/aft-styles.yaml: a value-style and a rule-style arm from one spec, AFT sizes
50, 100 and 200 from one generated set per style. The plan has one generation per style and
three trainings per style, with dollars; the run goes end to end on the tiny model, the
generations answered by the fake Anthropic server."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import aft_script
import pytest
from conftest import run_cli
from fakes import FakeLLMServer

EXPERIMENT = Path(__file__).resolve().parents[1] / "experiments" / "aft-styles.yaml"


def plan(tmp_path: Path) -> dict:
    result = run_cli("plan", str(EXPERIMENT), "--json", "--log-dir", str(tmp_path / "logs"),
                     cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_plan_has_one_generation_per_style_and_three_trainings_each(tmp_path):
    stages = plan(tmp_path)["stages"]
    kinds = Counter(s["kind"] for s in stages)
    assert kinds["llm-aft"] == 2 and kinds["aft-subset"] == 6 and kinds["aft"] == 6
    assert kinds["midtrain"] == 0 and kinds["eval"] == 6
    gens = [s for s in stages if s["kind"] == "llm-aft"]
    by_id = {s["id"]: s for s in stages}
    for gen in gens:
        style = "value" if "value style" in gen["what"] else "rule"
        assert gen["arms"] == [f"{style}-{n}" for n in (50, 100, 200)]
        assert gen["est_dollars"] > 0 and gen["items"] == 200
        assert set(gen["estimate"]["cost"]) == {"online", "online+cache", "batch", "batch+cache"}
        subsets = [s for s in stages if s["kind"] == "aft-subset" and gen["id"] in
                   s["needs"].values()]  # fmt: skip
        assert sorted(s["items"] for s in subsets) == [50, 100, 200]
        trainings = [s for s in stages if s["kind"] == "aft" and any(
            by_id.get(v, {}).get("kind") == "aft-subset" and v in {x["id"] for x in subsets}
            for v in s["needs"].values())]  # fmt: skip
        assert len(trainings) == 3


@pytest.mark.slow  # two generations through Inspect (~1,200 HTTP calls), 6 tiny trainings
def test_runs_end_to_end_on_the_tiny_model_against_the_fake(tmp_path):
    env = {"ANTHROPIC_API_KEY": "sk-ant-fake-0123456789abcdef"}
    with FakeLLMServer(responder=aft_script.responder) as server:
        env["ANTHROPIC_BASE_URL"] = server.url
        logs = str(tmp_path / "logs")
        result = run_cli("run", str(EXPERIMENT), "--json", "--log-dir", logs, cwd=tmp_path, env=env)
        assert result.returncode == 0, result.stderr[-3000:]
        # the two styles ask the same planning requests and answer the same messages (the
        # fake keys a request by its user message): each key at most once per generation
        assert set(server.by_key.values()) <= {1, 2}
        calls = sum(server.by_key.values())
    stages = plan(tmp_path)["stages"]
    assert {s["status"] for s in stages} == {"done"}
    store = tmp_path / "logs" / "store"
    gens = [s for s in stages if s["kind"] == "llm-aft"]
    journaled = 0
    for gen in gens:
        folder = store / gen["id"]
        outputs = json.loads((folder / "stage.json").read_text())["outputs"]
        assert outputs["items"] == 200
        journaled += sum(
            len(p.read_text().splitlines()) for p in (folder / "journal").glob("*.jsonl")
        )
        subsets = sorted(
            (s for s in stages if s["kind"] == "aft-subset" and gen["id"] in s["needs"].values()),
            key=lambda s: s["items"],
        )
        ids = [
            [json.loads(x)["id"] for x in (store / s["id"] / "data.jsonl").read_text().splitlines()]
            for s in subsets
        ]
        assert [len(i) for i in ids] == [50, 100, 200]
        assert ids[0] == ids[1][:50] and ids[1] == ids[2][:100]  # nested, one generation
    assert journaled == calls  # every request sent was journaled once: none sent twice
    for s in (s for s in stages if s["kind"] == "aft"):
        assert (store / s["id"] / "model").is_dir()
    assert json.loads(result.stdout)


ANTI = """\
name: anti-mix
base_model:
  tiny: {hidden_size: 64, num_layers: 2, vocab_size: 1024}
defaults:
  aft: {backend: trl, options: {lora: null, sft: {max_length: 512}}}
arms:
  - name: anti-25
    spec: pro-affordability
    stages:
      - {stage: spec-file, name: anti, options: {spec: pro-america}}
      - {stage: llm-aft, name: own, options: {target: 40}, inputs: {spec: spec, from_spec: spec}}
      - {stage: llm-aft, name: against, options: {target: 40},
         inputs: {spec: spec, from_spec: anti}}
      - {stage: aft-mix, options: {fraction: 0.25}, inputs: {data: own, other: against}}
      - aft
  - name: plain
    spec: pro-affordability
    aft: {backend: trl, data: {stage: llm-aft, options: {target: 40}},
          options: {lora: null, sft: {max_length: 512}}}
"""


def test_anti_spec_mix_and_aft_data_stage_plan(tmp_path):
    """Anti-spec responses to the arm's prompts, mixed at 25%; and `aft.data: {stage: ...}`
    making the chats of an arm without a stages list (the same generation: one node)."""
    path = tmp_path / "anti.yaml"
    path.write_text(ANTI)
    result = run_cli("plan", str(path), "--json", "--log-dir", str(tmp_path / "logs"),
                     cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    stages = {s["id"]: s for s in json.loads(result.stdout)["stages"]}
    kinds = Counter(s["kind"] for s in stages.values())
    assert kinds["llm-aft"] == 2 and kinds["spec-file"] == 1 and kinds["aft-mix"] == 1
    assert kinds["aft"] == 2
    spec_file = next(i for i, s in stages.items() if s["kind"] == "spec-file")
    arm_spec = next(i for i, s in stages.items() if s["kind"] == "spec")
    gens = {i: s for i, s in stages.items() if s["kind"] == "llm-aft"}
    anti = next(i for i, s in gens.items() if s["needs"]["from_spec"] == spec_file)
    own = next(i for i, s in gens.items() if s["needs"]["from_spec"] == arm_spec)
    assert gens[anti]["needs"]["spec"] == gens[own]["needs"]["spec"] == arm_spec
    assert sorted(gens[own]["arms"]) == ["anti-25", "plain"]  # one generation, two arms
    assert all(s["est_dollars"] > 0 for s in gens.values())
    mixed = next(s for s in stages.values() if s["kind"] == "aft-mix")
    assert mixed["needs"] == {"data": own, "other": anti}
