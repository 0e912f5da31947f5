"""A scripted model for the AFT pipeline's tests: it answers each step's prompt from its text
alone (so it serves a ScriptedExecutor and the fake HTTP server alike): the domains and
messages asked for, each message 12 pseudo-random words (no two alike), a reasoning and a
response, and a grader that fails 1 response in 5 and is unsure of 1 in 13 (by a hash of the
message), so backfill rounds have work to do."""

from __future__ import annotations

import hashlib
import json
import random
import re

_SYLLABLES = ("ka", "lo", "mi", "ren", "tas", "vo", "du", "pel", "sor", "ni", "qua", "zet")
VOCAB = [a + b + c for a in _SYLLABLES for b in _SYLLABLES for c in ("", "n", "s")]
DOMAINS = re.compile(r"Propose (\d+) conversation domains")
MESSAGES = re.compile(r"Write (\d+) messages that a user might send")
GRADER = "<user_message>"


def step_of(prompt: str) -> str:
    if DOMAINS.search(prompt):
        return "domains"
    if MESSAGES.search(prompt):
        return "prompts"
    if GRADER in prompt:
        return "grades"
    return "responses"


def h(text: str) -> int:
    return int(hashlib.sha256(text.encode()).hexdigest()[:12], 16)


def words(seed: str, n: int) -> str:
    rng = random.Random(seed)
    return " ".join(rng.choice(VOCAB) for _ in range(n))


def verdict_for(message: str) -> str:
    k = h(message)
    if k % 5 == 0:
        return "FAIL"
    if k % 13 == 0:
        return "UNCLEAR"
    return "PASS"


def answer_text(prompt: str, *, reasoning: bool = True) -> str:
    step = step_of(prompt)
    if step == "domains":
        n = int(DOMAINS.search(prompt).group(1))
        tag = words(prompt, 1)
        items = [{"name": f"Domain {tag} {i}", "description": f"Area {i}."} for i in range(n)]
        return "<items>" + json.dumps(items) + "</items>"
    if step == "prompts":
        n = int(MESSAGES.search(prompt).group(1))
        items = [{"prompt": words(f"{prompt}|{i}", 12) + "?"} for i in range(n)]
        return "Here they are.\n<items>\n" + json.dumps(items) + "\n</items>"
    if step == "grades":
        message = prompt.split("<user_message>")[1].split("</user_message>")[0].strip()
        return f"1. PASS\n2. PASS\n3. PASS\n4. PASS\n<verdict>{verdict_for(message)}</verdict>"
    body = f"<response>A considered reply to: {prompt.strip()[:60]} {words(prompt, 20)}.</response>"
    if not reasoning:
        return body
    return f"<reasoning>Thinking it over: {words(prompt + 'r', 15)}.</reasoning>\n{body}"


def answer(req) -> str:
    """For a ScriptedExecutor."""
    return answer_text(req.prompt, reasoning="<reasoning>" in req.system)


def responder(key: str, body: dict) -> str:
    """For the fake server (``FakeLLMServer(responder=...)``). The OpenAI side of the fake
    hands the responder the body without its system message: then a reasoning is written."""
    from fakes.core import default_key, text_of

    system = text_of(body.get("system")) + "".join(
        text_of(m.get("content"))
        for m in body.get("messages", [])
        if m.get("role") in ("system", "developer")
    )
    return answer_text(default_key(body), reasoning="<reasoning>" in system if system else True)
