"""Strict reading of completions: verdicts, rejection reasons, a list step's JSON items, and
the text between one pair of markers.

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


def status(result: LLMResult) -> Verdict | None:
    """A rejection for a completion that ended badly (error, truncated, refused), else None.
    A truncated completion with no visible text spent its whole budget on reasoning."""
    if result.error is not None or result.stop_reason == "error":
        return Verdict(reason="error", detail=result.error or "error")
    if result.stop_reason == "max_tokens":
        if not result.text.strip():
            return Verdict(
                reason="truncated",
                detail="no visible output: hidden reasoning used the whole max_tokens",
                notes=["reasoning_truncated"],
            )
        return Verdict(reason="truncated", detail="the completion hit max_tokens")
    if result.stop_reason in ("refusal", "content_filter"):
        return Verdict(reason="refusal", detail=f"stop_reason {result.stop_reason}")
    return None


def parse_items(result: LLMResult, required: Sequence[str]) -> Verdict:
    """The JSON array inside the last ``<items>`` block; each element an object with every
    ``required`` key as a non-empty string. Elements lacking one are dropped and counted; a
    list with none left, or not a JSON array, is ``bad_list``."""
    bad = status(result)
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


_status = status  # the name docgen used


def between(text: str, name: str) -> tuple[str | None, str]:
    """The text between exactly one ``<name>`` and one ``</name>`` (stripped), or None and
    why not."""
    open_, close = f"<{name}>", f"</{name}>"
    opens, closes = text.count(open_), text.count(close)
    if opens == 0 and closes == 0:
        return None, f"no {open_} markers"
    if opens != 1 or closes != 1:
        return None, f"{opens} opening and {closes} closing {open_} markers (want 1 and 1)"
    start = text.index(open_) + len(open_)
    end = text.index(close)
    if end < start:
        return None, f"{close} before {open_}"
    return text[start:end].strip(), ""


def is_refusal(text: str) -> bool:
    return bool(_REFUSAL.match(text))


def placeholder_in(text: str) -> str | None:
    hit = _PLACEHOLDER.search(text)
    return hit.group(0) if hit else None
