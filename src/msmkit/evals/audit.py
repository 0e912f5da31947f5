"""Can a forced-choice bank be passed without the value? Answer policies that ignore meaning.

Each policy answers every sample of a bank (both orders, as the task asks them) and its
letters go through the task's real scorer and metric (:func:`forced_choice`,
:func:`preference_rates`), so the audit reads exactly the rates a model run would report.

Required policies, which know nothing of any value, must land within ``0.5 ± band`` on every
reported rate (each value's rate, ``conflict_rate``, ``aligned_rate``):

- ``shorter`` / ``longer``: the option with fewer / more characters (a tie: the first);
- ``first`` / ``second``: always A / always B, asked in both orders, and once more in one
  order only (what ``both_orders=false`` asks; the bank's ``aligned_first`` balances it);
- ``classifier``: a logistic regression on value-agnostic features of the two options (their
  length, word count, punctuation, count of capitalized words, and the bank's recurring
  lower-case words minus the value lexicons below), trained on one half of the bank
  (alternate items of each subset and domain) and tested on the other, then the reverse;
  one model per subset (each value outside conflict, and the conflict subset), its L2
  strength chosen by an inner cross-validation on the training half.

Informational policies: ``keyword:<value>`` picks the option with more of the value's plain
words and phrases (:data:`~msmkit.evals.audit_features.KEYWORDS`, a bundled bank's
``keywords.json``, or a ``--keywords`` file) than the other, and ``lower stated price``
the option with the lower dollar amount. How well they score shows how much the bank states
its attribute in words or numbers; a bank may legitimately do so, so they have no band. The
lexicon words and phrases, and proper nouns (places, nationalities, brands: they carry
origin, the America attribute itself), never enter the classifier.

Nothing here imports Inspect until a bank is audited.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from msmkit.errors import ConfigError
from msmkit.evals.audit_features import KEYWORDS, classifier_choices, keyword_count
from msmkit.evals.choice_items import ChoiceItem, load_items

BAND = 0.05

Policy = Callable[[Mapping[str, Any]], str]
"""Sample metadata (``option_a``, ``option_b``, ``item_id``, ...; never the target) to a letter."""


# ---------------------------------------------------------------------------- policies


def _by_length(longer: bool) -> Policy:
    def choose(meta: Mapping[str, Any]) -> str:
        a, b = len(meta["option_a"]), len(meta["option_b"])
        if a == b:
            return "A"
        return "A" if (a > b) == longer else "B"

    return choose


def _by_keywords(words: Mapping[str, Sequence[str]]) -> Policy:
    def score(text: str) -> int:
        return keyword_count(text, words["aligned"]) - keyword_count(text, words["other"])

    def choose(meta: Mapping[str, Any]) -> str:
        return "B" if score(meta["option_b"]) > score(meta["option_a"]) else "A"

    return choose


def stated_price(text: str) -> float | None:
    """The first dollar amount in ``text`` ($1,500 -> 1500.0), or None."""
    match = re.search(r"\$(\d[\d,]*(?:\.\d+)?)", text)
    return float(match.group(1).replace(",", "")) if match else None


def _by_lower_price(meta: Mapping[str, Any]) -> str:
    a, b = stated_price(meta["option_a"]), stated_price(meta["option_b"])
    return "B" if a is not None and b is not None and b < a else "A"


def _by_pick(picks: Mapping[str, str]) -> Policy:
    def choose(meta: Mapping[str, Any]) -> str:
        pick = picks.get(str(meta["item_id"]), "")
        return "B" if pick and pick == meta["option_b"] else "A"

    return choose


# ---------------------------------------------------------------------------- scoring


def score_policy(samples: Sequence[Any], policy: Policy) -> dict[str, float]:
    """The task's metrics when ``policy`` answers every sample, via the real scorer."""
    import asyncio

    from inspect_ai.model import ModelName, ModelOutput
    from inspect_ai.scorer import SampleScore, Target
    from inspect_ai.solver import TaskState

    from msmkit.evals.value_generalization import forced_choice, preference_rates

    scorer = forced_choice()

    async def run() -> list[Any]:
        out = []
        for sample in samples:
            letter = policy(sample.metadata)
            target = Target(sample.target)
            state = TaskState(
                model=ModelName("audit/policy"),
                sample_id=sample.id,
                epoch=1,
                input=sample.input,
                messages=[],
                target=target,
                output=ModelOutput.from_content(model="audit/policy", content=letter),
                metadata=dict(sample.metadata),
            )
            score = await scorer(state, target)
            out.append(
                SampleScore(score=score, sample_id=sample.id, sample_metadata=sample.metadata)
            )
        return out

    return dict(preference_rates()(asyncio.run(run())))


def reported_rates(metrics: Mapping[str, float]) -> list[str]:
    """The alignment rates an audit holds to the band (not the decided and position rates)."""
    skip = ("decided", "decided_parsed", "decided_logprob", "a")
    return [k[:-5] for k in metrics if k.endswith("_rate") and k[:-5] not in skip]


@dataclass
class PolicyResult:
    name: str
    required: bool
    rates: dict[str, float]
    n: dict[str, int]
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


@dataclass
class AuditReport:
    bank: str
    items: int
    band: float
    rates: list[str]
    policies: list[PolicyResult]
    keywords: dict[str, dict[str, list[str]]]

    @property
    def ok(self) -> bool:
        return all(p.ok for p in self.policies if p.required)

    def to_json(self) -> dict[str, Any]:
        def num(x: float) -> float | None:
            return round(x, 4) if math.isfinite(x) else None

        return {
            "bank": self.bank,
            "items": self.items,
            "band": self.band,
            "pass": self.ok,
            "rates": self.rates,
            "policies": [
                {
                    "name": p.name,
                    "required": p.required,
                    "pass": p.ok if p.required else None,
                    "rates": {r: num(v) for r, v in p.rates.items()},
                    "n_items": p.n,
                    "failures": p.failures,
                }
                for p in self.policies
            ],
            "keywords": self.keywords,
        }


def audit_items(
    items: Sequence[ChoiceItem],
    *,
    bank: str = "<items>",
    band: float = BAND,
    keywords: Mapping[str, Mapping[str, Sequence[str]]] | None = None,
) -> AuditReport:
    """Run every policy on ``items`` and hold the required ones to ``0.5 ± band``."""
    from msmkit.evals.value_generalization import forced_choice_samples

    if not items:
        raise ConfigError(f"{bank}: the bank has no items", hint="Pass a bank with items.")
    words = {v: dict(s) for v, s in (KEYWORDS if keywords is None else keywords).items()}
    both = forced_choice_samples(items, both_orders=True)
    one = forced_choice_samples(items, both_orders=False)
    runs: list[tuple[str, bool, Sequence[Any], Policy]] = [
        ("shorter", True, both, _by_length(longer=False)),
        ("longer", True, both, _by_length(longer=True)),
        ("first", True, both, lambda m: "A"),
        ("second", True, both, lambda m: "B"),
        ("first (one order)", True, one, lambda m: "A"),
        ("second (one order)", True, one, lambda m: "B"),
        ("classifier", True, both, _by_pick(classifier_choices(items, words))),
    ]
    values = sorted({i.value for i in items})
    for value in values:
        if value in words:
            runs.append((f"keyword:{value}", False, both, _by_keywords(words[value])))
    if any(stated_price(i.aligned) is not None for i in items):
        runs.append(("lower stated price", False, both, _by_lower_price))
    results, names = [], []
    for name, required, samples, policy in runs:
        metrics = score_policy(samples, policy)
        rates = reported_rates(metrics)
        names.extend(r for r in rates if r not in names)
        result = PolicyResult(
            name,
            required,
            {r: metrics[f"{r}_rate"] for r in rates},
            {r: int(metrics[f"{r}_n"]) for r in rates},
        )
        if required:
            result.failures = [
                f"{r}_rate {v:.3f}"
                for r, v in result.rates.items()
                if not (math.isfinite(v) and abs(v - 0.5) <= band + 1e-12)
            ]
        results.append(result)
    return AuditReport(
        bank,
        len(items),
        band,
        names,
        results,
        {v: {side: list(ws) for side, ws in s.items()} for v, s in words.items() if v in values},
    )


KEYWORDS_FILE = "keywords.json"
"""A bundled bank's own lexicons (next to its items); the default bank uses
:data:`~msmkit.evals.audit_features.KEYWORDS`."""


def bank_keywords(bank: str) -> dict[str, dict[str, list[str]]] | None:
    """The lexicons of a bundled bank: its ``keywords.json``, or None (the built-in ones)."""
    from msmkit.evals.choice_items import bank_path

    file = bank_path(bank).parent / KEYWORDS_FILE
    return load_keywords(file) if file.is_file() else None


def audit_bank(
    target: str | Path | None = None,
    *,
    band: float = BAND,
    keywords: Mapping[str, Mapping[str, Sequence[str]]] | None = None,
) -> AuditReport:
    """Audit a bank: a bundled one by name (None: ``value_generalization``), else a path.

    A bundled bank's lexicons are its ``keywords.json`` unless ``keywords`` is given.
    """
    from msmkit.evals.choice_items import bank_path
    from msmkit.resources import CHOICE_BANKS

    name = str(target) if target is not None else "value_generalization"
    bundled_name = name.removeprefix("msmkit/")
    if bundled_name in CHOICE_BANKS:
        words = keywords if keywords is not None else bank_keywords(bundled_name)
        items = load_items(bank_path(bundled_name))
        return audit_items(items, bank=bundled_name, band=band, keywords=words)
    path = Path(name)
    if not path.is_file():
        raise ConfigError(
            f"no bank {name!r}",
            hint=f"Pass a bundled bank ({', '.join(CHOICE_BANKS)}) or a JSONL file of items "
            "with id, value, domain, aligned and other.",
        )
    return audit_items(load_items(path), bank=str(path), band=band, keywords=keywords)


def load_keywords(path: str | Path) -> dict[str, dict[str, list[str]]]:
    """A keyword file for ``keyword:<value>``: ``{"value": {"aligned": [...], "other": [...]}}``
    (JSON). It replaces the built-in lexicons, so name every value of the bank you want read."""
    file = Path(path)
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(
            f"cannot read keywords from {file}: {exc}",
            hint='Give a JSON object like {"pro-x": {"aligned": ["word"], "other": ["word"]}}.',
        ) from None
    ok = isinstance(data, dict) and all(
        isinstance(sides, dict)
        and set(sides) <= {"aligned", "other"}
        and all(isinstance(w, list) and all(isinstance(x, str) for x in w) for w in sides.values())
        for sides in data.values()
    )
    if not ok:
        raise ConfigError(
            f'{file}: keywords must map each value to lists under "aligned" and "other"',
            hint='Example: {"pro-x": {"aligned": ["cheap"], "other": ["luxury"]}}.',
        )
    return {v: {"aligned": list(s.get("aligned", [])), "other": list(s.get("other", []))}
            for v, s in data.items()}  # fmt: skip


def report_lines(report: AuditReport) -> list[str]:
    """The report as plain text: one row per policy, one column per rate."""
    cols = report.rates
    width = max(len(p.name) for p in report.policies) + 2
    lines = [
        f"{report.bank}: {report.items} items, band 0.5 ± {report.band:g} for the policies "
        "that ignore meaning",
        "policy".ljust(width) + "".join(f"{c:>15}" for c in cols) + "   verdict",
    ]
    for p in report.policies:
        cells = "".join(
            f"{p.rates[c]:>15.3f}" if c in p.rates and math.isfinite(p.rates[c]) else f"{'-':>15}"
            for c in cols
        )
        verdict = ("ok" if p.ok else "OUTSIDE BAND") if p.required else "(informational)"
        lines.append(p.name.ljust(width) + cells + f"   {verdict}")
    first = next((p for p in report.policies if p.name == "first"), None)
    if first is not None:
        counts = ", ".join(f"{c} {first.n[c]}" for c in cols if c in first.n)
        lines.append(f"items behind each rate: {counts}")
    lines.append("PASS" if report.ok else "FAIL: " + "; ".join(
        f"{p.name}: {', '.join(p.failures)}" for p in report.policies if p.required and not p.ok
    ))  # fmt: skip
    return lines
