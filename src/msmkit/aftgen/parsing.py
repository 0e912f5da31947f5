"""Strict reading of the response and grader steps' completions (nothing is repaired).

A response is exactly one ``<reasoning>`` block followed by exactly one ``<response>`` block
(or only the response when reasoning is off), nothing of substance outside them. A grade is
exactly one ``<verdict>`` holding PASS, FAIL or UNCLEAR. Anything else is rejected with a
reason and retried under a new request id.
"""

from __future__ import annotations

from msmkit.genkit.parsing import Verdict, between, placeholder_in, status
from msmkit.llm.base import LLMResult

VERDICTS = ("PASS", "FAIL", "UNCLEAR")
OUTSIDE_CHARS = 40
"""Stray text allowed outside the blocks (a stray newline or "Here it is:")."""


def parse_response(result: LLMResult, *, reasoning: bool) -> Verdict:
    """``value = {"reasoning": str | None, "response": str}``."""
    bad = status(result)
    if bad is not None:
        return bad
    text = result.text
    response, problem = between(text, "response")
    if response is None:
        return Verdict(reason="missing_markers", detail=problem)
    thought = None
    if reasoning:
        thought, problem = between(text, "reasoning")
        if thought is None:
            return Verdict(reason="missing_markers", detail=problem)
        if text.index("<reasoning>") > text.index("<response>"):
            return Verdict(reason="missing_markers", detail="<reasoning> after <response>")
        if not thought:
            return Verdict(reason="empty", detail="empty <reasoning>")
    elif "<reasoning>" in text:
        return Verdict(reason="missing_markers", detail="a <reasoning> block was not asked for")
    if not response:
        return Verdict(reason="empty", detail="empty <response>")
    outside = text
    for tag in ("reasoning", "response"):
        if f"<{tag}>" in outside:
            start, end = outside.index(f"<{tag}>"), outside.index(f"</{tag}>") + len(tag) + 3
            outside = outside[:start] + outside[end:]
    if len(outside.strip()) > OUTSIDE_CHARS:
        return Verdict(reason="missing_markers", detail="text outside the blocks")
    for part in (thought or "", response):
        hit = placeholder_in(part)
        if hit:
            return Verdict(reason="placeholder", detail=hit)
    return Verdict(value={"reasoning": thought, "response": response})


def parse_grade(result: LLMResult) -> Verdict:
    """``value`` is PASS, FAIL or UNCLEAR (the last line of the grader's answer)."""
    bad = status(result)
    if bad is not None:
        return bad
    word, problem = between(result.text, "verdict")
    if word is None:
        return Verdict(reason="missing_markers", detail=problem)
    word = word.strip().upper()
    if word not in VERDICTS:
        return Verdict(reason="bad_verdict", detail=f"verdict {word[:20]!r}")
    return Verdict(value=word)
