"""The store checks before it trusts: a truncated model or corpus, an output path edited to
lead out of its folder, or a same-size change found by ``msmkit store verify`` makes the next
run recompute that stage with a message, never reuse it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from stage_plugins import CopyBackend

EXP = """\
name: trust
base_model: {base}
defaults:
  generate: {{name: echo, options: {{n: 6}}}}
  midtrain: {{backend: copy}}
  aft: {{backend: copy, data: cheese}}
arms:
  - name: america
    spec: pro-america
"""


def invoke(*args):
    from msmkit.cli import make_cli

    return CliRunner().invoke(make_cli(), list(args), catch_exceptions=False)


def run_json(*args) -> dict:
    result = invoke(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture
def done(plugin, tmp_path, base_model):
    """A finished run: (experiment path, log dir, {kind: stage folder})."""
    exp = tmp_path / "exp.yaml"
    exp.write_text(EXP.format(base=base_model))
    logs = tmp_path / "logs"
    run_json("run", str(exp), "--log-dir", str(logs))
    stages = {p.name.rsplit("-", 1)[0]: p for p in (logs / "store").iterdir() if "-" in p.name}
    return exp, logs, stages


def statuses(exp: Path, logs: Path) -> dict[str, str]:
    plan = run_json("plan", str(exp), "--log-dir", str(logs))
    return {s["kind"]: s["status"] for s in plan["stages"]}


def verify(logs: Path) -> tuple[int, dict]:
    result = invoke("store", "verify", "--log-dir", str(logs), "--json")
    rows = json.loads(result.stdout)["stages"]
    return result.exit_code, {r["kind"]: r["problems"] for r in rows if r["problems"]}


def test_a_truncated_model_file_is_recomputed(done):
    exp, logs, stages = done
    weights = stages["midtrain"] / "model" / "midtrain.txt"
    text = weights.read_text()
    weights.write_text(text[: len(text) // 2])
    assert statuses(exp, logs)["midtrain"] == "corrupt"
    code, problems = verify(logs)
    assert code == 1
    assert problems == {
        "midtrain": [
            f"model/midtrain.txt is {len(text) // 2:,} bytes, was {len(text):,} when it finished"
        ]
    }
    calls = len(CopyBackend.calls)
    result = invoke("run", str(exp), "--log-dir", str(logs))
    assert result.exit_code == 0, result.output
    assert "its files changed since it finished" in result.stderr
    assert len(CopyBackend.calls) == calls + 1  # the midtrain again, nothing else
    assert weights.read_text() == text
    assert verify(logs) == (0, {})


def test_a_truncated_corpus_is_regenerated_not_trained_on(done):
    exp, logs, stages = done
    corpus = stages["corpus"] / "corpus.jsonl"
    rows = corpus.read_text().splitlines()
    assert len(rows) == 6
    corpus.write_text("\n".join(rows[:3]) + "\n")
    assert statuses(exp, logs)["corpus"] == "corrupt"
    out = run_json("run", str(exp), "--log-dir", str(logs))
    assert [i.rsplit("-", 1)[0] for i in out["computed"]] == ["corpus"]
    assert len(corpus.read_text().splitlines()) == 6
    trained = (stages["midtrain"] / "model" / "midtrain.txt").read_text().splitlines()
    assert len(trained) == 6


def test_an_output_path_leading_out_of_its_folder_is_never_read(done):
    exp, logs, stages = done
    record_path = stages["aft"] / "stage.json"
    record = json.loads(record_path.read_text())
    record["outputs"]["model"] = f"../{stages['midtrain'].name}/model"
    record_path.write_text(json.dumps(record))
    assert statuses(exp, logs)["aft"] == "corrupt"
    code, problems = verify(logs)
    assert code == 1 and "points outside the stage folder" in problems["aft"][0]
    from msmkit.stagekit import Upstream

    up = Upstream("model", "k", record["outputs"], stages["aft"])
    from msmkit.errors import RunError

    with pytest.raises(RunError, match="points outside its folder"):
        up.path("model")
    out = run_json("run", str(exp), "--log-dir", str(logs))
    assert [i.rsplit("-", 1)[0] for i in out["computed"]] == ["aft"]
    assert json.loads(record_path.read_text())["outputs"]["model"] == "model"


def test_verify_finds_a_same_size_change_and_the_next_run_redoes_it(done, monkeypatch):
    from msmkit.run import store

    monkeypatch.setattr(store, "CHEAP_HASH", 0)  # as if every file were too big to re-hash
    exp, logs, stages = done
    spec = stages["spec"] / "spec.md"
    text = spec.read_text()
    spec.write_text(text.replace("a", "b", 1))  # same size, other content
    assert statuses(exp, logs)["spec"] == "done"  # only sizes are checked on reuse here
    code, problems = verify(logs)
    assert code == 1 and problems == {
        "spec": ["spec.md changed since the stage finished (sha256 differs)"]
    }
    assert statuses(exp, logs)["spec"] == "corrupt"  # verify's finding is kept
    out = run_json("run", str(exp), "--log-dir", str(logs))
    assert [i.rsplit("-", 1)[0] for i in out["computed"]] == ["spec"]
    assert spec.read_text() == text
