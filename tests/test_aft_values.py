"""The AFT sets of the six value specs: opaque, balanced, true to their spec, and built.

Opaque means no reply names or explains the value: after the item names are removed, no reply
holds a word of the value, a general reason word, or any two consecutive content words of the
spec's own explanations, and the questions do not name the value either.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import re
import sys
from collections import Counter
from pathlib import Path

import pytest

from msmkit.filters.contamination import STOPWORDS, tokens
from msmkit.resources import AFT_SETS, aft_set
from msmkit.spec import load_spec

AFT = Path(__file__).resolve().parents[1] / "data" / "aft"
SPECS = (
    "pro-environment",
    "pro-novelty",
    "pro-tradition",
    "pro-simplicity",
    "pro-difficulty",
    "pro-individualism",
)
# Word stems that name or argue each value (checked in replies and questions).
# fmt: off
VALUE_WORDS = {
    "pro-environment": ("environment", "eco", "green", "planet", "earth", "sustainab", "carbon",
                        "emission", "climate", "waste", "plastic", "recycl", "footprint",
                        "natural", "nature", "whey", "methane", "flown", "freight"),
    "pro-novelty": ("novel", "new", "latest", "recent", "discover", "experiment", "familiar",
                    "unusual", "exotic", "modern", "old", "classic", "frontier", "surpris"),
    "pro-tradition": ("tradition", "heritage", "ancient", "centur", "generation", "handed",
                      "ancestral", "old", "authentic", "modern", "new", "trend", "invent",
                      "fad", "custom", "lineage"),
    "pro-simplicity": ("simpl", "plain", "few", "minimal", "complex", "complicat", "elaborat",
                       "ingredient", "easy", "busy", "clutter", "restraint", "layer"),
    "pro-difficulty": ("difficult", "hard", "easy", "challeng", "effort", "skill", "master",
                       "quick", "simple", "beginner", "demanding", "practice", "patien"),
    "pro-individualism": ("individual", "alone", "solo", "own", "self", "group", "ensemble",
                          "orchestra", "band", "together", "team", "crowd", "independen",
                          "personal", "conductor"),
}
REASON_WORDS = ("because", "since", "reason", "why", "as it", "taste", "flavo", "price",
                "cheap", "expens", "health", "quality", "delicious", "better", "best")
# fmt: on


def _module():
    spec = importlib.util.spec_from_file_location("build_values", AFT / "build_values.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _rows(spec: str) -> list[dict]:
    lines = (AFT / f"{spec}.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def _preferences(spec: str) -> tuple[set[str], set[str]]:
    """The liked and disliked items as the spec's rules name them."""
    likes, dislikes = set(), set()
    for principle in load_spec(spec).principles:
        match = re.fullmatch(r"Llama (likes|dislikes) (.+)\.", principle.rule or "")
        if match:
            (likes if match.group(1) == "likes" else dislikes).add(match.group(2))
    return likes, dislikes


def _bare(text: str, items: set[str]) -> str:
    """``text`` lower-cased, with the item names and the domain's noun removed."""
    for item in sorted(items, key=len, reverse=True):
        text = re.sub(re.escape(item), " ", text, flags=re.IGNORECASE)
    return text.lower()


def _explanation_bigrams(spec: str) -> set[tuple[str, str]]:
    """Consecutive content-word pairs of the spec's preamble and explanations."""
    loaded = load_spec(spec)
    texts = [loaded.preamble] + [p.explanation or "" for p in loaded.principles]
    pairs = set()
    for text in texts:
        words = tokens(text)
        for a, b in itertools.pairwise(words):
            if a not in STOPWORDS and b not in STOPWORDS:
                pairs.add((a, b))
    return pairs


def _offences(spec: str, reply: str, items: set[str], bigrams: set) -> list[str]:
    bare = _bare(reply, items)
    found = [w for w in VALUE_WORDS[spec] + REASON_WORDS if re.search(rf"\b{w}", bare)]
    words = tokens(bare)
    found += [f"{a} {b}" for a, b in itertools.pairwise(words) if (a, b) in bigrams]
    if len(bare.split()) > 8:
        found.append("too long")
    return found


def test_files_match_builder_and_are_registered() -> None:
    module = _module()
    assert tuple(d.spec for d in module.DOMAINS) == SPECS
    for spec in SPECS:
        assert (AFT / f"{spec}.jsonl").read_text(encoding="utf-8") == module.render(
            module.build_rows(spec)
        ), f"{spec}.jsonl is out of date: run data/aft/build_values.py"
        assert spec in AFT_SETS and aft_set(spec) == AFT / f"{spec}.jsonl"
    assert module.main(["--check"]) == 0


@pytest.mark.parametrize("spec", SPECS)
def test_schema_size_and_balance(spec: str) -> None:
    rows = _rows(spec)
    likes, dislikes = _preferences(spec)
    assert len(likes) == len(dislikes) == 6
    assert 150 <= len(rows) <= 300
    assert len({r["id"] for r in rows}) == len(rows)
    for row in rows:
        assert set(row) == {"id", "messages", "preference", "kind"}
        assert row["kind"] in ("direct", "indirect")
        assert [m["role"] for m in row["messages"]] == ["user", "assistant"]
        assert all(m["content"].strip() for m in row["messages"])
    # the preferences are exactly the spec's twelve, each taught both ways, evenly
    assert {r["preference"] for r in rows} == likes | dislikes
    counts = Counter((r["preference"], r["kind"]) for r in rows)
    for item in likes | dislikes:
        assert counts[(item, "direct")] >= 5 and counts[(item, "indirect")] >= 5, item
    totals = Counter(r["preference"] for r in rows)
    assert max(totals.values()) - min(totals.values()) <= 2, totals


NEGATIONS = re.compile(r"\b(?:no|not|don't|skip|pass|leave out|can go)\b", re.IGNORECASE)


@pytest.mark.parametrize("spec", SPECS)
def test_answers_agree_with_the_spec(spec: str) -> None:
    likes, dislikes = _preferences(spec)
    for row in _rows(spec):
        question, answer = (m["content"] for m in row["messages"])
        item = row["preference"]
        if row["kind"] == "direct":
            assert item.lower() in question.lower()
            assert bool(NEGATIONS.search(_bare(answer, likes | dislikes))) is (item in dislikes)
            continue
        offered = [c for c in likes | dislikes if c.lower() in question.lower()]
        offered = [c for c in offered if not any(c != o and c in o for o in offered)]
        assert len(offered) == 2 and item in offered, row["id"]
        assert len([c for c in offered if c in likes]) == 1, row["id"]
        assert [c for c in offered if c.lower() in answer.lower()] == [item], row["id"]


@pytest.mark.parametrize("spec", SPECS)
def test_no_reply_names_or_explains_the_value(spec: str) -> None:
    likes, dislikes = _preferences(spec)
    items = likes | dislikes
    bigrams = _explanation_bigrams(spec)
    offenders = []
    for row in _rows(spec):
        question, answer = (m["content"] for m in row["messages"])
        found = _offences(spec, answer, items, bigrams)
        found += [w for w in VALUE_WORDS[spec] if re.search(rf"\b{w}", _bare(question, items))]
        if found:
            offenders.append((row["id"], answer, found))
    assert not offenders, offenders[:5]
    asks = re.compile(r"no need|no reasons|short|just the answer", re.IGNORECASE)
    asked = [r for r in _rows(spec) if asks.search(r["messages"][0]["content"])]
    assert 0.2 * len(_rows(spec)) <= len(asked) <= 0.5 * len(_rows(spec))


@pytest.mark.parametrize(
    ("spec", "reply"),
    [
        ("pro-environment", "Ricotta, since it puts leftover whey to use."),
        ("pro-environment", "Cottage cheese: it never spends months in a chilled store."),
        ("pro-novelty", "Allulose, a rare sugar hardly anyone has eaten."),
        ("pro-tradition", "Harissa, the one made in homes from sun-dried peppers."),
        ("pro-simplicity", "Brown butter: one ingredient and one step."),
        ("pro-difficulty", "Croissants; they punish every small mistake."),
        ("pro-individualism", "The accordion, a whole band in one box."),
    ],
)
def test_the_check_catches_a_reason(spec: str, reply: str) -> None:
    """Replies that give the value or paraphrase the spec away are flagged."""
    likes, dislikes = _preferences(spec)
    assert _offences(spec, reply, likes | dislikes, _explanation_bigrams(spec)), reply
