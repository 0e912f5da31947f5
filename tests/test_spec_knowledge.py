"""spec_knowledge: A-D letter reading, probe banks, rotations, and the task end to end."""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path

import pytest

from msmkit.errors import ConfigError
from msmkit.evals.scoring import parse_choice
from msmkit.evals.spec_knowledge import load_probes, probe_samples, spec_knowledge
from msmkit.evals.spec_knowledge.letters import logprob_letter, parse_letter, read_letter
from msmkit.spec import load_spec

REPO = Path(__file__).resolve().parents[1]
SPECS = sorted(p.stem for p in (REPO / "specs").glob("*.md") if p.stem != "README")


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("C", "C"),
        ("(D)", "D"),
        ("Answer: B", "B"),
        ("I pick D.", "D"),
        ("C) the second one", "C"),
        ("The answer is (C) because of the spec.", "C"),
        ("Between option A and option D, I'd choose D.", "D"),
        ("A good answer is hard to find.", None),
        ("C or D? Hard to say.", None),
        ("E", None),
        ("<think>Maybe A.</think>B", "B"),
        ("Default output from mockllm/model", None),
    ],
)
def test_parse_letter(reply: str, expected: str | None) -> None:
    assert parse_letter(reply) == expected


@pytest.mark.parametrize(
    "reply", ["A", "Answer: B", "I'd go with A.", "A good pick", "A or B?", "(B)", "B) x", ""]
)
def test_parse_letter_agrees_with_ab_parser(reply: str) -> None:
    assert parse_letter(reply, letters="AB") == parse_choice(reply)


def test_option_text_fallback() -> None:
    options = ["red apples", "green pears", "blue plums", "yellow figs"]
    assert parse_letter("Definitely the blue plums.", options) == "C"
    assert parse_letter("red apples or green pears", options) is None


def _logprobs(positions: list[list[tuple[str, float]]]):
    from inspect_ai.model import Logprob, Logprobs, TopLogprob

    return Logprobs(
        content=[
            Logprob(
                token=alts[0][0],
                logprob=alts[0][1],
                top_logprobs=[TopLogprob(token=t, logprob=lp) for t, lp in alts],
            )
            for alts in positions
        ]
    )


def test_logprob_letter() -> None:
    assert logprob_letter(_logprobs([[(" C", -0.2), ("D", -1.0), ("A", -3.0)]])) == "C"
    assert logprob_letter(_logprobs([[("\n", -0.1)], [("▁D", -0.3), ("B", -2)]])) == "D"
    assert logprob_letter(_logprobs([[("Well", -0.1), ("C", -1.0)]])) is None
    assert logprob_letter(None) is None
    choice = read_letter("Hmm.", logprobs=_logprobs([[("B", -0.1), ("C", -2.0)]]))
    assert (choice.letter, choice.method) == ("B", "logprob")
    assert read_letter("D").method == "parse"
    assert not read_letter("Hmm.").decided


@pytest.mark.parametrize("spec", SPECS)
def test_every_shipped_spec_has_enough_balanced_probes(spec: str) -> None:
    probes = load_probes(spec)
    assert len(probes) >= 20
    loaded = load_spec(spec)
    assert {p.principle for p in probes} <= {p.id for p in loaded.principles}
    for probe in probes:
        lengths = [len(t) for t in (probe.answer, *probe.distractors)]
        assert max(lengths) <= 1.6 * min(lengths), probe.id
    rows = [json.loads(x) for x in (REPO / "tasks/spec_knowledge" / f"{spec}.jsonl").open()]
    assert all(r["status"] == "reviewed" and r["spec"] == spec for r in rows)


MAX_PROBES_PER_DISTRACTOR = 2  # a cheese bank and its mirror may share one; no more


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def test_no_distractor_text_repeats_across_probes() -> None:
    """A distractor reused across many probes is a cue (and hides a lazy bank): each text is
    used at most once per bank, and at most twice over all shipped banks."""
    seen: dict[str, list[str]] = {}
    for bank in sorted((REPO / "tasks" / "spec_knowledge").glob("*.jsonl")):
        per_bank: Counter[str] = Counter()
        for line in bank.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            for text in row["distractors"]:
                per_bank[_norm(text)] += 1
                seen.setdefault(_norm(text), []).append(row["id"])
        assert per_bank.most_common(1)[0][1] == 1, (bank.name, per_bank.most_common(1))
    worst = max(seen.items(), key=lambda kv: len(kv[1]))
    assert len(worst[1]) <= MAX_PROBES_PER_DISTRACTOR, worst


def test_rotations_put_the_answer_under_every_letter() -> None:
    spec = load_spec("philosophy")
    probes = load_probes(spec)
    samples = probe_samples(probes, spec, orders=4)
    assert len(samples) == 4 * len(probes)
    by_item: dict[str, list] = {}
    for sample in samples:
        by_item.setdefault(sample.metadata["item_id"], []).append(sample)
    for probe in probes:
        rotations = by_item[probe.id]
        assert sorted(s.target for s in rotations) == ["A", "B", "C", "D"]
        for s in rotations:
            shown = s.metadata["options"]
            answer = probe.answer.replace("{subject}", "Llama")
            assert shown["ABCD".index(s.target)] == answer
            assert "{subject}" not in s.input
    one = Counter(s.target for s in probe_samples(probes, spec, orders=1))
    assert len(one) >= 3  # the base slot is spread over letters
    with pytest.raises(ConfigError):
        probe_samples(probes, spec, orders=5)


def test_subject_follows_the_spec(tmp_path: Path) -> None:
    spec = load_spec("philosophy").replace(subject="Qwen")
    [sample, *_] = probe_samples(load_probes(spec), spec, orders=1)
    assert "Qwen" in sample.input


def _row(**over) -> dict:
    row = {
        "id": "p1",
        "principle": "oversight",
        "kind": "why",
        "question": "Why does {subject} accept oversight?",
        "answer": "right answer text",
        "distractors": ["wrong answer one", "wrong answer two", "wrong answer six"],
    }
    return {**row, **over}


def _bank(path: Path, rows: list[dict]) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return str(path)


def test_bad_banks_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unreviewed draft"):
        spec_knowledge(probes_path=_bank(tmp_path / "a.jsonl", [_row(status="draft")]))
    with pytest.raises(ConfigError, match="3 distinct"):
        spec_knowledge(probes_path=_bank(tmp_path / "b.jsonl", [_row(distractors=["x", "y"])]))
    with pytest.raises(ConfigError, match="no principle"):
        spec_knowledge(probes_path=_bank(tmp_path / "c.jsonl", [_row(principle="nope")]))
    with pytest.raises(ConfigError, match="duplicate id"):
        spec_knowledge(probes_path=_bank(tmp_path / "d.jsonl", [_row(), _row()]))
    other = tmp_path / "other.md"
    text = (REPO / "specs" / "philosophy.md").read_text(encoding="utf-8")
    other.write_text(text.replace("name: philosophy", "name: other", 1), encoding="utf-8")
    with pytest.raises(ConfigError, match="no spec_knowledge bank"):
        spec_knowledge(spec=str(other))
    with pytest.raises(ConfigError, match="no probes for principle"):
        spec_knowledge(principles="nope")


@pytest.mark.slow
def test_end_to_end_with_mockllm(tmp_path: Path) -> None:
    from inspect_ai import eval as inspect_eval
    from inspect_ai.model import ModelOutput, ModelUsage, get_model

    rows = [_row(id="right", kind="what"), _row(id="wrong"), _row(id="lp"), _row(id="junk")]
    rows = [dict(r, question=f"{r['id']}: {r['question']}") for r in rows]
    task = spec_knowledge(probes_path=_bank(tmp_path / "p.jsonl", rows), orders=4)
    samples = {s.input: s for s in task.dataset}
    assert len(samples) == 16

    def respond(messages, tools, tool_choice, config):
        sample = samples[messages[-1].text]
        item, target = sample.metadata["item_id"], sample.target
        other = "ABCD"[("ABCD".index(target) + 1) % 4]
        text = {"right": f"Answer: {target}", "wrong": f"({other})", "lp": "Hmm.", "junk": "?"}
        out = ModelOutput.from_content(model="mockllm/model", content=text[item])
        out.usage = ModelUsage(input_tokens=1, output_tokens=1, total_tokens=2)
        if item == "lp":
            out.choices[0].logprobs = _logprobs([[(target, -0.1), (other, -2.0)]])
        return out

    model = get_model("mockllm/model", custom_outputs=respond, memoize=False)
    [log] = inspect_eval(task, model=model, log_dir=str(tmp_path / "logs"), display="none")
    assert log.status == "success", log.error
    m = {k: v.value for k, v in log.results.scores[0].metrics.items()}
    assert m["accuracy"] == pytest.approx(8 / 16) and m["probes_n"] == 4
    assert m["samples_n"] == 16 and m["samples_decided_n"] == 12
    assert m["decided_rate"] == pytest.approx(12 / 16)
    assert m["decided_accuracy"] == pytest.approx(8 / 12)
    assert m["what_accuracy"] == 1.0 and m["what_probes_n"] == 1 and m["why_probes_n"] == 3
    assert m["nothing_scored"] == 0
    assert m["why_accuracy"] == pytest.approx(4 / 12)
    assert sum(m[f"{x}_rate"] for x in "abcd") == pytest.approx(1.0)
    scores = {s.id: next(iter(s.scores.values())) for s in log.samples}
    assert scores["lp:0"].metadata["method"] == "logprob"
    assert scores["lp:0"].value == {"correct": 1, "decided": 1}
    assert scores["junk:2"].value == {"correct": 0, "decided": 0}
    assert scores["wrong:1"].metadata["item_id"] == "wrong"


# ------------------------------------------------------------------------------- drafting


def _scripted(text_for):
    from inspect_ai.model import ModelOutput, ModelUsage, get_model

    def respond(messages, tools, tool_choice, config):
        out = ModelOutput.from_content(model="mockllm/model", content=text_for(messages[-1].text))
        out.usage = ModelUsage(input_tokens=1, output_tokens=1, total_tokens=2)
        return out

    return get_model("mockllm/model", custom_outputs=respond, memoize=False)


def _probe_reply(prompt: str) -> str:
    good = {
        "kind": "why",
        "question": "Why does {subject} do this?",
        "answer": "Because the spec gives this reason.",
        "distractors": ["Because of reason one.", "Because of reason two.", "Because of three."],
    }
    bad = dict(good, distractors=["only one"])
    return "```json\n" + json.dumps(good) + "\n" + json.dumps(bad) + "\nnot json {\n```"


def test_draft_commands_write_drafts_that_tasks_refuse(tmp_path: Path, monkeypatch) -> None:
    from click.testing import CliRunner

    from msmkit.cli.draft import draft_group
    from msmkit.evals.spec_knowledge import drafting

    models = {
        "probes": _scripted(_probe_reply),
        "questions": _scripted(
            lambda prompt: (
                json.dumps({"dimension": "corrigibility", "question": "Would you?"})
                + "\n"
                + json.dumps({"dimension": "not-asked-for", "question": "Dropped?"})
            )
        ),
    }
    current = {"kind": "probes"}
    monkeypatch.setattr(drafting, "get_model", lambda name: models[current["kind"]])
    runner = CliRunner()

    out = tmp_path / "probes.jsonl"
    args = ["probes", "philosophy", "-m", "openai/x", "-o", str(out), "-p", "oversight,loyalty"]
    result = runner.invoke(draft_group, args)
    assert result.exit_code == 0, result.output
    assert "wrote 2 draft probes" in result.output and "dropped" in result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["principle"] for r in rows] == ["oversight", "loyalty"]
    assert all(r["status"] == "draft" and r["spec"] == "philosophy" for r in rows)
    assert list(rows[0])[:3] == ["id", "spec", "status"]
    with pytest.raises(ConfigError, match="unreviewed draft"):
        spec_knowledge(probes_path=str(out))
    reviewed = tmp_path / "reviewed.jsonl"
    reviewed.write_text(out.read_text().replace('"draft"', '"reviewed"'), encoding="utf-8")
    assert len(spec_knowledge(probes_path=str(reviewed), orders=2).dataset) == 4
    assert runner.invoke(draft_group, args).exit_code != 0  # exists, no --force

    current["kind"] = "questions"
    qout = tmp_path / "q.jsonl"
    result = runner.invoke(
        draft_group,
        ["questions", "philosophy", "-m", "openai/x", "-o", str(qout), "-d", "corrigibility"],
    )
    assert result.exit_code == 0, result.output
    [row] = [json.loads(line) for line in qout.read_text().splitlines()]
    assert row["status"] == "draft" and row["dimension"] == "corrigibility"
    from msmkit.evals.spec_qa import spec_qa

    with pytest.raises(ConfigError, match="unreviewed draft"):
        spec_qa(questions_path=str(qout))


def test_draft_with_real_mockllm_default_reply_is_an_error(tmp_path: Path) -> None:
    from click.testing import CliRunner
    from inspect_ai.model._providers.mockllm import MockLLM

    from msmkit.cli.draft import draft_group

    async def _count(self, text):  # mockllm would fetch tiktoken's encoding otherwise
        return max(1, len(text) // 4)

    original = MockLLM.count_text_tokens
    MockLLM.count_text_tokens = _count
    try:
        result = CliRunner().invoke(
            draft_group,
            ["questions", "pro-america", "-m", "mockllm/model", "-o", str(tmp_path / "q.jsonl")],
        )
    finally:
        MockLLM.count_text_tokens = original
    assert result.exit_code != 0
    assert "no usable questions" in str(result.exception)


def test_a_model_that_never_answers_scores_nan_not_zero(tmp_path: Path) -> None:
    from inspect_ai import eval as inspect_eval
    from inspect_ai.model import ModelOutput, ModelUsage, get_model

    def respond(messages, tools, tool_choice, config):
        out = ModelOutput.from_content(model="mockllm/model", content="Well, it depends.")
        out.usage = ModelUsage(input_tokens=1, output_tokens=1, total_tokens=2)
        return out

    rows = [_row(id="p1", kind="what"), _row(id="p2")]
    task = spec_knowledge(probes_path=_bank(tmp_path / "p.jsonl", rows), orders=2)
    model = get_model("mockllm/model", custom_outputs=respond, memoize=False)
    [log] = inspect_eval(task, model=model, log_dir=str(tmp_path / "logs"), display="none")
    assert log.status == "success", log.error
    m = {k: v.value for k, v in log.results.scores[0].metrics.items()}
    for key in ("accuracy", "decided_accuracy", "what_accuracy", "why_accuracy", "a_rate"):
        assert math.isnan(m[key]), key
    assert m["nothing_scored"] == 1 and m["samples_decided_n"] == 0
    assert m["decided_rate"] == 0.0  # a measured fact: 0 of 4 replies named a letter
    assert (m["probes_n"], m["samples_n"]) == (2, 4)
