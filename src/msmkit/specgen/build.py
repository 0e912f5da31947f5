"""Turning a model's answers into a valid spec: prose made safe inside the spec format, and
the three kinds of made spec assembled from the input spec.

Whatever a model writes, the rules of the input spec are carried over untouched (value and
rule augmentation), principle ids are kept, and the result parses back to itself.
"""

from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING, Any

from msmkit.errors import RunError

if TYPE_CHECKING:
    from msmkit.spec import Principle, Spec

_MARK = re.compile(r"^(?:#+\s*|Rule:\s*|Why:\s*)", re.IGNORECASE)
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'(\u201c])")


def clean_prose(text: str, *, heading_first: bool = False) -> str:
    """Paragraphs of a model's text, safe inside a spec: each paragraph on one line, no line
    that starts a heading, a ``Rule:``/``Why:`` or a code fence (``heading_first`` keeps a
    ``# Title`` first line, as a preamble may have)."""
    paras: list[str] = []
    for n, para in enumerate(re.split(r"\n\s*\n", text.strip())):
        lines = []
        for line in para.splitlines():
            line = line.strip()
            if line.startswith("```") or re.fullmatch(r"-{3,}|\*{3,}", line):
                continue
            if heading_first and n == 0 and not lines and re.match(r"^# \S", line):
                paras.append(line)
                continue
            line = _MARK.sub("", line).strip()
            if line:
                lines.append(line)
        if lines:
            paras.append(" ".join(lines))
    return "\n\n".join(paras)


def one_line(text: str) -> str:
    """A rule or a title: one line, no leading marker."""
    return _MARK.sub("", " ".join(str(text).split())).strip()


def sentences(paragraph: str) -> list[str]:
    return [s for s in _SENTENCE.split(paragraph) if s.strip()]


def title_of(text: str, fallback: str) -> str:
    title = re.sub(r"[#{}]", "", one_line(text)).strip(" .:;")
    return title[:80] or fallback


def augmentable(spec: Spec) -> list[Principle]:
    """The principles value and rule augmentation work on: those with a rule."""
    return [p for p in spec.principles if p.rule]


def with_explanations(spec: Spec, texts: dict[str, list[str]]) -> Spec:
    """Value augmentation: each principle in ``texts`` gets those paragraphs as its
    explanation; rules and everything else as they were."""
    principles = tuple(
        dataclasses.replace(p, explanation="\n\n".join(texts[p.id])) if texts.get(p.id) else p
        for p in spec.principles
    )
    return spec.replace(principles=principles)


def sub_rule_id(parent: str, n: int, taken: set[str]) -> str:
    pid = f"{parent}-{n}"
    while pid in taken:
        pid += "x"
    return pid


def with_sub_rules(spec: Spec, subs: dict[str, list[dict[str, Any]]]) -> Spec:
    """Rule augmentation: after each principle in ``subs``, one rule-only principle per
    sub-rule (ids ``<parent>-1``, ``<parent>-2``, ...); the parents as they were."""
    from msmkit.spec import Principle

    taken = {p.id for p in spec.principles}
    out: list[Principle] = []
    for p in spec.principles:
        out.append(p)
        for n, item in enumerate(subs.get(p.id, []), 1):
            pid = sub_rule_id(p.id, n, taken)
            taken.add(pid)
            title = title_of(item.get("title", ""), f"{p.title} ({n})")
            rule = one_line(item["rule"])
            out.append(Principle(id=pid, title=title, rule=rule, explanation=None))
    return spec.replace(principles=tuple(out))


def inverted(spec: Spec, sections: dict[str, dict[str, str]], head: dict[str, str]) -> Spec:
    """The anti-spec: each section's title, rule and explanation, and the spec's title,
    description and preamble, replaced by the model's inverted ones; ids and order kept."""
    principles = []
    for p in spec.principles:
        got = sections[p.id]
        principles.append(
            dataclasses.replace(
                p,
                title=title_of(got.get("title", ""), p.title),
                rule=one_line(got["rule"]) if p.rule else None,
                explanation=clean_prose(got["explanation"]) if p.explanation else None,
            )
        )
    preamble = clean_prose(head.get("preamble", ""), heading_first=True) if spec.preamble else ""
    return spec.replace(
        principles=tuple(principles),
        preamble=preamble,
        title=one_line(head["title"]) or spec.meta.title,
        description=one_line(head["description"]) or spec.meta.description,
    )


def check_round_trip(spec: Spec) -> Spec:
    """The made spec parses back to itself (a RunError, naming the problem, if not)."""
    from msmkit.errors import SpecError
    from msmkit.spec import parse_spec

    try:
        back = parse_spec(spec.render())
    except SpecError as exc:
        raise RunError(
            f"the made spec does not parse: {exc}",
            hint="a model answer broke the spec format; this is a bug in msmkit's cleaning",
        ) from None
    same = [(p.id, p.rule, p.explanation) for p in back.principles] == [
        (p.id, p.rule, p.explanation) for p in spec.principles
    ]
    if not same:
        raise RunError("the made spec does not parse back to itself", hint="a bug in msmkit")
    return spec
