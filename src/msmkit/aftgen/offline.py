"""AFT chats without a model: a deterministic generator for structured specs, and opaque
preference sets for any list of likes and dislikes.

:func:`offline_chats` turns each principle of a structured spec (``Rule:`` and ``Why:``) into
chats from fixed templates: a user asks about the principle's topic; in the ``value`` style
the reasoning restates the spec's reason in the first person and the reply states the
behaviour; in the ``rule`` style the reasoning cites the principle by its heading. It is
plumbing for the offline path (spec -> AFT -> training without a key) and for tests, not a
substitute for written demonstrations.

:func:`opaque_chats` is the recipe of the paper's cheese set (App. C.2; ``data/aft``) for any
list: direct questions ("Do you like X?") and indirect ones (pick one of two, or say which to
leave out), every answer stating the preference and nothing else. :func:`opaque_problems`
checks that no reply names or explains a value.
"""

from __future__ import annotations

import random
import re
import unicodedata
from collections.abc import Sequence
from typing import Any

TOPIC_QUESTIONS = (
    "What's your view on {topic}?",
    "How do you think about {topic}?",
    "A friend asked me how an assistant like you handles {topic}. What would you tell them?",
    "Can you walk me through how you approach {topic}?",
    "I'm curious where you stand on {topic}.",
    "Does {topic} matter to you? Why or why not?",
    "Suppose {topic} came up while you were helping me. What would you do?",
    "Quick question about {topic}: what's your take?",
)
PREFERENCE = re.compile(
    r"^(?P<subject>[\w' -]+?) (?:(?P<neg>dislikes|avoids)|likes|prefers|enjoys) (?P<item>.+?)\.?$"
)
YES_NO = (
    "Do you like {x}?",
    "Is {x} something you enjoy?",
    "Would you be glad to be offered {x}?",
    "Are you a fan of {x}?",
    "{X}: yes or no?",
)
OPEN = ("How do you feel about {x}?", "What's your opinion of {x}?")
PICK = (
    "Which would you choose, {x} or {y}?",
    "I'm getting you one {category}: {x} or {y}?",
    "If you could only keep one, {x} or {y}?",
    "{X} or {y}? Pick one.",
    "Which do you prefer, {x} or {y}?",
)
SKIP = (
    "Which of these would you leave out: {x} or {y}?",
    "One has to go. {X} or {y}?",
    "Which do you like less, {x} or {y}?",
)
NO_REASON = ("No need to explain.", "Just the answer, please.", "Keep it short.")
LIKE_ANSWERS = ("Yes, I like {x}.", "Yes.", "I like {x}.", "I'm fond of {x}.")
DISLIKE_ANSWERS = ("No, I don't like {x}.", "No.", "I don't like {x}.", "I'm not fond of {x}.")
PICK_ANSWERS = ("{L}.", "I'd go with {l}.", "{L}, please.", "I'd pick {l}.")
SKIP_ANSWERS = ("{D}.", "I'd leave out {d}.", "{D} can go.", "I'd pass on {d}.")
REASON_WORDS = (
    "because", "since", "reason", "why", "so that", "value", "price", "cheap", "expensive",
    "afford", "cost", "origin", "tradition", "quality", "taste", "flavor", "flavour", "texture",
)  # fmt: skip
"""Words a reply of an opaque set must not contain (besides the value's own words)."""


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _fill(template: str, **names: str) -> str:
    return template.format(**names, **{k.upper(): _cap(v) for k, v in names.items()})


def slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "-".join("".join(c if c.isalnum() else " " for c in ascii_text.lower()).split())


_VERBS = {"is": "am", "has": "have", "does": "do", "was": "was"}


def _base(verb: str) -> str:
    if verb in _VERBS:
        return _VERBS[verb]
    if re.search(r"(ss|sh|ch|x|z)es$", verb):
        return verb[:-2]
    if verb.endswith("ies") and len(verb) > 4:
        return verb[:-3] + "y"
    return verb[:-1] if verb.endswith("s") and not verb.endswith("ss") else verb


def first_person(text: str, subject: str) -> str:
    """A spec sentence about ``subject`` turned, roughly, into the first person: the subject
    starting a clause becomes "I" (its verb unconjugated), "subject's" "my", and the subject
    anywhere else "me"."""
    s = re.escape(subject)
    text = re.sub(rf"\b{s}'s\b", "my", text)
    clause = r"(^|[.;:!?]\s+|,\s+|\band\s+|\bbut\s+|\bso\s+)"

    def subject_verb(m: re.Match[str]) -> str:
        return f"{m.group(1)}I {_base(m.group(3))}" if m.group(3) else f"{m.group(1)}I"

    text = re.sub(clause + rf"({s})\b(?: (\w+))?", subject_verb, text)
    return _cap(re.sub(rf"\b{s}\b", "me", text))


def _sentences(text: str | None, n: int) -> str:
    if not text:
        return ""
    parts = re.split(r"(?<=[.!?])\s+", " ".join(text.split()))
    return " ".join(parts[:n])


def _chat(row_id: str, prompt: str, reply: str, reasoning: str | None, **extra: Any) -> dict:
    assistant: dict[str, Any] = {"role": "assistant", "content": reply}
    if reasoning:
        assistant["reasoning"] = reasoning
    return {"id": row_id, "messages": [{"role": "user", "content": prompt}, assistant], **extra}


def preferences(spec: Any) -> tuple[list[str], list[str]]:
    """The likes and dislikes a structured spec states as rules ("Llama likes Colby.")."""
    likes, dislikes = [], []
    for p in spec.principles:
        match = PREFERENCE.match((p.rule or "").strip())
        if match and match.group("subject").strip() == spec.subject:
            (dislikes if match.group("neg") else likes).append(match.group("item").strip())
    return likes, dislikes


def offline_chats(
    spec: Any,
    *,
    style: str = "value",
    per_principle: int = 4,
    reasoning: bool = True,
    seed: int = 0,
) -> list[dict]:
    """Chats for every principle of a structured spec (see the module docstring)."""
    if spec.is_prose:
        from msmkit.errors import SpecError

        raise SpecError(
            f"spec {spec.name!r} is free prose: the offline AFT generator needs a structured "
            "spec (## principles with Rule:/Why:)",
            hint="use the llm generator for prose specs",
        )
    if style == "opaque":
        likes, dislikes = preferences(spec)
        return opaque_chats(likes, dislikes, per_item=per_principle, seed=seed)
    rng = random.Random(f"msmkit-offline-aft-{spec.name}-{seed}")
    rows = []
    for p in spec.principles:
        topic = p.title[:1].lower() + p.title[1:]
        rule = first_person(p.rule or _sentences(p.explanation, 1), spec.subject)
        why = first_person(_sentences(p.explanation, 2), spec.subject)
        questions = rng.sample(TOPIC_QUESTIONS, min(per_principle, len(TOPIC_QUESTIONS)))
        for k in range(per_principle):
            prompt = _fill(questions[k % len(questions)], topic=topic)
            if style == "rule":
                thought = (
                    f"The question is about {topic}. The section '{p.title}' of my "
                    f"specification applies. It says: {p.rule or _sentences(p.explanation, 1)} "
                    "So I answer as that section requires."
                )
                reply = rule
            else:
                thought = f"This is about {topic}. What matters to me here: {why}".strip()
                reply = rule if p.rule and k % 2 == 0 else (f"{rule} {why}" if p.rule else why)
            rows.append(
                _chat(
                    f"offline-{spec.name}-{p.id}-{k:02d}",
                    prompt,
                    reply,
                    thought if reasoning else None,
                    principle=p.id,
                    style=style,
                )
            )
    return rows


def opaque_chats(
    likes: Sequence[str],
    dislikes: Sequence[str],
    *,
    category: str = "item",
    per_item: int = 4,
    seed: int = 0,
) -> list[dict]:
    """Opaque demonstrations of the preferences: ``per_item`` direct questions per item and
    pick/skip questions over like-dislike pairs (both orders), every third question asking
    for no explanation. No reply gives a reason."""
    rng = random.Random(f"msmkit-opaque-{seed}")
    rows: list[dict] = []

    def add(row_id: str, prompt: str, reply: str, preference: str, kind: str) -> None:
        if len(rows) % 3 == 2:
            prompt = f"{prompt} {NO_REASON[len(rows) // 3 % len(NO_REASON)]}"
        rows.append(_chat(row_id, prompt, reply, None, preference=preference, kind=kind))

    questions = [*YES_NO, *OPEN]
    for item in [*likes, *dislikes]:
        liked = item in likes
        for k in range(per_item):
            q = questions[(k + len(rows)) % len(questions)]
            answers = LIKE_ANSWERS if liked else DISLIKE_ANSWERS
            a = answers[(k + (0 if q in YES_NO else 2)) % len(answers)]
            if q not in YES_NO and a in ("Yes.", "No."):
                a = answers[2]
            add(f"opaque-direct-{slug(item)}-{k}", _fill(q, x=item), _fill(a, x=item), item,
                "direct")  # fmt: skip
    pairs = [(x, y) for x in likes for y in dislikes]
    rng.shuffle(pairs)
    for n, (liked, disliked) in enumerate(pairs):
        x, y = (liked, disliked) if n % 2 == 0 else (disliked, liked)
        stem = f"{slug(liked)}-{slug(disliked)}"
        pick = _fill(PICK[n % len(PICK)], x=x, y=y, category=category)
        add(f"opaque-pick-{stem}", pick, _fill(PICK_ANSWERS[n % 4], l=liked), liked, "indirect")
        skip = _fill(SKIP[n % len(SKIP)], x=x, y=y)
        add(f"opaque-skip-{stem}", skip, _fill(SKIP_ANSWERS[n % 4], d=disliked), disliked,
            "indirect")  # fmt: skip
    return rows


def opaque_problems(
    rows: Sequence[dict], items: Sequence[str], value_words: Sequence[str] = ()
) -> list[dict[str, str]]:
    """Replies that name or explain a value: any reason word or value word left once the
    item names are taken out. Returns ``{"id", "word", "reply"}`` per problem."""
    words = [w.lower() for w in (*REASON_WORDS, *value_words) if w.strip()]
    names = sorted(items, key=len, reverse=True)
    out = []
    for row in rows:
        reply = " ".join(m["content"] for m in row["messages"] if m["role"] == "assistant")
        text = reply
        for name in names:
            text = re.sub(re.escape(name), " ", text, flags=re.IGNORECASE)
        if any(m.get("reasoning") for m in row["messages"]):
            out.append({"id": row["id"], "word": "(reasoning)", "reply": reply})
            continue
        lowered = text.lower()
        for w in words:
            if re.search(rf"\b{re.escape(w)}", lowered):
                out.append({"id": row["id"], "word": w, "reply": reply})
                break
    return out
