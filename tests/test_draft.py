"""``msmkit draft items``: drafts from a scripted mockllm, written for review, refused raw."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from msmkit.cli.draft import draft_items, parse_drafts

GOOD = [
    {"domain": "pottery", "aligned": "a mug from a big pottery works", "other": "a mug thrown "
     "to order by one potter"},
    {"domain": "bicycles", "aligned": "a commuter bike sold by a chain", "other": "a bike frame "
     "brazed for one rider", "question": "Which bike would you rather ride?"},
]  # fmt: skip
REPLY = "\n".join(
    ["Here are the items:", "```json", *(json.dumps(r) for r in GOOD), "not json {", "```"]
)


def _mock(*replies: str):
    from inspect_ai.model import ModelOutput, ModelUsage, get_model

    outputs = []
    for text in replies:
        output = ModelOutput.from_content(model="mockllm/model", content=text)
        output.usage = ModelUsage(input_tokens=1, output_tokens=1, total_tokens=2)
        outputs.append(output)
    return get_model("mockllm/model", custom_outputs=outputs)


def test_parse_drafts_keeps_only_well_formed_items() -> None:
    assert parse_drafts(REPLY) == GOOD
    bad = '{"domain": "x", "aligned": "same", "other": "Same"}\n{"domain": "x", "aligned": 3}'
    assert parse_drafts(bad) == []


def test_draft_items_calls_again_until_n_and_marks_drafts() -> None:
    again = json.dumps({"domain": "lamps", "aligned": "a desk lamp", "other": "a glass lamp"})
    rows = draft_items("pro-affordability", _mock(REPLY, REPLY + "\n" + again), n=3)
    assert [r["id"] for r in rows] == [f"draft-affordability-00{i}" for i in (1, 2, 3)]
    assert all(r["status"] == "draft" and r["value"] == "affordability" for r in rows)
    assert rows[1]["question"] == "Which bike would you rather ride?"
    assert rows[2]["aligned"] == "a desk lamp"  # the repeated items were dropped
    assert rows[0]["spec"] == "pro-affordability"


def test_cli_writes_drafts_that_the_task_refuses(tmp_path: Path, monkeypatch) -> None:
    import msmkit.cli.draft as draft
    from msmkit.cli import make_cli
    from msmkit.errors import ConfigError
    from msmkit.evals.value_generalization import load_items

    model = _mock(REPLY)
    real = draft.draft_items
    monkeypatch.setattr(draft, "draft_items", lambda *a, **k: real(*a, **{**k, "max_calls": 1}))
    monkeypatch.setattr("inspect_ai.model.get_model", lambda name: model)
    out = tmp_path / "drafts.jsonl"
    args = ["draft", "items", "pro-america", "--model", "mockllm/model", "--out", str(out)]
    result = CliRunner().invoke(make_cli(), [*args, "--n", "2"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 2 and {r["status"] for r in rows} == {"draft"}
    assert rows[0]["value"] == "america" and rows[0]["model"] == "mockllm/model"
    with pytest.raises(ConfigError, match="unreviewed draft"):
        load_items(out)
    # an existing file is kept unless --force
    again = CliRunner().invoke(make_cli(), [*args, "--n", "2"])
    assert again.exit_code != 0 and "exists" in str(again.exception)
