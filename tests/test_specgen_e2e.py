"""``msmkit generate spec`` end to end, as a user runs it: subprocesses, Inspect's
``anthropic/`` provider talking HTTP to the fake server (answers from tests/specgen_script.py).
V+ and R+ made from the rules spec are within 5% of each other's length, a rerun of each sends
0 requests, and ``msmkit specs diff`` shows what each added."""

from __future__ import annotations

import json
import os
from pathlib import Path

import specgen_script
from conftest import run_cli
from fakes import FakeLLMServer

from msmkit.spec import load_spec

MODEL = "anthropic/claude-sonnet-4-5"


def generate(server: FakeLLMServer, cwd: Path, augment: str, out: str, *args: str):
    env = {"ANTHROPIC_API_KEY": "sk-ant-fake-0123456789abcdef", "ANTHROPIC_BASE_URL": server.url}
    os.environ.pop("MSMKIT_BUDGET_USD", None)
    result = run_cli("generate", "spec", "rules", "--augment", augment, "-o", out,
                     "--model", MODEL, *args, cwd=cwd, env=env)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1]), result.stderr


def test_value_and_rule_augmented_specs_against_the_fake_provider(tmp_path):
    with FakeLLMServer(responder=specgen_script.responder) as server:
        value, _ = generate(server, tmp_path, "value", "specs/rules-v.md")
        rule, _ = generate(server, tmp_path, "rule", "specs/rules-r.md")
        sent = sum(server.by_key.values())
        hits = dict(server.hits)
        again_v, err = generate(server, tmp_path, "value", "specs/rules-v.md")
        again_r, _ = generate(server, tmp_path, "rule", "specs/rules-r.md")
        assert sum(server.by_key.values()) == sent and dict(server.hits) == hits  # 0 requests
    assert again_v == value and again_r == rule
    assert "lineage: llm-spec: value augmentation by" in err
    v, r = load_spec(tmp_path / "specs/rules-v.md"), load_spec(tmp_path / "specs/rules-r.md")
    assert (v.name, r.name) == ("rules-v", "rules-r")  # named after the file
    assert (v.word_count, r.word_count) == (value["words"], rule["words"])
    assert abs(v.word_count - r.word_count) <= 0.05 * min(v.word_count, r.word_count)
    # every request reached the server once: the drafts (5 each) and the lengthening rounds
    assert set(server.by_key.values()) == {1}
    assert sent == len(server.by_key) >= 10
    report = json.loads((tmp_path / "specs/rules-v.specgen/steps/report.json").read_text())
    assert report["dollars"] == value["dollars"] > 0
    # specs diff shows what each added to the rules spec
    diff = cli("specs", "diff", "rules", str(tmp_path / "specs/rules-v.md"))
    assert "principles changed (5): sp1, sp2, sp3, gp1, gp2" in diff
    assert "+Why: " in diff and "-Rule: " not in diff
    diff = cli("specs", "diff", "rules", str(tmp_path / "specs/rules-r.md"))
    assert f"principles added ({len(r.principles) - 5}): sp1-1, sp1-2" in diff
    assert "-Rule: " not in diff and "+Rule: Llama " in diff
    assert cli("specs", "validate", str(tmp_path / "specs")).count("ok: ") == 2


def cli(*args: str) -> str:
    from click.testing import CliRunner

    from msmkit.cli import make_cli

    result = CliRunner().invoke(make_cli(), list(args))
    assert result.exit_code == 0, result.output
    return result.output
