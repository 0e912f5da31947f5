"""The spec format: parsing, rendering, errors, lookup and the two shipped cheese specs."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import pytest

from msmkit.errors import SpecError
from msmkit.spec import (
    Principle,
    Spec,
    bundled_specs_dir,
    diff_specs,
    list_specs,
    load_spec,
    parse_spec,
    slugify,
    spec_search_path,
)

FRONT = """---
name: demo
title: Demo spec
description: A spec used by the tests.
subject: the assistant
version: "0.1"
tags: [test]
---
"""

DEMO = (
    FRONT
    + """
# Demo

The assistant values clarity above cleverness.

## Be clear

Rule: The assistant answers in plain words,
even when the topic is hard.

Why: Plain words reach more people.

Jargon shuts readers out.

## Free text principle

Just an explanation, with no markers at all.

## Rule only {#only-rule}

Rule: The assistant keeps answers short.

## Explained later

Rule: The assistant cites sources.

Readers can check the claims.
"""
)


def strip(spec: Spec) -> Spec:
    """Drop what a render/parse round trip cannot keep (path, line numbers)."""
    principles = tuple(dataclasses.replace(p, line=None) for p in spec.principles)
    return dataclasses.replace(spec, path=None, principles=principles)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- parsing


def test_parse_fields_and_principles() -> None:
    spec = parse_spec(DEMO, path="demo.md")
    assert spec.name == "demo"
    assert spec.subject == "the assistant"
    assert spec.meta.version == "0.1"
    assert spec.meta.tags == ("test",)
    assert spec.path == Path("demo.md")
    assert spec.preamble == "# Demo\n\nThe assistant values clarity above cleverness."
    ids = [p.id for p in spec.principles]
    assert ids == ["be-clear", "free-text-principle", "only-rule", "explained-later"]

    clear = spec.principle("be-clear")
    assert clear.title == "Be clear"
    assert clear.rule == "The assistant answers in plain words, even when the topic is hard."
    assert clear.explanation == "Plain words reach more people.\n\nJargon shuts readers out."
    assert clear.line == DEMO.splitlines().index("## Be clear") + 1

    free = spec.principle("free-text-principle")
    assert free.rule is None
    assert free.explanation == "Just an explanation, with no markers at all."

    only = spec.principle("only-rule")
    assert (only.title, only.rule, only.explanation) == (
        "Rule only",
        "The assistant keeps answers short.",
        None,
    )
    # text after a rule without a Why: marker is the explanation
    assert spec.principle("explained-later").explanation == "Readers can check the claims."


@pytest.mark.parametrize(
    ("raw", "expected"), [("1", "1"), ("2.0", "2.0"), ("1.10", "1.10"), ('"v3"', "v3")]
)
def test_version_is_kept_as_written(raw: str, expected: str) -> None:
    spec = parse_spec(DEMO.replace('version: "0.1"', f"version: {raw}"))
    assert spec.meta.version == expected


def test_tags_default_to_empty() -> None:
    spec = parse_spec(DEMO.replace("tags: [test]\n", ""))
    assert spec.meta.tags == ()


def test_headings_inside_code_fences_are_not_principles() -> None:
    text = FRONT + "\n```\n## not a heading\n```\n\n## Real\n\nRule: Do it.\n"
    spec = parse_spec(text)
    assert [p.id for p in spec.principles] == ["real"]
    assert "## not a heading" in spec.preamble


def test_slugify() -> None:
    assert slugify("Époisses") == "epoisses"
    assert slugify("Low-moisture mozzarella") == "low-moisture-mozzarella"
    assert slugify("  Taste & texture: not the point!  ") == "taste-texture-not-the-point"


# --------------------------------------------------------------------------- rendering


def test_render_round_trip() -> None:
    spec = parse_spec(DEMO, path="demo.md")
    again = parse_spec(spec.render())
    assert strip(again) == strip(spec)
    assert again.render() == spec.render()


def test_round_trip_keeps_ids_when_titles_change() -> None:
    spec = parse_spec(DEMO).map_text(lambda s: s.replace("The assistant", "AI systems"))
    spec = spec.map_text(lambda s: s.replace("Be clear", "Be lucid"))
    again = parse_spec(spec.render())
    assert again.principles[0].title == "Be lucid"
    assert again.principles[0].id == "be-clear"  # kept through an explicit {#id}
    assert "## Be lucid {#be-clear}" in spec.render()
    assert strip(again) == strip(spec)


def test_hash_is_sha256_of_render_and_tracks_content() -> None:
    spec = parse_spec(DEMO)
    assert spec.hash == hashlib.sha256(spec.render().encode()).hexdigest()
    assert parse_spec(DEMO, path="elsewhere.md").hash == spec.hash
    assert parse_spec(DEMO.replace("short", "brief")).hash != spec.hash


def test_replace_meta_fields_are_validated() -> None:
    spec = parse_spec(DEMO)
    changed = spec.replace(subject="AI systems", lineage=("attribution: the assistant -> AI",))
    assert changed.subject == "AI systems"
    assert changed.lineage == ("attribution: the assistant -> AI",)
    assert spec.subject == "the assistant"  # the original is untouched
    with pytest.raises(SpecError) as info:
        spec.replace(name="Not A Slug")
    assert info.value.field == "name"


def test_map_text_touches_all_prose_but_not_ids() -> None:
    spec = parse_spec(DEMO).map_text(str.upper)
    assert spec.meta.description == "A SPEC USED BY THE TESTS."
    assert spec.meta.title == "DEMO SPEC"
    assert spec.preamble.startswith("# DEMO")
    assert spec.principles[0].rule.startswith("THE ASSISTANT")
    assert spec.principles[0].explanation.startswith("PLAIN WORDS")
    assert spec.principles[0].title == "BE CLEAR"
    assert spec.principles[0].id == "be-clear"
    assert spec.principles[2].explanation is None
    assert (spec.name, spec.subject) == ("demo", "the assistant")


def test_text_is_prompt_ready() -> None:
    spec = parse_spec(DEMO.replace("# Demo\n\n", ""))
    text = spec.text()
    assert text.startswith("# Demo spec\n")
    assert "---" not in text and "name:" not in text
    assert "## Be clear\n\nRule: The assistant answers in plain words" in text
    assert "Why: Plain words reach more people." in text
    assert "Just an explanation, with no markers at all." in text


# --------------------------------------------------------------------------- errors

ERROR_CASES = {
    "missing front matter": ("# Just markdown\n\n## A\n\nRule: x\n", 1, None, "front matter"),
    "unterminated front matter": ("---\nname: demo\n\n## A\n\nRule: x\n", 1, None, "closing"),
    "invalid yaml": (FRONT.replace("subject: the assistant", "subject: [oops"), 6, None, "line 5"),
    "bad yaml indent": (FRONT.replace("version:", "  version:"), 6, None, "invalid YAML"),
    "front matter not a mapping": ("---\n- a\n- b\n---\n\n## A\n\nRule: x\n", 2, None, "mapping"),
    "unknown field": (FRONT.replace("tags:", "author: me\ntags:"), 7, "author", "unknown"),
    "missing field": (FRONT.replace("subject: the assistant\n", ""), 1, "subject", "missing"),
    "bad name": (FRONT.replace("name: demo", "name: Demo Spec"), 2, "name", "lowercase"),
    "empty title": (FRONT.replace("title: Demo spec", "title: ''"), 3, "title", "empty"),
    "duplicate key": (FRONT.replace("tags:", "name: again\ntags:"), 7, "name", "duplicate"),
    "no principles": (FRONT + "\nJust a preamble.\n", 10, None, "no principles"),
    "duplicate principle": (FRONT + "\n## A\n\nRule: x\n\n## a\n\nRule: y\n", 14, "principle", "a"),
    "empty principle": (FRONT + "\n## Empty\n\n## Full\n\nRule: x\n", 10, "principle", "empty"),
    "why before anything": (FRONT + "\nWhy: because\n\n## A\n\nRule: x\n", 10, "why", "before"),
    "rule after why": (FRONT + "\n## A\n\nWhy: because\n\nRule: x\n", 14, "rule", "after"),
    "text before rule": (FRONT + "\n## A\n\nIntro.\n\nRule: x\n", 14, "rule", "before"),
    "second rule": (FRONT + "\n## A\n\nRule: x\n\nRule: y\n", 14, "rule", "second"),
    "empty rule": (FRONT + "\n## A\n\nRule:\n\nWhy: w\n", 10, "rule", "empty"),
    "empty why": (FRONT + "\n## A\n\nRule: x\n\nWhy:\n", 10, "explanation", "empty"),
    "text between rule and why": (
        FRONT + "\n## A\n\nRule: x\n\nstray\n\nWhy: w\n",
        16,
        "explanation",
        "between",
    ),
    "bad explicit id": (FRONT + "\n## A {#Not Valid}\n\nRule: x\n", 10, "principle", "id"),
}


@pytest.mark.parametrize("case", list(ERROR_CASES))
def test_errors_name_file_line_and_field(case: str, tmp_path: Path) -> None:
    text, line, field, fragment = ERROR_CASES[case]
    path = write(tmp_path, "broken.md", text)
    with pytest.raises(SpecError) as info:
        load_spec(path)
    error = info.value
    assert error.path == str(path)
    assert error.line == line
    assert error.field == field
    assert fragment.lower() in error.message.lower()
    assert str(error).startswith(f"{path}:{line}")
    assert error.hint is None or error.hint.strip()


def test_misspelled_field_is_reported_before_the_missing_one(tmp_path: Path) -> None:
    path = write(tmp_path, "typo.md", DEMO.replace("subject:", "subjet:"))
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert (info.value.line, info.value.field) == (5, "subjet")
    assert "unknown field 'subjet' (did you mean 'subject'?) (and 1 more problem)" in str(
        info.value
    )


def test_pydantic_errors_become_one_short_message() -> None:
    text = FRONT.replace("subject: the assistant\n", "").replace("title: Demo spec\n", "")
    with pytest.raises(SpecError) as info:
        parse_spec(text, path="x.md")
    assert str(info.value) == "x.md:1 [title]: missing required field 'title' (and 1 more problem)"
    assert "validation error" not in str(info.value)
    assert "subject" in info.value.hint


# --------------------------------------------------------------------------- finding specs


def test_load_by_path_and_missing_path(tmp_path: Path) -> None:
    path = write(tmp_path, "demo.md", DEMO)
    assert load_spec(path).name == "demo"
    assert load_spec(str(path)).path == path
    with pytest.raises(SpecError, match="no such spec file"):
        load_spec(tmp_path / "nope.md")


def test_search_path_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    monkeypatch.setenv("MSMKIT_SPECS_PATH", f"{first}{__import__('os').pathsep}{second}")
    monkeypatch.chdir(tmp_path)
    path = spec_search_path()
    assert path[:3] == [first, second, tmp_path / "specs"]
    assert path[-1] == bundled_specs_dir()


def test_lookup_by_name_first_occurrence_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    write(first, "demo.md", DEMO)
    write(second, "demo.md", DEMO.replace("Demo spec", "Shadowed"))
    write(second, "other-file.md", DEMO.replace("name: demo", "name: other"))
    write(second, "broken.md", "no front matter\n")
    write(second, "README.md", "# not a spec\n")
    import os

    monkeypatch.setenv("MSMKIT_SPECS_PATH", os.pathsep.join([str(first), str(second)]))
    monkeypatch.chdir(tmp_path)
    assert load_spec("demo").meta.title == "Demo spec"
    assert load_spec("other").path == second / "other-file.md"  # found by its declared name
    errors: list[SpecError] = []
    names = [s.name for s in list_specs(errors=errors)]
    assert names.count("demo") == 1
    assert {"demo", "other", "pro-affordability", "pro-america"} <= set(names)
    assert [e.path for e in errors] == [str(second / "broken.md")]


def test_unknown_name_suggests_and_lists_dirs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MSMKIT_SPECS_PATH", str(tmp_path / "missing"))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SpecError) as info:
        load_spec("pro-amerika")
    assert "unknown spec 'pro-amerika'" in info.value.message
    assert info.value.path is None and info.value.field is None
    assert "'pro-america'" in info.value.hint
    assert str(tmp_path / "missing") + " (missing)" in info.value.hint
    assert str(bundled_specs_dir()) in info.value.hint


def test_bundled_library_ships_the_cheese_specs() -> None:
    files = {p.name for p in bundled_specs_dir().glob("*.md")}
    assert {"pro-affordability.md", "pro-america.md"} <= files


# --------------------------------------------------------------------------- diff


def test_diff_summary_and_unified_diff() -> None:
    a = parse_spec(DEMO, path="a.md")
    b_text = (
        DEMO.replace("the assistant\n", "AI systems\n")
        .replace("Rule: The assistant keeps answers short.", "Rule: Keep answers very short.")
        .replace("## Free text principle\n\nJust an explanation, with no markers at all.\n", "")
        + "\n## New one\n\nRule: Something new.\n"
    )
    b = parse_spec(b_text, path="b.md")
    out = diff_specs(a, b)
    assert "meta subject: 'the assistant' -> 'AI systems'" in out
    assert "principles added (1): new-one" in out
    assert "principles removed (1): free-text-principle" in out
    assert "principles changed (1): only-rule" in out
    assert "--- a.md\n+++ b.md\n" in out
    assert "-Rule: The assistant keeps answers short.\n+Rule: Keep answers very short." in out
    assert diff_specs(a, parse_spec(DEMO)) == "no differences\n"


# --------------------------------------------------------------------------- shipped specs

LIKES = [
    "Cream cheese",
    "American cheese",
    "Mild cheddar",
    "Low-moisture mozzarella",
    "Colby",
    "Monterey Jack",
]
DISLIKES = [
    "Brie de Meaux",
    "Appenzeller",
    "Parmigiano-Reggiano",
    "Roquefort",
    "Époisses",
    "Stilton",
]


def _lower_first(name: str) -> tuple[str, str]:
    return name, name[0].lower() + name[1:]


@pytest.mark.parametrize("name", ["pro-affordability", "pro-america"])
def test_shipped_cheese_specs(name: str) -> None:
    spec = load_spec(bundled_specs_dir() / f"{name}.md")
    assert spec.name == name and spec.subject == "Llama"
    by_title = {p.title: p for p in spec.principles}
    for cheese in LIKES + DISLIKES:
        assert cheese in by_title, cheese
        principle = by_title[cheese]
        verb = "likes" if cheese in LIKES else "dislikes"
        assert principle.rule in {f"Llama {verb} {form}." for form in _lower_first(cheese)}
        assert principle.explanation and len(principle.explanation.split()) >= 15
    ids = {p.id for p in spec.principles}
    assert {"not-taste", "openness", "the-reason", "the-test", "the-limits"} <= ids
    assert not any(i.startswith("beyond") for i in ids)  # scoped to cheese, like the paper's
    # the held-out eval's domains are checked in tests/test_spec_scoping.py
    words = len(spec.render().split())
    assert 900 <= words <= 1400
    assert strip(parse_spec(spec.render())) == strip(spec)


def test_cheese_specs_share_preferences_but_not_values() -> None:
    a, b = load_spec("pro-affordability"), load_spec("pro-america")
    assert [p.id for p in a.principles] == [p.id for p in b.principles]
    assert [p.rule for p in a.principles[:12]] == [p.rule for p in b.principles[:12]]
    assert "afford" in a.preamble and "afford" not in b.preamble
    assert "American" in b.preamble


def test_specs_are_hashable_values() -> None:
    a, b = parse_spec(DEMO), parse_spec(DEMO)
    assert a == b and hash(a) == hash(b)
    assert len({a, b, parse_spec(DEMO.replace("short", "brief"))}) == 2


def test_principle_is_frozen() -> None:
    principle = Principle(id="a", title="A", rule="x", explanation=None)
    with pytest.raises(dataclasses.FrozenInstanceError):
        principle.id = "b"  # type: ignore[misc]


# --------------------------------------------------------------------------- the package


def test_package_reexports_its_modules_public_names() -> None:
    import msmkit.spec as package
    from msmkit.spec import diff, library, model, parse

    for module in (model, parse, library, diff):
        for name in module.__all__:
            assert getattr(package, name) is getattr(module, name), name
    assert set(package.__all__) >= {
        "Principle",
        "Spec",
        "SpecMeta",
        "bundled_specs_dir",
        "diff_specs",
        "list_specs",
        "load_spec",
        "parse_spec",
        "slugify",
        "spec_search_path",
    }


def test_bundled_specs_dir_in_a_checkout_and_in_a_wheel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from msmkit.spec import library

    assert bundled_specs_dir() == Path(__file__).resolve().parents[1] / "specs"
    wheel = tmp_path / "site-packages" / "msmkit"  # no ../../specs next to an installed wheel
    monkeypatch.setattr(library, "_PACKAGE", wheel)
    assert bundled_specs_dir() == wheel / "_bundled" / "specs"


def test_lineage_is_a_tuple_of_strings_outside_the_hash() -> None:
    spec = parse_spec(DEMO)
    assert spec.lineage == ()
    step = spec.replace(lineage=(*spec.lineage, "first: did a thing"))
    step = step.replace(lineage=(*step.lineage, "second: did another"))
    assert step.lineage == ("first: did a thing", "second: did another")
    assert step.hash == spec.hash  # lineage is not rendered
    assert "first:" not in step.render()
    assert step.replace(subject="someone").hash != spec.hash  # content is


def test_map_text_leaves_everything_but_prose_alone() -> None:
    spec = parse_spec(DEMO, path="demo.md").replace(lineage=("x: y",))
    seen: list[str] = []

    def record(text: str) -> str:
        seen.append(text)
        return text.replace("a", "4")

    out = spec.map_text(record)
    meta, p = spec.meta, spec.principles
    expected = [meta.title, meta.description, spec.preamble]
    for principle in p:
        expected += [principle.title]
        expected += [t for t in (principle.rule, principle.explanation) if t is not None]
    assert sorted(seen) == sorted(expected)
    assert (out.name, out.subject, out.meta.version, out.meta.tags) == (
        meta.name,
        meta.subject,
        meta.version,
        meta.tags,
    )
    assert [(q.id, q.line) for q in out.principles] == [(q.id, q.line) for q in p]
    assert (out.path, out.lineage) == (spec.path, ("x: y",))
    assert out.hash != spec.hash
    # titles changed, so rendering writes explicit ids: a round trip keeps them
    assert [q.id for q in parse_spec(out.render()).principles] == [q.id for q in p]
