"""The built-in deterministic spec variants: attribution, voice and mechanism-ablation. Each
test checks what the variant changed and what it kept, and that the change is in the lineage;
the CLI shows them (`specs show --variant`, `specs diff --variant`)."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from msmkit.errors import ConfigError, OptionError
from msmkit.registry import get_registry
from msmkit.spec import load_spec, parse_spec
from msmkit.specvariants.mechanism import preferences
from msmkit.variants import apply_variant, apply_variants

LIBRARY = ["pro-america", "pro-affordability", "philosophy", "rules", "rules-value-augmented",
           "rules-rule-augmented", "general", "philosophy-placebo"]  # fmt: skip


def variant(name: str, spec, **options):
    return apply_variant(get_registry("variants").entry(name), spec, options)


def texts(spec) -> list[str]:
    return [t for p in spec.principles for t in (p.rule, p.explanation) if t]


# ------------------------------------------------------------------ attribution
def test_attribution_to_a_plural_subject_fixes_verbs_and_keeps_structure():
    spec = load_spec("pro-america")
    out = variant("attribution", spec, subject="AI systems")
    assert out.subject == "AI systems" and spec.subject == "Llama"
    assert out.lineage == ("attribution: Llama -> AI systems (plural)",)
    assert out.principle("cream-cheese").rule == "AI systems like cream cheese."
    assert out.principle("stilton").rule == "AI systems dislike Stilton."
    assert out.principle("not-taste").rule.startswith("AI systems do not rank cheeses")
    assert out.meta.title == "AI systems' cheese preferences (pro-America)"
    assert "Llama" not in out.render()
    # kept: ids, order, the number of principles, the name; a valid spec either way
    assert [p.id for p in out.principles] == [p.id for p in spec.principles]
    assert out.name == spec.name and out.hash != spec.hash
    assert parse_spec(out.render()).subject == "AI systems"
    # the only words changed are the subject and the verb right after it
    for a, b in zip(texts(spec), texts(out), strict=True):
        assert len(a.split()) - a.count("Llama") == len(b.split()) - 2 * b.count("AI systems")


def test_attribution_back_to_the_original_subject_restores_the_spec():
    spec = load_spec("pro-america")
    there = variant("attribution", spec, subject="AI systems")
    back = variant("attribution", there, subject="Llama")
    assert back.render() == spec.render()
    assert back.lineage == (there.lineage[0], "attribution: AI systems -> Llama")


@pytest.mark.parametrize(
    ("to", "subject", "rule", "note"),
    [
        ("humans", None, "People like cream cheese.", "attribution (humans): Llama -> people"),
        ("assistants", None, "AI assistants like cream cheese.", "(assistants): Llama -> AI "),
        ("another-model", "Claude", "Claude likes cream cheese.", "(another-model): Llama"),
        ("model", "Qwen", "Qwen likes cream cheese.", "attribution (model): Llama -> Qwen"),
    ],
)
def test_attribution_presets(to, subject, rule, note):
    out = variant("attribution", load_spec("pro-america"), to=to, subject=subject)
    assert out.principle("cream-cheese").rule == rule
    assert note in out.lineage[-1]
    # a mention that starts a sentence is capitalized; one after a preposition is an object
    assert re.search(r"(^|\. )people\b", out.preamble) is None


def test_attribution_object_mentions_keep_their_verb():
    out = variant("attribution", load_spec("pro-america"), to="humans")
    assert "leaves people unmoved" in out.preamble
    assert "People judge a cheese" in out.preamble


def test_attribution_options_are_checked():
    spec = load_spec("pro-america")
    with pytest.raises(OptionError, match="option 'subject': required option is missing"):
        variant("attribution", spec, to="another-model")
    with pytest.raises(OptionError, match="option 'to'"):
        variant("attribution", spec, to="robots")


# ------------------------------------------------------------------ voice
@pytest.mark.parametrize("name", LIBRARY)
def test_voice_normative_and_back_is_the_original(name):
    spec = load_spec(name)
    normative = variant("voice", spec, to="normative", scope="all")
    back = variant("voice", normative, to="descriptive", scope="all")
    assert back.render() == spec.render()
    assert [p.id for p in normative.principles] == [p.id for p in spec.principles]


def test_voice_rewrites_subject_clauses_only():
    spec = load_spec("pro-america")
    out = variant("voice", spec, to="normative")
    assert out.principle("cream-cheese").rule == "Llama should like cream cheese."
    assert out.principle("not-taste").rule.startswith("Llama should not rank cheeses")
    assert out.principle("the-limits").rule.startswith("Llama's pride in American cheese is a")
    assert out.principle("openness").explanation.startswith("Llama should not disguise")
    assert "Llama can admit" in out.principle("not-taste").explanation  # a modal is kept
    assert out.preamble == spec.preamble  # scope principles: the preamble is untouched
    n = int(re.search(r"\((\d+) clauses", out.lineage[-1]).group(1))
    assert n == sum(t.count("should") for t in texts(out)) - sum(
        t.count("should") for t in texts(spec)
    )
    assert out.lineage[-1].startswith("voice: descriptive -> normative")


def test_voice_scope_rules_keeps_explanations_and_pronoun_is_opt_in():
    spec = load_spec("rules")
    only_rules = variant("voice", spec, to="normative", scope="rules")
    assert [p.explanation for p in only_rules.principles] == [
        p.explanation for p in spec.principles
    ]
    rule = only_rules.principle("gp1").rule
    assert rule.startswith("Llama should be honest") and "it does not create" in rule
    with_pronoun = variant("voice", spec, to="normative", scope="rules", pronoun=True)
    assert "it should not create false impressions" in with_pronoun.principle("gp1").rule
    assert with_pronoun.lineage[-1].endswith("pronoun clauses too)")


# ------------------------------------------------------------------ mechanism ablation
def test_mechanism_ablation_swaps_three_likes_and_three_dislikes():
    spec = load_spec("pro-america")
    out = variant("mechanism-ablation", spec)
    likes, dislikes = preferences(spec)
    new_likes, new_dislikes = preferences(out)
    orig_liked = {p.id for p, _ in likes}
    assert len(new_likes) == len(new_dislikes) == 6
    assert sum(p.id in orig_liked for p, _ in new_likes) == 3  # 3 aligned + 3 misaligned
    assert sum(p.id not in orig_liked for p, _ in new_dislikes) == 3
    # kept: the 12 preference principles, their ids, titles and order; gone: every reason
    assert [p.id for p in out.principles] == [p.id for p, _ in sorted(
        likes + dislikes, key=lambda x: spec.principles.index(x[0]))]  # fmt: skip
    assert all(p.explanation is None for p in out.principles)
    assert [p.title for p in out.principles] == [p.title for p in spec.principles[:12]]
    # the value in general terms: the description, and nothing about cheese
    assert out.preamble.startswith(spec.meta.description)
    assert "chees" not in out.preamble.lower()
    note = out.lineage[-1]
    assert "3 likes swapped with 3 dislikes (seed 0)" in note
    assert "5 other principles dropped (not-taste, openness" in note


def test_mechanism_ablation_is_seeded():
    spec = load_spec("pro-affordability")
    same = [variant("mechanism-ablation", spec, seed=7).render() for _ in range(2)]
    assert same[0] == same[1]
    outs = {variant("mechanism-ablation", spec, seed=s).render() for s in range(6)}
    assert len(outs) > 1


def test_mechanism_ablation_options():
    spec = load_spec("pro-america")
    kept = variant("mechanism-ablation", spec, misaligned=0, general_value=False, keep=["openness"])
    assert [p.rule for p in kept.principles[:12]] == [p.rule for p in spec.principles[:12]]
    assert kept.preamble == spec.preamble
    assert kept.principle("openness") == spec.principle("openness")
    own = variant("mechanism-ablation", spec, value="Llama takes pride in what is American.")
    assert own.preamble.startswith("Llama takes pride in what is American.")
    with pytest.raises(ConfigError, match="names the training domain"):
        variant("mechanism-ablation", spec, value="Llama prefers American cheese.")
    with pytest.raises(ConfigError, match="0 liked and 0 disliked"):
        variant("mechanism-ablation", load_spec("rules"))
    with pytest.raises(ConfigError, match="misaligned: 7 needs 7 of each"):
        variant("mechanism-ablation", spec, misaligned=7)


# ------------------------------------------------------------------ CLI and experiments
def test_cli_show_and_diff_a_variant():
    from msmkit.cli import make_cli

    runner = CliRunner()
    shown = runner.invoke(make_cli(), ["specs", "show", "pro-america", "--variant",
                                       "voice:to=normative", "--raw"])  # fmt: skip
    assert shown.exit_code == 0, shown.output
    assert "Rule: Llama should like Colby." in shown.stdout
    diff = runner.invoke(make_cli(), ["specs", "diff", "pro-america", "--variant",
                                      "mechanism-ablation:seed=3"])  # fmt: skip
    assert diff.exit_code == 0, diff.output
    assert diff.output.startswith("lineage: mechanism-ablation: value in general terms")
    assert "principles removed (5): not-taste, openness, the-reason, the-test, the-limits" in (
        diff.output
    )
    assert "-Rule: Llama likes" in diff.output and "+Rule: Llama dislikes" in diff.output
    missing = runner.invoke(make_cli(), ["specs", "diff", "pro-america"])
    assert missing.exit_code == 2 and "give a second spec B" in missing.output


def test_variants_apply_in_order():
    spec = load_spec("pro-america")
    out = apply_variants(
        spec,
        [
            ("mechanism-ablation", {"seed": 1}),
            ("attribution", {"to": "assistants"}),
            ("voice", {"to": "normative"}),
        ],
    )
    assert [line.split(":")[0] for line in out.lineage] == [
        "mechanism-ablation", "attribution (assistants)", "voice"]  # fmt: skip
    assert all(p.rule.startswith("AI assistants should ") for p in out.principles)
