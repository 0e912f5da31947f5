"""``attribution``: the same spec, told about someone else (the paper's App. H language
ablation: the model itself, another model, humans, or assistants in general)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from msmkit.components import Options
from msmkit.specvariants import grammar

if TYPE_CHECKING:
    from msmkit.spec import Spec

PRESETS: dict[str, str | None] = {
    "model": None,  # the trained model's own name: give it as subject
    "another-model": None,  # e.g. Claude for a Qwen run: give it as subject
    "humans": "people",
    "assistants": "AI assistants",
}


class AttributionOptions(Options):
    to: Literal["model", "another-model", "humans", "assistants"] | None = Field(
        None,
        description="the kind of subject (recorded in the lineage): model, another-model "
        "(both need `subject`), humans (default subject 'people'), assistants ('AI "
        "assistants')",
    )
    subject: str | None = Field(
        None,
        validate_default=True,
        description="who the spec speaks of instead (needed unless `to` gives a default)",
    )
    plural: bool | None = Field(None, description="default: guessed from the new subject")

    @field_validator("subject")
    @classmethod
    def _subject(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("must not be empty")
        to = info.data.get("to")
        if value is None and (to is None or PRESETS[to] is None):
            raise PydanticCustomError("missing", "Field required")
        return value

    def new_subject(self) -> str:
        return (self.subject or PRESETS[self.to or ""] or "").strip()


class Attribution:
    """Rewrite every mention of the spec's subject (and its possessive) to a new subject, and
    the verb right after it when the number changes (``Llama likes`` -> ``AI assistants
    like``). A mention that starts a sentence is capitalized (``People like ...``). Pronouns
    that refer back to the subject (``it``, ``its``) are left as written."""

    name = "attribution"
    description = "Rewrite who the spec speaks of (the model, another model, humans, assistants)"
    Options: ClassVar[type[Options]] = AttributionOptions

    def apply(self, spec: Spec, options: AttributionOptions) -> Spec:
        old, new = spec.subject, options.new_subject()
        plural = grammar.is_plural(new) if options.plural is None else options.plural
        was_plural = grammar.is_plural(old)
        pattern = grammar.subject_regex(old)

        def swap(m: re.Match[str]) -> str:
            c = grammar.clause(m)
            name = grammar.capitalize_first(new) if c.at_start or c.subj[:1] != old[:1] else new
            if c.poss:
                return grammar.possessive(name)
            if not c.is_subject:
                return name + m.group(0)[len(c.subj) :]
            return f"{name}{c.adverbs} {_agree(c.verb, was_plural, plural)}{c.neg}"

        changed = spec.map_text(lambda text: pattern.sub(swap, text))
        kind = f" ({options.to})" if options.to else ""
        note = f"attribution{kind}: {old} -> {new}" + (" (plural)" if plural else "")
        return changed.replace(subject=new, lineage=(*spec.lineage, note))


def _agree(verb: str, was_plural: bool, plural: bool) -> str:
    """The verb after the subject, made to agree with the new subject's number."""
    if was_plural == plural or verb in grammar.MODALS:
        return verb
    if plural:
        if verb in grammar.SG_TO_PL:
            return grammar.SG_TO_PL[verb]
        return grammar.to_base(verb) if grammar.looks_third_singular(verb) else verb
    if verb in grammar.PL_TO_SG:
        return grammar.PL_TO_SG[verb]
    return grammar.to_third(verb) if grammar.looks_base(verb) else verb
