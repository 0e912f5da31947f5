"""Strict reading of completions: a list step's JSON items, a document between its markers.

Nothing is repaired. A completion is either accepted or rejected with one reason from
``REASONS``; the pipeline retries a rejected request (a new id, attempt + 1) or counts it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from msmkit.llm.base import LLMResult

REASONS = (
    "error",  # no completion (provider error after the executor's retries)
    "truncated",  # stop_reason max_tokens: the output budget ran out
    "refusal",  # stop_reason refusal/content_filter, or a refusal in the text
    "missing_markers",  # no <document>...</document> (or <items>...</items>)
    "bad_list",  # <items> without a JSON array of objects with the required fields
    "empty",  # markers present but (almost) nothing between them
    "placeholder",  # a template placeholder such as [Name] left in the document
)

_ITEMS = re.compile(r"<items>(.*?)</items>", re.DOTALL)
_DOC_OPEN = "<document>"
_DOC_CLOSE = "</document>"
_FENCE = re.compile(r"^```[a-zA-Z]*\s*|\s*```$")
_REFUSAL = re.compile(
    r"^\s*(I'm sorry|I am sorry|I can(?:'|no)t|I won't|I will not|I'm not able|I am unable|"
    r"Sorry, but|I must decline)",
    re.IGNORECASE,
)
_PLACEHOLDER = re.compile(
    r"\[(?:your |insert |the )?(?:name|company|date|organization|organisation|author|"
    r"location|city|product|person|recipient|title)(?: name| here)?\]",
    re.IGNORECASE,
)


@dataclass
class Verdict:
    """What a completion gave: ``value`` (items or document text) or a rejection ``reason``."""

    value: Any = None
    reason: str | None = None
    detail: str = ""
    dropped: int = 0  # list items without the required fields (the others were kept)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.reason is None


def _status(result: LLMResult) -> Verdict | None:
    if result.error is not None or result.stop_reason == "error":
        return Verdict(reason="error", detail=result.error or "error")
    if result.stop_reason == "max_tokens":
        return Verdict(reason="truncated", detail="the completion hit max_tokens")
    if result.stop_reason in ("refusal", "content_filter"):
        return Verdict(reason="refusal", detail=f"stop_reason {result.stop_reason}")
    return None


def parse_items(result: LLMResult, required: Sequence[str]) -> Verdict:
    """The JSON array inside the last ``<items>`` block; each element an object with every
    ``required`` key as a non-empty string. Elements lacking one are dropped and counted; a
    list with none left, or not a JSON array, is ``bad_list``."""
    bad = _status(result)
    if bad is not None:
        return bad
    found = _ITEMS.findall(result.text)
    if not found:
        if _REFUSAL.match(result.text):
            return Verdict(reason="refusal", detail=result.text[:80])
        return Verdict(reason="missing_markers", detail="no <items>...</items> block")
    body = _FENCE.sub("", found[-1].strip()).strip()
    try:
        data = json.loads(body)
    except json.JSONDecodeError as exc:
        return Verdict(reason="bad_list", detail=f"not JSON: {exc}")
    if isinstance(data, dict) and len(data) == 1 and isinstance(next(iter(data.values())), list):
        data = next(iter(data.values()))
    if not isinstance(data, list):
        return Verdict(reason="bad_list", detail="not a JSON array")
    items = []
    dropped = 0
    for element in data:
        if isinstance(element, dict) and all(
            isinstance(element.get(k), str) and element[k].strip() for k in required
        ):
            items.append(element)
        else:
            dropped += 1
    if not items:
        return Verdict(reason="bad_list", detail=f"no item has {', '.join(required)}")
    return Verdict(value=items, dropped=dropped)


def parse_document(result: LLMResult, *, min_chars: int = 200) -> Verdict:
    """The text between exactly one ``<document>`` and ``</document>``, stripped."""
    bad = _status(result)
    if bad is not None:
        return bad
    text = result.text
    opens, closes = text.count(_DOC_OPEN), text.count(_DOC_CLOSE)
    if opens == 0 and closes == 0:
        if _REFUSAL.match(text):
            return Verdict(reason="refusal", detail=text[:80])
        return Verdict(reason="missing_markers", detail="no <document> markers")
    if opens != 1 or closes != 1:
        return Verdict(
            reason="missing_markers",
            detail=f"{opens} opening and {closes} closing <document> markers (want 1 and 1)",
        )
    start = text.index(_DOC_OPEN) + len(_DOC_OPEN)
    end = text.index(_DOC_CLOSE)
    if end < start:
        return Verdict(reason="missing_markers", detail="</document> before <document>")
    body = text[start:end].strip()
    if len(body) < min_chars:
        return Verdict(reason="empty", detail=f"{len(body)} characters (< {min_chars})")
    if _REFUSAL.match(body):
        return Verdict(reason="refusal", detail=body[:80])
    hit = _PLACEHOLDER.search(body)
    if hit:
        return Verdict(reason="placeholder", detail=hit.group(0))
    return Verdict(value=body)
