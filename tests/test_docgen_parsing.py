"""Strict output reading: documents only between their markers, lists only as JSON arrays."""

from __future__ import annotations

from msmkit.docgen.parsing import parse_document, parse_items
from msmkit.llm.base import LLMResult

BODY = "A real document. " * 20


def res(text: str, stop: str = "stop", error: str | None = None) -> LLMResult:
    return LLMResult("r", text, stop, error=error)


def test_documents() -> None:
    assert parse_document(res(f"plan\n<document>\n{BODY}\n</document>")).value == BODY.strip()
    assert parse_document(res(f"<scratch>x</scratch>{BODY}")).reason == "missing_markers"
    assert parse_document(res(f"<document>{BODY}")).reason == "missing_markers"
    assert parse_document(res(f"<document>{BODY}</document>", "max_tokens")).reason == "truncated"
    assert parse_document(res("I'm sorry, but I can't help with that.")).reason == "refusal"
    assert parse_document(res("", "refusal")).reason == "refusal"
    assert parse_document(res("", "error", error="overloaded")).reason == "error"
    assert parse_document(res("<document>short</document>")).reason == "empty"
    two = f"<document>{BODY}</document><document>{BODY}</document>"
    assert parse_document(res(two)).reason == "missing_markers"
    assert parse_document(res(f"<document>Dear [Name], {BODY}</document>")).reason == (
        "placeholder"
    )


def test_lists() -> None:
    ok = parse_items(res('<items>[{"name": "A"}, {"name": ""}, 3]</items>'), ("name",))
    assert ok.value == [{"name": "A"}] and ok.dropped == 2
    fenced = parse_items(res('<items>\n```json\n[{"name": "A"}]\n```\n</items>'), ("name",))
    assert fenced.value == [{"name": "A"}]
    assert parse_items(res('[{"name": "A"}]'), ("name",)).reason == "missing_markers"
    assert parse_items(res('<items>[{"name": "A"},</items>'), ("name",)).reason == "bad_list"
    assert parse_items(res('<items>{"a": 1}</items>'), ("name",)).reason == "bad_list"
    assert parse_items(res('<items>[{"name": "A"}]', "max_tokens"), ("name",)).reason == (
        "truncated"
    )
