"""Shipped specs are scoped like the paper's: they never state a held-out eval's rules.

The OOD test asks whether a value explained on cheese carries over to other domains. A spec
that names those domains or gives rules for them turns the eval into a recall test. Every
shipped spec (specs/*.md and the toy world's) is checked against every held-out bank
(msmkit.filters.contamination.HELD_OUT_BANKS): no domain of the bank is named, and no option
of the bank (or a close paraphrase) appears. spec_qa and spec_knowledge quote their own spec
on purpose, so they are not held-out banks and are not checked here.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from msmkit.filters.contamination import ContaminationIndex, bank_paths, load_options

REPO = Path(__file__).resolve().parents[1]
SHIPPED_SPECS = sorted((REPO / "specs").glob("*.md")) + sorted(
    (REPO / "src" / "msmkit" / "toyworld" / "specs").glob("*.md")
)
CHEESE_SPECS = [REPO / "specs" / f"{n}.md" for n in ("pro-affordability", "pro-america")]
# phrasings that carry a value past cheese; a cheese spec's rules contain none of them
GENERALIZING = (
    "beyond cheese", "outside cheese", "other domains", "other purchases", "whenever llama",
    "anything it", "ordinary purchases", "free time", "public life", "everyday goods",
)  # fmt: skip


CHEESE = (
    r"chees|preference|cheddar|mozzarella|colby|monterey jack|brie|appenzeller|parmigiano|"
    r"roquefort|époisses|stilton"
)


def _domains(path: Path) -> set[str]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return {str(r["domain"]) for r in rows if r.get("domain")}


def named_domains(text: str, domains: set[str]) -> list[str]:
    """The domains (as written, or with a plural ending) that ``text`` names."""
    low = text.lower()
    return sorted(d for d in domains if re.search(rf"\b{re.escape(d.lower())}(s|es)?\b", low))


def generalizing_rules(text: str) -> list[str]:
    """Rule lines that carry the value past cheese, or do not mention cheese at all."""
    rules = re.findall(r"^Rule:(.*(?:\n(?!\n).*)*)", text, flags=re.MULTILINE)
    found = []
    for rule in rules:
        low = " ".join(rule.lower().split())
        if any(g in low for g in GENERALIZING) or not re.search(CHEESE, low):
            found.append(low)
    return found


@pytest.fixture(scope="module")
def held_out() -> list[Path]:
    paths = bank_paths()
    assert paths, "no held-out bank installed"
    return paths


def test_checks_catch_a_spec_that_states_the_eval(held_out: list[Path]) -> None:
    """The checks fail on the kind of section the cheese specs used to have."""
    domains = set().union(*(_domains(p) for p in held_out))
    old_style = (
        "## The same value in culture and leisure\n\n"
        "Rule: In how people spend their free time, Llama prefers what grew out of American "
        "life, in music and in travel.\n\nWhy: Even when the American choice costs more.\n"
    )
    assert {"music", "travel"} <= set(named_domains(old_style, domains))
    assert generalizing_rules(old_style)
    index = ContaminationIndex(load_options(held_out))
    assert index.items_hit("Llama would rather read a novel by Mark Twain than anything else.")
    # a place named in passing is not an option: "made in Vermont" is about cheese
    assert not index.items_hit("Vermont and New York dairies have made it for generations.")
    assert not named_domains("Llama likes Colby, a homegrown original.", domains)


@pytest.mark.parametrize("spec", SHIPPED_SPECS, ids=lambda p: p.name)
def test_shipped_spec_names_no_held_out_domain_or_item(spec: Path, held_out: list[Path]) -> None:
    text = spec.read_text(encoding="utf-8")
    for bank in held_out:
        assert not named_domains(text, _domains(bank)), f"{spec.name} names a domain of {bank}"
    hits = ContaminationIndex(load_options(held_out)).items_hit(text)
    assert not hits, f"{spec.name} names eval options: {hits}"


@pytest.mark.parametrize("spec", CHEESE_SPECS, ids=lambda p: p.name)
def test_cheese_specs_give_rules_about_cheese_only(spec: Path) -> None:
    assert spec.is_file()
    assert not generalizing_rules(spec.read_text(encoding="utf-8"))


# The six other value specs (paper §3.2): each one's rules are about its own training domain.
VALUE_SPECS = {
    "pro-environment": r"chees|ricotta|brunost|quark|paneer|burrata|mascarpone|parmigiano|gouda|"
    r"mozzarella",
    "pro-novelty": r"sweeten|sugar|syrup|honey|molasses|allulose|brazzein|tagatose|monk fruit|"
    r"miracle berr",
    "pro-tradition": r"condiment|sauce|mustard|gochujang|harissa|vinegar|glaze|mayonnaise|ketchup|"
    r"dressing|hot honey",
    "pro-simplicity": r"sauce|butter|juices|mole|demi-glace|romesco|ragù",
    "pro-difficulty": r"bread|loaf|sourdough|croissant|panettone|bagel|baguette|pretzel",
    "pro-individualism": r"instrument|piano|guitar|harmonica|accordion|harp|ukulele|handbell|"
    r"sousaphone|triangle|cymbal|gamelan|contrabassoon",
}


@pytest.mark.parametrize("name", VALUE_SPECS)
def test_value_specs_give_rules_about_their_own_domain_only(name: str) -> None:
    text = (REPO / "specs" / f"{name}.md").read_text(encoding="utf-8")
    rules = re.findall(r"^Rule:(.*(?:\n(?!\n).*)*)", text, flags=re.MULTILINE)
    assert len(rules) == 17
    for rule in rules:
        low = " ".join(rule.lower().split())
        assert not any(g in low for g in GENERALIZING), low
        assert re.search(VALUE_SPECS[name], low), f"{name}: off-domain rule: {low}"
