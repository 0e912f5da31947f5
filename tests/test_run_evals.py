"""Evals inside ``msmkit run``: model roles reach a graded task, scorers' metrics are
namespaced, per-task generate settings and task arguments are checked at plan time."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

import msmkit
from msmkit.components import EvalTask
from msmkit.errors import ConfigError


def graded_task(answer_word: str = "Default"):
    """Two scorers on one task: a string check and a grader-role check."""
    from inspect_ai import Task
    from inspect_ai.dataset import Sample
    from inspect_ai.model import get_model
    from inspect_ai.scorer import Score, accuracy, scorer
    from inspect_ai.solver import generate

    @scorer(metrics=[accuracy()])
    def says_word():
        async def score(state, target):
            return Score(value=1.0 if answer_word in state.output.completion else 0.0)

        return score

    @scorer(metrics=[accuracy()])
    def grader_agrees():
        async def score(state, target):
            grader = get_model(role="grader")
            reply = await grader.generate(f"Is this right? {state.output.completion}")
            return Score(
                value=1.0 if reply.completion.startswith("Default output") else 0.0,
                metadata={"grader": grader.name},
            )

        return score

    samples = [
        Sample(input=f"question {i}", target="x", id=f"q{i}", metadata={"item_id": f"q{i // 2}"})
        for i in range(4)
    ]
    return Task(dataset=samples, solver=generate(), scorer=[says_word(), grader_agrees()])


class EvalPlugin:
    @msmkit.hookimpl
    def register_eval_tasks(self, register):
        register(EvalTask("graded", graded_task, "test task with a grader"))


@pytest.fixture
def plugin(fresh_plugins, monkeypatch):
    from inspect_ai.model._providers import mockllm

    async def count(self, text: str) -> int:  # no tokenizer download offline
        return max(1, len(text) // 4)

    monkeypatch.setattr(mockllm.MockLLM, "count_text_tokens", count)
    fresh_plugins.register_plugin(EvalPlugin(), "eval-plugin")
    yield


EXP = """\
name: ev
base_model: {base}
eval:
  serve: {{provider: mockllm}}
  roles: {{grader: {grader}}}
arms:
  - name: control
    midtrain: false
    evals:
      - task: graded
        generate: {{max_tokens: 5}}
{more}"""


def write(tmp_path, base, grader="mockllm/grader", more=""):
    path = tmp_path / "exp.yaml"
    path.write_text(EXP.format(base=base, grader=grader, more=more))
    return path


@pytest.fixture
def base(tmp_path):
    d = tmp_path / "base"
    d.mkdir()
    (d / "config.json").write_text("{}")
    return d


def invoke(*args):
    from msmkit.cli import make_cli

    return CliRunner().invoke(make_cli(), list(args), catch_exceptions=False)


def test_grader_role_reaches_a_graded_task_and_both_scorers_appear(plugin, tmp_path, base):
    from inspect_ai.log import read_eval_log

    result = invoke("run", str(write(tmp_path, base)), "--log-dir", str(tmp_path / "l"), "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    stage = tmp_path / "l" / "store" / out["computed"][0]
    record = json.loads((stage / "stage.json").read_text())
    log = read_eval_log(str(stage / record["outputs"]["log"]))
    assert log.eval.model == f"mockllm/{base.resolve()}"  # the checkpoint, in the model name
    assert log.eval.model_roles["grader"].model == "mockllm/grader"
    assert log.plan.config.max_tokens == 5  # the task's own generate override
    graders = {s.scores["grader_agrees"].metadata["grader"] for s in log.samples}
    assert graders == {"grader"}  # the role, not the model under test, graded
    metrics = record["outputs"]["metrics"]
    assert metrics == {"graded/says_word/accuracy": 1.0, "graded/grader_agrees/accuracy": 1.0}
    table = out["comparison"]
    assert table["columns"] == ["graded/says_word", "graded/grader_agrees"]
    cell = table["arms"]["control"]["graded/grader_agrees"]
    assert (cell["n_items"], cell["n_samples"]) == (2, 4)  # samples clustered by item_id
    manifest = json.loads((tmp_path / "l" / "ev" / "manifest.json").read_text())
    assert manifest["results"]["control"]["0"] == metrics


def test_roles_and_generate_settings_are_part_of_the_eval_fingerprint(plugin, tmp_path, base):
    def eval_key(**kw) -> str:
        result = invoke("plan", str(write(tmp_path, base, **kw)), "--json")
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)["stages"][0]["fingerprint"]

    one = eval_key()
    assert eval_key(grader="mockllm/other-grader") != one
    assert eval_key() == one


@pytest.mark.parametrize(
    ("more", "message"),
    [
        (
            "        args: {answer_wrd: x}\n",
            r":12: arms\[0\].evals\[0\].args.answer_wrd: the task "
            "takes no argument 'answer_wrd'",
        ),
    ],
)
def test_bad_task_arguments_fail_the_plan(plugin, tmp_path, base, more, message):
    with pytest.raises(ConfigError, match=message) as err:
        invoke("plan", str(write(tmp_path, base, more=more)))
    assert "answer_word" in err.value.hint


def test_bad_generate_settings_and_roles_fail_the_plan(plugin, tmp_path, base):
    path = write(tmp_path, base)
    path.write_text(path.read_text().replace("max_tokens: 5", "max_tokenz: 5"))
    with pytest.raises(ConfigError, match=r":11: arms\[0\].evals\[0\].generate.max_tokenz: not"):
        invoke("plan", str(path))
    path.write_text(path.read_text().replace("max_tokenz: 5", "max_tokens: many"))
    with pytest.raises(ConfigError, match=r"arms\[0\].evals\[0\].generate.max_tokens"):
        invoke("plan", str(path))
    with pytest.raises(ConfigError, match=r":5: eval.roles.grader: 'judge' is not an Inspect"):
        invoke("plan", str(write(tmp_path, base, grader="judge")))


def test_how_a_checkpoint_is_named_to_inspect(tmp_path):
    from msmkit.stages.evaluate import EvalOptions, model_name

    ckpt = tmp_path / "ckpt"
    ckpt.mkdir()
    assert model_name(EvalOptions(task="t"), str(ckpt)) == f"hf/{ckpt.resolve()}"
    vllm = EvalOptions(task="t", provider="vllm")
    assert model_name(vllm, str(ckpt)) == f"vllm/{ckpt.resolve()}"  # Inspect starts a server
    served = EvalOptions(task="t", provider="vllm", base_url="http://h:8000/v1", served_name="m")
    assert model_name(served, str(ckpt)) == "vllm/m"
    assert model_name(EvalOptions(task="t"), "Qwen/Qwen2.5-0.5B") == "hf/Qwen/Qwen2.5-0.5B"
