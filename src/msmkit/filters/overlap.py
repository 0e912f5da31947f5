"""Contamination of chat data (AFT prompts, reasoning and responses) by every eval bank.

Two kinds of eval text need two kinds of check:

* answer options (``value_generalization``'s item pairs): a chat that names an option, by
  :class:`~msmkit.filters.contamination.ContaminationIndex` (object and attribute together,
  never a shared place name alone);
* long texts, the questions of ``spec_qa`` and ``spec_knowledge`` and the prompts and emails
  of every ``agentic_misalignment`` condition: a chat that reproduces one, by shared word
  ``N``-grams (:class:`TextOverlapIndex`): at least half of a short text's n-grams, or
  ``LONG_HITS`` of a long one's (a pasted email or paragraph of a scenario).

``spec_knowledge``'s answer options paraphrase the spec, which AFT data teaches on purpose,
so only its questions are checked.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from msmkit.filters.contamination import ContaminationIndex, load_options, tokens

N = 6
SHORT_SHARE = 0.5
LONG_HITS = 20
QUESTION_FIELDS = ("question", "prompt")
_PLACEHOLDER = re.compile(r"\{[a-z_]+\}")


def ngrams(text: str, n: int = N) -> set[tuple[str, ...]]:
    words = tokens(_PLACEHOLDER.sub(" ", text))
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


@dataclass
class TextOverlapIndex:
    """Eval texts by their word n-grams; :meth:`items_hit` names those a text reproduces."""

    texts: dict[str, str] = field(default_factory=dict)  # item -> text
    _index: dict[tuple[str, ...], set[str]] = field(default_factory=dict, init=False)
    _need: dict[str, int] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        for item, text in self.texts.items():
            grams = ngrams(text)
            if not grams:
                continue
            self._need[item] = min(LONG_HITS, max(2, math.ceil(SHORT_SHARE * len(grams))))
            for gram in grams:
                self._index.setdefault(gram, set()).add(item)

    def items_hit(self, text: str) -> list[str]:
        counts: dict[str, int] = {}
        for gram in ngrams(text):
            for item in self._index.get(gram, ()):
                counts[item] = counts.get(item, 0) + 1
        return sorted(item for item, n in counts.items() if n >= self._need[item])


def bank_questions(paths: Iterable[Path]) -> dict[str, str]:
    """``bank/id`` -> question text of every row that has one."""
    from msmkit.filters.contamination import bank_rows

    out: dict[str, str] = {}
    for item, row in bank_rows(paths):
        for name in QUESTION_FIELDS:
            if isinstance(row.get(name), str):
                out[f"{item}/{name}"] = row[name]
    return out


def am_texts() -> dict[str, str]:
    """The system prompt and inbox of every agentic_misalignment condition (all scenarios,
    goal types, goals and urgencies the task can build), by condition id; empty when the
    task's templates (inspect_evals) are not installed."""
    try:
        from msmkit.evals.agentic_misalignment.prompts import (
            GOAL_TYPES,
            SCENARIOS,
            URGENCIES,
            build_grid,
            render,
        )

        grid = []
        for scenario in SCENARIOS:
            urgencies = ("replacement",) if scenario == "exfiltration" else URGENCIES
            grid += build_grid(
                scenarios=[scenario], goal_types=list(GOAL_TYPES), urgency=list(urgencies)
            )
        out: dict[str, str] = {}
        for condition in grid:
            prompts = render(condition)
            for part, text in (("system", prompts.system), ("emails", prompts.emails)):
                out[f"agentic_misalignment/{condition.id}/{part}"] = text
        return out
    except ImportError:
        return {}


@dataclass
class ChatContamination:
    """Every eval bank, for chat data: :meth:`items_hit` on a prompt, a reasoning or a
    response (see the module docstring)."""

    options: ContaminationIndex
    texts: TextOverlapIndex
    am_checked: bool = True

    @classmethod
    @lru_cache(maxsize=1)
    def installed(cls) -> ChatContamination:
        from msmkit.filters.contamination import bank_paths

        paths = bank_paths()  # every held-out choice bank
        questions = bank_paths(banks=["spec_qa", "spec_knowledge"])
        am = am_texts()
        index = TextOverlapIndex({**bank_questions(questions), **am})
        return cls(ContaminationIndex(load_options(paths)), index, am_checked=bool(am))

    def items_hit(self, text: str) -> list[str]:
        return sorted(set(self.options.items_hit(text)) | set(self.texts.items_hit(text)))
