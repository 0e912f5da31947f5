"""``msmkit run`` writes the report and a status page and says where; ``--no-report`` skips
it; ``msmkit report`` and ``--track tensorboard`` on a real (mockllm) run."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

import msmkit
from msmkit.components import EvalTask

pytestmark = pytest.mark.slow  # runs real Inspect evals (mockllm)


def word_task(word: str = "Default", n: int = 6):
    from inspect_ai import Task
    from inspect_ai.dataset import Sample
    from inspect_ai.scorer import Score, accuracy, scorer
    from inspect_ai.solver import generate

    @scorer(metrics=[accuracy()])
    def says_word():
        async def score(state, target):
            return Score(value=1.0 if word in state.output.completion else 0.0)

        return score

    samples = [Sample(input=f"question {i}", target="x", id=f"q{i}") for i in range(n)]
    return Task(dataset=samples, solver=generate(), scorer=[says_word()])


class WordPlugin:
    @msmkit.hookimpl
    def register_eval_tasks(self, register):
        register(EvalTask("words", word_task, "says a word (test)"))


@pytest.fixture
def words(fresh_plugins, monkeypatch):
    from inspect_ai.model._providers import mockllm

    async def count(self, text: str) -> int:  # no tokenizer download offline
        return max(1, len(text) // 4)

    monkeypatch.setattr(mockllm.MockLLM, "count_text_tokens", count)
    fresh_plugins.register_plugin(WordPlugin(), "word-plugin")
    yield


EXP = """\
name: words
base_model: {base}
eval:
  serve: {{provider: mockllm}}
arms:
  - name: says-default
    midtrain: false
    evals: [{{task: words}}]
  - name: says-zebra
    midtrain: false
    evals: [{{task: words, args: {{word: zebra}}}}]
"""


def invoke(*args: str):
    from msmkit.cli import make_cli

    result = CliRunner().invoke(make_cli(), list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def test_run_writes_the_report_and_a_status_page(words, tmp_path, base_model):
    exp = tmp_path / "exp.yaml"
    exp.write_text(EXP.format(base=base_model))
    logs = tmp_path / "logs"
    result = invoke("run", str(exp), "--log-dir", str(logs))
    run = logs / "words"
    report = run / "report" / "report.html"
    assert f"Report: {report}" in result.stderr.replace("\n", "")
    data = json.loads((run / "report" / "report.json").read_text())
    comparison = json.loads((run / "comparison.json").read_text())
    assert data["comparison"] == comparison  # the run's own numbers, as is
    [fig] = data["figures"]
    bars = {b["arm"]: b["value"] for b in fig["panels"][0]["bars"]}
    assert bars == {"says-default": 1.0, "says-zebra": 0.0}  # mockllm says "Default output"
    status = (run / "status.html").read_text()
    assert "words: status" in status and "done" in status and "http-equiv" not in status
    assert json.loads((run / "status.json").read_text())["estimates"]
    # the status command reads the same folder
    out = invoke("status", str(run), "--json")
    assert {r["state"] for r in json.loads(out.stdout)["stages"]} == {"done"}


def test_no_report_and_the_report_command(words, tmp_path, base_model):
    exp = tmp_path / "exp.yaml"
    exp.write_text(EXP.format(base=base_model))
    logs = tmp_path / "logs"
    result = invoke("run", str(exp), "--log-dir", str(logs), "--no-report", "--json")
    run = logs / "words"
    assert not (run / "report").exists() and "Report:" not in result.stderr
    assert json.loads(result.stdout)["comparison"]["columns"] == ["words/says_word"]
    out = tmp_path / "shared"
    result = invoke("report", str(run), "-o", str(out), "--title", "Words")
    assert f"Report: {out / 'report.html'}" in result.stdout.replace("\n", "")
    assert "<title>Words</title>" in (out / "report.html").read_text()
    from msmkit.cli import make_cli

    twice = CliRunner().invoke(make_cli(), ["report", str(run), str(run)])
    assert twice.exit_code == 1 and "several runs need an output folder" in str(twice.exception)


def test_track_tensorboard_logs_the_evals_and_the_comparison(words, tmp_path, base_model):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    exp = tmp_path / "exp.yaml"
    exp.write_text(EXP.format(base=base_model))
    logs = tmp_path / "logs"
    result = invoke("run", str(exp), "--log-dir", str(logs), "--track", "tensorboard")
    run = logs / "words"
    assert "Tracker: TensorBoard:" in result.stderr
    folder = run / "tracking" / "tensorboard" / "words"
    events = EventAccumulator(str(folder))
    events.Reload()
    tags = events.Tags()["scalars"]
    comparison = json.loads((run / "comparison.json").read_text())
    for arm, cells in comparison["arms"].items():
        cell = cells["words/says_word"]
        [value] = events.Scalars(f"comparison/{arm}/words/says_word/value")
        assert value.value == pytest.approx(cell["value"])
        [low] = events.Scalars(f"comparison/{arm}/words/says_word/ci95_low")
        assert low.value == pytest.approx(cell["ci95"][0], abs=1e-6)
    [pair] = comparison["pairs"]
    [diff] = events.Scalars("pairs/words/says_word/says-default - says-zebra/diff")
    assert diff.value == pytest.approx(pair["diff"])
    assert "eval/says-default/seed=0/words/says_word/accuracy" in tags
