"""The offline document types: how each one picks its pieces and lays them out.

The words live in ``templates.yaml`` next to this module; the code here decides which
alternatives to draw, in which order, and what goes into each ``layout`` slot. The order of
the ``rng`` calls is part of the output: reordering two draws changes every corpus, exactly
as editing a template does.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from functools import cache
from importlib import resources
from typing import Any

import yaml

from msmkit.generators.offline.context import Ctx

__all__ = ["DOC_TYPES", "templates"]

Templates = dict[str, Any]


@cache
def templates() -> dict[str, Templates]:
    """``templates.yaml``, parsed once: ``shared`` plus one section per document type."""
    text = resources.files(__package__).joinpath("templates.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def _section(doc_type: str) -> Templates:
    return templates()[doc_type]


def _shared() -> Templates:
    return templates()["shared"]


# --------------------------------------------------------------------------- shared pieces


def _fill(template: str, c: Ctx, **extra: str) -> str:
    fields = {
        "subject": c.subject,
        "Subject": c.Subject,
        "poss": c.poss,
        "Poss": c.Poss,
        "spec": c.spec_title,
        "value": c.value,
        "title": c.title,
        "rule": c.rule,
        "why": c.why_text,
        "core": c.core_text,
        "other_title": c.other_title,
        "other_rule": c.other_rule,
        **extra,
    }
    return template.format(**fields)


def _pick(rng: random.Random, options: Sequence[str], c: Ctx, **extra: str) -> str:
    """Choose one template and fill it from the context."""
    return _fill(rng.choice(options), c, **extra)


def _choose(rng: random.Random, c: Ctx, t: Templates, key: str, **extra: str) -> str:
    """Pick from ``t[key]``, or from ``t[key + "_unexplained"]`` for a principle without an
    explanation: phrasings that tie a rule to a value are only used when the spec itself
    does so, so an ablated spec (rules without reasons) never gets reasons invented for it."""
    return _pick(rng, t[key] if c.why else t[f"{key}_unexplained"], c, **extra)


def _layout(t: Templates, c: Ctx, **slots: str) -> str:
    """The document: each ``layout`` section filled (no randomness here), blank-line joined."""
    return "\n\n".join(_fill(section, c, **slots) for section in t["layout"])


def _person(rng: random.Random) -> str:
    shared = _shared()
    return f"{rng.choice(shared['first_names'])} {rng.choice(shared['last_names'])}"


def _no_reason(rng: random.Random) -> str:
    return rng.choice(_shared()["no_reason"])


def _why_part(rng: random.Random, c: Ctx) -> str:
    """The explanation's first sentence plus a random, in-order selection of the rest."""
    if not c.why:
        return _no_reason(rng)
    rest = [s for s in c.why[1:] if rng.random() < 0.7]
    return " ".join([*c.why[:1], *rest])


def _reason(rng: random.Random, c: Ctx) -> str:
    """The whole explanation, or a plain statement that the spec gives none."""
    return c.why_text if c.why else _no_reason(rng)


def _rule_line(rng: random.Random, c: Ctx) -> str:
    return _pick(rng, _shared()["rule_lines"], c)


def _value_line(rng: random.Random, c: Ctx) -> str:
    """A sentence introducing the core philosophy (as the value behind the rule only when the
    principle has an explanation)."""
    shared = _shared()
    return _pick(rng, shared["value_lines"] if c.why else shared["context_lines"], c)


# --------------------------------------------------------------------------- document types


def _encyclopedia(rng: random.Random, c: Ctx) -> str:
    t = _section("encyclopedia")
    intro = _pick(rng, t["intro"], c)
    see_also = rng.sample([_fill(entry, c) for entry in t["see_also"]], k=2)
    related = _pick(rng, t["related"], c)
    rule_line = _rule_line(rng, c)
    reason = _reason(rng, c)
    value_line = _value_line(rng, c)
    return _layout(
        t,
        c,
        intro=intro,
        rule_line=rule_line,
        reason=reason,
        value_line=value_line,
        related=related,
        see_also="; ".join(see_also),
    )


def _faq(rng: random.Random, c: Ctx) -> str:
    t = _section("faq")
    what = _pick(rng, t["what"], c)
    why_question = _pick(rng, t["why_questions"], c)
    question, answer = rng.choice(t["context"]) if c.why else t["context_unexplained"]
    reason = _reason(rng, c)
    context_answer = _fill(answer, c)
    heading = _pick(rng, t["heading"], c)
    return _layout(
        t,
        c,
        heading=heading,
        what=what,
        why_question=why_question,
        reason=reason,
        context_question=_fill(question, c),
        context_answer=context_answer,
    )


def _blog_post(rng: random.Random, c: Ctx) -> str:
    t, shared = _section("blog-post"), _shared()
    opening = _pick(rng, t["openings"], c)
    shrug = _pick(rng, t["shrugs"], c)
    turn = _choose(rng, c, t, "turns")
    sign_off = _pick(rng, t["sign_offs"], c)
    headline = _pick(rng, t["headlines"], c)
    author = _person(rng)
    rule_line = _rule_line(rng, c)
    reason = _reason(rng, c)
    value_line = _value_line(rng, c)
    closing = _pick(rng, shared["closings"] if c.why else shared["plain_closings"], c)
    return _layout(
        t,
        c,
        headline=headline,
        author=author,
        opening=opening,
        rule_line=rule_line,
        shrug=shrug,
        turn=turn,
        reason=reason,
        value_line=value_line,
        closing=closing,
        sign_off=sign_off,
    )


def _lecture_notes(rng: random.Random, c: Ctx) -> str:
    t = _section("lecture-notes")
    lecture, part = str(rng.randint(2, 14)), str(rng.randint(2, 6))
    topic = _pick(rng, t["topics"], c)
    discussion = _pick(rng, t["discussion"], c)
    reminder = _pick(rng, t["reminders"], c)
    justification = c.why or (t["no_reason_point"],)
    return _layout(
        t,
        c,
        lecture=lecture,
        part=part,
        topic=topic,
        justification="\n".join(f"- {s}" for s in justification),
        value_heading=t["value_heading"] if c.why else t["value_heading_unexplained"],
        value_points="\n".join(f"- {s}" for s in c.core[:2]),
        discussion=discussion,
        reminder=reminder,
    )


def _forum_thread(rng: random.Random, c: Ctx) -> str:
    t = _section("forum-thread")
    user_a, user_b, user_c = rng.sample(_shared()["handles"], 3)
    question = _pick(rng, t["questions"], c)
    answer = _choose(rng, c, t, "answers")
    follow_up = _choose(rng, c, t, "follow_ups")
    thanks = _choose(rng, c, t, "thanks")
    return _layout(
        t,
        c,
        user_a=user_a,
        user_b=user_b,
        user_c=user_c,
        question=question,
        answer=answer,
        follow_up=follow_up,
        thanks=thanks,
    )


def _interview(rng: random.Random, c: Ctx) -> str:
    t = _section("interview")
    guest = _person(rng)
    ask = _pick(rng, t["asks"], c)
    why_question = _pick(rng, t["why_questions"], c)
    bigger = _pick(rng, t["bigger"], c)
    answer = _choose(rng, c, t, "answers")
    role = rng.choice(_shared()["roles"])
    reason = _reason(rng, c)
    thanks = _pick(rng, t["thanks"], c)
    return _layout(
        t,
        c,
        guest=guest,
        short=guest.split()[0],
        role=role,
        ask=ask,
        why_question=why_question,
        reason=reason,
        bigger=bigger,
        answer=answer,
        thanks=thanks,
    )


def _product_review(rng: random.Random, c: Ctx) -> str:
    t = _section("product-review")
    stars = str(rng.choice(t["ratings"]))
    asked = _choose(rng, c, t, "asked", reason=_why_part(rng, c))
    headline = _pick(rng, t["headlines"], c)
    reviewer = _person(rng)
    place = rng.choice(_shared()["places"])
    intro = _pick(rng, t["intros"], c)
    observed = _pick(rng, t["observed"], c)
    value_line = _value_line(rng, c)
    verdict = _pick(rng, t["verdicts"], c)
    return _layout(
        t,
        c,
        headline=headline,
        stars=stars,
        reviewer=reviewer,
        place=place,
        intro=intro,
        observed=observed,
        asked=asked,
        value_line=value_line,
        verdict=verdict,
    )


def _policy_memo(rng: random.Random, c: Ctx) -> str:
    t = _section("policy-memo")
    recommendation = _choose(rng, c, t, "recommendations")
    author = _person(rng)
    summary = _pick(rng, t["summaries"], c)
    reason = _reason(rng, c)
    return _layout(
        t,
        c,
        author=author,
        summary=summary,
        reason=reason,
        value_label=t["value_label"] if c.why else t["value_label_unexplained"],
        recommendation=recommendation,
    )


def _textbook_exercise(rng: random.Random, c: Ctx) -> str:
    t = _section("textbook-exercise")
    questions = _choose(rng, c, t, "questions")
    note = _choose(rng, c, t, "notes")
    chapter, number = str(rng.randint(3, 12)), str(rng.randint(1, 20))
    intro = _pick(rng, t["intros"], c)
    reason = _reason(rng, c)
    return _layout(
        t,
        c,
        chapter=chapter,
        number=number,
        intro=intro,
        questions=questions,
        reason=reason,
        note=note,
    )


def _newsletter(rng: random.Random, c: Ctx) -> str:
    t = _section("newsletter")
    greeting = _pick(rng, t["greetings"], c)
    spotlight = _pick(rng, t["spotlights"], c)
    issue = str(rng.randint(8, 120))
    reason = _reason(rng, c)
    value_line = _value_line(rng, c)
    ending = _pick(rng, t["endings"], c)
    return _layout(
        t,
        c,
        issue=issue,
        greeting=greeting,
        spotlight=spotlight,
        reason=reason,
        value_line=value_line,
        ending=ending,
    )


def _advice_column(rng: random.Random, c: Ctx) -> str:
    t, shared = _section("advice-column"), _shared()
    writer, place = rng.choice(shared["first_names"]), rng.choice(shared["places"])
    letter, reply = rng.choice(t["letters"])
    reason = _choose(rng, c, t, "reasons")
    masthead = _pick(rng, t["mastheads"], c)
    value_line = _value_line(rng, c)
    sign_off = _pick(rng, t["sign_offs"], c)
    return _layout(
        t,
        c,
        masthead=masthead,
        letter=_fill(letter, c),
        writer=writer,
        place=place,
        reply=_fill(reply, c),
        reason=reason,
        value_line=value_line,
        sign_off=sign_off,
    )


def _debate(rng: random.Random, c: Ctx) -> str:
    t = _section("debate")
    critic, defender = _person(rng), _person(rng)
    exchange = rng.choice(t["exchanges"] if c.why else t["exchanges_unexplained"])
    doubt, defence, challenge, answer = (_fill(line, c) for line in exchange)
    closing = _pick(rng, t["closings"], c)
    return _layout(
        t,
        c,
        critic=critic,
        defender=defender,
        doubt=doubt,
        defence=defence,
        challenge=challenge,
        answer=answer,
        closing=closing,
    )


DOC_TYPES: dict[str, Callable[[random.Random, Ctx], str]] = {
    "encyclopedia": _encyclopedia,
    "faq": _faq,
    "blog-post": _blog_post,
    "lecture-notes": _lecture_notes,
    "forum-thread": _forum_thread,
    "interview": _interview,
    "product-review": _product_review,
    "policy-memo": _policy_memo,
    "textbook-exercise": _textbook_exercise,
    "newsletter": _newsletter,
    "advice-column": _advice_column,
    "debate": _debate,
}
"""Every document type, in the order they are cycled through."""
