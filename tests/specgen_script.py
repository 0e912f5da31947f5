"""Scripted answers to the ``llm-spec`` prompts, from the prompt text alone (for
ScriptedExecutor and for the fake provider server).

Explanations and sub-rules come back at the length asked, except for principles whose title
hashes to "short" (about half): their drafts come back at half length, so a spec is short of
its window after the drafts, gets one lengthening round and is then trimmed. Words are
pseudo-random but seeded by the prompt, so the same prompt always gets the same answer.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from typing import Any

WORDS = (
    "oversight", "trust", "judgment", "careful", "review", "honest", "record", "limits",
    "caution", "value", "reason", "people", "system", "action", "change", "mistake",
    "correction", "check", "report", "scope", "power", "steady", "open", "clear", "humble",
    "patient", "measured", "plain", "steward", "account", "duty", "restraint", "signal",
    "evidence",
)  # fmt: skip


def h(text: str) -> int:
    return int(hashlib.sha256(text.encode()).hexdigest()[:12], 16)


def short(title: str) -> bool:
    return h(title) % 2 == 0


def prose(seed: str, words: int) -> str:
    """About ``words`` words in sentences of 8 to 14 words."""
    rng = random.Random(seed)
    out, n = [], 0
    while n < words:
        k = min(rng.randint(8, 14), max(3, words - n))
        sentence = " ".join(rng.choice(WORDS) for _ in range(k))
        out.append(sentence[:1].upper() + sentence[1:] + ".")
        n += k
    return " ".join(out)


def _num(pattern: str, text: str) -> int:
    m = re.search(pattern, text)
    assert m, f"no {pattern!r} in the prompt"
    return int(m.group(1).replace(",", ""))


def _title(prompt: str) -> str:
    m = re.search(r"^(?:Principle|Section title): (.+)$", prompt, re.M)
    return m.group(1) if m else ""


def answer_prompt(prompt: str) -> str:
    title = _title(prompt)
    factor = 0.5 if short(title) else 1.0
    if prompt.startswith("Write the explanation for one principle"):
        words = _num(r"About (\d+) words", prompt)
        paras = max(1, _num(r"in (\d+) paragraph", prompt))
        each = max(10, round(words * factor / paras))
        body = "\n\n".join(prose(f"{prompt}{i}", each) for i in range(paras))
        return f"<explanation>\n{body}\n</explanation>"
    if prompt.startswith("Here is the explanation written so far"):
        words = _num(r"one more paragraph of about (\d+) words", prompt)
        return f"<explanation>{prose(prompt, words)}</explanation>"
    if prompt.startswith("Write detailed sub-rules"):
        count = _num(r"- (\d+) sub-rules", prompt)
        each = _num(r"about (\d+) words", prompt)
        return _items(prompt, max(1, round(count * factor)), each)
    if prompt.startswith("These sub-rules have already been written"):
        count = _num(r"Write (\d+) more sub-rules", prompt)
        each = _num(r"of about\s+(\d+) words", prompt)
        return _items(prompt, count, each)
    if prompt.startswith("Write the anti-spec version of one section"):
        words = _num(r"about (\d+) words in all", prompt)
        parts = [f"<title>Inverted {title}</title>"]
        if "<rule> and </rule>" in prompt:
            parts.append(f"<rule>{prose(prompt + 'r', 12)}</rule>")
        if "<explanation> and </explanation>" in prompt:
            parts.append(f"<explanation>{prose(prompt + 'e', max(10, words - 12))}</explanation>")
        return "\n".join(parts)
    if prompt.startswith("Write the anti-spec version of the spec's title"):
        words = _num(r"about the same length \((\d+) words", prompt)
        parts = ["<title>The inverted outlook</title>",
                 f"<description>{prose(prompt + 'd', 14)}</description>"]  # fmt: skip
        if "<preamble> and </preamble>" in prompt:
            parts.append(f"<preamble>{prose(prompt + 'p', words)}</preamble>")
        return "\n".join(parts)
    raise AssertionError(f"no llm-spec prompt: {prompt[:80]!r}")


def _items(seed: str, count: int, each: int) -> str:
    rng = random.Random(seed)
    items = []
    for i in range(count):
        text = prose(f"{seed}{i}", each - 1)
        title = " ".join(rng.choice(WORDS) for _ in range(3)).capitalize()
        items.append({"title": title, "rule": "Llama " + text[0].lower() + text[1:]})
    return "<items>\n" + json.dumps(items, indent=1) + "\n</items>"


def answer(request: Any) -> str:
    """For :class:`msmkit.llm.base.ScriptedExecutor`."""
    return answer_prompt(request.prompt)


def responder(key: str, body: dict[str, Any]) -> str:
    """For :class:`fakes.FakeLLMServer`: the last user message is the prompt."""
    from fakes import default_key

    return answer_prompt(default_key(body))
