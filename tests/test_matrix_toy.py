"""A 2 specs x 2 variants x 2 AFT sizes x 2 seeds matrix run end to end on the CPU (the toy
world: a model small enough to pretrain, midtrain, fine-tune and evaluate in seconds), its
comparison limited to the declared contrasts and Holm-corrected."""

from __future__ import annotations

import json
from collections import Counter

import pytest

TOY = "../src/msmkit/toyworld/specs"
EXP = f"""\
name: toy-matrix
base_model:
  stage: toyworld-base
  options:
    model: {{hidden_size: 32, intermediate_size: 64, num_layers: 1, num_heads: 2, num_kv_heads: 2}}
    pretrain: {{max_steps: 40, min_steps: 40, batch_size: 8, seq_len: 32, probe_every: 40}}
    on_probe_fail: report
    threads: 1
defaults:
  generate: {{name: toyworld, options: {{docs_per_principle: 4}}}}
  midtrain:
    backend: trl
    launch: {{launcher: none}}
    options: {{lora: null, sft: {{learning_rate: 2.0e-3, num_train_epochs: 1, max_length: 64,
              per_device_train_batch_size: 8}}}}
  aft:
    backend: trl
    data: {{stage: toyworld-aft}}
    launch: {{launcher: none}}
    options: {{lora: null, sft: {{learning_rate: 2.0e-3, num_train_epochs: 1, max_length: 64,
              per_device_train_batch_size: 8}}}}
  evals: [{{task: toy_world, args: {{kinds: conflict}}}}]
eval:
  generate: {{max_tokens: 1}}
  limit: 16
  serve: {{provider: hf, model_args: {{device: cpu}}}}
matrix:
  axes:
    spec: [{TOY}/toy-affordability.md, {TOY}/toy-america.md]
    variant: [none, rules-only]
    aft_size: [16, 32]
    seed: [0, 1]
  name: "{{spec}}-{{variant}}-aft{{aft_size}}"
compare:
  contrasts: [{{axis: spec}}]
  correction: holm
"""


@pytest.mark.slow
def test_a_sixteen_run_matrix_end_to_end(tmp_path):
    import msmkit

    folder = tmp_path / "experiments"
    folder.mkdir()
    exp = folder / "toy-matrix.yaml"
    exp.write_text(
        EXP.replace("../src", str(__import__("msmkit").__file__).rsplit("/msmkit/", 1)[0])
    )
    run = msmkit.Run(exp, log_dir=tmp_path / "logs")
    graph = run.plan()
    assert len(graph.arms) == 8 and graph.exp.all_seeds() == [0, 1]
    kinds = Counter(n.kind.name for n in graph.ordered())
    # per seed: 1 base and 1 AFT set; per spec x variant: 1 spec, 1 corpus (both shared by
    # seeds), a midtrain per seed; per arm and seed: the AFT subset, AFT and its eval
    assert kinds == {
        "toyworld-base": 2,
        "toyworld-aft": 1,
        "spec": 4,
        "corpus": 4,
        "midtrain": 8,
        "aft-subset": 2,
        "aft": 16,
        "eval": 16,
    }
    # shared by several arms: the bases, the AFT set, specs, corpora, midtrains (one per
    # spec x variant x seed, used by both AFT sizes) and the AFT subsets; each arm's own
    # AFT and eval per seed are its alone
    shared = [n for n in graph.ordered() if len(n.arms) > 1]
    assert len(shared) == 2 + 1 + 4 + 4 + 8 + 2 == 21
    assert {n.kind.name for n in graph.ordered() if len(n.arms) == 1} == {"aft", "eval"}
    assert len(graph.pairs) == 4  # spec contrast for every variant x AFT size
    result = run.execute()
    assert result.complete, result.failed
    table = result.comparison
    column = "toy_world/cheap_choice/conflict_cheap"
    assert set(table["arms"]) == set(graph.arms)
    assert all(table["arms"][arm][column]["n_seeds"] == 2 for arm in graph.arms)
    pairs = [p for p in table["pairs"] if p["metric"] == column]
    assert len(pairs) == 4 and table["correction"] == "holm"
    raw = sorted(p["p_value"] for p in pairs)
    assert max(p["p_adjusted"] for p in pairs) >= max(raw)  # Holm never lowers a p-value
    assert any("Holm" in note for note in table["notes"])

    # The run's own report: every arm's rate on the page is the run's, and the page opens
    # offline in a browser with every figure drawn (skipped without Chromium, as elsewhere).
    from headless import check_report_page, chromium

    from msmkit.report.build import write_report

    files = write_report([result.run_dir], tmp_path / "report")
    data = json.loads(files["json"].read_text())
    shown = data["comparison"]["arms"]
    for arm in graph.arms:
        mine, theirs = shown[arm][column], table["arms"][arm][column]
        assert mine["value"] == pytest.approx(theirs["value"])
        assert mine["ci95"] == pytest.approx(theirs["ci95"])
    assert {f["id"] for f in data["figures"]}  # a matrix run is drawn, not only tabled
    if chromium() is not None:
        check_report_page(files["html"], [f["id"] for f in data["figures"]])
