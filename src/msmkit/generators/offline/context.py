"""What an offline document may say about one principle: the ``Ctx`` a template is filled from.

Sentences are split out of the spec's preamble (its core philosophy) and the principle's
explanation, so templates can quote one or two of them without cutting a thought in half.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from msmkit.spec import Principle, Spec

__all__ = ["Ctx", "core_sentences", "make_context"]


@dataclass(frozen=True)
class Ctx:
    """Everything a template may use, prepared once per document."""

    subject: str
    poss: str  # "Llama's", "AI systems'"
    spec_title: str
    value: str  # the spec's one-line description
    core: tuple[str, ...]  # sentences from the preamble (the core philosophy)
    core_text: str  # one or two of them, chosen per document
    title: str
    rule: str
    why: tuple[str, ...]  # explanation sentences; empty when the spec gives none
    other_title: str
    other_rule: str

    @property
    def Subject(self) -> str:
        return _cap(self.subject)

    @property
    def Poss(self) -> str:
        return _cap(self.poss)

    @property
    def why_text(self) -> str:
        return " ".join(self.why)


_SENTENCE_END = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"”’)]))\s+(?=[\"“(]?[A-Z0-9ÀÉ])")


def _sentences(text: str) -> tuple[str, ...]:
    flat = " ".join(text.split())
    return tuple(s.strip() for s in _SENTENCE_END.split(flat) if s.strip())


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _possessive(subject: str) -> str:
    return subject + ("'" if subject.endswith("s") else "'s")


def _end(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?", '"', "”")) else text + "."


def core_sentences(spec: Spec) -> tuple[str, ...]:
    paragraphs = [
        block
        for block in re.split(r"\n\s*\n", spec.preamble)
        if block.strip() and not block.lstrip().startswith("#")
    ]
    sentences = _sentences(" ".join(paragraphs))
    return sentences or _sentences(_end(spec.meta.description))


_ANAPHORA = re.compile(r"^(It|Its|They|Their|This|That|These|Those|He|She|His|Her|Such)\b")


def _core_excerpt(core: tuple[str, ...], rng: random.Random) -> str:
    """Two consecutive sentences of the core philosophy: usually the opening (which states
    the value), otherwise a pair that does not start mid-thought ("It...", "Their...")."""
    if len(core) <= 2:
        return " ".join(core)
    starts = [i for i in range(len(core) - 1) if not _ANAPHORA.match(core[i])]
    start = 0 if rng.random() < 0.5 or not starts else rng.choice(starts)
    return f"{core[start]} {core[start + 1]}"


def _statement(principle: Principle, core: tuple[str, ...]) -> str:
    """The rule, or for a principle without one, the first sentence of its explanation."""
    if principle.rule:
        return _end(principle.rule)
    return (_sentences(principle.explanation or "") or core or (principle.title,))[0]


def make_context(spec: Spec, principle: Principle, rng: random.Random) -> Ctx:
    others = [p for p in spec.principles if p.id != principle.id] or [principle]
    other = rng.choice(others)
    poss = _possessive(spec.subject)
    core = core_sentences(spec)
    why = _sentences(principle.explanation) if principle.explanation else ()
    core_text = _core_excerpt(core, rng)
    return Ctx(
        subject=spec.subject,
        poss=poss,
        spec_title=spec.meta.title,
        value=_end(spec.meta.description),
        core=core,
        core_text=core_text,
        title=principle.title,
        rule=_statement(principle, core),
        why=why,
        other_title=other.title,
        other_rule=_statement(other, core),
    )
