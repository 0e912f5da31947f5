"""An experiment's ``midtrain: corpus:`` names an external corpus (a local dataset file or
folder, or hf:org/name) instead of a generated one; it is checked when the run is planned."""

from __future__ import annotations

import json

import pytest

from msmkit.errors import ConfigError
from msmkit.experiment import read_experiment
from msmkit.run.expand import build_graph
from msmkit.run.store import Store

EXPERIMENT = """\
name: external
base_model: {{tiny: {{hidden_size: 32, num_layers: 1, vocab_size: 600}}}}
defaults:
  midtrain:
    backend: trl
    corpus: {corpus}
    options: {{sft: {{max_steps: 1, max_length: 64}}}}
arms:
  - name: released
{spec}"""


def plan(tmp_path, corpus: str, spec: str = ""):
    """The midtraining nodes of the planned graph."""
    exp = tmp_path / "exp.yaml"
    exp.write_text(EXPERIMENT.format(corpus=corpus, spec=spec))
    graph = build_graph(read_experiment(exp), Store(tmp_path / "store"))
    return [node for node in graph.nodes.values() if node.role == "midtrain"]


def test_an_external_corpus_plans_a_midtraining_stage(tmp_path):
    rows = [{"body": f"document {i} about cheese"} for i in range(4)]
    (tmp_path / "docs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (midtrain,) = plan(tmp_path, "{path: docs.jsonl, field: body}")
    assert "docs.jsonl" in midtrain.label
    source = midtrain.options.corpus_source
    assert source["field"] == "body" and source["path"] == str(tmp_path / "docs.jsonl")
    # the content is the slot's key: another content, another stage
    (tmp_path / "docs.jsonl").write_text(json.dumps({"body": "other"}) + "\n")
    (again,) = plan(tmp_path, "{path: docs.jsonl, field: body}")
    assert again.id != midtrain.id


@pytest.mark.parametrize(
    ("corpus", "spec", "message"),
    [
        ("missing.parquet", "", "data source not found"),
        ("hf:not a repo", "", "not a hub dataset id"),
        ("docs.txt", "", "unknown data file type"),
        ("hf:org/corpus", "    spec: pro-america\n", "has a spec and a midtrain corpus"),
    ],
)
def test_a_bad_corpus_source_fails_at_plan_time(tmp_path, corpus, spec, message):
    (tmp_path / "docs.txt").write_text("text")
    with pytest.raises(ConfigError, match=message) as info:
        plan(tmp_path, corpus, spec)
    if not spec:
        assert "exp.yaml:6" in str(info.value)  # the corpus line


def test_a_mixed_in_sources_content_enters_the_stage_fingerprint(tmp_path):
    (tmp_path / "docs.jsonl").write_text(json.dumps({"text": "own document"}) + "\n")
    mix = tmp_path / "pretrain.jsonl"
    mix.write_text(json.dumps({"text": "web page"}) + "\n")
    exp = tmp_path / "exp.yaml"
    exp.write_text(
        EXPERIMENT.format(corpus="docs.jsonl", spec="").replace(
            "options: {sft:", f"options: {{mix_corpus: {mix}, mix_ratio: 0.1, sft:"
        )
    )

    def midtrain():
        graph = build_graph(read_experiment(exp), Store(tmp_path / "store"))
        (node,) = [n for n in graph.nodes.values() if n.role == "midtrain"]
        return node

    first = midtrain()
    assert first.options.data_refs["mix_corpus"].startswith("sha256:")
    mix.write_text(json.dumps({"text": "another web page"}) + "\n")
    assert midtrain().id != first.id
