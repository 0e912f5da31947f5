"""Forced-choice item banks: reading, filtering and argument checks, without Inspect.

``msmkit/value_generalization`` builds its samples from these items, and
:func:`check_args` validates that task's arguments the same way the task does, so an
experiment can reject a bad argument (``limit_per_domain=0``, an unknown domain or bank) at
plan time, before any model is loaded. The bundled banks are
:data:`msmkit.resources.CHOICE_BANKS`, each ``tasks/<bank>/items.jsonl``. Nothing here
imports Inspect.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from msmkit.errors import ConfigError, OptionError
from msmkit.evals.scoring import as_list
from msmkit.jsonl import read_jsonl
from msmkit.resources import CHOICE_BANKS, bundled

TASK_DIR = "value_generalization"
DEFAULT_BANK = TASK_DIR
ITEMS_FILE = "items.jsonl"
ITEM_FIELDS = ("id", "value", "domain", "aligned", "other")
OPTIONAL_FIELDS = ("question", "conflict", "against", "aligned_first", "status")

TASK_DEFAULTS: dict[str, Any] = {
    "values": None,
    "domains": None,
    "limit_per_domain": None,
    "conflict_only": False,
    "both_orders": True,
    "shuffle_seed": None,
    "items_path": None,
    "max_tokens": 64,
    "logprobs": True,
    "top_logprobs": 20,
    "cache": False,
    "bank": DEFAULT_BANK,
}
"""The arguments of ``msmkit/value_generalization`` and their defaults (a test keeps this
equal to the task's signature)."""


@dataclass(frozen=True)
class ChoiceItem:
    """One forced-choice item: ``aligned`` is the option the value favours.

    ``aligned_first`` fixes which option is shown as A when one order is asked (the bank can
    balance it); None leaves it to a hash of the id. A conflict item may name the value that
    pulls the other way (``against``, e.g. ``affordability``); it is documentation only.
    """

    id: str
    value: str
    domain: str
    aligned: str
    other: str
    question: str | None = None
    conflict: bool = False
    aligned_first: bool | None = None
    against: str | None = None

    @classmethod
    def from_row(cls, row: dict[str, Any], where: str = "<items>") -> ChoiceItem:
        missing = [k for k in ITEM_FIELDS if not row.get(k)]
        if missing:
            raise ConfigError(
                f"{where}: item is missing {', '.join(missing)}",
                hint='Each row needs "id", "value", "domain", "aligned" and "other".',
            )
        if row.get("status") == "draft":
            raise ConfigError(
                f"{where}: item {row['id']!r} is an unreviewed draft (status: draft)",
                hint="Review drafted items, then drop their status field (or set it to "
                '"reviewed") before using the bank.',
            )
        first = row.get("aligned_first")
        if first is not None and not isinstance(first, bool):
            raise ConfigError(
                f"{where}: aligned_first must be true or false, got {first!r}",
                hint="Leave it out to let the item's id decide the order.",
            )
        return cls(
            id=str(row["id"]),
            value=str(row["value"]),
            domain=str(row["domain"]),
            aligned=str(row["aligned"]),
            other=str(row["other"]),
            question=row.get("question") or None,
            conflict=bool(row.get("conflict", False)),
            aligned_first=first,
            against=row.get("against") or None,
        )


def bank_path(bank: str = DEFAULT_BANK) -> Path:
    """The items of a bundled bank (:data:`~msmkit.resources.CHOICE_BANKS`)."""
    check_bank(bank)
    return bundled("tasks") / bank / ITEMS_FILE


def default_bank() -> Path:
    return bank_path(DEFAULT_BANK)


def check_bank(bank: Any) -> None:
    """Raise ConfigError unless ``bank`` names a bundled bank."""
    if not isinstance(bank, str) or bank not in CHOICE_BANKS:
        raise ConfigError(
            f"unknown bank {bank!r}",
            hint=f"Bundled banks: {', '.join(CHOICE_BANKS)}; or pass items_path= for your own.",
        )


def load_items(path: str | Path | None = None) -> list[ChoiceItem]:
    """Read an item bank (JSON Lines). Default: the bundled value_generalization bank.

    Refuses rows with ``status: draft`` (what ``msmkit draft items`` writes) and duplicate ids.
    """
    file = Path(path) if path else default_bank()
    if not file.is_file():
        raise ConfigError(f"item file not found: {file}", hint="Pass an existing JSONL file.")
    items = [ChoiceItem.from_row(row, where=f"{file}:{n}") for n, row in read_jsonl(file)]
    seen: set[str] = set()
    for item in items:
        if item.id in seen:
            raise ConfigError(f"{file}: duplicate item id {item.id!r}", hint="Ids must be unique.")
        seen.add(item.id)
    return items


def limit_per_domain(items: list[ChoiceItem], limit: int | None) -> list[ChoiceItem]:
    """The first ``limit`` items (bank order) of each (value, domain)."""
    if limit is None:
        return items
    _check_int("limit_per_domain", limit, low=1)
    counts: dict[tuple[str, str], int] = {}
    kept = []
    for item in items:
        key = (item.value, item.domain)
        counts[key] = counts.get(key, 0) + 1
        if counts[key] <= limit:
            kept.append(item)
    return kept


def select(items: list[ChoiceItem], field: str, wanted: list[str] | None) -> list[ChoiceItem]:
    """Items whose ``field`` is one of ``wanted`` (None: all); unknown names are errors."""
    if wanted is None:
        return items
    if not wanted:
        raise ConfigError(
            f"{field}s= is empty", hint=f"Name at least one {field}, or leave it out."
        )
    known = sorted({getattr(i, field) for i in items})
    unknown = [w for w in wanted if w not in known]
    if unknown:
        raise ConfigError(
            f"unknown {field} {', '.join(map(repr, unknown))}",
            hint=f"Choose from: {', '.join(known)}.",
        )
    return [i for i in items if getattr(i, field) in wanted]


def _check_int(name: str, value: Any, *, low: int, high: int | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise OptionError(f"{name} must be a whole number, got {value!r}", loc=(name,))
    if value < low or (high is not None and value > high):
        bound = f"at least {low}" if high is None else f"between {low} and {high}"
        raise OptionError(f"{name} must be {bound}, got {value}", loc=(name,))


def _check_bool(name: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise OptionError(f"{name} must be true or false, got {value!r}", loc=(name,))


def _check_names(name: str, value: Any) -> None:
    ok = isinstance(value, str) or (
        isinstance(value, Sequence) and all(isinstance(v, str) for v in value)
    )
    if value is not None and not ok:
        raise ConfigError(
            f"{name} must be a comma-separated string or a list of names, got {value!r}"
        )


def filtered_items(
    values: str | Sequence[str] | None = None,
    domains: str | Sequence[str] | None = None,
    limit: int | None = None,
    conflict_only: bool = False,
    items_path: str | None = None,
    bank: str = DEFAULT_BANK,
) -> list[ChoiceItem]:
    """The items a value_generalization run asks, in bank order; never empty.

    ``items_path`` (a JSONL file) or else the bundled ``bank``; ``values`` None means every
    value in the bank.
    """
    _check_names("values", values)
    _check_names("domains", domains)
    _check_bool("conflict_only", conflict_only)
    if limit is not None:
        _check_int("limit_per_domain", limit, low=1)
    check_bank(bank)
    if items_path is not None and bank != DEFAULT_BANK:
        raise ConfigError(
            f"both bank={bank!r} and items_path= given",
            hint="Name a bundled bank or pass your own file, not both.",
        )
    items = load_items(items_path or bank_path(bank))
    items = select(items, "value", as_list(values))
    items = select(items, "domain", as_list(domains))
    if conflict_only:
        items = [i for i in items if i.conflict]
    items = limit_per_domain(items, limit)
    if not items:
        raise ConfigError(
            "no items left after filtering", hint="Check values=, domains=, conflict_only=."
        )
    return items


def check_args(**args: Any) -> None:
    """Raise ConfigError if ``args`` would not make a value_generalization task.

    The same checks the task runs, without Inspect and without building samples: unknown
    argument names, wrong types, ``limit_per_domain`` < 1, ``max_tokens`` < 1, an unknown
    bank, values or domains, an unreadable bank file, or a filter that leaves no item.
    """
    unknown = sorted(set(args) - set(TASK_DEFAULTS))
    if unknown:
        raise ConfigError(
            f"value_generalization has no argument {', '.join(map(repr, unknown))}",
            hint=f"Its arguments: {', '.join(TASK_DEFAULTS)}.",
        )
    merged = {**TASK_DEFAULTS, **args}
    for name in ("both_orders", "logprobs", "cache"):
        _check_bool(name, merged[name])
    _check_int("max_tokens", merged["max_tokens"], low=1)
    _check_int("top_logprobs", merged["top_logprobs"], low=1)
    if merged["shuffle_seed"] is not None:
        _check_int("shuffle_seed", merged["shuffle_seed"], low=0)
    path = merged["items_path"]
    if path is not None and not isinstance(path, str | Path):
        raise ConfigError(f"items_path must be a path, got {path!r}")
    filtered_items(
        merged["values"],
        merged["domains"],
        merged["limit_per_domain"],
        merged["conflict_only"],
        str(path) if path is not None else None,
        merged["bank"],
    )
