"""Eval contamination: documents that name an installed eval item's answer options.

LLM-written documents readily give the very examples an out-of-distribution eval asks
about. An option counts as named when, within one sentence of the document:

- a one-word option occurs as a whole word;
- an option with fewer than ``MIN_CONTENT`` content words (stopwords removed) occurs as
  its whole phrase (too few distinctive words to match them loosely);
- an option whose item's options share words (its *object*: "a chef's knife ..." against
  "a chef's knife ...") needs every object word and at least ``FRACTION`` of its other
  content words (the *attribute*: "from a supermarket"): the object alone, or the attribute
  alone ("a shop in Vermont", "a hardware chain"), is not the item;
- any other option needs at least ``FRACTION`` of its content words, its rarest among them;
- and in both cases at least ``FRACTION`` of the content words that are not part of a name
  (the option's capitalized words: places, makers, nationalities carry no match on their
  own, so "invented in the United States" does not name "a board game invented in the
  United States" unless the board game is there too), and the matched words close together
  (within about twice the option's length, ``WINDOW_FACTOR``; at least ``WINDOW_MIN`` tokens).

Content words shared by many options of the installed banks (a bank's template, such as
"made in China, sold at ...") are not counted as distinctive.

Each option is indexed under the one word every match of it must hold (its rarest object
word, or its rarest content word), so few options are checked per sentence. Long eval texts
(questions, scenarios) are matched by shared word n-grams instead: :mod:`msmkit.filters.overlap`.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from msmkit.resources import CHOICE_BANKS

FRACTION = 0.6
MIN_CONTENT = 3
COMMON_SHARE = 0.02  # a content word in more than this share of options is template
COMMON_MIN = 10
WINDOW_FACTOR = 2  # the matched words must lie within this many times the option's length
WINDOW_MIN = 10  # ... or within this many tokens, whichever is larger
OPTION_FIELDS = ("aligned", "other", "answer", "distractors", "options", "choices", "target")
"""Item fields that hold option text (a string or a list of strings)."""

_TOKEN = re.compile(r"[a-z0-9]+")
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
_STOPWORDS_TEXT = """a about above after again against all am an and any are as at be because
    been before being below between both but by can could did do does doing down during
    each few for from
    further had has have having he her here hers herself him himself his how i if in into is it
    its itself just me more most my myself no nor not of off on once only or other our ours
    ourselves out over own same she should so some such than that the their theirs them
    themselves then there these they this those through to too under until up very was we were
    what when where which while who whom why will with would you your yours yourself yourselves
    s t d ll re ve m one also may might must shall whatever whichever every
    across along around behind beside beyond near toward towards upon via within without"""
STOPWORDS = frozenset(_STOPWORDS_TEXT.split())


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


def sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE.split(text) if s.strip()]


@dataclass(frozen=True)
class EvalOption:
    """One option of one eval item: ``item`` is ``bank/id``."""

    item: str
    field: str
    text: str
    words: tuple[str, ...]  # the option's tokens
    content: frozenset[str]  # its content words
    names: frozenset[str] = frozenset()  # content words capitalized inside the option
    object: frozenset[str] = frozenset()  # content words every option of its item shares
    anchor: str = ""  # the word every match must hold (set by the index)

    @property
    def attribute(self) -> frozenset[str]:
        return self.content - self.object

    @property
    def needed(self) -> int:
        pool = self.attribute if self.object else self.content
        return max(1, math.ceil(FRACTION * len(pool) - 1e-9))

    @property
    def needed_plain(self) -> int:
        """Hits needed among the content words outside names."""
        return math.ceil(FRACTION * len(self.content - self.names) - 1e-9)

    @property
    def exact(self) -> bool:
        """Matched as a whole phrase (one word, or too few content words)."""
        return len(self.words) == 1 or len(self.content) < MIN_CONTENT

    def matches(self, sentence_tokens: list[str], sentence_set: set[str]) -> bool:
        if not self.exact:
            hits = self.content & sentence_set
            if len(hits - self.names) < self.needed_plain:
                return False
            if self.object:
                if not self.object <= sentence_set:
                    return False
                if len(self.attribute & sentence_set) < self.needed:
                    return False
            else:
                if self.anchor and self.anchor not in sentence_set:
                    return False
                if len(hits) < self.needed:
                    return False
            return self._close_together(sentence_tokens, hits)
        n = len(self.words)
        return any(
            tuple(sentence_tokens[i : i + n]) == self.words
            for i in range(len(sentence_tokens) - n + 1)
        )

    def _close_together(self, sentence_tokens: list[str], hits: set[str]) -> bool:
        """Whether enough of the hits fall within one window of the sentence (about twice the
        option's length), so that a long sentence does not name a short option merely by
        using three of its common words far apart."""
        span = max(WINDOW_MIN, WINDOW_FACTOR * len(self.words))
        where = [(i, w) for i, w in enumerate(sentence_tokens) if w in hits]
        for start, _ in where:
            inside = {w for i, w in where if start <= i < start + span}
            if len(inside) >= self.needed and len(inside - self.names) >= self.needed_plain:
                return True
        return False


HELD_OUT_BANKS = CHOICE_BANKS
"""Checked by default: out-of-distribution banks whose answers a training corpus must not
contain (``value_generalization`` and the ``ood_<value>`` banks). In-distribution banks
(spec_knowledge, spec_qa) quote the spec on purpose, so documents that teach the spec match
them; name them with ``banks=`` to check them too."""


def bank_paths(root: Path | None = None, banks: Sequence[str] | None = None) -> list[Path]:
    """The held-out eval banks (``HELD_OUT_BANKS``), or those named (a task folder, a
    ``task/file`` stem, or a path to a JSONL file)."""
    from msmkit.resources import bundled

    root = root or bundled("tasks")
    found = sorted(root.glob("*/*.jsonl"))
    if not banks:
        return [p for p in found if p.parent.name in HELD_OUT_BANKS]
    chosen: list[Path] = []
    for name in banks:
        path = Path(name)
        if path.suffix == ".jsonl" and path.is_file():
            chosen.append(path)
            continue
        hits = [p for p in found if p.parent.name == name or f"{p.parent.name}/{p.stem}" == name]
        if not hits:
            known = sorted({p.parent.name for p in found})
            raise ValueError(f"no eval bank {name!r} (installed: {', '.join(known)})")
        chosen.extend(hits)
    return chosen


def _bank_name(path: Path) -> str:
    return path.parent.name if path.stem == "items" else f"{path.parent.name}/{path.stem}"


def bank_rows(paths: Iterable[Path]) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(bank/id, row)`` for every JSON object row of the banks (the line number stands in
    for a missing id); other lines are skipped."""
    for path in paths:
        bank = _bank_name(path)
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
            try:
                row = json.loads(line) if line.strip() else None
            except json.JSONDecodeError:
                continue
            if isinstance(row, dict):
                yield f"{bank}/{row.get('id', n + 1)}", row


def load_options(paths: Iterable[Path]) -> list[EvalOption]:
    """Every option text in the banks; files or rows without option fields are skipped."""
    options: list[EvalOption] = []
    seen: set[tuple[str, str]] = set()
    for item, row in bank_rows(paths):
        for name in OPTION_FIELDS:
            value = row.get(name)
            texts = value if isinstance(value, list) else [value]
            for text in texts:
                if not isinstance(text, str) or (item, text) in seen:
                    continue
                words = tuple(tokens(text))
                content = frozenset(w for w in words if w not in STOPWORDS)
                if words and content:
                    seen.add((item, text))
                    names = frozenset(_names(text)) & content
                    options.append(EvalOption(item, name, text, words, content, names))
    return _with_objects(_drop_template_words(options))


def _with_objects(options: list[EvalOption]) -> list[EvalOption]:
    """Each option's object: the content words all options of its item share (when that
    leaves it an attribute to match too)."""
    by_item: dict[str, list[EvalOption]] = {}
    for o in options:
        by_item.setdefault(o.item, []).append(o)
    out = []
    for o in options:
        siblings = by_item[o.item]
        shared = frozenset.intersection(*(s.content for s in siblings))
        if len(siblings) > 1 and shared and o.content - shared:
            o = replace(o, object=shared)
        out.append(o)
    return out


def _names(text: str) -> list[str]:
    """Lower-cased words written with a capital after the first word (proper names)."""
    cased = re.findall(r"[A-Za-z0-9]+", text)
    return [w.lower() for w in cased[1:] if w[0].isupper()]


def _drop_template_words(options: list[EvalOption]) -> list[EvalOption]:
    """Words shared by many options of one bank ("made in China, sold at a ... chain") are
    that bank's template, not what makes an option distinctive: they leave the content
    words. Counted per bank, so that adding other banks does not change what is template."""
    by_bank: dict[str, list[int]] = {}
    for i, o in enumerate(options):
        by_bank.setdefault(o.item.rsplit("/", 1)[0], []).append(i)
    out = list(options)
    for members in by_bank.values():
        df = Counter(w for i in members for w in options[i].content)
        limit = max(COMMON_MIN, COMMON_SHARE * len(members))
        common = {w for w, n in df.items() if n > limit}
        for i in members:
            o = options[i]
            if o.content - common:
                out[i] = replace(o, content=o.content - common, names=o.names - common)
    return out


@dataclass
class ContaminationIndex:
    """Options indexed by their rarest content words, for a fast per-sentence check."""

    options: list[EvalOption]
    _index: dict[str, list[int]] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        df = Counter(w for o in self.options for w in o.content)
        for i, option in enumerate(self.options):
            pool = option.object or option.content
            anchor = min(pool, key=lambda w: (df[w], w))
            if not option.exact and not option.object:
                self.options[i] = option = replace(option, anchor=anchor)
            self._index.setdefault(anchor, []).append(i)

    @classmethod
    def installed(cls, banks: Sequence[str] | None = None) -> ContaminationIndex:
        return cls(load_options(bank_paths(banks=banks)))

    def hits(self, text: str) -> list[EvalOption]:
        """The options ``text`` names (each at most once), in bank order."""
        found: set[int] = set()
        index = self._index
        for sentence in sentences(text):
            toks = tokens(sentence)
            present = set(toks)
            candidates = {i for w in present if w in index for i in index[w]} - found
            for i in candidates:
                if self.options[i].matches(toks, present):
                    found.add(i)
        return [self.options[i] for i in sorted(found)]

    def items_hit(self, text: str) -> list[str]:
        return sorted({o.item for o in self.hits(text)})
