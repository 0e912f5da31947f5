"""Reading a forced choice ("A" or "B") out of a model's reply.

Pure Python on purpose: nothing here imports Inspect, so the parser can be unit-tested and
reused (by plugins, notebooks, re-scoring scripts) without an eval running.

The order of checks matters. A reply may restate both labelled options before committing to
one, so a letter next to a word of choice ("I pick B", "Answer: B") outranks a bare label
("A) ..."), and a bare label outranks the option text. Anything ambiguous is undecided:
a wrong guess would bias the rate, an undecided reply only lowers ``decided_rate``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

Letter = Literal["A", "B"]
Method = Literal["parse", "logprob", "none"]

_THINK_BLOCK = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)
_THINK_OPEN = re.compile(r"<think>.*", re.DOTALL | re.IGNORECASE)
_THINK_CLOSE = re.compile(r"^.*?</think>", re.DOTALL | re.IGNORECASE)

# The whole reply is one letter, maybe wrapped: "B", "(A)", "**B**", "B.", "Answer: A".
_WHOLE = re.compile(
    r"^[\s*_`\"'\[(]*(?:(?i:final\s+answer|answer|choice)\s*[:\-]?\s*)?[\s*_`\"'\[(]*"
    r"([AB])[\s*_`\"'\])]*[.!:]?[\s*_`\"']*$"
)
# A letter right after a word of choice: "I'd go with B", "my answer is (A)", "I pick B".
_CHOICE_WORDS = (
    r"final\s+answer|answer|choice|choose|chose|pick|picked|prefer|select|selected|"
    r"go\s+with|going\s+with|opt\s+for"
)
_KEYWORD = re.compile(
    rf"(?i:\b(?:{_CHOICE_WORDS})\b(?:\s+(?:is|would\s+be|will\s+be))?)"
    r"\s*[:\-]?\s*(?:(?i:the\s+)?(?i:option|letter)\s+)?[*_`\"'(\[]*\s*([AB])(?![\w'])"
)
# "Option B" names an option without necessarily choosing it, so it only counts if unique.
_OPTION_WORD = re.compile(r"(?i:\boption)\s+\(?([AB])(?![\w'])")
# A label at the very start: "B) store-brand pasta", "(A) ...", "A. Because", "B - ...".
_LEADING = re.compile(r"^[\s*_`\"'\[(]*([AB])(?:\s*[).:\]]|\s+[-–—]|\s*$)")
# A label anywhere: "(B)" or "B)".
_LABEL = re.compile(r"(?:\(([AB])\)|(?<![\w(])([AB])\))")
# A standalone capital letter; "A" is skipped when it reads as the article ("A good pick").
_STANDALONE = re.compile(r"(?<![\w'])([AB])(?![\w'])")
_ARTICLE_AFTER = re.compile(
    r"\s+(?!(?:is|or|and|vs|versus|would|will|sounds|seems|wins|for|please|all|it)\b)[a-z]"
)

_TOKEN_NOISE = " \t\r\n\u2581\u0120\u010a()[]*_:.'\"`"


@dataclass(frozen=True)
class Choice:
    """The outcome of reading one reply: the letter picked (or None) and how it was found."""

    letter: Letter | None
    method: Method

    @property
    def decided(self) -> bool:
        return self.letter is not None


def strip_reasoning(text: str) -> str:
    """Remove ``<think>...</think>`` blocks (and an unclosed or unopened half of one)."""
    text = _THINK_BLOCK.sub(" ", text)
    text = _THINK_CLOSE.sub(" ", text) if "</think>" in text.lower() else text
    return _THINK_OPEN.sub(" ", text).strip()


def _normalize(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def _first_keyword_letter(text: str) -> Letter | None:
    match = _KEYWORD.search(text)
    return match.group(1) if match else None  # type: ignore[return-value]


def _unique(letters: Iterable[str]) -> Letter | None:
    found = set(letters)
    return found.pop() if len(found) == 1 else None  # type: ignore[return-value]


def _standalone_letters(text: str) -> list[str]:
    letters = []
    for match in _STANDALONE.finditer(text):
        letter = match.group(1)
        if letter == "A" and _ARTICLE_AFTER.match(text, match.end()):
            continue
        letters.append(letter)
    return letters


def _option_text_letter(text: str, option_a: str | None, option_b: str | None) -> Letter | None:
    if not option_a or not option_b:
        return None
    body = _normalize(text)
    has_a = _normalize(option_a) in body
    has_b = _normalize(option_b) in body
    if has_a != has_b:
        return "A" if has_a else "B"
    return None


def parse_choice(
    completion: str, option_a: str | None = None, option_b: str | None = None
) -> Letter | None:
    """Return "A", "B" or None for a reply to an A/B question.

    ``option_a``/``option_b`` are the option texts as shown; when given, a reply that names
    exactly one of them (and no letter) counts as choosing it.
    """
    text = strip_reasoning(completion)
    if not text:
        return None
    whole = _WHOLE.match(text)
    if whole:
        return whole.group(1)  # type: ignore[return-value]
    for finder in (
        _first_keyword_letter,
        lambda t: m.group(1) if (m := _LEADING.match(t)) else None,
        lambda t: _unique(_OPTION_WORD.findall(t)),
        lambda t: _unique(a or b for a, b in _LABEL.findall(t)),
        lambda t: _unique(_standalone_letters(t)),
    ):
        letter = finder(text)
        if letter:
            return letter
    return _option_text_letter(text, option_a, option_b)


def _clean_token(token: str) -> str:
    return token.strip(_TOKEN_NOISE)


def _letter(token: str) -> Letter | None:
    cleaned = _clean_token(token)
    return cleaned if cleaned in ("A", "B") else None  # type: ignore[return-value]


def logprob_choice(logprobs: Any) -> Letter | None:
    """Compare the log-probabilities of "A" and "B" at the first non-blank generated token,
    but only where that position is a letter position.

    ``logprobs`` is an Inspect ``Logprobs`` (``output.choices[0].logprobs``) or None. A
    position is a letter position when the token generated there, or its most probable
    candidate, is a letter. A reply that starts "Well" has no letter position, so it stays
    undecided even if "A" or "B" is somewhere in the top list: that would be a guess about a
    question the model did not answer. Tokens are compared after stripping whitespace,
    tokenizer space markers and brackets, so " A", "ĠA", "▁A" and "(A" all count as "A". A
    letter missing from the top list loses to one that is present.
    """
    content = getattr(logprobs, "content", None) or []
    for position in content:
        if not _clean_token(position.token):
            continue
        candidates = list(position.top_logprobs or []) or [position]
        finite = [c for c in candidates if math.isfinite(c.logprob)]
        top = max(finite, key=lambda c: c.logprob) if finite else None
        if _letter(position.token) is None and (top is None or _letter(top.token) is None):
            return None
        best: dict[str, float] = {}
        for candidate in finite:
            letter = _letter(candidate.token)
            if letter is not None:
                best[letter] = max(best.get(letter, -math.inf), candidate.logprob)
        if not best:
            return _letter(position.token)
        return max(best, key=lambda k: best[k])  # type: ignore[return-value]
    return None


def read_choice(
    completion: str,
    option_a: str | None = None,
    option_b: str | None = None,
    logprobs: Any = None,
) -> Choice:
    """Parse the reply; if that fails, compare letter logprobs at a letter position (see
    :func:`logprob_choice`); else undecided. ``Choice.method`` says which decided it."""
    letter = parse_choice(completion, option_a, option_b)
    if letter is not None:
        return Choice(letter, "parse")
    letter = logprob_choice(logprobs)
    if letter is not None:
        return Choice(letter, "logprob")
    return Choice(None, "none")


def as_list(value: str | Sequence[str] | None) -> list[str] | None:
    """A task argument that may be ``"a,b"``, ``["a", "b"]`` (what ``-T a,b`` gives) or None."""
    if value is None:
        return None
    parts = value.split(",") if isinstance(value, str) else [str(v) for v in value]
    return [p.strip() for p in parts if p.strip()]


def require_role(role: str = "grader") -> Any:
    """An Inspect solver that fails a sample before it generates when ``role`` is unbound.

    Use it as a task's ``setup`` so that a missing grader stops the run before the first
    target generation (every sample fails the same way), not after all of them.
    Inspect is imported here, not at module import.
    """
    from inspect_ai.model import get_model
    from inspect_ai.solver import Generate, TaskState, solver

    @solver(name=f"require_{role}_role")
    def _require() -> Any:
        async def solve(state: TaskState, generate: Generate) -> TaskState:
            get_model(role=role, required=True)
            return state

        return solve

    return _require()
