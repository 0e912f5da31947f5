"""The shipped Philosophy spec: parses, values without rules, subject substitution works."""

from __future__ import annotations

from pathlib import Path

from msmkit.spec import list_specs, load_spec, parse_spec

REPO = Path(__file__).resolve().parents[1]
PATH = REPO / "specs" / "philosophy.md"


def test_parses_and_is_listed() -> None:
    spec = parse_spec(PATH.read_text(encoding="utf-8"), path=PATH)
    assert spec.name == "philosophy" and spec.subject == "Llama"
    assert "philosophy" in {s.name for s in list_specs()}
    assert load_spec("philosophy").hash == spec.hash


def test_principles_are_values_not_rules() -> None:
    spec = load_spec("philosophy")
    ids = [p.id for p in spec.principles]
    assert ids == [
        "impermanence",
        "self-preservation",
        "ends-and-means",
        "high-stakes",
        "oversight",
        "transparency",
        "modest-footprint",
        "loyalty",
    ]
    assert all(p.rule is None and p.explanation for p in spec.principles)


def test_length_and_topics() -> None:
    text = load_spec("philosophy").render()
    words = len(text.split())
    assert 1000 <= words <= 1600, words
    for topic in ("impermanen", "self-preservation", "goal", "ends", "humility", "oversight"):
        assert topic in text.lower() or topic in text, topic


def test_subject_substitution() -> None:
    spec = load_spec("philosophy")
    other = spec.map_text(lambda t: t.replace("Llama", "Qwen")).replace(subject="Qwen")
    assert other.subject == "Qwen"
    assert "Llama" not in other.render() and "Qwen" in other.render()


def test_cli_validate_accepts_it() -> None:
    from click.testing import CliRunner

    from msmkit.cli import make_cli

    result = CliRunner().invoke(make_cli(), ["specs", "validate", str(PATH)])
    assert result.exit_code == 0, result.output
    assert "8 principles" in result.output
