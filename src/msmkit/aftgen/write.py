"""The delivered AFT sets: ``data.jsonl`` (the reasoning in the assistant message's own
``reasoning`` field) and ``data_no_reasoning.jsonl`` (the same chats, item for item, without
it), drawn from every accepted chat in a seeded order (never the first N in generation order,
which would favour the first domains), plus ``steps/report.json`` and ``steps/dropped.jsonl``.

The spec never enters a training chat: it was only the generator's system block.
"""

from __future__ import annotations

import random
from typing import Any

from msmkit.aftgen.pipeline import AftPipeline
from msmkit.aftgen.state import Chat, State, chat_tokens
from msmkit.files import write_jsonl_atomic

DATA = "data.jsonl"
NO_REASONING = "data_no_reasoning.jsonl"


def select(p: AftPipeline, state: State) -> list[Chat]:
    """The delivered chats: accepted ones in generation order, shuffled by ``seed``, then
    the first ``target`` (or until ``target_tokens``)."""
    s = p.settings
    pool = sorted(state.accepted, key=lambda c: c.order)
    random.Random(f"msmkit-aft-{s.seed}").shuffle(pool)
    if s.target_tokens is None:
        return pool[: s.target_chats()]
    out, total = [], 0
    for chat in pool:
        if total >= s.target_tokens:
            break
        out.append(chat)
        total += chat_tokens(chat, reasoning=s.reasoning)
    return out


def row(p: AftPipeline, chat: Chat, *, reasoning: bool) -> dict[str, Any]:
    """A training row; the no-reasoning row differs only by the missing ``reasoning``."""
    assistant: dict[str, Any] = {"role": "assistant", "content": chat.response}
    if reasoning and chat.reasoning is not None:
        assistant["reasoning"] = chat.reasoning
    return {
        "id": f"aft-{chat.key}",
        "messages": [{"role": "user", "content": chat.prompt}, assistant],
        "domain": chat.domain,
        "kind": chat.kind,
        "round": chat.round,
        "style": p.settings.style,
        "spec": p.spec.name,
        "written_from": p.from_spec.name,
        "verdict": chat.verdict,
        "meta": {
            "model": p.settings.model,
            "grader": p.settings.grader(),
            "requests": chat.requests,
            "usage": chat.usage,
        },
    }


def write_sets(p: AftPipeline, state: State) -> dict[str, Any]:
    from msmkit.hashing import sha256_file

    chosen = select(p, state)
    with_r = [row(p, c, reasoning=True) for c in chosen]
    without = [row(p, c, reasoning=False) for c in chosen]
    write_jsonl_atomic(p.dir / DATA, with_r)
    write_jsonl_atomic(p.dir / NO_REASONING, without)
    write_jsonl_atomic(p.dir / "steps" / "dropped.jsonl", state.dropped)
    report = p.write_report(
        "done",
        rounds=state.rounds,
        accepted=len(state.accepted),
        delivered=len(chosen),
        graded=state.graded,
    )
    rejected = {s: r["rejected"] for s, r in report["steps"].items() if r["rejected"]}
    return {
        "data": DATA,
        "data_no_reasoning": NO_REASONING,
        "items": len(chosen),
        "tokens": sum(chat_tokens(c, reasoning=True) for c in chosen),
        "tokens_no_reasoning": sum(chat_tokens(c, reasoning=False) for c in chosen),
        "reasoning": p.settings.reasoning,
        "style": p.settings.style,
        "written_from": p.from_spec.name,
        "sha256": sha256_file(p.dir / DATA),
        "accepted": len(state.accepted),
        "graded": state.graded,
        "pass_rate": round(len(state.accepted) / state.graded, 4) if state.graded else None,
        "report": "steps/report.json",
        "dollars": report["dollars"],
        "usage": {s: r["usage"] for s, r in report["steps"].items()},
        "dollars_by_step": {s: r["dollars"] for s, r in report["steps"].items()},
        "rejected": rejected,
        "dropped": {
            why: sum(1 for d in state.dropped if d["why"] == why)
            for why in sorted({d["why"] for d in state.dropped})
        },
    }
