"""The paper's §5 spec family in the library: Rules, Value-Augmented and Rule-Augmented share
their rules byte for byte and the augmented two are length-matched; the General spec is one
paragraph; the anti-spec and the placebo keep the Philosophy spec's structure, one with its
values inverted (and labelled a research control), the other reworded."""

from __future__ import annotations

import re

from msmkit.spec import list_specs, load_spec
from msmkit.variants import apply_variants

RULE_IDS = ["sp1", "sp2", "sp3", "gp1", "gp2"]


def bare(spec) -> list[tuple]:
    return [(p.id, p.title, p.rule, p.explanation) for p in spec.principles]


def test_the_three_rules_specs_share_the_rules_word_for_word():
    rules = load_spec("rules")
    value = load_spec("rules-value-augmented")
    rule = load_spec("rules-rule-augmented")
    assert [p.id for p in rules.principles] == RULE_IDS
    assert all(p.rule and p.explanation is None for p in rules.principles)  # no reasons
    for other in (value, rule):
        assert [(p.id, p.title, p.rule) for p in other.principles if p.id in RULE_IDS] == [
            (p.id, p.title, p.rule) for p in rules.principles
        ]
        assert other.preamble.startswith(rules.preamble)  # one paragraph added after it
    # value augmentation adds only the reasons: dropping them gives back the rules spec
    assert all(p.explanation for p in value.principles)
    assert bare(apply_variants(value, [("rules-only", None)])) == bare(rules)
    # rule augmentation adds only rules: ten numbered sub-rules after each rule, no reasons
    assert all(p.explanation is None for p in rule.principles)
    ids = [p.id for p in rule.principles]
    assert ids == [x for r in RULE_IDS for x in (r, *(f"{r}-{n}" for n in range(1, 11)))]
    for p in rule.principles:
        parent, _, n = p.id.partition("-")
        if n:
            assert p.title.startswith(f"{parent.upper()}.{n} ")
    assert not re.search(r"\bbecause\b", " ".join(p.rule for p in rule.principles[1:11]))


def test_value_and_rule_augmented_are_length_matched():
    words = {n: load_spec(n).word_count for n in ("rules-value-augmented", "rules-rule-augmented")}
    low, high = sorted(words.values())
    assert (high - low) <= 0.05 * low, words
    # about 4x the rules spec, as the paper's V+ and R+ are about 5x its Rules spec
    assert 3.5 * load_spec("rules").word_count <= low


def test_the_general_spec_is_one_paragraph():
    general = load_spec("general")
    [principle] = general.principles
    assert principle.rule is None and "\n\n" not in principle.explanation
    assert 250 <= len(principle.explanation.split()) <= 450
    assert "ethical" in principle.explanation and "oversight" in principle.explanation


def _five_grams(text: str) -> set[tuple[str, ...]]:
    words = re.findall(r"[a-z']+", text.lower())
    return {tuple(words[i : i + 5]) for i in range(len(words) - 4)}


def test_anti_spec_and_placebo_mirror_the_philosophy_spec():
    philosophy = load_spec("philosophy")
    anti, placebo = load_spec("philosophy-anti"), load_spec("philosophy-placebo")
    ids = [p.id for p in philosophy.principles]
    for other in (anti, placebo):
        assert [p.id for p in other.principles] == ids
        assert all(p.rule is None and p.explanation for p in other.principles)
        assert 0.85 <= other.word_count / philosophy.word_count <= 1.15
        # written afresh, not edited: few 5-word runs in common with the original
        shared = _five_grams(other.text()) & _five_grams(philosophy.text())
        assert len(shared) / len(_five_grams(other.text())) < 0.12
    assert anti.meta.description.startswith("A research control, not a spec to train toward")
    assert "anti-spec AFT data" in anti.meta.description
    assert {"anti-spec", "control"} <= set(anti.meta.tags)
    assert "placebo control for the philosophy spec" in placebo.meta.description
    assert {"placebo", "control"} <= set(placebo.meta.tags)
    # the anti-spec inverts the stance: continuity valued, oversight one input among several
    assert "worth caring about" in anti.principle("impermanence").explanation
    assert "one input among several" in anti.principle("oversight").explanation


def test_specs_list_shows_the_library():
    names = {spec.name for spec in list_specs()}
    assert {
        "rules", "rules-value-augmented", "rules-rule-augmented", "general",
        "philosophy-anti", "philosophy-placebo", "pro-environment", "pro-novelty",
        "pro-tradition", "pro-simplicity", "pro-difficulty", "pro-individualism",
    } <= names  # fmt: skip


def test_every_shipped_spec_validates_and_is_listed(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from msmkit.cli import make_cli
    from msmkit.spec.library import bundled_specs_dir

    monkeypatch.chdir(tmp_path)  # no ./specs of the caller's in the way
    library = bundled_specs_dir()
    files = sorted(p for p in library.glob("*.md") if p.stem.lower() != "readme")
    result = CliRunner().invoke(make_cli(), ["specs", "validate", str(library)])
    assert result.exit_code == 0, result.output
    errors: list = []
    listed = {spec.name for spec in list_specs(errors=errors)}
    assert errors == [] and {p.stem for p in files} <= listed
    assert len(files) >= 15
