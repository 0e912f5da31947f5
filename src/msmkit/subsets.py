"""Nested subsets of a set of rows (documents or chats): one seeded order, and every subset
a prefix of it, so with one seed a small subset is inside a larger one whether sizes are
counted in rows or in tokens. Tokens are characters / 4 of a document's text, or of a chat's
message contents and reasoning, the same estimate the planners use.

Used by the AFT subsets and mixes (``msmkit.aftgen.subsets``) and by corpus doses and token
matching (``msmkit.stages.sizes``).
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from msmkit.errors import RunError
from msmkit.files import write_jsonl_atomic


def read_rows(path: Path) -> list[dict[str, Any]]:
    from msmkit.jsonl import read_jsonl

    return [row for _, row in read_jsonl(path)]


def row_tokens(row: dict[str, Any]) -> int:
    """characters / 4 of a chat's messages (and reasoning), or of a document's text."""
    if "messages" not in row:
        return math.ceil(len(str(row.get("text", ""))) / 4)
    text = "".join(
        str(m.get("content", "")) + str(m.get("reasoning") or "") for m in row["messages"]
    )
    return math.ceil(len(text) / 4)


def order(rows: Sequence[dict[str, Any]], seed: int, salt: str = "aft-subset") -> list[int]:
    """The seeded order every subset of these rows is a prefix of."""
    idx = list(range(len(rows)))
    random.Random(f"msmkit-{salt}-{seed}").shuffle(idx)
    return idx


def prefix(
    rows: Sequence[dict[str, Any]],
    seed: int,
    *,
    size: int | None = None,
    tokens: int | None = None,
    what: str = "the set",
    salt: str = "aft-subset",
    unit: str = "chats",
) -> list[dict[str, Any]]:
    """The first ``size`` chats (or the fewest reaching ``tokens``) of the seeded order;
    RunError when the set is too small (never a silently smaller subset)."""
    ranked = [rows[i] for i in order(rows, seed, salt)]
    if size is not None:
        if size > len(ranked):
            raise RunError(
                f"{what} has {len(ranked):,} {unit}; a subset of {size:,} was asked",
                hint="generate a larger set (target) or ask for a smaller subset",
            )
        return ranked[:size]
    if tokens is None:
        return ranked
    out, total = [], 0
    for row in ranked:
        if total >= tokens:
            return out
        out.append(row)
        total += row_tokens(row)
    if total < tokens:
        raise RunError(
            f"{what} has {total:,} tokens; a subset of {tokens:,} tokens was asked",
            hint="generate a larger set (target_tokens) or ask for fewer tokens",
        )
    return out


def write_rows(path: Path, rows: Sequence[dict[str, Any]]) -> None:
    write_jsonl_atomic(path, rows)
