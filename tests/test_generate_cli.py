"""``msmkit generate docs``: the offline generator resumes only what can be resumed, variants
fail with short errors; the llm pipeline plans, refuses without a key, runs and resumes."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from conftest import run_cli
from test_variants import VariantsPlugin

from msmkit.cli import main
from msmkit.corpus import read_corpus
from msmkit.registry import get_registry
from msmkit.spec import load_spec

# `msmkit generate pro-affordability -O docs_per_principle=6`, pinned (see
# tests/test_offline_generator.py::test_pinned_bundled_corpus_hash)
AFFORDABILITY_6 = "9f2d7d7b8e909bdb501cbdd8d41677fba859dcd5217359258af7893a401cf98c"
AMERICA = "pro-america@5be8862dfcc5"
AFFORDABILITY = "pro-affordability@767b448ee3a6"


def msmkit(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run the CLI in this process (so test plugins are visible): exit code, stdout, stderr."""
    try:
        main([*args])
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_generate_then_rerun_changes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "corpus.jsonl"
    args = (
        "generate",
        "docs",
        "-g",
        "offline",
        "pro-affordability",
        "-o",
        str(out),
        "-O",
        "docs_per_principle=6",
    )
    first = run_cli(*args)
    assert first.returncode == 0, first.stderr
    assert sha256(out) == AFFORDABILITY_6
    assert json.loads(first.stdout)["documents"] == 102
    again = run_cli(*args)
    assert again.returncode == 0, again.stderr
    assert sha256(out) == AFFORDABILITY_6


def test_other_spec_is_refused_and_the_file_is_unchanged(tmp_path: Path) -> None:
    out = tmp_path / "corpus.jsonl"
    made = run_cli(
        "generate",
        "docs",
        "-g",
        "offline",
        "pro-america",
        "-o",
        str(out),
        "-O",
        "docs_per_principle=2",
    )
    assert made.returncode == 0, made.stderr
    before = out.read_bytes()
    other = run_cli(
        "generate",
        "docs",
        "-g",
        "offline",
        "pro-affordability",
        "-o",
        str(out),
        "-O",
        "docs_per_principle=2",
    )
    assert other.returncode == 1
    assert (
        f"holds documents of spec {AMERICA}, but this command generates documents of spec "
        f"{AFFORDABILITY}"
    ) in " ".join(other.stderr.split())
    assert "Traceback" not in other.stderr
    assert other.stdout == ""
    assert out.read_bytes() == before
    assert {f"{d.spec_name}@{d.spec_hash[:12]}" for d in read_corpus(out)} == {AMERICA}


def test_other_settings_are_refused(tmp_path: Path, capsys) -> None:
    out = tmp_path / "corpus.jsonl"
    code, _, err = msmkit(
        capsys, "generate", "docs", "-g", "offline", "pro-america", "-o", str(out), "-O", "seed=1"
    )
    assert code == 0, err
    before = out.read_bytes()
    code, stdout, err = msmkit(
        capsys,
        "generate",
        "docs",
        "-g",
        "offline",
        "pro-america",
        "-o",
        str(out),
        "-O",
        "seed=2",
        "-O",
        "doc_types=[faq]",
    )
    assert code == 1
    flat = " ".join(err.split())
    assert "holds documents with settings (doc_types=null, seed=1)" in flat
    assert 'generates documents with settings (doc_types=["faq"], seed=2)' in flat
    assert stdout == ""
    assert out.read_bytes() == before


def test_interrupted_generation_resumes_to_the_same_bytes(tmp_path: Path, capsys) -> None:
    out = tmp_path / "corpus.jsonl"
    args = (
        "generate",
        "docs",
        "-g",
        "offline",
        "pro-affordability",
        "-o",
        str(out),
        "-O",
        "docs_per_principle=6",
    )
    assert msmkit(capsys, *args)[0] == 0
    full = out.read_bytes()
    lines = full.splitlines(keepends=True)
    out.write_bytes(b"".join(lines[:40]) + lines[40][:25])  # killed mid-write
    code, stdout, err = msmkit(capsys, *args)
    assert code == 0, err
    assert out.read_bytes() == full
    assert json.loads(stdout)["documents"] == 102


def test_variant_with_options(tmp_path: Path, capsys) -> None:
    out = tmp_path / "corpus.jsonl"
    variant = "attribution:subject=AI systems"
    args = (
        "generate",
        "docs",
        "-g",
        "offline",
        "pro-america",
        "-o",
        str(out),
        "-O",
        "docs_per_principle=1",
    )
    code, _, err = msmkit(capsys, *args, "--variant", variant, "--variant", "rules-only")
    assert code == 0, err
    entry = get_registry("variants").entry("attribution")
    expected = entry.component.apply(
        load_spec("pro-america"), entry.component.Options(subject="AI systems")
    )
    expected = get_registry("variants").get("rules-only").apply(expected, None)
    docs = read_corpus(out)
    assert {d.spec_hash for d in docs} == {expected.hash}
    assert all("Llama" not in d.text for d in docs)
    before = out.read_bytes()
    # the same spec without the variants is another spec: refused
    code, _, err = msmkit(capsys, *args)
    assert code == 1
    assert "(same name, other content" in " ".join(err.split())
    assert out.read_bytes() == before


def test_bad_variant_option_is_a_short_error(tmp_path: Path, capsys) -> None:
    out = tmp_path / "corpus.jsonl"
    code, _, err = msmkit(
        capsys,
        "generate",
        "docs",
        "-g",
        "offline",
        "pro-america",
        "-o",
        str(out),
        "--variant",
        "attribution:subjet=x",
    )
    assert code == 1
    assert "variant 'attribution': option 'subjet': unknown option (did you mean 'subject'?)" in (
        " ".join(err.split())
    )
    assert "Traceback" not in err
    assert not out.exists()


@pytest.fixture
def broken_variants(fresh_plugins):
    fresh_plugins.register_plugin(VariantsPlugin(), "test-variants", version="9.9")
    return get_registry("variants")


def test_raising_variant_is_a_short_error(tmp_path: Path, capsys, broken_variants) -> None:
    out = tmp_path / "corpus.jsonl"
    code, stdout, err = msmkit(
        capsys,
        "generate",
        "docs",
        "-g",
        "offline",
        "pro-america",
        "-o",
        str(out),
        "--variant",
        "explodes",
    )
    assert code == 1
    flat = " ".join(err.split())
    provider = broken_variants.entry("explodes").provider
    assert flat.startswith(
        f"Error: explodes ({provider}) failed while applying the variant: ZeroDivisionError"
    )
    assert "Traceback" not in err
    assert stdout == "" and not out.exists()


def test_variant_returning_none_is_blamed_on_it(tmp_path: Path, capsys, broken_variants) -> None:
    out = tmp_path / "corpus.jsonl"
    code, _, err = msmkit(
        capsys,
        "generate",
        "docs",
        "-g",
        "offline",
        "pro-america",
        "-o",
        str(out),
        "--variant",
        "forgetful",
    )
    assert code == 1
    flat = " ".join(err.split())
    assert "Error: forgetful (" in flat
    assert "apply() returned NoneType, not a Spec" in flat
    assert "offline" not in flat
    assert not out.exists()


# -- the llm pipeline ---------------------------------------------------------------------------

LLM_SMALL = ("-O", "domains=2", "-O", "subdomains_per_domain=2", "-O", "doc_types_per_subdomain=2")


def test_llm_without_a_key_fails_before_sending(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    out = tmp_path / "gen"
    code, stdout, err = msmkit(capsys, "generate", "docs", "pro-america", "-o", str(out))
    assert code == 1 and stdout == ""
    flat = " ".join(err.split())
    assert "no API key for anthropic/" in flat and "ANTHROPIC_API_KEY" in flat
    assert "nothing was sent" in flat
    assert not out.exists()


def test_llm_plan_shows_calls_and_dollars(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)  # planning needs no key
    args = ("generate", "docs", "pro-america", "-o", str(tmp_path / "g"), "--plan", *LLM_SMALL)
    code, stdout, err = msmkit(capsys, *args, "--target-tokens", "80000", "--batch")
    assert code == 0, err
    data = json.loads(stdout)
    assert data["documents"] == 2 * 2 * 2 * 13  # 100 documents over 8 (subdomain, type) pairs
    assert data["mode"] == "batch+cache" and data["dollars"] == pytest.approx(
        data["cost"]["batch+cache"], abs=1e-3
    )
    assert [s["step"] for s in data["steps"]][-1] == "documents"
    assert "documents" in err and "$" in err
    assert not (tmp_path / "g").exists()


def test_llm_offline_flags_are_refused(tmp_path: Path, capsys) -> None:
    code, _, err = msmkit(
        capsys, "generate", "docs", "pro-america", "-g", "offline", "-o", "x", "--batch"
    )
    assert code == 2 and "--batch is for the llm generator" in err


def test_llm_runs_and_resumes_in_its_folder(tmp_path: Path, capsys, monkeypatch) -> None:
    import docgen_script

    from msmkit.docgen import pipeline
    from msmkit.llm.base import ScriptedExecutor

    monkeypatch.setattr("msmkit.llm.base.os.fsync", lambda fd: None)
    ex = ScriptedExecutor(docgen_script.answer)
    monkeypatch.setattr(pipeline, "executor_for", lambda settings: ex)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test")
    out = tmp_path / "gen"
    args = ("generate", "docs", "pro-america", "-o", str(out), *LLM_SMALL, "-O", "ideas_per_type=2")
    code, stdout, err = msmkit(capsys, *args)
    assert code == 0, err
    assert json.loads(stdout)["documents"] == 16 and len(read_corpus(out / "corpus.jsonl")) == 16
    assert len(ex.calls) == 1 + 2 + 4 + 4 + 8 + 16
    code, stdout, _ = msmkit(capsys, *args)  # done: nothing sent again
    assert code == 0 and len(ex.calls) == 35
    code, _, err = msmkit(capsys, *args[:-1], "ideas_per_type=3")  # other settings: refused
    assert code == 1 and "holds a generation with other settings" in " ".join(err.split())
