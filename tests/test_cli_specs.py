"""``msmkit specs``: list, show, validate, diff (the click group invoked directly)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from msmkit.cli.specs import specs
from msmkit.errors import SpecError
from msmkit.spec import bundled_specs_dir

CUSTOM = """---
name: custom
title: Custom spec
description: A spec that lives outside the library.
subject: the assistant
version: 2
---

# Custom

The assistant likes tidy answers.

## Tidy answers

Rule: The assistant keeps answers tidy.

Why: Tidy answers are easier to read.
"""


@pytest.fixture
def library(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "lib"
    folder.mkdir()
    (folder / "custom.md").write_text(CUSTOM, encoding="utf-8")
    (folder / "broken.md").write_text("---\nname: broken\n", encoding="utf-8")
    monkeypatch.setenv("MSMKIT_SPECS_PATH", str(folder))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "200")
    return folder


def invoke(*args: str):
    return CliRunner().invoke(specs, list(args))


def test_list_table(library: Path) -> None:
    result = invoke("list")
    assert result.exit_code == 0, result.output
    for name in ("custom", "pro-affordability", "pro-america"):
        assert name in result.stdout
    assert "custom.md" in result.stdout
    assert "warning" in result.stderr and "broken.md:1: unterminated" in result.stderr
    assert "warning" not in result.stdout


def test_list_json(library: Path) -> None:
    result = invoke("list", "--json")
    assert result.exit_code == 0
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert rows["custom"]["principles"] == 1
    assert rows["custom"]["version"] == "2"
    assert rows["custom"]["subject"] == "the assistant"
    assert rows["custom"]["path"] == str(library / "custom.md")
    assert rows["pro-america"]["principles"] == 17
    assert rows["pro-america"]["subject"] == "Llama"
    assert len(rows["pro-america"]["hash"]) == 64


def test_show(library: Path) -> None:
    result = invoke("show", "custom")
    assert result.exit_code == 0, result.output
    out = result.stdout
    for text in ("Custom spec", "name: custom", "version: 2", "subject: the assistant"):
        assert text in out
    assert "Tidy answers" in out and "(tidy-answers)" in out
    assert "Rule: The assistant keeps answers tidy." in out
    assert "Why: Tidy answers are easier to read." in out
    assert out.index("Custom spec") < out.index("Rule:")


def test_show_raw_prints_the_file(library: Path) -> None:
    result = invoke("show", "--raw", str(library / "custom.md"))
    assert result.exit_code == 0
    assert result.stdout == CUSTOM


def test_show_unknown_name_raises_spec_error(library: Path) -> None:
    result = invoke("show", "pro-amercia")
    assert isinstance(result.exception, SpecError)
    assert "pro-america" in result.exception.hint


def test_validate_ok(library: Path) -> None:
    result = invoke("validate", str(library / "custom.md"), str(bundled_specs_dir()))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == f"ok: {library / 'custom.md'} (1 principles)"
    assert f"ok: {bundled_specs_dir() / 'pro-america.md'} (17 principles)" in lines
    assert not any("README" in line for line in lines)


def test_validate_error_names_file_and_line(library: Path) -> None:
    bad = library / "broken.md"
    result = invoke("validate", str(library / "custom.md"), str(bad))
    assert isinstance(result.exception, SpecError)
    assert result.exception.path == str(bad)
    assert result.exception.line == 1
    assert f"ok: {library / 'custom.md'}" in result.stdout
    assert f"error: {bad}:1" in result.stderr


def test_validate_several_failures(library: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.md"
    other.write_text(CUSTOM.replace("## Tidy answers", "## Tidy answers\n\n## Tidy answers"))
    result = invoke("validate", str(library / "broken.md"), str(other))
    assert isinstance(result.exception, SpecError)
    assert "2 of 2 spec files are invalid" in str(result.exception)
    assert result.stderr.count("error: ") == 2


def test_validate_warns_when_file_name_differs(tmp_path: Path) -> None:
    path = tmp_path / "renamed.md"
    path.write_text(CUSTOM)
    result = invoke("validate", str(path))
    assert result.exit_code == 0
    assert "declares name 'custom'" in result.stderr


def test_diff(library: Path) -> None:
    result = invoke("diff", "pro-affordability", "pro-america")
    assert result.exit_code == 0
    assert "meta name: 'pro-affordability' -> 'pro-america'" in result.stdout
    assert "principles changed" in result.stdout
    assert "+++ " in result.stdout and "@@" in result.stdout
    same = invoke("diff", "custom", str(library / "custom.md"))
    assert same.stdout == "no differences\n"


def test_show_with_variants_shows_the_result_and_its_lineage(library: Path) -> None:
    result = invoke(
        "show",
        "pro-america",
        "--variant",
        "attribution:subject=AI systems",
        "--variant",
        "rules-only",
    )
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "subject: AI systems" in out
    assert "lineage:" in out
    assert "1. attribution: Llama -> AI systems (plural)" in out
    assert "2. rules-only: removed explanations from 17 principles" in out
    assert out.index("1. attribution") < out.index("2. rules-only")
    assert "Rule: AI systems like American cheese." in out
    assert "Why:" not in out  # rules-only dropped every explanation
    assert out.count("Llama") == 1  # only in the lineage line
    plain = invoke("show", "pro-america")
    assert "lineage" not in plain.stdout and "Why:" in plain.stdout


def test_show_raw_with_a_variant_prints_the_variant_markdown(library: Path) -> None:
    from msmkit.spec import load_spec, parse_spec

    result = invoke("show", "--raw", "pro-america", "--variant", "rules-only")
    assert result.exit_code == 0, result.output
    shown = parse_spec(result.stdout)
    assert all(p.explanation is None for p in shown.principles)
    assert len(shown.principles) == len(load_spec("pro-america").principles)
    assert result.stderr == "lineage: rules-only: removed explanations from 17 principles\n"


def test_show_variant_errors(library: Path) -> None:
    from msmkit.errors import OptionError, UnknownComponentError

    bad = invoke("show", "custom", "--variant", "attribution:subjet=x")
    assert isinstance(bad.exception, OptionError)
    assert str(bad.exception) == (
        "variant 'attribution': option 'subjet': unknown option (did you mean 'subject'?) "
        "(and 1 more)"
    )
    unknown = invoke("show", "custom", "--variant", "rules-onyl")
    assert isinstance(unknown.exception, UnknownComponentError)
    assert "rules-only" in unknown.exception.hint


def test_show_help_documents_the_variant_syntax() -> None:
    result = invoke("show", "--help")
    flat = " ".join(result.stdout.split())
    assert "--variant NAME[:KEY=VALUE,...]" in flat
    assert "--variant 'attribution:subject=AI systems,plural=true'" in flat


def test_validate_directory_without_specs_is_an_error(tmp_path: Path) -> None:
    empty = tmp_path / "nothing-here"
    empty.mkdir()
    (empty / "README.md").write_text("# not a spec\n")
    (empty / "notes.json").write_text('{"not": "a spec either"}\n')  # .txt would be prose
    result = invoke("validate", str(empty))
    assert isinstance(result.exception, SpecError)
    assert str(result.exception) == f"no spec files found in {empty}"
    assert result.stdout == ""


def test_validate_empty_directory_exits_1_through_the_real_cli(tmp_path: Path) -> None:
    from conftest import run_cli

    result = run_cli("specs", "validate", str(tmp_path))
    assert result.returncode == 1
    assert f"no spec files found in {tmp_path}" in " ".join(result.stderr.split())
    assert "Traceback" not in result.stderr
