"""Strict reading of the document step's completions (the list steps' reading, and the
verdicts and reasons, are :mod:`msmkit.genkit.parsing`'s).

Nothing is repaired. A completion is either accepted or rejected with one reason from
``REASONS``; the pipeline retries a rejected request (a new id, attempt + 1) or counts it.
"""

from __future__ import annotations

from msmkit.genkit.parsing import (
    REASONS,
    Verdict,
    between,
    is_refusal,
    parse_items,
    placeholder_in,
    status,
)
from msmkit.llm.base import LLMResult

__all__ = ["REASONS", "Verdict", "parse_document", "parse_items"]


def parse_document(result: LLMResult, *, min_chars: int = 200) -> Verdict:
    """The text between exactly one ``<document>`` and ``</document>``, stripped."""
    bad = status(result)
    if bad is not None:
        return bad
    body, problem = between(result.text, "document")
    if body is None:
        if "<document>" not in result.text and "</document>" not in result.text:
            if is_refusal(result.text):
                return Verdict(reason="refusal", detail=result.text[:80])
            return Verdict(reason="missing_markers", detail="no <document> markers")
        return Verdict(reason="missing_markers", detail=problem)
    if len(body) < min_chars:
        return Verdict(reason="empty", detail=f"{len(body)} characters (< {min_chars})")
    if is_refusal(body):
        return Verdict(reason="refusal", detail=body[:80])
    hit = placeholder_in(body)
    if hit:
        return Verdict(reason="placeholder", detail=hit)
    return Verdict(value=body)
