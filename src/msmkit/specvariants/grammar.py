"""Where a spec speaks of its subject, and the verb that follows.

A spec's sentences about its subject mostly have the shape *subject [adverbs] verb*: "Llama
likes cream cheese", "Llama never acts alone", "Llama does not hide its reasoning". The
variants that rewrite who a spec speaks of (``attribution``) or how it speaks (``voice``)
only touch such clauses. They are deterministic and deliberately narrow: a pronoun (``it``,
``its``) that refers back to the subject is left as written, and so is a clause whose verb
cannot be told apart from another word.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PLURAL_WORDS = frozenset(
    {"people", "humans", "persons", "children", "folk", "assistants", "models", "systems",
     "agents", "researchers", "nurses", "doctors", "teachers"}
)  # fmt: skip
MODALS = frozenset(
    {"can", "could", "will", "would", "may", "might", "must", "shall", "should", "cannot",
     "ought", "can't", "won't", "wouldn't", "couldn't", "mustn't", "shouldn't", "needn't"}
)  # fmt: skip
PAST = frozenset({"was", "were", "had", "did", "wasn't", "weren't", "hadn't", "didn't"})
ADVERBS = frozenset(
    {"never", "always", "also", "often", "usually", "rarely", "seldom", "still", "only",
     "sometimes", "even", "just", "already", "therefore", "thus", "now", "then"}
)  # fmt: skip
NOT_VERBS = frozenset(
    {"and", "or", "but", "nor", "so", "yet", "the", "a", "an", "this", "that", "these",
     "those", "its", "it", "itself", "themselves", "who", "whom", "which", "what", "whose",
     "when", "where", "while", "as", "at", "by", "for", "from", "in", "into", "of", "on",
     "onto", "to", "with", "without", "about", "over", "under", "than", "too", "alone",
     "less", "more", "most", "plus", "across", "towards", "toward", "each", "both", "all",
     "not", "no", "is", "if", "because", "although", "though", "whether", "his", "her",
     "their", "our", "your", "my", "we", "they", "he", "she", "you", "i", "us", "them"}
)  # fmt: skip
SG_TO_PL = {
    "is": "are", "has": "have", "does": "do", "was": "were", "isn't": "aren't",
    "hasn't": "haven't", "doesn't": "don't", "wasn't": "weren't",
}  # fmt: skip
PL_TO_SG = {v: k for k, v in SG_TO_PL.items()}

LY_VERBS = ("apply", "rely", "reply", "supply", "comply", "imply", "multiply", "fly", "ally")
ADVERB_PATTERN = (
    r"(?:never|always|also|often|usually|rarely|seldom|still|only|sometimes|even|just|already|"
    rf"therefore|thus|now|then|(?!(?:{'|'.join(LY_VERBS)})\b)[a-z]{{2,}}ly)"
)
_SENTENCE_START = re.compile(r"(?:^|[.!?:]\s+|\n\s*|^#+\s+|\n#+\s+)$")
PREPOSITIONS = frozenset(
    {"to", "for", "of", "by", "with", "from", "about", "on", "at", "in", "into", "upon",
     "onto", "toward", "towards", "without", "within", "between", "among", "against", "like",
     "unlike", "than", "beyond", "behind", "under", "over", "through"}
)  # fmt: skip
_PREVIOUS_WORD = re.compile(r"([A-Za-z']+)\s+$")


def is_plural(subject: str) -> bool:
    """``AI systems``, ``people`` and ``humans`` are plural; a name (``Llama``, ``Atlas``) and
    ``the assistant`` are not."""
    words = subject.strip().split()
    if not words:
        return False
    last = words[-1]
    low = last.lower()
    if low in PLURAL_WORDS:
        return True
    if last[:1].isupper():
        return False
    return low.endswith("s") and not low.endswith(("ss", "us", "is"))


def to_base(verb: str) -> str:
    """The base form of a third-person singular verb: ``likes`` -> ``like``."""
    irregular = {"is": "be", "has": "have", "does": "do", "goes": "go"}
    if verb in irregular:
        return irregular[verb]
    if verb.endswith("ies") and len(verb) > 4:
        return verb[:-3] + "y"
    if verb.endswith(("sses", "shes", "ches", "xes", "zes", "oes")):
        return verb[:-2]
    if verb.endswith("s") and not verb.endswith("ss"):
        return verb[:-1]
    return verb


def to_third(verb: str) -> str:
    """The third-person singular of a base form: ``carry`` -> ``carries``."""
    irregular = {"be": "is", "have": "has", "do": "does", "go": "goes"}
    if verb in irregular:
        return irregular[verb]
    if verb.endswith("y") and len(verb) > 1 and verb[-2] not in "aeiou":
        return verb[:-1] + "ies"
    if verb.endswith(("s", "sh", "ch", "x", "z", "o")):
        return verb + "es"
    return verb + "s"


def looks_third_singular(word: str) -> bool:
    """A word that can be a verb agreeing with a singular subject (``likes``, ``is``)."""
    if word in SG_TO_PL:
        return True
    return word.endswith("s") and not word.endswith("ss") and word not in NOT_VERBS


ED_ING_VERBS = frozenset(
    {"need", "feed", "heed", "seed", "proceed", "exceed", "succeed", "breed", "bleed", "speed",
     "embed", "shed", "bring", "sing", "ring", "swing", "cling", "fling", "sting", "spring",
     "string", "wring"}
)  # fmt: skip


def looks_base(word: str) -> bool:
    """A word that can be a verb agreeing with a plural subject (``like``, ``are``); not a
    participle (``unmoved``, ``working``)."""
    if word in LY_VERBS or word in ED_ING_VERBS:
        return True
    if word.endswith(("ed", "ing")):
        return False
    return (
        word.isalpha()
        and word not in NOT_VERBS
        and word not in MODALS
        and word not in ADVERBS
        and not word.endswith("ly")
    )


@dataclass
class Clause:
    """One mention of the subject: ``subj`` as written, ``poss`` (``'s``/``'``) or the
    ``adverbs`` and ``verb`` after it (``verb`` is '' when none could be read)."""

    subj: str
    poss: str
    adverbs: str  # with their leading spaces: " never also"
    verb: str
    neg: str  # " not" right after the verb, else ''
    at_start: bool  # the mention begins a sentence
    after_preposition: bool  # "to Llama", "for Llama": an object, not a subject

    @property
    def is_subject(self) -> bool:
        """Read as the subject of the verb after it (not after a preposition)."""
        return bool(self.verb) and not self.after_preposition


def subject_regex(subject: str) -> re.Pattern[str]:
    """Mentions of ``subject`` (also capitalized, for a lower-case subject that begins a
    sentence), each with a possessive or the adverbs and word that follow it."""
    names = [re.escape(subject)]
    if subject[:1].islower():
        names.append(re.escape(subject[:1].upper() + subject[1:]))
    return re.compile(
        rf"(?<![\w-])(?P<subj>{'|'.join(names)})(?![\w-])"
        rf"(?:(?P<poss>'s\b|'(?=\s))"
        rf"|(?P<adv>(?: {ADVERB_PATTERN})*) (?P<verb>[a-z]+(?:n't)?)\b(?P<neg> not\b)?)?"
    )


def clause(match: re.Match[str]) -> Clause:
    before = match.string[: match.start()]
    previous = _PREVIOUS_WORD.search(before[-40:])
    return Clause(
        subj=match["subj"],
        poss=match["poss"] or "",
        adverbs=match["adv"] or "",
        verb=match["verb"] or "",
        neg=match["neg"] or "",
        at_start=bool(_SENTENCE_START.search(before)),
        after_preposition=bool(previous and previous.group(1).lower() in PREPOSITIONS),
    )


def capitalize_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def possessive(name: str) -> str:
    return name + ("'" if name.endswith("s") else "'s")
