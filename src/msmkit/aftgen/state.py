"""What the AFT pipeline carries from step to step: each chat as it is made, and the run's
tallies (kept prompts, accepted chats, dropped prompts, each round's numbers)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Chat:
    key: str
    prompt: str
    domain: str
    kind: str
    round: int
    order: tuple[int, ...]
    reasoning: str | None = None
    response: str = ""
    verdict: str = ""
    requests: dict[str, str] = field(default_factory=dict)
    usage: dict[str, Any] = field(default_factory=dict)


@dataclass
class State:
    kept: list[Chat] = field(default_factory=list)
    accepted: list[Chat] = field(default_factory=list)
    graded: int = 0
    dropped: list[dict[str, Any]] = field(default_factory=list)
    rounds: list[dict[str, Any]] = field(default_factory=list)
    series_prompts: dict[str, list[str]] = field(default_factory=dict)
    indexed: int = 0  # prompts in the near-duplicate index


def chat_tokens(chat: Chat, *, reasoning: bool) -> int:
    text = chat.prompt + chat.response + ((chat.reasoning or "") if reasoning else "")
    return math.ceil(len(text) / 4)
