"""msmkit-attribution: rewrite who a spec speaks of, as a third-party plugin would.

An example of a spec-variant plugin. msmkit itself ships the full variant as the built-in
``attribution`` (presets, capitalization, both directions of verb agreement); this plugin
registers the minimal version under its own name, ``simple-attribution``, so the two never
clash."""

from __future__ import annotations

import re
from typing import ClassVar

import msmkit
from msmkit.components import Options

__version__ = "0.2.0"

PLURAL_WORDS = {"people", "humans"}
NOT_VERBS = {"always", "perhaps", "thus", "plus", "across", "towards", "its", "this", "less"}


class AttributionOptions(Options):
    subject: str
    plural: bool | None = None


def _is_plural(subject: str) -> bool:
    last = subject.strip().split()[-1].lower()
    return last in PLURAL_WORDS or (last.endswith("s") and not last.endswith("ss"))


def _singular_to_plural_verb(word: str) -> str:
    irregular = {"is": "are", "has": "have", "does": "do", "was": "were"}
    if word in NOT_VERBS:
        return word
    if word in irregular:
        return irregular[word]
    if word.endswith(("ches", "shes", "sses", "xes", "oes")):
        return word[:-2]
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


class SimpleAttribution:
    """Point the spec at a different subject: another model, AI systems, or humans."""

    name = "simple-attribution"
    description = "Swap the spec's subject for another (an example plugin; see `attribution`)"
    Options: ClassVar[type[Options]] = AttributionOptions

    def apply(self, spec, options: AttributionOptions):
        old, new = spec.subject, options.subject.strip()
        plural = _is_plural(new) if options.plural is None else options.plural
        pattern = re.compile(rf"\b{re.escape(old)}(?P<poss>'s)?\b(?P<rest> (?P<word>[a-z]+))?")

        def swap(m: re.Match[str]) -> str:
            out = new + ("'" if m["poss"] and new.endswith("s") else (m["poss"] or ""))
            if m["rest"]:
                word = m["word"]
                if plural and not m["poss"]:
                    word = _singular_to_plural_verb(word)
                out += " " + word
            return out

        def rewrite(text: str) -> str:
            return pattern.sub(swap, text)

        changed = spec.map_text(rewrite)
        meta = changed.meta.model_copy(update={"subject": new})
        note = f"simple-attribution: {old} -> {new}" + (" (plural)" if plural else "")
        return changed.replace(meta=meta, lineage=(*spec.lineage, note))


@msmkit.hookimpl
def register_spec_variants(register):
    register(SimpleAttribution())
