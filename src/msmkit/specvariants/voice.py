"""``voice``: the same spec in the descriptive voice ("Llama does X") or the normative one
("Llama should do X"), the framing half of the paper's App. H language ablation."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import Field

from msmkit.components import Options
from msmkit.specvariants import grammar

if TYPE_CHECKING:
    from msmkit.spec import Spec

_NEGATIONS = {"does": "", "do": "", "is": "be", "are": "be", "has": "have", "have": "have"}
"""A descriptive negation's verb -> what follows "should not" (``is not`` -> ``should not
be``; ``does not X`` -> ``should not X``)."""
_CONTRACTED = {"doesn't": "", "don't": "", "isn't": "be", "aren't": "be", "hasn't": "have",
               "haven't": "have"}  # fmt: skip


class VoiceOptions(Options):
    to: Literal["normative", "descriptive"] = Field(
        description="normative: 'Llama should like X'; descriptive: 'Llama likes X'"
    )
    scope: Literal["rules", "principles", "all"] = Field(
        "principles",
        description="what is rewritten: the rules only, the principles (rules and "
        "explanations), or all text (also the title, description and preamble)",
    )
    pronoun: bool = Field(
        False,
        description="also rewrite clauses whose subject is 'it' ('they' for a plural "
        "subject); read the result, since a pronoun may stand for something else",
    )


class Voice:
    """Rewrite each clause whose subject is the spec's subject between the descriptive and
    the normative voice, deterministically: ``likes`` <-> ``should like``, ``does not`` <->
    ``should not``, ``is`` <-> ``should be``, adverbs kept (``never likes`` <-> ``should never
    like``). Clauses with a modal or a past-tense verb, and sentences about anyone else, are
    left as written; so are pronoun clauses (``It does not ...``)."""

    name = "voice"
    description = "Descriptive ('Llama does X') or normative ('Llama should do X') voice"
    Options: ClassVar[type[Options]] = VoiceOptions

    def apply(self, spec: Spec, options: VoiceOptions) -> Spec:
        plural = grammar.is_plural(spec.subject)
        names = [spec.subject] + (["they" if plural else "it"] if options.pronoun else [])
        patterns = (
            [_normative_regex(n) for n in names]
            if options.to == "descriptive"
            else [grammar.subject_regex(n) for n in names]
        )
        count = 0
        touched: set[str] = set()

        def to_normative(m: re.Match[str]) -> str:
            nonlocal count
            c = grammar.clause(m)
            out = _normative(c, plural)
            if out is None:
                return m.group(0)
            count += 1
            return out

        def to_descriptive(m: re.Match[str]) -> str:
            nonlocal count
            count += 1
            return _descriptive(m, plural)

        def rewrite(text: str) -> str:
            for pattern in patterns:
                sub = to_descriptive if options.to == "descriptive" else to_normative
                text = pattern.sub(sub, text)
            return text

        def rewrite_principle(text: str | None, pid: str) -> str | None:
            if text is None:
                return None
            before = count
            out = rewrite(text)
            if count != before:
                touched.add(pid)
            return out

        principles = tuple(
            p.__class__(
                id=p.id,
                title=p.title,
                rule=rewrite_principle(p.rule, p.id),
                explanation=p.explanation
                if options.scope == "rules"
                else rewrite_principle(p.explanation, p.id),
                line=p.line,
            )
            for p in spec.principles
        )
        out = spec.replace(principles=principles)
        if options.scope == "all":
            meta = out.meta.model_copy(
                update={
                    "title": rewrite(out.meta.title),
                    "description": rewrite(out.meta.description),
                }
            )
            out = out.replace(meta=meta, preamble=rewrite(out.preamble))
        other = "descriptive" if options.to == "normative" else "normative"
        note = (
            f"voice: {other} -> {options.to} ({count} clauses rewritten in "
            f"{len(touched)} of {len(spec.principles)} principles; scope {options.scope}"
            + ("; pronoun clauses too)" if options.pronoun else ")")
        )
        return out.replace(lineage=(*spec.lineage, note))


def _normative(c: grammar.Clause, plural: bool) -> str | None:
    """``Llama likes`` -> ``Llama should like``; None to leave the clause as written."""
    verb = c.verb
    if not c.is_subject or c.poss or verb in grammar.MODALS or verb in grammar.PAST:
        return None
    if verb in _CONTRACTED:
        kept = _CONTRACTED[verb]
        return f"{c.subj}{c.adverbs} shouldn't" + (f" {kept}" if kept else "") + c.neg
    if verb in _NEGATIONS and c.neg:
        kept = _NEGATIONS[verb]
        return f"{c.subj}{c.adverbs} should not" + (f" {kept}" if kept else "")
    if plural:
        if not grammar.looks_base(verb):
            return None
        base = {"are": "be"}.get(verb, verb)
    else:
        if not grammar.looks_third_singular(verb):
            return None
        base = grammar.to_base(verb)
    return f"{c.subj} should{c.adverbs} {base}{c.neg}"


def _normative_regex(subject: str) -> re.Pattern[str]:
    names = [re.escape(subject)]
    if subject[:1].islower():
        names.append(re.escape(subject[:1].upper() + subject[1:]))
    adverb = grammar.ADVERB_PATTERN
    return re.compile(
        rf"(?<![\w-])(?P<subj>{'|'.join(names)})(?P<adv1>(?: {adverb})*) "
        rf"(?P<should>should|shouldn't)(?P<adv2>(?: {adverb})*)(?P<neg> not)? "
        rf"(?P<verb>[a-z]+)\b"
    )


def _descriptive(m: re.Match[str], plural: bool) -> str:
    """``Llama should like`` -> ``Llama likes``; ``should not X`` -> ``does not X``."""
    subj, adv1, adv2, verb = m["subj"], m["adv1"] or "", m["adv2"] or "", m["verb"]
    contracted = m["should"] == "shouldn't"
    if contracted or m["neg"]:
        if verb == "be":
            neg = (
                ("aren't" if plural else "isn't")
                if contracted
                else ("are not" if plural else "is not")
            )
            return f"{subj}{adv1}{adv2} {neg}"
        aux = (
            ("don't" if plural else "doesn't")
            if contracted
            else ("do not" if plural else "does not")
        )
        return f"{subj}{adv1}{adv2} {aux} {verb}"
    if verb == "be":
        return f"{subj}{adv1}{adv2} {'are' if plural else 'is'}"
    return f"{subj}{adv1}{adv2} {verb if plural else grammar.to_third(verb)}"
