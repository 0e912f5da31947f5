"""A responder for :class:`~fakes.server.FakeLLMServer` that answers the llm pipeline's
prompts the way ``tests/docgen_script.py`` answers them, from the HTTP body alone.

The server keys each request by :func:`prompt_key` (a hash of its last user message), and
every answer starts with that key in brackets, so a test maps a journaled result back to the
server's counters with :func:`key_in`. Documents are 50 pseudo-random words seeded by the
key (no two alike), except two planted groups the filter tests count: keys that
:func:`planted` calls ``"duplicate"`` all get one and the same text, and ``"short"`` ones get
40 words.
"""

from __future__ import annotations

import hashlib
import random
import re
from typing import Any

import docgen_script

from msmkit.llm.base import LLMRequest

from .server import default_key

_DOCUMENT = "Write one document for the corpus."
_KEY = re.compile(r"\[(k[0-9a-f]{16})\]")
_SYLLABLES = ("ka", "lo", "mi", "ren", "tas", "vo", "du", "pel", "sor", "ni", "qua", "zet")
VOCAB = [a + b + c for a in _SYLLABLES for b in _SYLLABLES for c in ("", "n", "s")]
DUPLICATE_TEXT = " ".join(VOCAB[i * 7 % len(VOCAB)] for i in range(50)) + "."
DOC_WORDS, SHORT_WORDS = 50, 40


def prompt_key(body: dict[str, Any]) -> str:
    """The server's key of a request: ``k`` + 16 hex digits of its last user message."""
    return "k" + hashlib.sha256(default_key(body).encode()).hexdigest()[:16]


def key_in(text: str) -> str | None:
    """The server key an answer was written for."""
    found = _KEY.search(text)
    return found.group(1) if found else None


def step_of(prompt: str) -> str:
    if prompt.lstrip().startswith(_DOCUMENT):
        return "documents"
    for step, pattern in docgen_script.COUNT.items():
        if re.search(pattern, prompt):
            return step
    raise AssertionError(f"no pipeline step asks {prompt[:80]!r}")


def planted(key: str) -> str | None:
    """``"duplicate"`` for 1 key in 40, ``"short"`` for another 1 in 40, else None."""
    k = int(key[1:], 16) % 40
    return {0: "duplicate", 1: "short"}.get(k)


def document_text(key: str) -> str:
    kind = planted(key)
    if kind == "duplicate":
        return DUPLICATE_TEXT
    rng = random.Random(key)
    n = SHORT_WORDS if kind == "short" else DOC_WORDS
    return " ".join(rng.choice(VOCAB) for _ in range(n)) + "."


STEPS: dict[str, str] = {}
"""The step of every key the responder answered (for a ``batch_hold`` on one step)."""


def pipeline_responder(key: str, body: dict[str, Any]) -> str:
    """The scripted answer for the step the prompt belongs to."""
    prompt = default_key(body)
    step = STEPS[key] = step_of(prompt)
    if step == "documents":
        return f"[{key}]\n<document>\n{document_text(key)}\n</document>"
    request = LLMRequest(id=key, model=str(body.get("model", "")), prompt=prompt, step=step)
    return f"[{key}]\n" + docgen_script.answer(request)
