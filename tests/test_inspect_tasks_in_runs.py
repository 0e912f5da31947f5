"""Any Inspect task in an experiment: a package's task (``inspect_evals/gsm8k``) or a file
task (``tasks.py@name``) beside msmkit's own, planned and checked like msmkit's tasks."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from msmkit.errors import ConfigError

FILE_TASK = """\
from inspect_ai import Task, task
from inspect_ai.dataset import Sample
from inspect_ai.scorer import includes
from inspect_ai.solver import generate


@task
def says_default(n: int = 3):
    samples = [Sample(input=f"q{i}", target="Default", id=f"q{i}") for i in range(n)]
    return Task(dataset=samples, solver=generate(), scorer=includes())
"""

EXP = """\
name: mixed
base_model: {base}
eval:
  serve: {{provider: mockllm}}
  generate: {{max_tokens: 4}}
arms:
  - name: control
    midtrain: false
    evals:
      - {{task: spec_knowledge, args: {{spec: pro-america}}}}
      - {{task: my_tasks.py@says_default, args: {args}}}
"""


@pytest.fixture
def mock_tokens(monkeypatch):
    from inspect_ai.model._providers import mockllm

    async def count(self, text: str) -> int:  # no tokenizer download offline
        return max(1, len(text) // 4)

    monkeypatch.setattr(mockllm.MockLLM, "count_text_tokens", count)


def invoke(*args):
    from msmkit.cli import make_cli

    return CliRunner().invoke(make_cli(), list(args), catch_exceptions=False)


def test_a_file_task_beside_a_msmkit_task_runs_and_compares(
    tmp_path, base_model, mock_tokens, fresh_plugins
):
    (tmp_path / "my_tasks.py").write_text(FILE_TASK)
    exp = tmp_path / "exp.yaml"
    exp.write_text(EXP.format(base=base_model, args="{n: 4}"))
    result = invoke("run", str(exp), "--log-dir", str(tmp_path / "logs"), "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    cell = out["comparison"]["arms"]["control"]["says_default/includes"]
    assert cell["value"] == 1.0 and cell["n_items"] == 4  # mockllm says "Default output"
    # mockllm never answers a letter: spec_knowledge scored nothing, and the run says so
    (stage,) = out["unscored"]
    assert stage.startswith("eval-") and "spec_knowledge scored nothing" in out["unscored"][stage]
    columns = out["comparison"]["columns"]
    assert not [c for c in columns if c.startswith("spec_knowledge/")]  # no zeros shown
    assert any("spec_knowledge: no result" in n for n in out["comparison"]["notes"])
    manifest = json.loads((tmp_path / "logs" / "mixed" / "manifest.json").read_text())
    names = [e["name"] for e in manifest["arms"]["control"]["seeds"][0]["evals"]]
    assert names == ["spec_knowledge", "says_default"]
    # the task file is part of the eval's fingerprint: editing it reruns that eval only
    (tmp_path / "my_tasks.py").write_text(FILE_TASK.replace('id=f"q{i}"', 'id=f"item{i}"'))
    again = json.loads(
        invoke("run", str(exp), "--log-dir", str(tmp_path / "logs"), "--json").stdout
    )
    assert len(again["computed"]) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ("{m: 4}", r"args.m: the task takes no argument 'm'"),
        ("{n: lots}", r"args.n: Input should be a valid integer"),
    ],
)
def test_a_bad_argument_to_a_file_task_fails_at_plan(tmp_path, base_model, args, message):
    (tmp_path / "my_tasks.py").write_text(FILE_TASK)
    exp = tmp_path / "exp.yaml"
    exp.write_text(EXP.format(base=base_model, args=args))
    with pytest.raises(ConfigError, match=rf"exp.yaml:11: arms\[0\].evals\[1\].{message}"):
        invoke("plan", str(exp), "--log-dir", str(tmp_path / "logs"))


def test_unknown_inspect_names_fail_at_plan(tmp_path, base_model):
    exp = tmp_path / "exp.yaml"
    exp.write_text(EXP.format(base=base_model, args="{}").replace("my_tasks.py", "nope.py"))
    with pytest.raises(ConfigError, match="no Python file"):
        invoke("plan", str(exp), "--log-dir", str(tmp_path / "logs"))
    exp.write_text(
        EXP.format(base=base_model, args="{}").replace("my_tasks.py@says_default", "nopkg/x")
    )
    with pytest.raises(ConfigError, match="no installed package registers 'nopkg'"):
        invoke("plan", str(exp), "--log-dir", str(tmp_path / "logs"))


@pytest.mark.slow  # reading inspect_evals' task signatures imports all of inspect_evals once
def test_a_package_task_is_checked_by_its_signature(tmp_path, base_model):
    exp = tmp_path / "exp.yaml"
    text = EXP.format(base=base_model, args="{}").replace(
        "{task: my_tasks.py@says_default, args: {}}", "{task: inspect_evals/gsm8k, args: ARGS}"
    )
    exp.write_text(text.replace("ARGS", "{fewshot: 2}"))
    plan = json.loads(invoke("plan", str(exp), "--log-dir", str(tmp_path / "l"), "--json").stdout)
    evals = [s for s in plan["stages"] if s["kind"] == "eval"]
    assert [s["options"]["task"] for s in evals] == ["spec_knowledge", "inspect_evals/gsm8k"]
    exp.write_text(text.replace("ARGS", "{fewshots: 2}"))
    with pytest.raises(ConfigError, match=r"the task takes no argument 'fewshots'"):
        invoke("plan", str(exp), "--log-dir", str(tmp_path / "l"))
    exp.write_text(text.replace("ARGS", "{fewshot: many}"))
    with pytest.raises(ConfigError, match=r"args.fewshot: Input should be a valid integer"):
        invoke("plan", str(exp), "--log-dir", str(tmp_path / "l"))
