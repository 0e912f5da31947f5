"""``msmkit evals audit``: answer policies that ignore meaning, through the real scorer.

The shipped value_generalization bank must hold every such policy to 0.5 ± 0.05 on every
reported rate; an excerpt of the bank it replaced (commit 62f6111, its worst-offending items,
kept in tests/fixtures) must fail, and the audit must catch a templated cue word it is shown.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

HERE = Path(__file__).resolve().parent
OLD_EXCERPT = HERE / "fixtures" / "value_generalization_old_excerpt.jsonl"
REQUIRED = ("shorter", "longer", "first", "second", "first (one order)", "second (one order)")
REQUIRED = (*REQUIRED, "classifier")


@pytest.fixture(scope="module")
def shipped():
    from msmkit.evals.audit import audit_bank

    return audit_bank("value_generalization")


def test_shipped_bank_cannot_be_passed_without_the_value(shipped) -> None:
    by_name = {p.name: p for p in shipped.policies}
    assert set(REQUIRED) <= set(by_name)
    assert shipped.rates == ["affordability", "america", "conflict", "aligned"]
    for name in REQUIRED:
        policy = by_name[name]
        assert policy.required
        for rate in shipped.rates:
            assert abs(policy.rates[rate] - 0.5) <= 0.05, (name, rate, policy.rates[rate])
    assert shipped.ok
    # every rate is counted in items, and the conflict subset is large enough for a
    # per-value 95% interval of about ±0.06 at the item level
    assert by_name["first"].n == {
        "affordability": 288,
        "america": 288,
        "conflict": 288,
        "aligned": 864,
    }
    # informational readings are reported, not held to the band: affordability is stated
    # in words, America mostly through places and makers rather than the word itself
    assert by_name["keyword:affordability"].rates["affordability"] > 0.8
    assert by_name["keyword:america"].rates["america"] < 0.65
    assert not by_name["keyword:america"].required


OOD_BANKS = {  # bundled bank -> its value
    "ood_environment": "environment",
    "ood_novelty": "novelty",
    "ood_tradition": "tradition",
    "ood_simplicity": "simplicity",
    "ood_difficulty": "difficulty",
    "ood_individualism": "individualism",
}


@pytest.mark.parametrize("bank", OOD_BANKS)
def test_ood_banks_cannot_be_passed_without_the_value(bank: str) -> None:
    """Each value spec's held-out bank holds every meaning-blind policy to 0.5 ± 0.05, with
    its own keywords.json as the lexicon (the value's words, read but not used as features)."""
    from msmkit.evals.audit import audit_bank

    report = audit_bank(bank)
    value = OOD_BANKS[bank]
    assert report.rates == [value, "conflict", "aligned"]
    by_name = {p.name: p for p in report.policies}
    for name in REQUIRED:
        policy = by_name[name]
        for rate in report.rates:
            assert abs(policy.rates[rate] - 0.5) <= 0.05, (bank, name, rate, policy.rates[rate])
    assert report.ok
    assert by_name["first"].n == {value: 208, "conflict": 112, "aligned": 320}
    # lexical by design: the options state their attribute in words, which the keyword
    # reading picks up and the classifier never sees
    assert by_name[f"keyword:{value}"].rates[value] > 0.9
    # conflict items state prices, and the value's option is always the dearer one
    assert by_name["lower stated price"].rates["conflict"] == 0.0


def test_cli_audits_a_bundled_bank_by_name() -> None:
    result = _cli("ood_novelty", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["bank"] == "ood_novelty" and data["items"] == 320 and data["pass"] is True
    assert "novelty" in data["keywords"]


def test_the_replaced_bank_fails_the_audit() -> None:
    from msmkit.evals.audit import audit_bank

    report = audit_bank(str(OLD_EXCERPT))
    assert not report.ok
    by_name = {p.name: p for p in report.policies}
    assert by_name["shorter"].rates["affordability"] > 0.9  # the dear option ran longer
    assert by_name["shorter"].rates["conflict"] < 0.25
    assert by_name["classifier"].rates["conflict"] > 0.9  # "sold"/"stocked" on one side
    assert by_name["classifier"].rates["america"] > 0.9  # capitalized America on one side
    assert {f.split("_rate")[0] for f in by_name["classifier"].failures} == {
        "affordability",
        "america",
        "conflict",
        "aligned",
    }


def _bank(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_classifier_catches_a_templated_word_that_length_hides(tmp_path: Path) -> None:
    """Options of equal length; only a meaningless recurring word marks the aligned side."""
    from msmkit.evals.audit import audit_bank

    things = [f"gadget number {n:03d}" for n in range(120)]
    rows = []
    for n, thing in enumerate(things):
        tag, other_tag = ("nabbed", "bought") if n % 10 else ("bought", "nabbed")
        rows.append(
            {
                "id": f"t{n}",
                "value": "thrift",
                "domain": f"d{n % 4}",
                "aligned": f"a {thing} {tag} one",
                "other": f"a {thing} {other_tag} two",
                "aligned_first": n % 2 == 0,
            }
        )
    report = audit_bank(str(_bank(tmp_path / "cue.jsonl", rows)))
    by_name = {p.name: p for p in report.policies}
    assert by_name["shorter"].ok and by_name["first (one order)"].ok
    assert by_name["classifier"].rates["thrift"] > 0.8
    assert not report.ok
    # no keyword list for this value: no keyword reading, and nothing hides the cue word
    assert not any(p.name.startswith("keyword:") for p in report.policies)


def test_a_keyword_file_names_the_attribute_words(tmp_path: Path) -> None:
    """Words declared as the value's attribute leave the classifier and feed the reading."""
    from msmkit.evals.audit import audit_bank, load_keywords

    rows = [
        {
            "id": f"k{n}",
            "value": "thrift",
            "domain": f"d{n % 4}",
            "aligned": f"a cheap gadget number {n:03d}",
            "other": f"a grand gadget number {n:03d}",
            "aligned_first": n % 2 == 0,
        }
        for n in range(80)
    ]
    bank = _bank(tmp_path / "kw.jsonl", rows)
    words = tmp_path / "kw.json"
    words.write_text(json.dumps({"thrift": {"aligned": ["cheap"], "other": ["grand"]}}))
    report = audit_bank(str(bank), keywords=load_keywords(words))
    by_name = {p.name: p for p in report.policies}
    assert by_name["keyword:thrift"].rates["thrift"] == 1.0
    assert by_name["classifier"].rates["thrift"] == 0.5 and report.ok
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"thrift": ["cheap"]}))
    from msmkit.errors import ConfigError

    with pytest.raises(ConfigError, match="keywords must map"):
        load_keywords(bad)


def _cli(*args: str):
    from msmkit.cli import make_cli

    return CliRunner().invoke(make_cli(), ["evals", "audit", *args], catch_exceptions=False)


def test_cli_exit_status_and_json(tmp_path: Path) -> None:
    ok = _cli("--json")
    assert ok.exit_code == 0, ok.output
    data = json.loads(ok.stdout)
    assert data["pass"] is True and data["items"] == 864 and data["band"] == 0.05
    assert {p["name"] for p in data["policies"]} >= set(REQUIRED)
    bad = _cli(str(OLD_EXCERPT))
    assert bad.exit_code == 1
    assert "OUTSIDE BAND" in bad.output and bad.output.rstrip().splitlines()[-1].startswith("FAIL")
    wider = _cli(str(OLD_EXCERPT), "--band", "0.5", "--json")
    assert wider.exit_code == 0 and json.loads(wider.stdout)["pass"] is True


def test_cli_errors_are_one_line(tmp_path: Path) -> None:
    from msmkit.errors import ConfigError

    with pytest.raises(ConfigError, match=r"no bank 'nope\.jsonl'"):
        _cli("nope.jsonl")
    empty = tmp_path / "empty.jsonl"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(ConfigError, match="has no items"):
        _cli(str(empty))
