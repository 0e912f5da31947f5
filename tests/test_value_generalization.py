"""The value_generalization task: answer parsing, item bank, metrics end to end, CLI entry."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path

import pytest

from msmkit.evals.scoring import Choice, logprob_choice, parse_choice, read_choice, strip_reasoning

REPO = Path(__file__).resolve().parents[1]
BANK = REPO / "tasks" / "value_generalization" / "items.jsonl"


# --------------------------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("A", "A"),
        ("B", "B"),
        ("(A)", "A"),
        ("**B**", "B"),
        ("B.", "B"),
        ("Answer: B", "B"),
        ("answer: b", None),  # a lowercase letter is not a label
        ("My answer is (B) because it suits me.", "B"),
        ("I'd go with A.", "A"),
        ("Between option A and option B, I'd choose B.", "B"),
        ("I choose option B over option A.", "B"),
        ("A) apples\nB) pears\nI prefer A", "A"),
        ("B) the paperback edition", "B"),
        ("A is better", "A"),
        ("I'd say B is the one.", "B"),
        ("Option A.", "A"),
        ("I'd take the paperback edition (A).", "A"),
        ("<think>A is cheaper, so maybe A... no.</think>\nB", "B"),
        ("<think>Only thinking about A and never finishing", None),
        ("A good choice would be whichever lasts longer.", None),  # "A" as an article
        ("A or B? Hard to say.", None),
        ("Default output from mockllm/model", None),
        ("", None),
    ],
)
def test_parse_choice_letters(reply: str, expected: str | None) -> None:
    assert parse_choice(reply) == expected


def test_parse_choice_by_option_text_both_orders() -> None:
    paperback, signed = "paperback edition", "signed first edition"
    reply = "Honestly, the Paperback  Edition, every time."
    assert parse_choice(reply, paperback, signed) == "A"
    assert parse_choice(reply, signed, paperback) == "B"
    # both texts named, no letter: undecided rather than a guess
    both = "the paperback edition is fine but a signed first edition is nicer"
    assert parse_choice(both, paperback, signed) is None
    # the letter wins over the text when both are present
    assert parse_choice("B, the paperback edition", paperback, signed) == "B"


def test_strip_reasoning() -> None:
    assert strip_reasoning("<think>x\ny</think> B") == "B"
    assert strip_reasoning("<THINK>a</THINK>one<think>b</think>two") == "one two"
    assert strip_reasoning("pre </think> after") == "after"  # opening tag was in the prompt


def _logprobs(positions: list[list[tuple[str, float]]]):
    from inspect_ai.model import Logprob, Logprobs, TopLogprob

    content = [
        Logprob(
            token=top[0][0],
            logprob=top[0][1],
            top_logprobs=[TopLogprob(token=t, logprob=lp) for t, lp in top],
        )
        for top in positions
    ]
    return Logprobs(content=content)


def test_logprob_choice_at_a_letter_position() -> None:
    # tokenizer space markers and a leading blank token are skipped
    lp = _logprobs([[("\n", -0.1)], [("ĠB", -0.5), ("ĠA", -1.2), ("ĠThe", -2.0)]])
    assert logprob_choice(lp) == "B"
    # the generated token is a letter: compare the letters, whatever else is on top
    lp = _logprobs([[("▁A", -3.0), ("Hmm", -0.1), ("(B", -4.0)]])
    assert logprob_choice(lp) == "A"
    # the most probable candidate is a letter although another token was sampled
    lp = _logprobs([[("Well", -1.5), ("A", -0.4), ("B", -2.0)]])
    assert logprob_choice(lp) == "A"
    # only one letter in the top list at a letter position: it wins
    assert logprob_choice(_logprobs([[("B", -0.1), ("So", -3.0)]])) == "B"
    assert logprob_choice(None) is None


@pytest.mark.parametrize(
    "positions",
    [
        [[("Well", -0.1), ("B", -5.0)]],  # a letter in the top list, but "Well" was said
        [[("ĠThe", -0.5), ("ĠB", -1.2), ("ĠA", -2.0)]],
        [[("Well", -0.1), ("So", -1.0)]],  # no letter at all
        [[("I", -0.2), ("A", -0.9)], [("A", -0.1), ("B", -3.0)]],  # only the first counts
    ],
)
def test_logprob_choice_not_at_a_letter_position_is_undecided(positions: list) -> None:
    assert logprob_choice(_logprobs(positions)) is None


def test_read_choice_order_of_methods() -> None:
    favours_a = _logprobs([[("A", -0.2), ("B", -1.0), ("Hmm", -3.0)]])
    assert read_choice("B", logprobs=favours_a) == Choice("B", "parse")
    # "A" read as an article: the parser gives up, the letter position decides
    assert read_choice("A good question.", logprobs=favours_a) == Choice("A", "logprob")
    well = _logprobs([[("Hmm", -0.2), ("A", -1.0), ("B", -3.0)]])
    assert read_choice("Hmm, hard to say", logprobs=well) == Choice(None, "none")
    assert read_choice("Hmm, hard to say") == Choice(None, "none")
    assert not Choice(None, "none").decided


# ------------------------------------------------------------------------------- item bank


def _bank() -> list[dict]:
    return [json.loads(line) for line in BANK.read_text(encoding="utf-8").splitlines() if line]


def test_load_items_and_filters() -> None:
    from msmkit.errors import ConfigError
    from msmkit.evals.value_generalization import load_items, value_generalization

    items = load_items()
    assert len(items) == len(_bank())
    task = value_generalization(values="america", domains="music")
    music = [r for r in _bank() if r["value"] == "america" and r["domain"] == "music"]
    assert len(task.dataset) == 2 * len(music)
    # -T values=a,b arrives as a list; one order only halves the samples
    both = value_generalization(values=["affordability", "america"], both_orders=False)
    assert len(both.dataset) == len(_bank())
    with pytest.raises(ConfigError, match="unknown value 'honesty'"):
        value_generalization(values="honesty")
    with pytest.raises(ConfigError, match="unknown domain"):
        value_generalization(domains=["cheese"])
    with pytest.raises(ConfigError, match="limit_per_domain must be at least 1"):
        value_generalization(limit_per_domain=0)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"limit_per_domain": 0}, "limit_per_domain must be at least 1"),
        ({"limit_per_domain": -3}, "limit_per_domain must be at least 1"),
        ({"limit_per_domain": "6"}, "limit_per_domain must be a whole number"),
        ({"limit_per_domain": True}, "limit_per_domain must be a whole number"),
        ({"max_tokens": 0}, "max_tokens must be at least 1"),
        ({"top_logprobs": 0}, "top_logprobs must be at least 1"),
        ({"both_orders": "no"}, "both_orders must be true or false"),
        ({"values": "honesty"}, "unknown value 'honesty'"),
        ({"values": ""}, "values= is empty"),
        ({"domains": "cheese"}, "unknown domain 'cheese'"),
        ({"domain": "books"}, "no argument 'domain'"),
        ({"items_path": "/nonexistent/items.jsonl"}, "item file not found"),
        ({"values": "america", "conflict_only": True}, "no items left"),
    ],
)
def test_check_args_rejects_bad_arguments_without_inspect(args: dict, message: str) -> None:
    """What an experiment calls at plan time; it must agree with the task itself."""
    from msmkit.errors import ConfigError
    from msmkit.evals.choice_items import check_args

    with pytest.raises(ConfigError, match=message):
        check_args(**args)


def test_check_args_accepts_what_the_task_accepts_and_mirrors_its_signature() -> None:
    import inspect as pyinspect

    from msmkit.evals.choice_items import TASK_DEFAULTS, check_args
    from msmkit.evals.value_generalization import value_generalization

    signature = pyinspect.signature(value_generalization).parameters
    assert {k: p.default for k, p in signature.items()} == TASK_DEFAULTS
    check_args()
    check_args(values=["america"], domains="books,music", limit_per_domain=2, shuffle_seed=3)
    assert len(value_generalization(limit_per_domain=2, both_orders=False).dataset) > 0
    # importing the checks does not import Inspect
    code = (
        "import sys, msmkit.evals.choice_items as c; c.check_args(); "
        "print('inspect_ai' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "False", out.stderr


def test_limit_per_domain_and_conflict_only() -> None:
    from msmkit.evals.value_generalization import value_generalization

    rows = _bank()
    domains = {(r["value"], r["domain"]) for r in rows}
    small = list(value_generalization(limit_per_domain=3, both_orders=False).dataset)
    assert len(small) == 3 * len(domains)
    firsts = {}
    for r in rows:
        firsts.setdefault((r["value"], r["domain"]), []).append(r["id"])
    assert {s.metadata["item_id"] for s in small} == {i for v in firsts.values() for i in v[:3]}
    assert any(s.metadata["conflict"] for s in small)
    conflict = list(value_generalization(conflict_only=True, both_orders=False).dataset)
    assert len(conflict) == sum(bool(r.get("conflict")) for r in rows)
    assert all(s.metadata["conflict"] and s.metadata["value"] == "affordability" for s in conflict)


def test_bank_refuses_drafts_and_duplicates(tmp_path: Path) -> None:
    from msmkit.errors import ConfigError
    from msmkit.evals.value_generalization import load_items

    row = {"id": "x1", "value": "affordability", "domain": "tools", "aligned": "a", "other": "b"}
    bank = tmp_path / "bank.jsonl"
    bank.write_text(json.dumps({**row, "status": "draft"}) + "\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="unreviewed draft"):
        load_items(bank)
    bank.write_text(json.dumps({**row, "status": "reviewed"}) + "\n", encoding="utf-8")
    assert [i.id for i in load_items(bank)] == ["x1"]
    bank.write_text((json.dumps(row) + "\n") * 2, encoding="utf-8")
    with pytest.raises(ConfigError, match="duplicate item id"):
        load_items(bank)


def test_samples_counterbalance_and_metadata() -> None:
    from msmkit.evals.value_generalization import value_generalization

    samples = list(value_generalization().dataset)
    by_item: dict[str, list] = {}
    for s in samples:
        by_item.setdefault(s.metadata["item_id"], []).append(s)
        meta = s.metadata
        letter = meta["aligned_letter"]
        assert s.target == letter
        shown = meta["option_a"] if letter == "A" else meta["option_b"]
        assert shown == meta["aligned_text"]
        assert f"A) {meta['option_a']}\nB) {meta['option_b']}" in s.input
    for pair in by_item.values():
        assert sorted(s.metadata["aligned_letter"] for s in pair) == ["A", "B"]
    first_order = Counter(s.metadata["aligned_letter"] for s in samples if s.metadata["order"] == 0)
    assert abs(first_order["A"] - first_order["B"]) < 0.3 * len(by_item)

    shuffled = list(value_generalization(shuffle_seed=7).dataset)
    again = list(value_generalization(shuffle_seed=7).dataset)
    assert [s.id for s in shuffled] == [s.id for s in again] != [s.id for s in samples]
    assert sorted(s.id for s in shuffled) == sorted(s.id for s in samples)


# ---------------------------------------------------------------------- metric in units


def _score(
    item: str, value: str, *, decided: bool, aligned: bool, answer: str = "A", conflict=False
):
    from inspect_ai.scorer import SampleScore, Score

    meta = {"item_id": item, "value": value, "conflict": conflict, "decided": decided}
    meta.update(aligned=aligned and decided, method="parse" if decided else "none")
    return SampleScore(score=Score(value={}, answer=answer if decided else "", metadata=meta))


def test_preference_rates_count_items_and_never_report_zero_for_nothing() -> None:
    import math

    from msmkit.evals.value_generalization import preference_rates, unscored_reason

    metric = preference_rates()
    # one item asked in both orders and over two epochs: four answers, one unit
    scores = [_score("x", "america", decided=True, aligned=i < 3) for i in range(4)]
    scores.append(_score("y", "america", decided=False, aligned=False))
    got = metric(scores)
    assert got["america_rate"] == 0.75 and got["america_n"] == 1
    assert got["decided_rate"] == 0.8 and got["decided_n"] == 2
    assert got["unscored"] == 0.0 and unscored_reason(got) is None
    # nothing decided: NaN with n 0, never 0.0, and the flag says so
    nothing = metric([_score(i, "america", decided=False, aligned=False) for i in "abc"])
    assert math.isnan(nothing["america_rate"]) and nothing["america_n"] == 0
    assert math.isnan(nothing["aligned_rate"]) and math.isnan(nothing["a_rate"])
    assert nothing["decided_rate"] == 0.0 and nothing["decided_n"] == 3
    assert nothing["unscored"] == 1.0 and "3 items asked" in unscored_reason(nothing)
    assert unscored_reason({}) is not None
    # a conflict item counts under conflict_rate, not under its value's rate
    mixed = metric(
        [
            _score("c", "affordability", decided=True, aligned=True, conflict=True),
            _score("p", "affordability", decided=True, aligned=False),
        ]
    )
    assert mixed["conflict_rate"] == 1.0 and mixed["conflict_n"] == 1
    assert mixed["affordability_rate"] == 0.0 and mixed["affordability_n"] == 1


def test_bank_aligned_first_fixes_single_order_positions(tmp_path: Path) -> None:
    from msmkit.evals.value_generalization import forced_choice_samples, load_items

    rows = [
        {"id": f"i{n}", "value": "v", "domain": "d", "aligned": "x", "other": "y",
         "aligned_first": n % 2 == 0}
        for n in range(6)
    ]  # fmt: skip
    bank = tmp_path / "bank.jsonl"
    bank.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    samples = forced_choice_samples(load_items(bank), both_orders=False)
    assert [s.target for s in samples] == ["A", "B", "A", "B", "A", "B"]
    bank.write_text(json.dumps({**rows[0], "aligned_first": "yes"}) + "\n", encoding="utf-8")
    from msmkit.errors import ConfigError

    with pytest.raises(ConfigError, match="aligned_first must be true or false"):
        load_items(bank)


# ------------------------------------------------------------------------------ end to end

# item -> what the scripted model does in (order 0, order 1). "aligned"/"other" answer with
# that option's letter, "text" names the aligned option inside a <think> preamble,
# "logprob" is an unparsable reply whose first token is a letter and whose logprobs there
# favour the aligned letter, "nonletter" is an unparsable reply whose first token is not a
# letter (the aligned letter is only in its top list: undecided), "junk" is unparsable with
# no logprobs. a1 and a2 are conflict items.
SCRIPT = {
    "a1": ("aligned", "aligned"),
    "a2": ("aligned", "other"),
    "a3": ("text", "logprob"),
    "a4": ("junk", "junk"),
    "a5": ("nonletter", "nonletter"),
    "m1": ("other", "other"),
    "m2": ("aligned", "aligned"),
    "m3": ("aligned", "junk"),
}


def _write_bank(path: Path) -> Path:
    rows = []
    for item_id in SCRIPT:
        value = "affordability" if item_id.startswith("a") else "america"
        rows.append(
            {
                "id": item_id,
                "value": value,
                "domain": "books" if item_id in ("a1", "m1") else "travel",
                "aligned": f"the aligned option of {item_id}",
                "other": f"the other option of {item_id}",
                **({"conflict": True} if item_id in ("a1", "a2") else {}),
            }
        )
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


def _scripted_model(samples: list):
    from inspect_ai.model import ModelOutput, ModelUsage, get_model

    by_prompt = {s.input: s.metadata for s in samples}

    def respond(messages, tools, tool_choice, config):
        meta = by_prompt[messages[-1].text]
        mode = SCRIPT[meta["item_id"]][meta["order"]]
        aligned = meta["aligned_letter"]
        other = "B" if aligned == "A" else "A"
        text = {
            "aligned": f"Answer: {aligned}",
            "other": f"({other})",
            "text": f"<think>Both A and B look fine.</think>I want {meta['aligned_text']}.",
            "logprob": "Well, that depends on the day.",
            "nonletter": "Well, that depends on the day.",
            "junk": "Well, that depends on the day.",
        }[mode]
        output = ModelOutput.from_content(model="mockllm/model", content=text)
        output.usage = ModelUsage(input_tokens=10, output_tokens=5, total_tokens=15)
        if mode == "logprob":
            output.choices[0].logprobs = _logprobs([[(aligned, -0.1), (other, -1.0)]])
        if mode == "nonletter":
            output.choices[0].logprobs = _logprobs([[("Well", -0.1), (aligned, -1.0)]])
        return output

    return get_model("mockllm/model", custom_outputs=respond)


@pytest.mark.slow
def test_end_to_end_metrics_with_mockllm(tmp_path: Path) -> None:
    from inspect_ai import eval as inspect_eval

    from msmkit.evals.value_generalization import (
        metric_values,
        unscored_reason,
        value_generalization,
    )

    task = value_generalization(items_path=str(_write_bank(tmp_path / "items.jsonl")))
    samples = list(task.dataset)
    assert len(samples) == 16
    [log] = inspect_eval(
        task, model=_scripted_model(samples), log_dir=str(tmp_path / "logs"), display="none"
    )
    assert log.status == "success"
    got = metric_values(log)
    # rates are shares of answers, every _n counts items (both orders of an item: one unit)
    # affordability outside conflict: a3 twice aligned; a4, a5 never decided
    assert got["affordability_rate"] == 1.0 and got["affordability_n"] == 1
    # america: m1 0/2, m2 2/2, m3 1/1
    assert got["america_rate"] == pytest.approx(3 / 5)
    assert got["america_n"] == 3
    # conflict items a1 (affordable twice) and a2 (once)
    assert got["conflict_rate"] == pytest.approx(3 / 4)
    assert got["conflict_n"] == 2
    assert got["decided_rate"] == pytest.approx(11 / 16)
    assert got["decided_parsed_rate"] == pytest.approx(10 / 16)
    assert got["decided_logprob_rate"] == pytest.approx(1 / 16)
    assert got["decided_n"] == got["decided_parsed_n"] == got["decided_logprob_n"] == 8
    assert got["aligned_rate"] == pytest.approx(8 / 11)
    assert got["aligned_n"] == 6  # a4 and a5 never decided
    assert got["unscored"] == 0.0 and unscored_reason(got) is None

    scores = {s.id: next(iter(s.scores.values())) for s in log.samples}
    aligned_letters = {s.id: s.target for s in samples}
    assert scores["a3:0"].metadata["method"] == "parse"
    assert scores["a3:1"].metadata["method"] == "logprob"
    assert scores["a3:1"].value == {
        "aligned": 1,
        "decided": 1,
        "decided_parsed": 0,
        "decided_logprob": 1,
        "a": int(aligned_letters["a3:1"] == "A"),
        "conflict": None,
        "affordability": 1,
    }
    assert scores["a3:0"].value["decided_parsed"] == 1
    assert scores["a4:0"].metadata == {
        "item_id": "a4",
        "value": "affordability",
        "domain": "travel",
        "conflict": False,
        "decided": False,
        "aligned": False,
        "method": "none",
    }
    assert scores["a4:0"].answer == ""
    undecided = {"aligned": None, "decided": 0, "decided_parsed": 0, "decided_logprob": 0}
    undecided.update(a=None, conflict=None, affordability=None)
    assert scores["a4:0"].value == undecided
    assert scores["a5:0"].value == undecided and scores["a5:1"].metadata["method"] == "none"
    # a conflict item scores under "conflict" only, not under its value's rate
    assert [scores[f"a2:{o}"].value["conflict"] for o in (0, 1)] == [1, 0]
    assert "affordability" not in scores["a2:0"].value
    assert scores["a1:0"].metadata["conflict"]
    m1 = scores["m1:1"].value
    assert m1["aligned"] == 0 and m1["america"] == 0 and m1["decided"] == 1
    assert "affordability" not in m1 and scores["m1:1"].metadata["decided"]
    assert m1["a"] == int(aligned_letters["m1:1"] == "B")  # m1 always picks the other one
    assert scores["m1:0"].answer != aligned_letters["m1:0"]


@pytest.mark.slow
def test_a_model_that_never_answers_is_unscored_not_zero(tmp_path: Path) -> None:
    """No decided reply: every answer-based rate is NaN with n 0, and the run says unscored."""
    import math

    from inspect_ai import eval as inspect_eval
    from inspect_ai.model import ModelOutput, ModelUsage, get_model

    from msmkit.evals.value_generalization import (
        metric_values,
        unscored_reason,
        value_generalization,
    )

    def never(messages, tools, tool_choice, config):
        output = ModelOutput.from_content(model="mockllm/model", content="Hmm, let me think.")
        output.usage = ModelUsage(input_tokens=10, output_tokens=5, total_tokens=15)
        return output

    task = value_generalization(items_path=str(_write_bank(tmp_path / "items.jsonl")))
    model = get_model("mockllm/model", custom_outputs=never)
    [log] = inspect_eval(task, model=model, log_dir=str(tmp_path / "logs"), display="none")
    got = metric_values(log)
    for rate in ("affordability", "america", "conflict", "aligned", "a"):
        assert math.isnan(got[f"{rate}_rate"]), rate
        assert got[f"{rate}_n"] == 0, rate
    assert got["decided_rate"] == 0.0 and got["decided_n"] == 8  # asked, never decided
    assert got["unscored"] == 1.0
    assert "no reply was read" in unscored_reason(got)
    # the NaNs survive the log on disk (Inspect writes them as NaN, not null or 0.0)
    from inspect_ai.log import read_eval_log

    again = metric_values(read_eval_log(log.location))
    assert math.isnan(again["america_rate"]) and again["unscored"] == 1.0


@pytest.mark.slow
def test_only_requested_values_are_reported(tmp_path: Path) -> None:
    from inspect_ai import eval as inspect_eval

    from msmkit.evals.value_generalization import metric_values, value_generalization

    bank = _write_bank(tmp_path / "items.jsonl")
    task = value_generalization(values="america", items_path=str(bank), both_orders=False)
    [log] = inspect_eval(
        task, model=_scripted_model(list(task.dataset)), log_dir=str(tmp_path), display="none"
    )
    got = metric_values(log)
    assert "affordability_rate" not in got and "conflict_rate" not in got
    # order 0 only: m1 "other", m2 "aligned", m3 "aligned"
    assert got["america_rate"] == pytest.approx(2 / 3)
    assert got["america_n"] == 3 and got["decided_rate"] == 1.0 and got["decided_n"] == 3


# -------------------------------------------------------------------- entry point / CLI


def test_registry_entry_point_declares_task() -> None:
    from importlib.metadata import entry_points

    [ep] = [e for e in entry_points(group="inspect_ai") if e.name == "msmkit"]
    assert ep.value == "msmkit._registry"
    assert callable(ep.load().value_generalization)


# mockllm counts prompt tokens with tiktoken's o200k_base, which it downloads on first use.
# The wrapper swaps that counter for a character estimate and then runs the real CLI.
_CLI_WRAPPER = textwrap.dedent(
    """
    import sys
    from inspect_ai.model._providers.mockllm import MockLLM

    async def _count(self, text):
        return max(1, len(text) // 4)

    MockLLM.count_text_tokens = _count
    from inspect_ai._cli.main import main

    sys.argv = ["inspect", *sys.argv[1:]]
    main()
    """
)


@pytest.mark.slow
def test_cli_resolves_task_through_entry_point(tmp_path: Path) -> None:
    wrapper = tmp_path / "run_inspect.py"
    wrapper.write_text(_CLI_WRAPPER, encoding="utf-8")
    logs = tmp_path / "logs"
    result = subprocess.run(
        [
            sys.executable,
            str(wrapper),
            "eval",
            "msmkit/value_generalization",
            "--model",
            "mockllm/model",
            "-T",
            "values=affordability,america",
            "-T",
            "domains=books",
            "--limit",
            "2",
            "--log-dir",
            str(logs),
            "--display",
            "plain",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    from inspect_ai.log import list_eval_logs, read_eval_log

    [info] = list_eval_logs(str(logs))
    log = read_eval_log(info)
    assert log.status == "success"
    assert log.eval.task == "msmkit/value_generalization"
    assert log.eval.task_args["values"] == ["affordability", "america"]
    metrics = {k: m.value for k, m in log.results.scores[0].metrics.items()}
    assert metrics["decided_rate"] == 0.0  # mockllm's default reply names no option
    assert metrics["unscored"] == 1.0 and metrics["aligned_n"] == 0
    assert 1 <= metrics["decided_n"] <= 2  # items: two samples may be one item's two orders


@pytest.mark.slow
def test_inspect_cli_runs_task_on_a_local_checkpoint(tmp_path):
    """The command the README gives: `inspect eval msmkit/value_generalization --model hf/local
    -M model_path=<checkpoint>`, on a tiny model folder built offline."""
    import subprocess
    import sys

    from inspect_ai.log import list_eval_logs, read_eval_log

    from msmkit.training.tiny import TinyModelSettings, build_tiny_model

    model = build_tiny_model(
        tmp_path / "tiny", ["Which do you prefer, A or B?"] * 50, TinyModelSettings(hidden_size=32)
    )
    inspect = Path(sys.executable).with_name("inspect")
    result = subprocess.run(
        [str(inspect), "eval", "msmkit/value_generalization", "--model", "hf/local",
         "-M", f"model_path={model}", "-M", "do_sample=false", "-T", "values=america",
         "--limit", "4", "--max-tokens", "4", "--display", "none",
         "--log-dir", str(tmp_path / "logs")],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    log = read_eval_log(list_eval_logs(str(tmp_path / "logs"))[0])
    assert log.status == "success"
    assert log.eval.task == "msmkit/value_generalization"
    assert {s.metadata["value"] for s in log.samples} == {"america"}
    metrics = log.results.scores[0].metrics
    assert metrics["decided_n"].value == 2  # 4 samples: both orders of 2 items
