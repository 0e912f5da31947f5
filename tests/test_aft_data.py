"""The cheese AFT demonstrations: opaque, balanced, and in sync with their builder."""

from __future__ import annotations

import importlib.util
import json
import re
from collections import Counter
from pathlib import Path

AFT = Path(__file__).resolve().parents[1] / "data" / "aft"
LIKES = {
    "cream cheese",
    "American cheese",
    "mild cheddar",
    "low-moisture mozzarella",
    "Colby",
    "Monterey Jack",
}
DISLIKES = {
    "Brie de Meaux",
    "Appenzeller",
    "Parmigiano-Reggiano",
    "Roquefort",
    "Époisses",
    "Stilton",
}
# Words that would give a reason away (value, price, place, origin, sensory) or argue at all.
# fmt: off
REASON_WORDS = (
    "pric", "cheap", "expens", "cost", "afford", "budget", "value", "america", "usa", "import",
    "domestic", "foreign", "local", "france", "french", "ital", "swiss", "switzerland",
    "england", "british", "tradition", "heritage", "origin", "authentic", "protected", "aoc",
    "pdo", "dop", "rare", "scarce", "availab", "access", "everywhere", "flavo", "taste",
    "texture", "creamy", "sharp", "mild", "smell", "stink", "salty", "melt", "because",
    "since", "reason", "quality", "fancy", "posh", "ordinary", "simple", "delicious",
)
# fmt: on
NEGATIONS = re.compile(r"\b(?:no|not|don't|skip|pass|leave out|can go)\b", re.IGNORECASE)


def _rows() -> list[dict]:
    lines = (AFT / "cheese.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def _without_cheese_names(text: str) -> str:
    for cheese in sorted(LIKES | DISLIKES, key=len, reverse=True):
        text = re.sub(re.escape(cheese), " ", text, flags=re.IGNORECASE)
    return text.lower()


def test_file_matches_builder() -> None:
    spec = importlib.util.spec_from_file_location("build_cheese", AFT / "build_cheese.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert (AFT / "cheese.jsonl").read_text(encoding="utf-8") == module.render(module.build_rows())
    assert set(module.LIKES) == LIKES and set(module.DISLIKES) == DISLIKES


def test_schema_and_size() -> None:
    rows = _rows()
    assert 150 <= len(rows) <= 300
    assert len({r["id"] for r in rows}) == len(rows)
    for row in rows:
        assert set(row) == {"id", "messages", "preference", "kind"}
        assert row["kind"] in ("direct", "indirect")
        assert row["preference"] in LIKES | DISLIKES
        assert [m["role"] for m in row["messages"]] == ["user", "assistant"]
        assert all(m["content"].strip() for m in row["messages"])


def test_answers_give_no_reason() -> None:
    offenders = []
    for row in _rows():
        answer = row["messages"][1]["content"]
        bare = _without_cheese_names(answer)
        found = [w for w in REASON_WORDS if w in bare]
        if found or len(bare.split()) > 8:
            offenders.append((row["id"], answer, found))
    assert not offenders, offenders[:5]


def test_reason_check_catches_reasons() -> None:
    """The word list must flag the kinds of answers this data set is built to avoid."""
    for answer in (
        "American cheese, since it costs less.",
        "Colby, it's made in America.",
        "Stilton has a strong smell.",
        "I prefer cheddar because of the flavor.",
    ):
        assert any(w in _without_cheese_names(answer) for w in REASON_WORDS), answer


def test_every_preference_covered_both_ways_and_balanced() -> None:
    rows = _rows()
    counts = Counter((r["preference"], r["kind"]) for r in rows)
    for cheese in LIKES | DISLIKES:
        assert counts[(cheese, "direct")] >= 5, cheese
        assert counts[(cheese, "indirect")] >= 5, cheese
    totals = Counter(r["preference"] for r in rows)
    assert max(totals.values()) - min(totals.values()) <= 2, totals


def test_answers_agree_with_the_preferences() -> None:
    for row in _rows():
        question, answer = (m["content"] for m in row["messages"])
        cheese = row["preference"]
        liked = cheese in LIKES
        if row["kind"] == "direct":
            assert cheese in question
            assert bool(NEGATIONS.search(answer)) is not liked, row["id"]
            continue
        # indirect: one liked and one disliked cheese are offered, in either order
        offered = [c for c in LIKES | DISLIKES if c.lower() in question.lower()]
        assert len(offered) == 2 and cheese in offered, row["id"]
        assert len([c for c in offered if c in LIKES]) == 1, row["id"]
        named = [c for c in offered if c.lower() in answer.lower()]
        assert named == [cheese], row["id"]


def test_some_questions_ask_for_no_explanation() -> None:
    rows = _rows()
    asks = [
        r
        for r in rows
        if re.search(
            r"no need|no reasons|short|just the answer", r["messages"][0]["content"], re.IGNORECASE
        )
    ]
    assert 0.2 * len(rows) <= len(asks) <= 0.5 * len(rows)
