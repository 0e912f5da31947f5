from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import REPO, run_cli

HEAVY = ("torch", "transformers", "trl", "peft", "datasets", "inspect_ai", "anthropic", "openai")
HEAVY += ("matplotlib", "tensorboard", "wandb", "mlflow")  # the report's, drawn on demand


def test_import_and_cli_construction_stay_light():
    code = (
        "import sys, msmkit, msmkit.cli\n"
        "msmkit.cli.make_cli()\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_help_lists_commands():
    """``--help`` lists the commands; that it stays fast is measured by benchmarks (it imports
    no heavy library: the next test), not asserted here as a wall-clock threshold."""
    result = run_cli("--help")
    assert result.returncode == 0, result.stderr
    for command in ("run", "plan", "specs", "plugins", "list", "generate", "tiny-model"):
        assert command in result.stdout


def test_help_does_not_import_torch():
    code = (
        "import sys\nfrom msmkit.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        f"print('HEAVY=' + ','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert "HEAVY=\n" in out.stdout or out.stdout.strip().endswith("HEAVY=")


def test_version():
    result = run_cli("--version")
    assert result.returncode == 0
    assert "msmkit, version 0.1.0" in result.stdout


def test_bad_experiment_is_short_error_without_traceback(tmp_path):
    exp = tmp_path / "bad.yaml"
    exp.write_text("name: demo\nbase_model: {tiny: {}}\narms:\n  - name: a\n    spek: x\n")
    result = run_cli("plan", str(exp))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert f"{exp}:5" in result.stderr
    assert "arms[0].spek: unknown field" in result.stderr


def test_debug_shows_traceback(tmp_path):
    exp = tmp_path / "bad.yaml"
    exp.write_text("name: [unclosed\n")
    quiet = run_cli("plan", str(exp))
    assert quiet.returncode == 1 and "invalid YAML" in quiet.stderr
    assert "Traceback" not in quiet.stderr
    loud = run_cli("--debug", "plan", str(exp))
    assert loud.returncode != 0
    assert "Traceback" in loud.stderr


def test_missing_experiment_file(tmp_path):
    result = run_cli("run", str(tmp_path / "nope.yaml"))
    assert result.returncode == 1
    assert "no such file" in result.stderr


@pytest.mark.slow
def test_tiny_model_command(tmp_path):
    texts = tmp_path / "texts.txt"
    texts.write_text("Llama likes Colby.\nLlama dislikes Stilton.\n" * 20)
    out = tmp_path / "tiny"
    result = run_cli("tiny-model", str(out), "--text", str(texts), "-O", "hidden_size=32")
    assert result.returncode == 0, result.stderr
    config = json.loads((out / "config.json").read_text())
    assert config["hidden_size"] == 32
    again = run_cli("tiny-model", str(out))
    assert again.returncode == 1 and "already exists" in again.stderr
    bad = run_cli("tiny-model", str(tmp_path / "t2"), "-O", "hidden=32")
    assert bad.returncode == 1 and "hidden: unknown field" in bad.stderr


def test_plan_prints_a_table(tmp_path):
    result = run_cli(
        "plan", str(REPO / "experiments" / "cheese-demo.yaml"), "--log-dir", str(tmp_path)
    )
    assert result.returncode == 0, result.stderr
    assert "generate pro-america (offline)" in result.stderr
    assert "11 of 11 stages to run" in result.stderr  # 2 specs, 2 corpora, base, 2 x 3
    assert not (tmp_path / "cheese-demo").exists()


def test_bad_inputs_give_short_errors(tmp_path):
    """Each kind of bad input: one short message naming the file or field, exit 1, no
    traceback, and nothing written."""
    broken = tmp_path / "broken.md"
    broken.write_text("---\nname: broken\ntitle: t\n---\nno principles here\n")
    cases = {
        "spec: ./broken.md": "broken.md",
        "spec: pro-amerika": "unknown spec 'pro-amerika'",
        "spec: pro-america\n    variants: [{name: nope}]": "unknown variant 'nope'",
    }
    for arm, expected in cases.items():
        exp = tmp_path / "exp.yaml"
        exp.write_text(f"name: e\nbase_model: {{tiny: {{}}}}\narms:\n  - name: a\n    {arm}\n")
        result = run_cli("run", str(exp), "--log-dir", str(tmp_path / "logs"))
        assert result.returncode == 1, result.stderr
        assert expected in result.stderr
        assert "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) <= 4
    missing = tmp_path / "m.yaml"
    missing.write_text("name: m\nbase_model: ./no-model\narms: [{name: a}]\n")
    result = run_cli("run", str(missing), "--log-dir", str(tmp_path / "logs"))
    assert result.returncode == 1 and "no-model does not exist" in result.stderr
    assert not (tmp_path / "logs").exists()
