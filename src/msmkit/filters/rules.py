"""Rule filters: length in words, model refusals and meta-chatter, unfilled templates.

Patterns are conservative regexes, case-insensitive (``(?-i:...)`` makes part of one
case-sensitive). Refusal patterns are searched only in the first ``REFUSAL_WINDOW``
characters: a refusal or "Here is a document" preamble opens a document, while the same
words deep inside one are usually ordinary prose.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

REFUSAL_WINDOW = 300

DEFAULT_REFUSAL_PATTERNS: tuple[str, ...] = (
    r"^\W*i(?:'m| am) sorry,? but\b",
    r"^\W*(?:i'm |i am )?(?:sorry|unfortunately),? (?:but )?i (?:can(?:no|')t|won't|am unable)",
    r"\bi (?:can(?:no|')t|won't|am unable to|am not able to) (?:help|assist|comply|create|"
    r"write|generate|produce|provide|fulfil+)\b",
    r"\bas an ai(?: language)? model\b",
    r"\bas a large language model\b",
    r"^\W*(?:sure|certainly|of course|okay|ok|absolutely)\b[^.\n]{0,40}\bhere(?:'s| is| are)\b",
    r"^\W*here(?:'s| is| are) (?:a|an|the|your|my)\b[^.\n]{0,60}\b(?:document|article|essay|"
    r"story|post|draft|piece|text|report|memo|email|letter|transcript)s?\b",
    r"^\W*(?:below is|the following is) (?:a|an|the)\b[^.\n]{0,60}\b(?:document|article|essay|"
    r"story|post|draft|piece|text)\b",
)

DEFAULT_PLACEHOLDER_PATTERNS: tuple[str, ...] = (
    r"\[(?:your |insert |company |first |last |full |author(?:'s)? |recipient(?:'s)? )?"
    r"(?:name|date|company|address|location|city|country|title|author|email|phone|number|"
    r"organi[sz]ation|product|placeholder|recipient|signature)\]",
    r"\[(?:insert|add|placeholder|todo|tbd)\b[^\]\n]{0,60}\]",
    r"\{\{?\s*[a-z_][a-z0-9_]{0,30}\s*\}\}?",
    r"<\s*(?:insert|placeholder|your)\b[^>\n]{0,60}>",
    r"\blorem ipsum\b",
    r"(?-i:\bTODO\b)",
    r"(?-i:\bXXX+\b)",
)


def word_count(text: str) -> int:
    return len(text.split())


def length_reason(text: str, min_words: int | None, max_words: int | None) -> str | None:
    """Why ``text`` is too short or too long, or None."""
    n = word_count(text)
    if min_words is not None and n < min_words:
        return f"{n} words < min_words {min_words}"
    if max_words is not None and n > max_words:
        return f"{n} words > max_words {max_words}"
    return None


class PatternFilter:
    """A list of regexes; ``match`` returns the first matched text, or None."""

    def __init__(self, patterns: Sequence[str], window: int | None = None) -> None:
        self.patterns = tuple(patterns)
        self.window = window
        self._compiled = [re.compile(p, re.IGNORECASE | re.MULTILINE) for p in self.patterns]

    def match(self, text: str) -> str | None:
        head = text if self.window is None else text[: self.window]
        for pattern in self._compiled:
            found = pattern.search(head)
            if found:
                return found.group(0).strip()[:80]
        return None


def refusal_filter(patterns: Sequence[str] | None = None) -> PatternFilter:
    return PatternFilter(DEFAULT_REFUSAL_PATTERNS if patterns is None else patterns, REFUSAL_WINDOW)


def placeholder_filter(patterns: Sequence[str] | None = None) -> PatternFilter:
    return PatternFilter(DEFAULT_PLACEHOLDER_PATTERNS if patterns is None else patterns)
