"""Length matching for value and rule augmentation.

Every augmented spec is brought into one window, ``target x (1 +- tolerance)`` words
(``Spec.word_count``), so a value-augmented and a rule-augmented spec made from the same spec
(one target: ``ratio`` x its words) are length-matched to each other. The drafts ask for a
little more than the target; a spec that came out short gets more from the model
(``extend`` rounds), and one that is long is trimmed deterministically, a whole sentence (value)
or a whole sub-rule (rule) at a time, always from the principle with the most added words, so
the principles stay balanced and a rerun trims exactly the same way.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from msmkit.specgen.build import sentences

if TYPE_CHECKING:
    from msmkit.spec import Spec

OVERSHOOT = 1.1
"""Drafts ask for this much more than their share of the target: trimming is free and exact,
lengthening costs requests."""
SUB_RULE_OVERHEAD = 6
"""Words a sub-rule principle adds besides its rule text (its heading and ``Rule:``)."""


@dataclass
class Plan:
    """What each augmented principle is asked for."""

    target: int
    low: int
    high: int
    fixed: int  # words of the spec that augmentation does not add
    per_principle: int  # added words each principle is asked for (before the overshoot)


def added_words(state: dict[str, list[Any]], pid: str, kind: str) -> int:
    if kind == "value":
        return sum(len(text.split()) for text in state.get(pid, []))
    return sum(len(str(i["rule"]).split()) + SUB_RULE_OVERHEAD for i in state.get(pid, []))


def trim(
    state: dict[str, list[Any]],
    build: Callable[[dict[str, list[Any]]], Spec],
    kind: str,
    low: int,
    high: int,
) -> tuple[dict[str, list[Any]], Spec, int]:
    """Remove whole sentences (value) or sub-rules (rule) until the spec is at most ``high``
    words, never below ``low``; each principle keeps at least one. Returns the state, the
    spec and how many pieces were removed."""
    spec = build(state)
    removed = 0
    while spec.word_count > high:
        for candidate in _candidates(state, kind):
            made = build(candidate)
            if made.word_count >= low:
                state, spec = candidate, made
                removed += 1
                break
        else:
            break  # every piece left would take it below the window
    return state, spec, removed


def _candidates(state: dict[str, list[Any]], kind: str) -> Iterator[dict[str, list[Any]]]:
    """States with one piece removed: from the principle with the most added words first."""
    order = sorted(state, key=lambda pid: (-added_words(state, pid, kind), list(state).index(pid)))
    for pid in order:
        pieces = state[pid]
        if kind == "rule":
            if len(pieces) > 1:
                yield {**state, pid: pieces[:-1]}
            continue
        paras = list(pieces)
        last = sentences(paras[-1])
        if len(paras) == 1 and len(last) <= 1:
            continue
        if len(last) <= 1:
            yield {**state, pid: paras[:-1]}
        else:
            yield {**state, pid: [*paras[:-1], " ".join(last[:-1])]}


def shortfall_requests(
    state: dict[str, list[Any]], kind: str, target: int, words: int, per_sub_rule: int
) -> list[tuple[str, int]]:
    """Which principles to lengthen, and by how much (words for value, sub-rules for rule),
    when the spec has ``words`` of its ``target``: the principles with the fewest added words,
    as few as cover the gap, each asked for a share of it plus a margin."""
    gap = max(1, target - words)
    wanted = math.ceil(gap * 1.25)
    order = sorted(state, key=lambda pid: (added_words(state, pid, kind), list(state).index(pid)))
    if kind == "value":
        k = min(len(order), max(1, math.ceil(wanted / 120)))
        each = max(30, math.ceil(wanted / k))
        return [(pid, each) for pid in order[:k]]
    per = per_sub_rule + SUB_RULE_OVERHEAD
    count = max(1, math.ceil(wanted / per))
    k = min(len(order), count)
    return [(pid, math.ceil(count / k)) for pid in order[:k]]
