"""Nested subsets and mixes of a chat set, so a size sweep is one generation and N trainings.

Every draw starts from one seeded order of the set (:func:`order`): the subset of 50 is the
first 50 chats of that order, the subset of 100 the first 100, so with one seed
50 ⊂ 100 ⊂ 200, whether sizes are counted in chats or in tokens. With reasoning dropped the
chats are the same ones, without their ``reasoning`` field (the same samples, fewer tokens);
counting tokens without reasoning gives token-matched sets instead.

Tokens are counted without a tokenizer (characters / 4 of the user and assistant text, and
of the reasoning when kept), the same count the generator reports.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from msmkit.subsets import order, prefix, read_rows, row_tokens, write_rows

__all__ = [
    "mix",
    "order",
    "prefix",
    "read_rows",
    "row_tokens",
    "without_reasoning",
    "write_pair",
    "write_rows",
]


def without_reasoning(row: dict[str, Any]) -> dict[str, Any]:
    messages = [{k: v for k, v in m.items() if k != "reasoning"} for m in row["messages"]]
    return {**row, "messages": messages}


def mix(
    data: Sequence[dict[str, Any]],
    other: Sequence[dict[str, Any]],
    *,
    fraction: float,
    size: int,
    seed: int,
) -> list[dict[str, Any]]:
    """``size`` chats, ``round(size * fraction)`` of them from ``other`` (the first of its
    seeded order) and the rest from ``data`` (likewise), in a seeded order. Across fractions
    with one seed, each source's part is a prefix of the same order."""
    k = round(size * fraction)
    taken = prefix(other, seed, size=k, what="the other set") if k else []
    kept = prefix(data, seed, size=size - k, what="the set") if size - k else []
    rows = [{**r, "source": "data"} for r in kept] + [{**r, "source": "other"} for r in taken]
    random.Random(f"msmkit-aft-mix-{seed}").shuffle(rows)
    return rows


def write_pair(directory: Path, rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """``data.jsonl`` (rows as given) and ``data_no_reasoning.jsonl`` (the same rows without
    reasoning); the outputs a chats stage hands on."""
    from msmkit.hashing import sha256_file

    plain = [without_reasoning(r) for r in rows]
    write_rows(directory / "data.jsonl", rows)
    write_rows(directory / "data_no_reasoning.jsonl", plain)
    return {
        "data": "data.jsonl",
        "data_no_reasoning": "data_no_reasoning.jsonl",
        "items": len(rows),
        "tokens": sum(row_tokens(r) for r in rows),
        "tokens_no_reasoning": sum(row_tokens(r) for r in plain),
        "reasoning": any(m.get("reasoning") for r in rows for m in r["messages"]),
        "sha256": sha256_file(directory / "data.jsonl"),
    }
