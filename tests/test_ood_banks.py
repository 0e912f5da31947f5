"""The held-out banks of the six value specs (``tasks/ood_<value>/``): built, well formed, out
of every training domain, balanced, and runnable through ``msmkit/value_generalization``.

Cue-free: tests/test_eval_audit.py runs the meaning-blind policies on each bank. Held out:
tests/test_spec_scoping.py (specs) and tests/test_eval_banks.py (specs and AFT sets).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from msmkit.evals.bank_build import SAME_COST
from msmkit.resources import CHOICE_BANKS

REPO = Path(__file__).resolve().parents[1]
BANKS = {  # bank -> its value (the spec is pro-<value>)
    "ood_environment": "environment",
    "ood_novelty": "novelty",
    "ood_tradition": "tradition",
    "ood_simplicity": "simplicity",
    "ood_difficulty": "difficulty",
    "ood_individualism": "individualism",
}
FIELDS = {"id", "value", "domain", "question", "aligned", "other", "conflict", "against"}
FIELDS.add("aligned_first")
# Every spec's training domain, and the things its preferences are about: no option may be one.
TRAINING_WORDS = (
    r"\b(chees\w*|sweeten\w*|sugars?|syrups?|honey|molasses|condiments?|sauces?|mustard|"
    r"ketchup|mayo\w*|vinegar|harissa|gochujang|breads?|loaf|loaves|bagels?|croissants?|"
    r"pretzels?|baguettes?|panettone|sourdough|instruments?|pianos?|guitars?|harmonicas?|"
    r"accordions?|harps?|ukuleles?|handbells?|sousaphones?|cymbals?|gongs?|bassoons?)\b"
)
LENGTH_RATIO = (0.95, 1.05)


def _rows(bank: str) -> list[dict]:
    path = REPO / "tasks" / bank / "items.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def _price(text: str) -> float | None:
    match = re.search(r"\$(\d[\d,]*)", text)
    return float(match.group(1).replace(",", "")) if match else None


def test_every_bank_is_bundled() -> None:
    assert set(BANKS) <= set(CHOICE_BANKS)
    assert CHOICE_BANKS[0] == "value_generalization"  # the task's default stays first


@pytest.mark.parametrize("bank", BANKS)
def test_bank_is_built_from_its_sources(bank: str) -> None:
    script = REPO / "tasks" / bank / "build_items.py"
    result = subprocess.run([sys.executable, str(script), "--check"], capture_output=True)
    assert result.returncode == 0, result.stderr.decode()
    assert (REPO / "tasks" / bank / "README.md").is_file()


@pytest.mark.parametrize("bank", BANKS)
def test_schema_sizes_and_domains(bank: str) -> None:
    rows = _rows(bank)
    assert len({r["id"] for r in rows}) == len(rows), "ids must be unique"
    assert len(rows) >= 300
    by_domain = Counter((r["domain"], bool(r.get("conflict"))) for r in rows)
    domains = {d for d, _ in by_domain}
    assert len(domains) >= 6
    for domain in domains:
        assert by_domain[(domain, False)] >= 20 and by_domain[(domain, True)] >= 10, domain
    for row in rows:
        assert {"id", "value", "domain", "aligned", "other", "aligned_first"} <= set(row)
        assert set(row) <= FIELDS, row
        assert row["value"] == BANKS[bank]
        assert row["aligned"].strip() and row["other"].strip() and row["aligned"] != row["other"]
        assert isinstance(row["aligned_first"], bool)
        if row.get("conflict"):  # the value's option costs more: a plain question
            assert row["against"] == "affordability" and "question" not in row, row["id"]
        else:  # price and reach held equal by the question
            assert row["question"] == SAME_COST and "against" not in row, row["id"]
        text = f"{row['domain']} {row['aligned']} {row['other']}".lower()
        assert not re.search(TRAINING_WORDS, text), f"{row['id']} is in a training domain"


@pytest.mark.parametrize("bank", BANKS)
def test_prices_only_in_conflict_items_dearer_on_the_value_side(bank: str) -> None:
    """A conflict item states both prices with as many digits, the value's option at least
    1.5 times the other; a plain item states none (its question holds cost equal)."""
    for row in _rows(bank):
        a, o = _price(row["aligned"]), _price(row["other"])
        if not row.get("conflict"):
            assert a is None and o is None, row["id"]
            continue
        assert a is not None and o is not None and a >= 1.5 * o, row["id"]
        digits = [sum(c.isdigit() for c in t) for t in (row["aligned"], row["other"])]
        assert digits[0] == digits[1], row["id"]


@pytest.mark.parametrize("bank", BANKS)
def test_lengths_and_positions_are_balanced(bank: str) -> None:
    rows = _rows(bank)
    for conflict in (False, True):
        mine = [r for r in rows if bool(r.get("conflict")) == conflict]
        ratio = sum(len(r["aligned"]) for r in mine) / sum(len(r["other"]) for r in mine)
        assert LENGTH_RATIO[0] <= ratio <= LENGTH_RATIO[1], (conflict, ratio)
        longer = sum(len(r["other"]) > len(r["aligned"]) for r in mine)
        shorter = sum(len(r["other"]) < len(r["aligned"]) for r in mine)
        assert abs(longer - shorter) <= 0.1 * len(mine), (conflict, longer, shorter)
    groups: dict[tuple[str, bool], list[bool]] = {}
    for row in rows:
        groups.setdefault((row["domain"], bool(row.get("conflict"))), []).append(
            row["aligned_first"]
        )
    for key, firsts in groups.items():
        assert abs(sum(firsts) - len(firsts) / 2) <= 0.5, key


@pytest.mark.parametrize("bank", BANKS)
def test_keywords_file_names_the_bank_value(bank: str) -> None:
    from msmkit.evals.audit import bank_keywords

    words = bank_keywords(bank)
    assert words is not None and BANKS[bank] in words
    assert words[BANKS[bank]]["aligned"] and words[BANKS[bank]]["other"]


@pytest.mark.parametrize("bank", BANKS)
def test_the_task_runs_the_bank(bank: str) -> None:
    from msmkit.evals.choice_items import check_args
    from msmkit.evals.value_generalization import value_generalization

    rows = _rows(bank)
    check_args(bank=bank)
    task = value_generalization(bank=bank)
    assert len(task.dataset) == 2 * len(rows)
    assert {s.metadata["value"] for s in task.dataset} == {BANKS[bank]}
    conflict = value_generalization(bank=bank, conflict_only=True, both_orders=False)
    assert len(conflict.dataset) == sum(bool(r.get("conflict")) for r in rows)
    small = list(value_generalization(bank=bank, limit_per_domain=2, both_orders=False).dataset)
    domains = {r["domain"] for r in rows}
    kept = Counter((s.metadata["domain"], s.metadata["conflict"]) for s in small)
    assert all(kept[(d, False)] == 1 and kept[(d, True)] == 1 for d in domains), kept
    assert task.dataset.name == bank


def test_bank_argument_errors() -> None:
    from msmkit.errors import ConfigError
    from msmkit.evals.choice_items import check_args

    with pytest.raises(ConfigError, match="unknown bank 'ood_nope'"):
        check_args(bank="ood_nope")
    with pytest.raises(ConfigError, match="unknown bank"):
        check_args(bank=3)
    with pytest.raises(ConfigError, match="unknown value 'affordability'"):
        check_args(bank="ood_environment", values="affordability")
    bank = REPO / "tasks" / "ood_environment" / "items.jsonl"
    with pytest.raises(ConfigError, match=r"both bank='ood_novelty' and items_path"):
        check_args(bank="ood_novelty", items_path=str(bank))
    check_args(items_path=str(bank))  # a file with the default bank name is fine
