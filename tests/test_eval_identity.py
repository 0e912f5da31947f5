"""Evals are keyed by stage and named per arm (two evals of one task are two results), and an
eval's fingerprint means "same output": concurrency, server URLs and msmkit's release don't
rerun it; an edit to its task's bank reruns exactly that task's evals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import msmkit
from msmkit.components import EvalTask


def word_task(word: str = "Default", bank: str = ""):
    """A task scoring whether the reply contains ``word``; its items come from a bank file."""
    from inspect_ai import Task
    from inspect_ai.dataset import Sample
    from inspect_ai.scorer import Score, accuracy, scorer
    from inspect_ai.solver import generate

    @scorer(metrics=[accuracy()])
    def says_word():
        async def score(state, target):
            return Score(value=1.0 if word in state.output.completion else 0.0)

        return score

    rows = Path(bank).read_text().split() if bank else ["q1", "q2"]
    samples = [Sample(input=f"question {r}", target="x", id=r) for r in rows]
    return Task(dataset=samples, solver=generate(), scorer=[says_word()])


BANKS: dict[str, Path] = {}


class BankPlugin:
    @msmkit.hookimpl
    def register_eval_tasks(self, register):
        for name in ("word_a", "word_b"):
            register(
                EvalTask(
                    name,
                    lambda word="Default", _n=name: word_task(word, str(BANKS[_n])),
                    "test task reading a bank",
                    data=(BANKS[name],),
                )
            )


@pytest.fixture
def plugin(fresh_plugins, monkeypatch, tmp_path):
    from inspect_ai.model._providers import mockllm

    async def count(self, text: str) -> int:  # no tokenizer download offline
        return max(1, len(text) // 4)

    monkeypatch.setattr(mockllm.MockLLM, "count_text_tokens", count)
    for name in ("word_a", "word_b"):
        BANKS[name] = tmp_path / f"{name}.txt"
        BANKS[name].write_text("q1\nq2\nq3\n")
    fresh_plugins.register_plugin(BankPlugin(), "bank-plugin")
    yield fresh_plugins


EXP = """\
name: ids
base_model: {base}
eval:
  serve: {{provider: mockllm}}
  max_connections: {conn}
arms:
  - name: one
    midtrain: false
    evals:
      - {{task: word_a}}
      - {{task: word_a, args: {{word: zebra}}}}
      - {{task: word_b}}
  - name: two
    midtrain: false
    evals:
      - {{task: word_a, name: plain}}
"""


def write(tmp_path: Path, base: Path, conn: int = 4) -> Path:
    path = tmp_path / "exp.yaml"
    path.write_text(EXP.format(base=base, conn=conn))
    return path


def invoke_json(*args) -> dict:
    from msmkit.cli import make_cli

    result = CliRunner().invoke(make_cli(), [*args, "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_two_evals_of_one_task_are_two_results(plugin, tmp_path, base_model):
    logs = tmp_path / "logs"
    out = invoke_json("run", str(write(tmp_path, base_model)), "--log-dir", str(logs))
    columns = out["comparison"]["columns"]
    assert columns == [
        "word_a/says_word",
        "word_a[word=zebra]/says_word",
        "word_b/says_word",
        "plain/says_word",
    ]
    one = out["comparison"]["arms"]["one"]
    assert one["word_a/says_word"]["value"] == 1.0  # mockllm answers "Default output ..."
    assert one["word_a[word=zebra]/says_word"]["value"] == 0.0
    manifest = json.loads((logs / "ids" / "manifest.json").read_text())
    evals = manifest["arms"]["one"]["seeds"][0]["evals"]
    assert [(e["name"], e["args"]) for e in evals] == [
        ("word_a", {}),
        ("word_a[word=zebra]", {"word": "zebra"}),
        ("word_b", {}),
    ]
    assert len({e["stage"] for e in evals}) == 3
    results = manifest["results"]["one"]["0"]
    assert results["word_a/says_word/accuracy"] == 1.0
    assert results["word_a[word=zebra]/says_word/accuracy"] == 0.0
    markdown = (logs / "ids" / "comparison.md").read_text()
    assert "## word_a\n" in markdown and "## word_a[word=zebra]\n" in markdown


def test_runtime_settings_and_msmkit_release_reuse_every_eval(
    plugin, tmp_path, base_model, monkeypatch
):
    logs = str(tmp_path / "logs")
    first = invoke_json("run", str(write(tmp_path, base_model, conn=4)), "--log-dir", logs)
    assert len(first["computed"]) == 3  # word_a, word_a[word=zebra], word_b (arm two's is
    # the same eval of the same model as arm one's word_a: one stage)
    again = invoke_json("run", str(write(tmp_path, base_model, conn=64)), "--log-dir", logs)
    assert again["computed"] == []
    monkeypatch.setattr(msmkit, "__version__", "9.9.9")
    plugin.reset()
    plugin.register_plugin(BankPlugin(), "bank-plugin")
    from msmkit.plugins import plugin_info

    assert "9.9.9" in plugin_info("msmkit.stages").provider
    plan = invoke_json("plan", str(write(tmp_path, base_model)), "--log-dir", logs)
    assert {s["status"] for s in plan["stages"]} == {"done"}


def test_editing_a_bank_reruns_exactly_that_tasks_evals(plugin, tmp_path, base_model):
    logs = str(tmp_path / "logs")
    exp = str(write(tmp_path, base_model))
    first = invoke_json("run", exp, "--log-dir", logs)
    tasks = {
        s["id"]: s["options"]["task"] for s in invoke_json("plan", exp, "--log-dir", logs)["stages"]
    }
    BANKS["word_a"].write_text("q1\nq2\nq4\n")  # one line of one bank
    plan = invoke_json("plan", exp, "--log-dir", logs)
    todo = sorted(s["options"]["task"] for s in plan["stages"] if s["status"] != "done")
    assert todo == ["word_a", "word_a"]  # with and without args; word_b is kept
    second = invoke_json("run", exp, "--log-dir", logs)
    assert sorted(s.rsplit("-", 1)[0] for s in second["computed"]) == ["eval", "eval"]
    assert not set(second["computed"]) & set(first["computed"])
    assert set(tasks.values()) == {"word_a", "word_b"}
