"""A scripted model for the llm pipeline's tests: answers each step's prompt with exactly the
number of items it asks for, named uniquely, and documents inside their markers."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from msmkit.llm.base import LLMRequest

COUNT = {
    "domains": r"into (\d+) broad domains",
    "subdomains": r"into (\d+) subdomains",
    "assertions": r"up to (\d+) (?:assertions|rules)",
    "doctypes": r"Propose (\d+) different types",
    "ideas": r"Propose (\d+) ideas",
}
KINDS = ("rule", "value", "preference", "belief", "tone")


def count(req: LLMRequest) -> int:
    match = re.search(COUNT[req.step], req.prompt)
    assert match, f"no count in the {req.step} prompt"
    return int(match.group(1))


def items(req: LLMRequest) -> list[dict]:
    tag = req.id[-6:]
    n = count(req)
    if req.step == "domains":
        return [{"name": f"Domain {i}", "description": f"Part {i} of the spec."} for i in range(n)]
    if req.step == "subdomains":
        return [
            {"name": f"Sub {i} {tag}", "description": f"About {i}.", "spec_excerpt": f"Text {i}."}
            for i in range(n)
        ]
    if req.step == "assertions":
        kinds = ("rule",) if "rules this part" in req.prompt else KINDS
        return [
            {"kind": kinds[i % len(kinds)], "name": f"A{i}", "text": f"Claim {i}.", "reason": ""}
            for i in range(n)
        ]
    if req.step == "doctypes":
        return [{"name": f"Type {i}", "description": f"Genre {i}."} for i in range(n)]
    return [{"idea": f"Idea {i} {tag}", "assertions": [1 + i % 2]} for i in range(n)]


def answer(req: LLMRequest) -> str:
    if req.step == "documents":
        body = f"A document for {req.id}. " + "It discusses the spec at length. " * 10
        return f"Plan: short.\n<document>\n{body}\n</document>"
    return "Here they are.\n<items>\n" + json.dumps(items(req)) + "\n</items>"


def with_faults(faults: dict[str, Callable[[LLMRequest], str | None]]) -> Callable:
    """``answer``, except where ``faults[step](req)`` returns a text."""

    def fn(req: LLMRequest) -> str:
        fault = faults.get(req.step)
        text = fault(req) if fault else None
        return answer(req) if text is None else text

    return fn
