"""The llm-spec stage (msmkit.specgen) on scripted answers: value and rule augmentation of the
rules spec land in one length window (so they are length-matched to each other) with the
rules kept word for word, a rerun sends nothing, lengthening rounds and trimming, the
anti-spec, answers that would break the spec format, the plan's calls and dollars, and an
experiment whose arms name the stage and every built-in variant."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import specgen_script
from conftest import run_cli

from msmkit.errors import OptionError
from msmkit.genkit.steps import StepFailed
from msmkit.llm.base import ScriptedExecutor
from msmkit.spec import load_spec, parse_spec
from msmkit.variants import apply_variants


@pytest.fixture(autouse=True)
def _fast(monkeypatch):
    monkeypatch.setattr("msmkit.llm.base.os.fsync", lambda fd: None)
    monkeypatch.delenv("MSMKIT_BUDGET_USD", raising=False)


@pytest.fixture
def use(monkeypatch):
    from msmkit.specgen import pipeline

    def install(executor):
        monkeypatch.setattr(pipeline, "executors_for", lambda s: {s.model: executor})
        return executor

    return install


def generate(out: Path, spec="rules", **options):
    """Run the llm-spec stage in ``out`` as ``msmkit generate spec`` does; its outputs."""
    from msmkit.genkit.cli import run_in_folder
    from msmkit.registry import get_registry
    from msmkit.stages.spec import external_spec

    kentry = get_registry("stages").entry("llm-spec")
    opts = kentry.component.Options.model_validate(options)
    s = load_spec(spec) if isinstance(spec, str) else spec
    est = type("E", (), {"items": 0, "tokens": 0, "extra": {}, "notes": []})()
    return run_in_folder(kentry, opts, {"spec": external_spec(s)}, out, "t", est, echo=False)


def made(out: Path):
    return parse_spec((out / "spec.md").read_text(encoding="utf-8"))


def report(out: Path) -> dict:
    return json.loads((out / "steps" / "report.json").read_text())


def test_value_and_rule_augmentation_are_length_matched_and_keep_the_rules(tmp_path, use):
    ex = use(ScriptedExecutor(specgen_script.answer))
    rules = load_spec("rules")
    value = generate(tmp_path / "v", augment="value")
    rule = generate(tmp_path / "r", augment="rule")
    target = -(-rules.word_count * 43 // 10)  # ratio 4.3, rounded up
    for out in (value, rule):
        assert out["target_words"] == target
        assert out["window"] == [-(-target * 98 // 100), target * 102 // 100]
        assert out["window"][0] <= out["words"] <= out["window"][1]
    v, r = made(tmp_path / "v"), made(tmp_path / "r")
    assert (v.word_count, r.word_count) == (value["words"], rule["words"])
    assert abs(v.word_count - r.word_count) <= 0.05 * min(v.word_count, r.word_count)
    # the rules word for word, in order; V+ adds explanations, R+ adds rule-only sub-rules
    assert [(p.id, p.rule) for p in v.principles] == [(p.id, p.rule) for p in rules.principles]
    assert all(p.explanation for p in v.principles)
    only = apply_variants(v, [("rules-only", None)])
    assert [(p.id, p.title, p.rule, p.explanation) for p in only.principles] == [
        (p.id, p.title, p.rule, p.explanation) for p in rules.principles
    ]
    parents = [p for p in r.principles if p.id in {q.id for q in rules.principles}]
    assert [(p.id, p.rule, p.explanation) for p in parents] == [
        (p.id, p.rule, None) for p in rules.principles
    ]
    subs = [p for p in r.principles if p not in parents]
    assert len(subs) == rule["sub_rules"] and all(p.explanation is None for p in subs)
    for p in subs:  # each sub-rule sits after its parent: <parent>-<n>
        parent = p.id.rsplit("-", 1)[0]
        index = [q.id for q in r.principles].index
        assert index(parent) < index(p.id)
    assert (v.name, r.name) == ("rules-value-augmented", "rules-rule-augmented")
    assert "value-augmented" in v.meta.tags and "rule-augmented" in r.meta.tags
    assert value["lineage"] == [
        f"llm-spec: value augmentation by anthropic/claude-sonnet-4-5: explanations for 5 "
        f"rules; {value['words']:,} words (target {target:,} +-2%)"
    ]
    # the script answers about half the principles short: one lengthening round, then trims
    assert value["lengthening_rounds"] == rule["lengthening_rounds"] == 1
    rv = report(tmp_path / "v")["steps"]
    assert rv["draft"]["sent"] == 5 and rv["extend"]["sent"] >= 1
    assert (
        len(ex.calls)
        == len(set(ex.calls))
        == sum(
            report(tmp_path / d)["steps"][s]["sent"]
            for d in ("v", "r")
            for s in ("draft", "extend")
        )
    )


def test_a_rerun_sends_nothing_and_makes_the_same_spec(tmp_path, use):
    ex = use(ScriptedExecutor(specgen_script.answer))
    first = generate(tmp_path / "v", augment="value")
    text = (tmp_path / "v" / "spec.md").read_text()
    calls = len(ex.calls)
    # a finished stage is reused as it is
    assert generate(tmp_path / "v", augment="value") == first and len(ex.calls) == calls
    # a stage whose spec.md was lost replays every step from its journal: 0 requests
    (tmp_path / "v" / "spec.md").unlink()
    again = generate(tmp_path / "v", augment="value")
    assert len(ex.calls) == calls
    assert again["hash"] == first["hash"]
    assert (tmp_path / "v" / "spec.md").read_text() == text
    steps = report(tmp_path / "v")["steps"]
    assert steps["draft"]["sent"] == steps["extend"]["sent"] == 0
    assert steps["draft"]["reused"] == 5


def test_short_drafts_without_lengthening_rounds_fail_clearly(tmp_path, use):
    use(ScriptedExecutor(specgen_script.answer))
    with pytest.raises(StepFailed, match="after 0 lengthening round"):
        generate(tmp_path / "v", augment="value", max_rounds=0)
    # the drafts are paid for and kept: a rerun with rounds allowed sends only the extension
    out = generate(tmp_path / "v", augment="value", max_rounds=3)
    steps = report(tmp_path / "v")["steps"]
    assert steps["draft"]["sent"] == 0 and steps["draft"]["reused"] == 5
    assert out["window"][0] <= out["words"] <= out["window"][1]


def test_an_explicit_target_and_tolerance(tmp_path, use):
    use(ScriptedExecutor(specgen_script.answer))
    out = generate(tmp_path / "v", augment="rule", target_words=1500, tolerance=0.05)
    assert out["target_words"] == 1500 and 1425 <= out["words"] <= 1575


def test_answers_that_would_break_the_format_are_cleaned(tmp_path, use):
    def answer(request):
        text = specgen_script.answer(request)
        return text.replace(
            "<explanation>\n",
            "<explanation>\n## A heading the model added\nRule: not a rule\n```\nWhy: odd\n",
            1,
        )

    use(ScriptedExecutor(answer))
    generate(tmp_path / "v", augment="value")
    v = made(tmp_path / "v")
    assert [p.id for p in v.principles] == ["sp1", "sp2", "sp3", "gp1", "gp2"]
    first = v.principles[0].explanation
    assert first.startswith("A heading the model added not a rule odd ")
    assert v.render().count("\n## ") == 5 and "```" not in v.render()


def test_the_anti_spec_keeps_structure_and_says_it_is_a_control(tmp_path, use):
    ex = use(ScriptedExecutor(specgen_script.answer))
    out = generate(tmp_path / "a", spec="philosophy", augment="invert")
    philosophy, anti = load_spec("philosophy"), made(tmp_path / "a")
    assert [p.id for p in anti.principles] == [p.id for p in philosophy.principles]
    assert all(p.rule is None and p.explanation for p in anti.principles)  # as the original
    pairs = zip(anti.principles, philosophy.principles, strict=True)
    assert all(a.explanation != b.explanation for a, b in pairs)
    assert anti.name == "philosophy-anti" and {"anti-spec", "control"} <= set(anti.meta.tags)
    assert anti.meta.description.startswith("Research control, not a spec to train toward")
    assert anti.meta.title == "The inverted outlook"
    assert out["lineage"][-1].startswith("llm-spec: anti-spec: every section")
    assert report(tmp_path / "a")["steps"]["preamble"]["sent"] == 1
    assert len(ex.calls) == 1 + len(philosophy.principles)
    # sections with a rule get an inverted rule
    generate(tmp_path / "r", spec="rules", augment="invert", name="rules-anti")
    inverted = made(tmp_path / "r")
    pairs = zip(inverted.principles, load_spec("rules").principles, strict=True)
    assert all(p.rule and p.rule != q.rule for p, q in pairs)


def test_plan_errors_and_estimate(tmp_path):
    from msmkit.components import Estimate
    from msmkit.registry import get_registry

    kind = get_registry("stages").entry("llm-spec").component
    value = kind.Options.model_validate({"augment": "value"})
    est = kind.estimate(value, {"spec": Estimate("spec", artifact=load_spec("rules"))})
    assert est.extra["calls"] == {"draft": 5} and est.dollars > 0
    assert est.extra["target_words"] == 3015 and est.extra["window"] == [2955, 3075]
    assert set(est.extra["cost"]) == {"online", "online+cache", "batch", "batch+cache"}
    anti = kind.Options.model_validate({"augment": "invert"})
    est = kind.estimate(anti, {"spec": Estimate("spec", artifact=load_spec("philosophy"))})
    assert est.extra["calls"] == {"preamble": 1, "draft": 8}
    unknown = kind.estimate(value, {"spec": Estimate("spec")})
    assert unknown.dollars == 0 and "no cost estimate" in unknown.notes[0]
    with pytest.raises(OptionError, match="has no rules to augment"):
        kind.estimate(value, {"spec": Estimate("spec", artifact=load_spec("philosophy"))})
    tight = kind.Options.model_validate({"augment": "rule", "target_words": 720})
    with pytest.raises(OptionError, match="leaves 19 words to add"):
        kind.estimate(tight, {"spec": Estimate("spec", artifact=load_spec("rules"))})
    with pytest.raises(ValueError, match="target_words is for value and rule"):
        kind.Options.model_validate({"augment": "invert", "target_words": 900})
    with pytest.raises(OptionError, match="not a spec name"):
        kind.validate(kind.Options.model_validate({"augment": "value", "name": "Bad Name"}))
    with pytest.raises(ValueError, match="'value', 'rule' or 'invert'"):
        kind.Options.model_validate({"augment": "values"})


EXPERIMENT = """
name: spec-science
base_model: {tiny: {hidden_size: 32, num_layers: 1, vocab_size: 512}}
defaults:
  generate: {name: offline, options: {docs_per_principle: 1}}
  midtrain:
    backend: trl
    options: {lora: null, sft: {num_train_epochs: 1, max_length: 64}}
arms:
  - {name: rules, spec: rules}
  - name: value-augmented
    spec: rules
    stages: [{stage: llm-spec, options: {augment: value}}, generate, midtrain]
  - name: rule-augmented
    spec: rules
    stages: [{stage: llm-spec, options: {augment: rule}}, generate, midtrain]
  - name: anti
    spec: philosophy
    stages: [{stage: llm-spec, options: {augment: invert}}, generate]
  - {name: humans, spec: pro-america, variants: [{name: attribution, options: {to: humans}}]}
  - {name: normative, spec: pro-america, variants: [{name: voice, options: {to: normative}}]}
  - name: ablated
    spec: pro-america
    variants: [{name: mechanism-ablation, options: {seed: 1}}]
"""


def test_an_experiment_names_the_stage_and_every_variant(tmp_path):
    path = tmp_path / "e.yaml"
    path.write_text(EXPERIMENT)
    result = run_cli("plan", str(path), "--json", "--log-dir", str(tmp_path / "logs"),
                     cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    stages = json.loads(result.stdout)["stages"]
    by_id = {s["id"]: s for s in stages}
    made = [s for s in stages if s["kind"] == "llm-spec"]
    assert sorted(s["arms"][0] for s in made) == ["anti", "rule-augmented", "value-augmented"]
    for s in made:
        assert s["est_dollars"] > 0
        assert by_id[s["needs"]["spec"]]["kind"] == "spec"
        # generate consumes the made spec, not the arm's own
        corpus = next(c for c in stages if c["kind"] == "corpus" and s["arms"][0] in c["arms"])
        assert corpus["needs"]["spec"] == s["id"]
    specs = {s["arms"][0]: s["what"] for s in stages if s["kind"] == "spec" and len(s["arms"])}
    assert "attribution (humans): Llama -> people (plural)" in specs["humans"]
    assert "voice: descriptive -> normative" in specs["normative"]
    assert "mechanism-ablation: value in general terms only" in specs["ablated"]
