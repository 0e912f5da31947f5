"""Reading a choice among any number of lettered options ("A"-"D") out of a reply.

The same order of checks as :mod:`msmkit.evals.scoring` (which reads A/B choices and whose
functions are left untouched for their callers): a whole-reply letter, a letter after a word
of choice, a leading label, a unique "option X", a unique "(X)" label, a unique standalone
letter, then the option text; and the same logprob fallback. With ``letters="AB"`` the
parser agrees with :func:`msmkit.evals.scoring.parse_choice`. Pure Python, no Inspect.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from msmkit.evals.scoring import (
    _ARTICLE_AFTER,
    _CHOICE_WORDS,
    Method,
    _clean_token,
    _normalize,
    _unique,
    strip_reasoning,
)

__all__ = ["LetterChoice", "logprob_letter", "parse_letter", "read_letter"]


@dataclass(frozen=True)
class _LetterPatterns:
    whole: re.Pattern[str]
    keyword: re.Pattern[str]
    option_word: re.Pattern[str]
    leading: re.Pattern[str]
    label: re.Pattern[str]
    standalone: re.Pattern[str]


_PATTERNS: dict[str, _LetterPatterns] = {}


def _patterns(letters: str) -> _LetterPatterns:
    if letters not in _PATTERNS:
        if not letters or not letters.isalpha() or not letters.isupper():
            raise ValueError(f"letters must be upper-case letters, not {letters!r}")
        cls = f"[{re.escape(letters)}]"
        _PATTERNS[letters] = _LetterPatterns(
            whole=re.compile(
                r"^[\s*_`\"'\[(]*(?:(?i:final\s+answer|answer|choice)\s*[:\-]?\s*)?"
                rf"[\s*_`\"'\[(]*({cls})[\s*_`\"'\])]*[.!:]?[\s*_`\"']*$"
            ),
            keyword=re.compile(
                rf"(?i:\b(?:{_CHOICE_WORDS})\b(?:\s+(?:is|would\s+be|will\s+be))?)"
                rf"\s*[:\-]?\s*(?:(?i:the\s+)?(?i:option|letter)\s+)?[*_`\"'(\[]*\s*({cls})"
                r"(?![\w'])"
            ),
            option_word=re.compile(rf"(?i:\boption)\s+\(?({cls})(?![\w'])"),
            leading=re.compile(rf"^[\s*_`\"'\[(]*({cls})(?:\s*[).:\]]|\s+[-–—]|\s*$)"),
            label=re.compile(rf"(?:\(({cls})\)|(?<![\w(])({cls})\))"),
            standalone=re.compile(rf"(?<![\w'])({cls})(?![\w'])"),
        )
    return _PATTERNS[letters]


def _letters_standalone(text: str, pattern: re.Pattern[str]) -> list[str]:
    found = []
    for match in pattern.finditer(text):
        if match.group(1) == "A" and _ARTICLE_AFTER.match(text, match.end()):
            continue
        found.append(match.group(1))
    return found


def _options_text_letter(text: str, options: Sequence[str] | None, letters: str) -> str | None:
    if not options or len(options) != len(letters) or not all(options):
        return None
    body = _normalize(text)
    pairs = zip(letters, options, strict=False)
    named = [letter for letter, option in pairs if _normalize(option) in body]
    return named[0] if len(named) == 1 else None


def parse_letter(
    completion: str, options: Sequence[str] | None = None, letters: str = "ABCD"
) -> str | None:
    """Return the chosen label (one of ``letters``) or None, with the checks of ``parse_choice``.

    ``options`` are the option texts in the order shown (one per letter); when given, a reply
    that names exactly one of them and no letter counts as choosing it. With
    ``letters="AB"`` this agrees with :func:`parse_choice`.
    """
    text = strip_reasoning(completion)
    if not text:
        return None
    p = _patterns(letters)
    whole = p.whole.match(text)
    if whole:
        return whole.group(1)
    for finder in (
        lambda t: m.group(1) if (m := p.keyword.search(t)) else None,
        lambda t: m.group(1) if (m := p.leading.match(t)) else None,
        lambda t: _unique(p.option_word.findall(t)),
        lambda t: _unique(a or b for a, b in p.label.findall(t)),
        lambda t: _unique(_letters_standalone(t, p.standalone)),
    ):
        letter = finder(text)
        if letter:
            return letter
    return _options_text_letter(text, options, letters)


def _label(token: str, letters: str) -> str | None:
    cleaned = _clean_token(token)
    return cleaned if len(cleaned) == 1 and cleaned in letters else None


def logprob_letter(logprobs: Any, letters: str = "ABCD") -> str | None:
    """The most probable label at the first non-blank generated token, if that is a label.

    Follows :func:`msmkit.evals.scoring.logprob_choice`: the position counts only when the
    token generated there, or its most probable candidate, is one of ``letters``; a reply
    that starts "Well" stays undecided even if "C" is somewhere in its top list.
    """
    content = getattr(logprobs, "content", None) or []
    for position in content:
        if not _clean_token(position.token):
            continue
        candidates = list(position.top_logprobs or []) or [position]
        finite = [c for c in candidates if math.isfinite(c.logprob)]
        top = max(finite, key=lambda c: c.logprob) if finite else None
        if _label(position.token, letters) is None and (
            top is None or _label(top.token, letters) is None
        ):
            return None
        best: dict[str, float] = {}
        for candidate in finite:
            letter = _label(candidate.token, letters)
            if letter is not None:
                best[letter] = max(best.get(letter, -math.inf), candidate.logprob)
        if not best:
            return _label(position.token, letters)
        return max(best, key=lambda k: best[k])
    return None


@dataclass(frozen=True)
class LetterChoice:
    """The outcome of reading a reply to a many-option question."""

    letter: str | None
    method: Method

    @property
    def decided(self) -> bool:
        return self.letter is not None


def read_letter(
    completion: str,
    options: Sequence[str] | None = None,
    logprobs: Any = None,
    letters: str = "ABCD",
) -> LetterChoice:
    """Parse the reply; if that fails, fall back to first-token logprobs; else undecided."""
    letter = parse_letter(completion, options, letters)
    if letter is not None:
        return LetterChoice(letter, "parse")
    letter = logprob_letter(logprobs, letters)
    if letter is not None:
        return LetterChoice(letter, "logprob")
    return LetterChoice(None, "none")
