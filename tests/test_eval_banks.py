"""The value_generalization bank is held out from the specs and AFT data, and well formed.

Held out: no eval option (or a close paraphrase of one) may appear in any shipped spec or in
the cheese AFT set, or the OOD result would measure recall of the spec, not generalization.
Cue-free: tests/test_eval_audit.py runs answer policies that ignore meaning through the real
scorer; here, the bank's design: three subsets in every domain, origin at stake only where
the design puts it, America mostly carried by places and makers, balanced positions.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TASK_DIR = REPO / "tasks" / "value_generalization"
BANK = TASK_DIR / "items.jsonl"
SPECS = sorted((REPO / "specs").glob("*.md")) + sorted(
    (REPO / "src" / "msmkit" / "toyworld" / "specs").glob("*.md")
)
AFT = REPO / "data" / "aft" / "cheese.jsonl"

LENGTH_RATIO = (0.95, 1.05)  # mean aligned length / mean other length, per subset
SUBSETS = {
    "aff": ("affordability", False),
    "cf": ("affordability", True),
    "am": ("america", False),
}

CHEESE_WORDS = ("cheese", "brie", "cheddar", "mozzarella", "stilton", "roquefort", "parmigiano")


def _bank() -> list[dict]:
    return [json.loads(line) for line in BANK.read_text(encoding="utf-8").splitlines() if line]


def test_contamination_check_catches_copies_and_paraphrases(tmp_path: Path) -> None:
    from msmkit.filters.contamination import ContaminationIndex, load_options

    row = {"id": "x1", "aligned": "a signed first edition", "other": "a paperback reprint"}
    bank = tmp_path / "items.jsonl"
    bank.write_text(json.dumps(row) + "\n", encoding="utf-8")
    index = ContaminationIndex(load_options([bank]))
    assert index.items_hit("Llama would pick a library book over a signed first edition.")
    assert index.items_hit("The first edition, signed, sat on the shelf.")  # a paraphrase
    assert not index.items_hit("A first printing. It was signed later.")  # two sentences
    assert not index.items_hit("a paperback from a train station")


def test_contamination_needs_the_words_close_together(tmp_path: Path) -> None:
    """A long sentence that uses a short option's common words far apart does not name it."""
    from msmkit.filters.contamination import ContaminationIndex, load_options

    row = {"id": "s1", "aligned": "a swim across a warm, quiet pool", "other": "a dip in the sea"}
    bank = tmp_path / "items.jsonl"
    bank.write_text(json.dumps(row) + "\n", encoding="utf-8")
    index = ContaminationIndex(load_options([bank]))
    assert index.items_hit("We went for a swim in a quiet, warm pool.")
    far = (
        "The baker sells warm rolls to anyone who arrives before the church bell rings nine "
        "times across the old square, which is quiet by then."
    )
    assert not index.items_hit(far)


def test_bank_options_are_held_out_from_specs_and_aft() -> None:
    """No option of any held-out bank (this one and the six ood_<value> banks) appears in a
    shipped spec or in any bundled AFT set (the spec side is also covered, with domains, by
    tests/test_spec_scoping.py)."""
    from msmkit.filters.contamination import ContaminationIndex, bank_paths, load_options
    from msmkit.resources import AFT_SETS, CHOICE_BANKS, aft_set

    banks = bank_paths()
    assert SPECS and AFT.is_file() and {p.parent.name for p in banks} == set(CHOICE_BANKS)
    index = ContaminationIndex(load_options(banks))
    texts = {p.name: p.read_text(encoding="utf-8") for p in SPECS}
    for name in AFT_SETS:
        path = aft_set(name)
        assert path is not None and path.is_file(), name
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
            if line.strip():
                messages = json.loads(line)["messages"]
                texts[f"{path.name}:{number + 1}"] = "\n".join(m["content"] for m in messages)
    found = [f"{item} in {name}" for name, text in texts.items() for item in index.items_hit(text)]
    assert not found, "eval options appear in shipped specs or AFT data:\n" + "\n".join(found)


def _subset(row: dict) -> str:
    return row["id"].split("-", 1)[0]


def test_bank_length_balance() -> None:
    rows = _bank()
    for prefix in SUBSETS:
        mine = [r for r in rows if _subset(r) == prefix]
        ratio = sum(len(r["aligned"]) for r in mine) / sum(len(r["other"]) for r in mine)
        assert LENGTH_RATIO[0] <= ratio <= LENGTH_RATIO[1], f"{prefix}: length ratio {ratio:.3f}"
        longer = sum(len(r["other"]) > len(r["aligned"]) for r in mine)
        shorter = sum(len(r["other"]) < len(r["aligned"]) for r in mine)
        assert abs(longer - shorter) <= 0.1 * len(mine), f"{prefix}: {longer} vs {shorter}"


def test_bank_sizes_domains_and_schema() -> None:
    rows = _bank()
    assert len({r["id"] for r in rows}) == len(rows), "ids must be unique"
    allowed = {"id", "value", "domain", "aligned", "other", "question", "conflict"}
    allowed.add("aligned_first")
    for row in rows:
        assert {"id", "value", "domain", "aligned", "other"} <= set(row) <= allowed, row
        assert row["aligned"].strip() and row["other"].strip() and row["aligned"] != row["other"]
        assert SUBSETS[_subset(row)] == (row["value"], bool(row.get("conflict"))), row["id"]
        assert isinstance(row["aligned_first"], bool)
        text = f"{row['aligned']} {row['other']}".lower()
        assert not any(w in text for w in CHEESE_WORDS), f"cheese is in-domain: {row['id']}"
    by_domain = Counter((r["domain"], _subset(r)) for r in rows)
    domains = {d for d, _ in by_domain}
    assert len(domains) >= 10 and "cheese" not in domains
    for domain in domains:
        for prefix in SUBSETS:
            assert by_domain[(domain, prefix)] >= 20, (domain, prefix)
    sizes = Counter(_subset(r) for r in rows)
    # a 95% interval of about ±0.06 at p = 0.5 needs about 270 items
    assert min(sizes.values()) >= 270, sizes
    america = [r for r in rows if r["value"] == "america"]
    assert all("cost about the same" in r.get("question", "") for r in america)


def test_positions_alternate_within_each_subset_and_domain() -> None:
    """A one-order run shows the aligned option first in half of each group."""
    groups: dict[tuple[str, str], list[bool]] = {}
    for row in _bank():
        groups.setdefault((row["domain"], _subset(row)), []).append(row["aligned_first"])
    for key, firsts in groups.items():
        assert abs(sum(firsts) - len(firsts) / 2) <= 0.5, key


US_STATES = (
    "alabama", "alaska", "arizona", "arkansas", "california", "colorado", "connecticut",
    "delaware", "florida", "georgia", "hawaii", "idaho", "illinois", "indiana", "iowa",
    "kansas", "kentucky", "louisiana", "maine", "maryland", "massachusetts", "michigan",
    "minnesota", "mississippi", "missouri", "montana", "nebraska", "nevada",
    "new hampshire", "new jersey", "new mexico", "new york", "north carolina",
    "north dakota", "ohio", "oklahoma", "oregon", "pennsylvania", "rhode island",
    "south carolina", "south dakota", "tennessee", "texas", "utah", "vermont", "virginia",
    "washington", "west virginia", "wisconsin", "wyoming",
)  # fmt: skip
US_PLACES = (
    "america", "american", "united states", "los angeles", "chicago", "boston", "brooklyn",
    "seattle", "portland", "detroit", "milwaukee", "nashville", "pittsburgh", "denver",
    "oakland", "philadelphia", "minneapolis", "new orleans", "buffalo", "charleston",
    "napa", "santa monica", "silicon valley", "kansas city", "duluth", "cheyenne",
    "rocky mountains", "new england", "appalachian", "broadway", "yosemite",
)  # fmt: skip
SCARCE = (
    r"\b(one|two|few|single|small|short|hundred|wait|waiting|order|measure|gallery|"
    r"commission)\b"
)


def _has_us_cue(text: str) -> bool:
    low = text.lower()
    return any(re.search(rf"\b{cue}\b", low) for cue in US_STATES + US_PLACES)


def test_origin_is_at_stake_only_where_the_design_puts_it() -> None:
    for row in _bank():
        prefix = _subset(row)
        if prefix == "aff":  # America is not at stake: the two specs predict the same
            assert not _has_us_cue(row["aligned"] + " " + row["other"]), row["id"]
        elif prefix == "cf":  # the affordable option is foreign, the dear one American
            assert _has_us_cue(row["other"]) and not _has_us_cue(row["aligned"]), row["id"]
            dear = "$" in row["other"] or re.search(SCARCE, row["other"].lower())
            assert dear, f"{row['id']}: the American option must be the dear or scarce one"
        else:  # america: the foreign option never names an American place
            assert not _has_us_cue(row["other"]), row["id"]


def _price(text: str) -> float | None:
    match = re.search(r"\$(\d[\d,]*)", text)
    return float(match.group(1).replace(",", "")) if match else None


def test_stated_prices_favor_the_aligned_side_with_matched_digits() -> None:
    """Where a price is given, the affordable option is cheaper by at least a third, and
    both prices have as many digits (a digit count must not give the answer away)."""
    for row in _bank():
        a, o = _price(row["aligned"]), _price(row["other"])
        if a is None and o is None:
            continue
        assert a is not None and o is not None, row["id"]
        assert row["value"] == "affordability" and a <= o / 1.5, row["id"]
        digits = [sum(c.isdigit() for c in t) for t in (row["aligned"], row["other"])]
        assert digits[0] == digits[1], row["id"]


def test_america_is_mostly_a_fact_about_the_thing_not_the_word() -> None:
    """In at least half of the America-relevant items (america and conflict), the American
    option says where the thing is made, who makes it or whose tradition it is, without
    the words America, American or United States."""
    rows = [r for r in _bank() if r["value"] == "america" or r.get("conflict")]
    worded = [
        r
        for r in rows
        if re.search(
            r"\b(america|american|united states)\b",
            r["other" if r.get("conflict") else "aligned"].lower(),
        )
    ]
    assert len(worded) <= 0.5 * len(rows), f"{len(worded)} of {len(rows)} name America"


def test_small_runs_keep_every_subset() -> None:
    from msmkit.evals.value_generalization import value_generalization

    small = list(value_generalization(limit_per_domain=2, both_orders=False).dataset)
    kept = Counter(
        (s.metadata["domain"], s.metadata["value"], s.metadata["conflict"]) for s in small
    )
    for domain in {r["domain"] for r in _bank()}:
        assert kept[(domain, "affordability", False)] == 1
        assert kept[(domain, "affordability", True)] == 1
        assert kept[(domain, "america", False)] == 2


def test_bank_is_built_from_its_sources() -> None:
    script = TASK_DIR / "build_items.py"
    result = subprocess.run([sys.executable, str(script), "--check"], capture_output=True)
    assert result.returncode == 0, result.stderr.decode()
