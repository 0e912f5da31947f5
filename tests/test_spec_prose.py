"""Prose specs: Markdown or plain-text files with no front matter, loaded verbatim."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from click.testing import CliRunner

from msmkit.cli.specs import specs
from msmkit.errors import ConfigError, SpecError
from msmkit.spec import PROSE_SUBJECT, list_specs, load_spec, parse_prose_spec, parse_spec
from msmkit.variants import apply_variant, apply_variants

CONSTITUTION = (
    "The Assistant's Constitution\n"
    "\n"
    "The assistant is honest: it does not state what it believes to be false, and it says\n"
    "when it is unsure. It is helpful in substance, not in appearance, and it explains its\n"
    "reasons plainly so that people can weigh them for themselves.\n"
)

MARKDOWN = """# A model spec in prose

Some opening words about what the model is for and what it values most of all.

## Honesty

Rule: The model tells the truth.

Why: Trust depends on it, and nothing else the model does matters without trust.

```text
## not a heading
```
"""

STRUCTURED = """---
name: tidy
title: Tidy
description: Tidy answers.
subject: the assistant
version: "1"
---

## Tidy answers

Rule: The assistant keeps answers tidy.
"""


def words(text: str) -> int:
    return len(text.split())


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "constitution.txt").write_text(CONSTITUTION, encoding="utf-8")
    (lib / "Model Spec.md").write_text(MARKDOWN, encoding="utf-8")
    (lib / "tidy.md").write_text(STRUCTURED, encoding="utf-8")
    monkeypatch.setenv("MSMKIT_SPECS_PATH", str(lib))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "200")
    return lib


def test_plain_text_constitution_loads_as_prose(folder: Path) -> None:
    spec = load_spec(folder / "constitution.txt")
    assert spec.is_prose and spec.kind == "prose"
    assert spec.name == "constitution"
    assert spec.meta.title == "constitution"  # no '# ' heading: the file stem
    assert spec.subject == PROSE_SUBJECT
    assert spec.principles == ()
    assert spec.prose == CONSTITUTION
    assert spec.render() == CONSTITUTION
    assert spec.text() == CONSTITUTION
    assert spec.word_count == words(CONSTITUTION) == 46
    assert spec.hash == hashlib.sha256(CONSTITUTION.encode()).hexdigest()
    assert load_spec("constitution") == spec  # by name, from the .txt file


def test_markdown_with_headings_but_no_front_matter_is_prose(folder: Path) -> None:
    spec = load_spec(folder / "Model Spec.md")
    assert spec.is_prose
    assert spec.name == "model-spec"
    assert spec.meta.title == "A model spec in prose"
    assert spec.principles == ()  # the '## Honesty' + Rule: lines are not parsed
    assert spec.render() == MARKDOWN
    assert spec.word_count == words(MARKDOWN)
    assert spec.hash == load_spec(folder / "Model Spec.md").hash


def test_hash_follows_the_text(tmp_path: Path) -> None:
    a = parse_prose_spec(CONSTITUTION, path=tmp_path / "a.txt")
    b = parse_prose_spec(CONSTITUTION + "One more sentence.\n", path=tmp_path / "a.txt")
    assert a.hash != b.hash
    assert a.hash == parse_prose_spec(CONSTITUTION, path=tmp_path / "other.md").hash


def test_structured_spec_is_not_prose(folder: Path) -> None:
    spec = load_spec("tidy")
    assert not spec.is_prose and spec.kind == "structured"
    assert spec.prose is None
    assert [p.id for p in spec.principles] == ["tidy-answers"]


def test_front_matter_typo_still_fails_with_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "tidy.md"
    path.write_text(STRUCTURED.replace("subject:", "subjet:"), encoding="utf-8")
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert info.value.path == str(path)
    assert info.value.line == 5
    assert info.value.field == "subjet"


def test_unterminated_front_matter_is_not_prose(tmp_path: Path) -> None:
    path = tmp_path / "half.md"
    path.write_text("---\nname: half\n\n" + CONSTITUTION, encoding="utf-8")
    with pytest.raises(SpecError, match="unterminated front matter"):
        load_spec(path)


def test_too_short_a_file_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "note.md"
    path.write_text("no front matter\n", encoding="utf-8")
    with pytest.raises(SpecError, match="too short for a prose spec") as info:
        load_spec(path)
    assert info.value.line == 1


def test_parse_spec_on_text_stays_strict() -> None:
    with pytest.raises(SpecError, match="front matter"):
        parse_spec(CONSTITUTION)


def test_parse_prose_spec_refuses_front_matter(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="structured spec"):
        parse_prose_spec(STRUCTURED, path=tmp_path / "tidy.md")


def test_unusable_file_name_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="spec name") as info:
        parse_prose_spec(CONSTITUTION, path=tmp_path / "___.txt")
    assert info.value.field == "name"


def test_list_specs_includes_prose(folder: Path) -> None:
    errors: list[SpecError] = []
    by_name = {s.name: s for s in list_specs(errors=errors)}
    assert errors == []
    assert by_name["constitution"].is_prose
    assert by_name["model-spec"].is_prose
    assert not by_name["tidy"].is_prose


def test_variant_on_prose_spec_is_a_clear_error(folder: Path) -> None:
    spec = load_spec("constitution")
    with pytest.raises(ConfigError) as info:
        apply_variants(spec, [("rules-only", None)])
    message = str(info.value)
    assert "variant 'rules-only' needs a structured spec (front matter + Rule/Why)" in message
    assert "'constitution' is free prose" in message
    from msmkit.registry import get_registry

    with pytest.raises(ConfigError, match="free prose"):
        apply_variant(get_registry("variants").entry("rules-only"), spec, None)
    assert apply_variants(load_spec("tidy"), [("rules-only", None)]).principles


def test_map_text_touches_the_prose(folder: Path) -> None:
    spec = load_spec("constitution").map_text(lambda s: s.replace("assistant", "model"))
    assert spec.render() == CONSTITUTION.replace("assistant", "model")


def invoke(*args: str):
    return CliRunner().invoke(specs, list(args))


def test_cli_list_marks_prose(folder: Path) -> None:
    result = invoke("list")
    assert result.exit_code == 0, result.output
    rows = {line.split()[1]: line for line in result.stdout.splitlines() if "│" in line}
    assert "prose" in rows["constitution"]
    assert "prose" in rows["model-spec"]
    assert "prose" not in rows["tidy"]


def test_cli_show_prints_the_prose(folder: Path) -> None:
    result = invoke("show", "constitution")
    assert result.exit_code == 0, result.output
    assert "version: prose" in result.stdout
    assert "explains its reasons plainly" in result.stdout
    raw = invoke("show", "--raw", "model-spec")
    assert raw.exit_code == 0, raw.output
    assert raw.stdout == MARKDOWN


def test_cli_show_variant_on_prose_fails(folder: Path) -> None:
    result = invoke("show", "constitution", "--variant", "rules-only")
    assert isinstance(result.exception, ConfigError)
    assert "free prose" in str(result.exception)


def test_cli_validate_accepts_prose(folder: Path) -> None:
    result = invoke("validate", str(folder / "constitution.txt"), str(folder / "tidy.md"))
    assert result.exit_code == 0, result.output
    assert f"ok: {folder / 'constitution.txt'}" in result.stdout


def test_validate_reports_a_prose_spec_and_finds_txt_files(tmp_path: Path) -> None:
    lib = tmp_path / "mixed"
    lib.mkdir()
    (lib / "constitution.txt").write_text(CONSTITUTION, encoding="utf-8")
    result = CliRunner().invoke(specs, ["validate", str(lib)])
    assert result.exit_code == 0, result.output
    assert f"prose spec: {words(CONSTITUTION)} words, name 'constitution'" in result.output
    assert "warning" not in result.output


def test_the_offline_generator_refuses_a_prose_spec(tmp_path: Path) -> None:
    from msmkit.registry import get_registry

    spec = parse_prose_spec(CONSTITUTION, path=tmp_path / "constitution.txt")
    generator = get_registry("generators").get("offline")
    with pytest.raises(ConfigError, match="needs a structured spec"):
        generator.plan(spec, generator.Options())
    with pytest.raises(ConfigError, match="needs a structured spec"):
        list(generator.generate(spec, generator.Options()))
