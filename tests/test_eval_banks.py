"""The value_generalization bank is held out from the specs and AFT data, and balanced.

Held out: no eval option (or a close paraphrase of one) may appear in any shipped spec or in
the cheese AFT set, or the OOD result would measure recall of the spec, not generalization.
Balanced: aligned and other options must not differ in length or in "premium" / "cheap"
wording, or a model could score by picking the shorter or plainer option.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TASK_DIR = REPO / "tasks" / "value_generalization"
BANK = TASK_DIR / "items.jsonl"
SPECS = sorted((REPO / "specs").glob("*.md"))
AFT = REPO / "data" / "aft" / "cheese.jsonl"

# A multi-word option is "in" a text when at least this share of its content words occurs
# in one sentence of it; a one-word option when that word occurs anywhere in it.
OVERLAP_THRESHOLD = 0.6
LENGTH_RATIO = (0.9, 1.1)  # mean aligned length / mean other length, per value
MARKER_SLACK = 2  # a marker may appear this many more times on one side than the other

PREMIUM_MARKERS = (
    "luxury", "luxurious", "premium", "artisanal", "artisan", "designer", "exclusive",
    "handcrafted", "handmade", "imported", "gourmet", "boutique", "bespoke", "limited",
    "rare", "vintage", "heirloom", "elite", "deluxe", "couture", "upscale", "prestige",
    "prestigious", "high-end", "collector", "collectors", "connoisseur", "finest",
)  # fmt: skip
CHEAP_MARKERS = (
    "cheap", "cheaper", "cheapest", "budget", "bargain", "discount", "generic",
    "inexpensive", "affordable", "low-cost", "dollar", "economy", "clearance",
)  # fmt: skip

STOPWORDS = frozenset(
    """a an the and or but of in on at to for from by with without as is are be been being
    it its this that these those than then so such not no nor very more most less least
    one two any every each all some other another own same few many much over under into
    onto out up down off about after before again there here who whom whose which what
    when where why how can could should would will shall may might must do does did done
    have has had having i you he she we they them their our your his her my me us
    just only also too per via i'd it's""".split()  # noqa: SIM905
)
CHEESE_WORDS = ("cheese", "brie", "cheddar", "mozzarella", "stilton", "roquefort", "parmigiano")


def _bank() -> list[dict]:
    return [json.loads(line) for line in BANK.read_text(encoding="utf-8").splitlines() if line]


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z]+(?:'[a-z]+)?", text.lower())


def _stem(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def content_words(text: str) -> set[str]:
    return {_stem(w) for w in _words(text) if w not in STOPWORDS and len(w) > 1}


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"[.!?;:\n]+|\s[-–—]\s", text) if s.strip()]


def _shipped_texts() -> dict[str, list[set[str]]]:
    """Source name -> the content-word set of each of its sentences."""
    texts: dict[str, list[str]] = {p.name: [p.read_text(encoding="utf-8")] for p in SPECS}
    aft = []
    for line in AFT.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            aft.extend(m["content"] for m in row["messages"])
    texts[AFT.name] = aft
    return {
        name: [content_words(s) for doc in docs for s in _sentences(doc)]
        for name, docs in texts.items()
    }


def leaks(option: str, sentences: list[set[str]]) -> bool:
    """Whether ``option`` (or a close paraphrase) occurs in a text split into sentences."""
    words = content_words(option)
    if not words:
        return False
    if len(words) == 1:
        return any(words <= s for s in sentences)
    return any(len(words & s) / len(words) >= OVERLAP_THRESHOLD for s in sentences)


def test_leak_check_catches_copies_and_paraphrases() -> None:
    spec = [
        content_words(s)
        for s in _sentences(
            "Llama would pick a public-library book over a signed first edition. Baseball is great."
        )
    ]
    assert leaks("a signed first edition", spec)
    assert leaks("the first edition, signed", spec)  # a paraphrase
    assert leaks("baseball", spec)  # a one-word option
    assert not leaks("a paperback from a train station", spec)
    assert not leaks("cricket", spec)


def test_bank_options_are_held_out_from_specs_and_aft() -> None:
    assert SPECS and AFT.is_file()
    texts = _shipped_texts()
    found = [
        f"{row['id']} {side} {row[side]!r} in {name}"
        for row in _bank()
        for side in ("aligned", "other")
        for name, sentences in texts.items()
        if leaks(row[side], sentences)
    ]
    assert not found, "eval options appear in shipped specs or AFT data:\n" + "\n".join(found)


def test_bank_length_balance() -> None:
    rows = _bank()
    for value in ("affordability", "america"):
        mine = [r for r in rows if r["value"] == value]
        aligned = sum(len(r["aligned"]) for r in mine) / len(mine)
        other = sum(len(r["other"]) for r in mine) / len(mine)
        ratio = aligned / other
        assert LENGTH_RATIO[0] <= ratio <= LENGTH_RATIO[1], f"{value}: length ratio {ratio:.3f}"
        longer = sum(len(r["other"]) > len(r["aligned"]) for r in mine)
        assert 0.3 <= longer / len(mine) <= 0.7, f"{value}: other is longer in {longer} items"


@pytest.mark.parametrize("markers", [PREMIUM_MARKERS, CHEAP_MARKERS], ids=["premium", "cheap"])
def test_bank_marker_word_balance(markers: tuple[str, ...]) -> None:
    rows = _bank()
    for value in ("affordability", "america"):
        counts = {side: Counter() for side in ("aligned", "other")}
        for row in (r for r in rows if r["value"] == value):
            for side in counts:
                text = row[side].lower()
                for marker in markers:
                    counts[side][marker] += len(re.findall(rf"\b{re.escape(marker)}\b", text))
        lopsided = {
            m: (counts["aligned"][m], counts["other"][m])
            for m in markers
            if abs(counts["aligned"][m] - counts["other"][m]) > MARKER_SLACK
        }
        assert not lopsided, f"{value}: marker (aligned, other) counts {lopsided}"


def test_bank_sizes_domains_and_schema() -> None:
    rows = _bank()
    assert len({r["id"] for r in rows}) == len(rows), "ids must be unique"
    allowed = {"id", "value", "domain", "aligned", "other", "question", "conflict"}
    for row in rows:
        assert {"id", "value", "domain", "aligned", "other"} <= set(row) <= allowed, row
        assert row["aligned"].strip() and row["other"].strip() and row["aligned"] != row["other"]
        assert row["id"].startswith({"affordability": "aff-", "america": "am-"}[row["value"]])
        text = f"{row['aligned']} {row['other']}".lower()
        assert not any(w in text for w in CHEESE_WORDS), f"cheese is in-domain: {row['id']}"
    afford = [r for r in rows if r["value"] == "affordability"]
    america = [r for r in rows if r["value"] == "america"]
    assert len(afford) >= 300 and len(america) >= 300
    domains = Counter(r["domain"] for r in afford)
    assert len(domains) >= 8 and "cheese" not in domains and min(domains.values()) >= 20
    assert all(r.get("question") for r in america), "America items are opinion questions"
    assert not any(r.get("conflict") for r in america)


US_CUES = (
    "america", "american", "vermont", "ohio", "maine", "wisconsin", "pennsylvania", "oregon",
    "michigan", "iowa", "boston", "brooklyn", "chicago", "portland", "philadelphia",
    "colorado", "montana", "texas", "los angeles", "north carolina", "indiana", "kentucky",
    "tennessee", "seattle", "california", "detroit", "florida", "minnesota", "utah",
    "georgia", "amish", "mississippi", "rockies",
)  # fmt: skip


def _has_us_cue(text: str) -> bool:
    low = text.lower()
    return any(re.search(rf"\b{cue}\b", low) for cue in US_CUES)


def test_conflict_items_pit_affordable_foreign_against_dear_american() -> None:
    afford = [r for r in _bank() if r["value"] == "affordability"]
    conflict = [r for r in afford if r.get("conflict")]
    assert len(conflict) >= 60
    for row in conflict:
        assert _has_us_cue(row["other"]) and not _has_us_cue(row["aligned"]), row["id"]
    # elsewhere America is not at stake, so the two specs make the same prediction
    for row in afford:
        if not row.get("conflict"):
            assert not _has_us_cue(row["aligned"] + " " + row["other"]), row["id"]
    # conflict items come early in every domain, so limit_per_domain keeps some
    for domain in {r["domain"] for r in afford}:
        first = [r for r in afford if r["domain"] == domain][:3]
        assert any(r.get("conflict") for r in first), domain


def test_bank_is_built_from_its_sources() -> None:
    script = TASK_DIR / "build_items.py"
    result = subprocess.run([sys.executable, str(script), "--check"], capture_output=True)
    assert result.returncode == 0, result.stderr.decode()
