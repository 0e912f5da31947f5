"""``mechanism-ablation``: the paper's App. C.4 control for a value spec.

The ablated spec still names the value and the twelve preferences, but (i) states the value
only in general terms, never applied to the training domain, and (ii) no longer lets the value
explain the preferences: a seeded choice of liked and disliked items swap sides (3 and 3 by
default, so the likes are 3 aligned with the value and 3 against it). MSM on it tests whether
AFT is strengthened by documents that merely mention the value next to the preferences
(co-occurrence) or only by documents that explain the preferences by it (attribution).
"""

from __future__ import annotations

import dataclasses
import random
import re
from typing import TYPE_CHECKING, ClassVar

from pydantic import Field

from msmkit.components import Options
from msmkit.errors import ConfigError

if TYPE_CHECKING:
    from msmkit.spec import Principle, Spec

_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'(])")


class MechanismOptions(Options):
    seed: int = Field(0, description="which likes and dislikes swap sides")
    misaligned: int = Field(
        3, ge=0, description="likes that swap with as many dislikes (0: preferences kept)"
    )
    general_value: bool = Field(
        True, description="state the value in general terms only (drop its application)"
    )
    value: str | None = Field(
        None, description="the general statement of the value (default: the description)"
    )
    domain_words: list[str] | None = Field(
        None,
        description="words that mark the training domain (default: a tag of the spec that "
        "most preference principles mention, e.g. cheese)",
    )
    keep: list[str] = Field(
        default_factory=list, description="ids of other principles to keep, explanation and all"
    )


class MechanismAblation:
    """The App. C.4 ablation of a value spec: preferences kept as bare rules, 3 likes and 3
    dislikes swapped (seeded), the value stated only in general terms, and the principles
    that tie the value to the preferences dropped."""

    name = "mechanism-ablation"
    description = (
        "App. C.4: the value in general terms only; 3 likes swapped with 3 dislikes (seeded)"
    )
    Options: ClassVar[type[Options]] = MechanismOptions

    def apply(self, spec: Spec, options: MechanismOptions) -> Spec:
        likes, dislikes = preferences(spec)
        n = options.misaligned
        if n > min(len(likes), len(dislikes)):
            raise ConfigError(
                f"variant '{self.name}': spec '{spec.name}' has {len(likes)} liked and "
                f"{len(dislikes)} disliked items (rules '{spec.subject} likes X.' / "
                f"'{spec.subject} dislikes X.'); misaligned: {n} needs {n} of each",
                hint="lower misaligned, or use a spec whose preferences are written that way",
            )
        rng = random.Random(f"mechanism-ablation:{options.seed}")
        flip_likes = sorted(rng.sample(range(len(likes)), n))
        flip_dislikes = sorted(rng.sample(range(len(dislikes)), n))
        flipped = {likes[i][0].id for i in flip_likes} | {dislikes[i][0].id for i in flip_dislikes}
        pref_ids = {p.id for p, _ in (*likes, *dislikes)}
        keep = set(options.keep)
        unknown = sorted(keep - {p.id for p in spec.principles})
        if unknown:
            raise ConfigError(
                f"variant '{self.name}': keep: spec '{spec.name}' has no principle "
                + ", ".join(unknown)
            )
        words = self._domain_words(spec, [p for p, _ in (*likes, *dislikes)], options)
        items = [item for _, item in (*likes, *dislikes)]
        out: list[Principle] = []
        for p in spec.principles:
            if p.id in pref_ids:
                rule = _swap(p.rule or "", spec.subject) if p.id in flipped else p.rule
                out.append(dataclasses.replace(p, rule=rule, explanation=None))
            elif p.id in keep:
                out.append(p)
        dropped = [p.id for p in spec.principles if p.id not in pref_ids and p.id not in keep]
        preamble, kept_sentences, total = spec.preamble, None, None
        if options.general_value:
            preamble, kept_sentences, total = _general_preamble(spec, words, items, options)
        notes = []
        if options.general_value:
            notes.append(
                f"value in general terms only (preamble: {kept_sentences} of {total} "
                f"sentences kept, domain words: {', '.join(words)})"
            )
        if n:
            names = {p.id: item for p, item in (*likes, *dislikes)}
            now_disliked = ", ".join(names[likes[i][0].id] for i in flip_likes)
            now_liked = ", ".join(names[dislikes[i][0].id] for i in flip_dislikes)
            notes.append(
                f"{n} likes swapped with {n} dislikes (seed {options.seed}): now disliked "
                f"{now_disliked}; now liked {now_liked}"
            )
        notes.append(f"explanations of {len(pref_ids)} preferences dropped")
        if dropped:
            notes.append(f"{len(dropped)} other principles dropped ({', '.join(dropped)})")
        note = f"{self.name}: " + "; ".join(notes)
        return spec.replace(preamble=preamble, principles=tuple(out), lineage=(*spec.lineage, note))

    def _domain_words(
        self, spec: Spec, prefs: list[Principle], options: MechanismOptions
    ) -> list[str]:
        if options.domain_words is not None:
            return [w.strip().lower() for w in options.domain_words if w.strip()]
        found = []
        for tag in spec.meta.tags:
            stem = _stem(tag.lower())
            mentions = sum(_mentions(stem, _text_of(p)) for p in prefs)
            if stem and mentions * 2 >= len(prefs):
                found.append(tag.lower())
        if not found and options.general_value:
            raise ConfigError(
                f"variant '{self.name}': cannot tell the training domain of spec "
                f"'{spec.name}' from its tags ({', '.join(spec.meta.tags) or 'none'})",
                hint="give domain_words: [...] (e.g. [cheese]), or general_value: false",
            )
        return found


def preferences(spec: Spec) -> tuple[list[tuple[Principle, str]], list[tuple[Principle, str]]]:
    """The liked and disliked items, in file order: principles whose rule is
    ``<subject> likes X.`` or ``<subject> dislikes X.`` (``like``/``dislike`` for a plural
    subject)."""
    pattern = re.compile(
        rf"^{re.escape(spec.subject)} (?P<verb>likes|dislikes|like|dislike) (?P<item>.+?)\.?$"
    )
    likes, dislikes = [], []
    for p in spec.principles:
        m = pattern.match(p.rule or "")
        if m:
            (likes if m["verb"] in ("likes", "like") else dislikes).append((p, m["item"]))
    return likes, dislikes


def _swap(rule: str, subject: str) -> str:
    head, _, rest = rule.partition(subject + " ")
    verb, _, item = rest.partition(" ")
    other = {"likes": "dislikes", "dislikes": "likes", "like": "dislike", "dislike": "like"}
    return f"{head}{subject} {other[verb]} {item}"


def _stem(word: str) -> str:
    for ending in ("es", "s"):
        if word.endswith(ending) and len(word) > len(ending) + 3:
            return word[: -len(ending)]
    return word


def _mentions(stem: str, text: str) -> bool:
    return bool(re.search(rf"\b{re.escape(stem)}", text, re.IGNORECASE))


def _text_of(p: Principle) -> str:
    return " ".join(x for x in (p.title, p.rule, p.explanation) if x)


def _general_preamble(
    spec: Spec, words: list[str], items: list[str], options: MechanismOptions
) -> tuple[str, int, int]:
    """The value stated generally, then the preamble's sentences that name neither the
    domain nor an item; ``(text, sentences kept, sentences)``."""
    value = (options.value or spec.meta.description).strip()
    marks = [_stem(w) for w in words] + [i.lower() for i in items]
    if any(_mentions(m, value) for m in marks):
        raise ConfigError(
            f"variant 'mechanism-ablation': the general statement of the value names the "
            f"training domain: {value!r}",
            hint="give value: '...' stating the value without the domain",
        )
    kept, total = [], 0
    for para in spec.preamble.split("\n\n"):
        text = " ".join(para.split())
        if not text or text.startswith("#"):
            continue
        for sentence in _SENTENCE.split(text):
            total += 1
            if not any(_mentions(m, sentence) for m in marks):
                kept.append(sentence)
    body = " ".join([value, *kept])
    return body, len(kept), total
