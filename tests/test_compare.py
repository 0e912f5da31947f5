"""msmkit.compare on real Inspect logs written offline with mockllm."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import stats as sps

from msmkit import compare
from msmkit.stats import clustered_mean

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _mock_model(reply: Callable[[str], str] = lambda prompt: "ok") -> Any:
    """mockllm with scripted replies; ``usage`` set so it never fetches a tokenizer."""
    from inspect_ai.model import ModelOutput, ModelUsage, get_model

    def respond(messages, tools, tool_choice, config):
        output = ModelOutput.from_content(model="mockllm/model", content=reply(messages[-1].text))
        output.usage = ModelUsage(input_tokens=1, output_tokens=1, total_tokens=2)
        return output

    return get_model("mockllm/model", custom_outputs=respond)


def _run(task: Any, log_dir: Path, model: Any = None, **kwargs: Any) -> Path:
    from inspect_ai import eval as inspect_eval

    [log] = inspect_eval(
        task, model=model or _mock_model(), log_dir=str(log_dir), display="none", **kwargs
    )
    assert log.status == "success"
    return Path(log.location)


def _toy_task(values: dict[str, Any], name: str, cluster: dict[str, str] | None = None) -> Any:
    """A task whose scorer returns ``values[sample id]`` as Score.value, whatever it is."""
    from inspect_ai import Task
    from inspect_ai.dataset import Sample
    from inspect_ai.scorer import Score, mean, scorer
    from inspect_ai.solver import generate

    @scorer(metrics=[mean()])
    def lookup():
        async def score(state, target):
            return Score(value=values[str(state.sample_id)])

        return score

    samples = [
        Sample(
            id=sid,
            input=f"question {sid}",
            metadata={"cluster": cluster[sid]} if cluster and sid in cluster else {},
        )
        for sid in values
    ]
    return Task(dataset=samples, solver=generate(), scorer=lookup(), name=name)


# ------------------------------------------------------------------------------- reading


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, 1.0),
        (False, 0.0),
        (3, 3.0),
        (0.25, 0.25),
        ("C", 1.0),
        ("I", 0.0),
        ("P", 0.5),
        ("N", 0.0),
        ("yes", 1.0),
        ("0.75", 0.75),
        ("maybe", None),
        (None, None),
        (float("nan"), None),
        ([1, 0], None),
    ],
)
def test_as_float(value: Any, expected: float | None) -> None:
    assert compare.as_float(value) == expected


def test_score_fields_and_task_names() -> None:
    assert compare.score_fields("s", 1) == [("s", 1.0)]
    assert compare.score_fields("s", None) == []
    got = compare.score_fields("s", {"x": 1, "y": None, "z": "C", "w": "text", "v": False})
    assert got == [("s/x", 1.0), ("s/z", 1.0), ("s/v", 0.0)]
    assert compare.task_name("msmkit/value_generalization") == "value_generalization"
    assert compare.task_name("inspect_evals/gsm8k") == "inspect_evals.gsm8k"


@pytest.mark.slow
def test_read_samples_keys_clusters_and_skips(tmp_path: Path) -> None:
    values = {
        "s1": {"acc": 1, "len": 3.5, "note": None},
        "s2": {"acc": 0, "len": 2.0, "note": "I"},
        "s3": {"acc": True, "len": "n/a"},
    }
    task = _toy_task(values, "msmkit/toy", cluster={"s1": "q1", "s2": "q1"})
    rows = compare.read_samples(_run(task, tmp_path))
    got = sorted((r.key, r.sample_id, r.value, r.cluster) for r in rows)
    assert got == [
        ("toy/lookup/acc", "s1", 1.0, "q1"),
        ("toy/lookup/acc", "s2", 0.0, "q1"),
        ("toy/lookup/acc", "s3", 1.0, "s3"),  # no cluster metadata: the sample id
        ("toy/lookup/len", "s1", 3.5, "q1"),
        ("toy/lookup/len", "s2", 2.0, "q1"),
        ("toy/lookup/note", "s2", 0.0, "q1"),
    ]
    assert {r.task for r in rows} == {"toy"}


def test_missing_log_is_a_note_not_a_crash(tmp_path: Path) -> None:
    rows, note = compare.read_samples_or_note(tmp_path / "nope.eval", where="arm1 (seed0)")
    assert rows == [] and note is not None and note.startswith("arm1 (seed0): skipped")
    table = compare.comparison({"arm1": [("seed0", tmp_path / "nope.eval")], "arm2": []})
    assert table["columns"] == [] and table["pairs"] == []
    assert table["arms"] == {"arm1": {}, "arm2": {}}
    assert any("skipped" in n for n in table["notes"])
    assert "No scored samples" in compare.to_markdown(table)
    assert compare.to_rich(table, "t") == []


@pytest.mark.slow
def test_log_without_samples_is_skipped_with_a_note(tmp_path: Path) -> None:
    from inspect_ai.log import read_eval_log, write_eval_log

    log = read_eval_log(str(_run(_toy_task({"s1": 1, "s2": 0}, "toy"), tmp_path)))
    log.samples = None
    log.status = "cancelled"
    empty = tmp_path / "empty.json"
    write_eval_log(log, str(empty))
    rows, note = compare.read_samples_or_note(empty)
    assert rows == [] and "no scored samples (log status cancelled)" in str(note)


# ------------------------------------------------------------------------ the comparison


@pytest.mark.slow
def test_comparison_on_value_generalization(tmp_path: Path) -> None:
    """Always answering "A" scores exactly the share of samples whose aligned letter is A."""
    from msmkit.evals.value_generalization import value_generalization

    limit = 10
    task = value_generalization(values="affordability", both_orders=False)
    dataset = list(task.dataset)[:limit]
    aligned_is_a = [int(s.metadata["aligned_letter"] == "A") for s in dataset]
    assert 0 < sum(aligned_is_a) < limit, "the check needs both letters among the items"
    items = [s.metadata["item_id"] for s in dataset]

    # arm "always_a": two epochs, so 20 samples of 10 items; arm "aligned": always right
    always_a = _run(task, tmp_path / "a", _mock_model(lambda p: "A"), limit=limit, epochs=2)
    aligned_letter = {s.input: s.metadata["aligned_letter"] for s in dataset}
    right = _run(
        value_generalization(values="affordability", both_orders=False),
        tmp_path / "b",
        _mock_model(lambda p: f"Answer: {aligned_letter[p]}"),
        limit=limit,
    )
    table = compare.comparison({"always_a": [("seed0", always_a)], "aligned": [("s", right)]})
    json.dumps(table, allow_nan=False)  # plain JSON

    key = "value_generalization/forced_choice/aligned"
    assert key in table["columns"]
    assert "value_generalization/forced_choice/affordability" in table["columns"]
    assert not any(c.endswith("/america") for c in table["columns"])
    cell = table["arms"]["always_a"][key]
    assert cell["value"] == pytest.approx(sum(aligned_is_a) / limit)
    assert (cell["n_items"], cell["n_samples"], cell["n_seeds"]) == (limit, 2 * limit, 1)
    # the repeated epoch adds samples, not information: same interval as one answer per item
    once = clustered_mean(aligned_is_a, items)
    assert cell["ci95"] == pytest.approx(list(once.ci95))
    assert table["arms"]["always_a"]["value_generalization/forced_choice/a"]["value"] == 1.0
    assert table["arms"]["aligned"][key]["value"] == 1.0

    [pair] = [p for p in table["pairs"] if p["metric"] == key]
    assert (pair["a"], pair["b"], pair["paired"]) == ("always_a", "aligned", True)
    assert pair["n_items"] == limit
    ref = sps.ttest_rel(np.array(aligned_is_a, float), np.ones(limit))
    assert pair["diff"] == pytest.approx(sum(aligned_is_a) / limit - 1.0)
    assert pair["p_value"] == pytest.approx(ref.pvalue)
    assert pair["ci95"] == pytest.approx(list(ref.confidence_interval()))
    assert any("not corrected for multiple comparisons" in n for n in table["notes"])

    md = compare.to_markdown(table)
    assert "## value_generalization" in md and "| forced_choice/aligned |" in md
    assert f"n={limit} items" in md and "always_a − aligned" in md


@pytest.mark.slow
def test_comparison_with_seeds_and_several_tasks(tmp_path: Path) -> None:
    """Seeds are replicates: cells and the test between arms run over per-seed means."""
    items = ["q1", "q2", "q3", "q4"]
    seed_scores = {
        "a": {"s1": [1, 1, 0, 1], "s2": [1, 0, 0, 1], "s3": [1, 1, 1, 1]},
        "b": {"t1": [0, 0, 1, 0], "t2": [0, 1, 1, 0]},
    }
    arm_logs: dict[str, list[tuple[str, Path]]] = {}
    for arm, seeds in seed_scores.items():
        for seed, scores in seeds.items():
            task = _toy_task(dict(zip(items, scores, strict=True)), "toy")
            arm_logs.setdefault(arm, []).append((seed, _run(task, tmp_path / arm / seed)))
    # a second task, for arm a only, seen by one seed
    other = _toy_task({"x1": 0.5, "x2": 0.25}, "msmkit/other")
    arm_logs["a"].append(("s1", _run(other, tmp_path / "other")))

    table = compare.comparison(arm_logs)
    assert table["columns"] == ["toy/lookup", "other/lookup"]
    a_means, b_means = np.array([0.75, 0.5, 1.0]), np.array([0.25, 0.5])
    cell = table["arms"]["a"]["toy/lookup"]
    assert cell["method"] == "t over seeds"
    assert (cell["n_items"], cell["n_samples"], cell["n_seeds"]) == (4, 12, 3)
    lo, hi = sps.t.interval(0.95, 2, loc=a_means.mean(), scale=sps.sem(a_means))
    assert cell["ci95"] == pytest.approx([max(lo, 0.0), min(hi, 1.0)])
    assert table["arms"]["b"]["other/lookup"] is None
    assert table["arms"]["a"]["other/lookup"]["method"] == "t, cluster-robust se"

    [pair] = table["pairs"]
    ref = sps.ttest_ind(a_means, b_means, equal_var=False)
    assert pair["test"] == "welch t over seeds" and not pair["paired"]
    assert pair["diff"] == pytest.approx(a_means.mean() - b_means.mean())
    assert pair["p_value"] == pytest.approx(ref.pvalue)
    assert pair["ci95"] == pytest.approx(list(ref.confidence_interval()))

    rich_tables = compare.to_rich(table, "exp")
    titles = [t.title for t in rich_tables]
    assert titles == ["exp: toy", "exp: toy, differences (a − b)", "exp: other"]
    assert "not corrected" in str(rich_tables[-1].caption)


def test_pairs_all_or_against_the_first() -> None:
    assert compare.arm_pairs(["a", "b", "c"]) == [("a", "b"), ("a", "c"), ("b", "c")]
    six = [f"arm{i}" for i in range(6)]
    assert compare.arm_pairs(six) == [("arm0", other) for other in six[1:]]


def test_rendering_fits_a_terminal() -> None:
    from rich.console import Console

    cell = {"value": 0.5123, "ci95": [0.44, 0.58], "n_items": 121, "n_samples": 242}
    cell.update(n_seeds=1, method="wilson, cluster-robust n_eff")
    key = "value_generalization/forced_choice/affordability"
    table = {
        "columns": [key],
        "arms": {name: {key: dict(cell)} for name in ("baseline", "cheese_lover", "spec_b")},
        "pairs": [
            {"metric": key, "a": "baseline", "b": "cheese_lover", "diff": -0.0412,
             "ci95": [-0.11, 0.03], "p_value": 0.2468, "test": "paired t over items",
             "paired": True, "n_items": 121, "n_unshared_items": 0},
        ],
        "notes": ["diff = a - b; p-values are not corrected for multiple comparisons"],
    }  # fmt: skip
    assert compare.format_cell(cell) == "0.512 [0.44, 0.58] n=121 items"
    assert compare.format_p(0.0004) == "<0.001" and compare.format_p(None) == "n/a"
    console = Console(width=100, record=True)
    for t in compare.to_rich(table, "experiment"):
        console.print(t)
    text = console.export_text()
    assert max(len(line) for line in text.splitlines()) <= 100
    assert "0.512 [0.44, 0.58]" in text and "-0.041 [-0.11, +0.03]" in text
    assert "paired, 121 items" in text and "0.247" in text
    assert math.isclose(table["arms"]["baseline"][key]["value"], 0.5123)
