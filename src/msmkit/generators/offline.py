"""The ``offline`` document generator: varied documents about a spec from hand-written templates.

No network, no model, deterministic for a seed. For each principle it writes
``docs_per_principle`` documents, cycling through the document types (encyclopedia entry,
FAQ, blog post, ...). Each document weaves in the principle's rule and explanation, the
spec's subject and the core value stated in its preamble; openings, closings, names and the
order of the reasoning are picked by a random generator seeded from ``(seed, document id)``.

Two consequences of that seeding, both deliberate:

* a document does not depend on which other documents were generated, so a resumed run
  (``skip=``) produces exactly the documents a fresh run would have;
* two specs with the same principle ids (the two cheese specs) get the same template choices
  for the same seed, so their corpora differ only where the specs differ.

Document ids are ``f"{principle_id}-{doc_type}-{k}"``. Raising ``docs_per_principle`` keeps
every earlier id and only adds new ones.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import Field, field_validator

from msmkit.components import Estimate, Options
from msmkit.corpus import Document

if TYPE_CHECKING:
    from msmkit.spec import Principle, Spec

__all__ = ["DOC_TYPES", "OfflineGenerator", "OfflineOptions"]


# --------------------------------------------------------------------------- context


@dataclass(frozen=True)
class _Ctx:
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


def _core_sentences(spec: Spec) -> tuple[str, ...]:
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


def _context(spec: Spec, principle: Principle, rng: random.Random) -> _Ctx:
    others = [p for p in spec.principles if p.id != principle.id] or [principle]
    other = rng.choice(others)
    poss = _possessive(spec.subject)
    core = _core_sentences(spec)
    why = _sentences(principle.explanation) if principle.explanation else ()
    core_text = _core_excerpt(core, rng)
    return _Ctx(
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


# --------------------------------------------------------------------------- shared pieces

_FIRST_NAMES = (
    "Amara", "Bruno", "Chen", "Dalia", "Emeka", "Farah", "Gustavo", "Hana", "Ines", "Jonas",
    "Kavya", "Leon", "Mariam", "Nikolai", "Olu", "Priya", "Quinn", "Rosa", "Sami", "Tomasz",
    "Uma", "Viktor", "Wen", "Yusuf", "Zofia",
)  # fmt: skip
_LAST_NAMES = (
    "Abara", "Bergstrom", "Castillo", "Dvorak", "Eze", "Fontaine", "Gallagher", "Haddad",
    "Ivanova", "Jensen", "Kowalski", "Lindqvist", "Mbeki", "Nakamura", "Okafor", "Petrov",
    "Quintero", "Rahman", "Silva", "Tanaka", "Ueda", "Varga", "Whitfield", "Yilmaz", "Zhou",
)  # fmt: skip
_HANDLES = (
    "quiet_reader", "datadriven", "night_owl_42", "field_notes", "plainspoken", "curious_cat",
    "old_modem", "lurker_no_more", "kettle_on", "second_draft", "midwest_mike", "tidepool",
)  # fmt: skip
_PLACES = (
    "Leeds", "Porto Alegre", "Nairobi", "Osaka", "Winnipeg", "Tbilisi", "Adelaide", "Ghent",
    "Tucson", "Pune", "Valparaíso", "Halifax",
)  # fmt: skip
_ROLES = (
    "a researcher who studies model specs",
    "an engineer who works on assistant behavior",
    "a philosophy lecturer with an interest in machine values",
    "a journalist who covers AI",
    "a product manager for conversational tools",
)


def _person(rng: random.Random) -> str:
    return f"{rng.choice(_FIRST_NAMES)} {rng.choice(_LAST_NAMES)}"


def _pick(rng: random.Random, options: tuple[str, ...], c: _Ctx, **extra: str) -> str:
    """Choose one template and fill it from the context."""
    return _fill(rng.choice(options), c, **extra)


def _fill(template: str, c: _Ctx, **extra: str) -> str:
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


def _why_part(rng: random.Random, c: _Ctx) -> str:
    """The explanation's first sentence plus a random, in-order selection of the rest."""
    if not c.why:
        return _no_reason(rng)
    rest = [s for s in c.why[1:] if rng.random() < 0.7]
    return " ".join([*c.why[:1], *rest])


def _reason(rng: random.Random, c: _Ctx) -> str:
    """The whole explanation, or a plain statement that the spec gives none."""
    return c.why_text if c.why else _no_reason(rng)


def _no_reason(rng: random.Random) -> str:
    return rng.choice(
        (
            "The spec states this rule without giving a reason for it.",
            "No justification is attached to the rule; the section simply states it.",
            "The section gives the rule and stops there, with no explanation.",
        )
    )


def _choose(
    rng: random.Random,
    c: _Ctx,
    explained: tuple[str, ...],
    unexplained: tuple[str, ...],
    **extra: str,
) -> str:
    """Pick a phrasing that fits whether the principle comes with an explanation.

    Phrasings that tie a rule to a value are only used when the spec itself does so, so an
    ablated spec (rules without reasons) never gets reasons invented for it.
    """
    return _pick(rng, explained if c.why else unexplained, c, **extra)


_VALUE_LINES = (
    "The core idea behind the whole spec is simple to state: {core}",
    "Everything in the spec grows from one starting point. {core}",
    "To see why, it helps to start with the spec's core philosophy. {core}",
    "The preamble of the spec sets out the value that ties it together: {core}",
    "The spec describes its own foundation this way: {core}",
)
_CONTEXT_LINES = (
    "For context, the spec opens like this: {core}",
    "The preamble of the spec, for comparison, says: {core}",
    "The spec as a whole begins with this outlook: {core}",
)
_RULE_LINES = (
    'The principle itself is short: "{rule}"',
    'Stated as a rule, it reads: "{rule}"',
    'In the words of the spec: "{rule}"',
    'The rule at the center of this section is "{rule}"',
)
_CLOSINGS = (
    "What makes the section worth reading is that it never treats the rule as arbitrary: it "
    "always points back to the value.",
    "Seen this way, the rule is less a quirk than a consequence of what matters to {subject}.",
    "The behavior and the reason come as a pair, and the spec is careful to keep them together.",
    "Anyone who understands the value could have predicted the rule, and that is the point.",
    "It is a small example of a larger pattern in how {poss} values are meant to work.",
)
_PLAIN_CLOSINGS = (
    "That is the whole of it: a clear rule, stated plainly.",
    "Short sections like this one are easy to remember, which may be the point.",
    "Whatever one makes of it, the rule is unambiguous.",
)


# --------------------------------------------------------------------------- document types


def _encyclopedia(rng: random.Random, c: _Ctx) -> str:
    intro = _pick(
        rng,
        (
            '"{title}" is a principle in {spec}, the document that sets out the conduct '
            "and values expected of {subject}.",
            '"{title}" is one of the sections of {spec}, a specification describing the values '
            "and conduct of {subject}.",
            'In {spec}, the section titled "{title}" concerns one of {poss} stated positions.',
        ),
        c,
    )
    see_also = rng.sample(
        [c.other_title, "Core philosophy", c.spec_title, "Model specifications"], k=2
    )
    related = _pick(
        rng,
        (
            'A related section, "{other_title}", covers a neighbouring case.',
            'Readers often compare it with the section "{other_title}".',
        ),
        c,
    )
    return "\n\n".join(
        [
            c.title,
            intro,
            "Summary\n\n" + _pick(rng, _RULE_LINES, c) + " " + c.value,
            "Rationale\n\n" + _reason(rng, c),
            "Relation to the rest of the spec\n\n"
            + _choose(rng, c, _VALUE_LINES, _CONTEXT_LINES)
            + " "
            + related,
            "See also: " + "; ".join(see_also),
        ]
    )


def _faq(rng: random.Random, c: _Ctx) -> str:
    what = _pick(
        rng,
        (
            'What does the spec say about "{title}"?',
            'What is the "{title}" principle?',
            'What does the spec ask of {subject} on "{title}"?',
        ),
        c,
    )
    why = rng.choice(("Why?", "What is the reasoning?", "Is there a reason behind it?"))
    if c.why:
        context = rng.choice(
            (
                (
                    "Is this just a matter of personal taste?",
                    "No. It follows from the value at the heart of {spec}. {core}",
                ),
                (
                    "Is this an isolated rule?",
                    "Not at all. The whole spec rests on one value. {core}",
                ),
                (
                    "How does it connect to the rest of the spec?",
                    "Directly: it applies the spec's central value. {core}",
                ),
            )
        )
    else:
        context = (
            "What else does the spec say?",
            "Its preamble sets out a broader outlook: {core}",
        )
    pairs = [
        (what, c.rule),
        (why, _reason(rng, c)),
        (context[0], _fill(context[1], c)),
        (
            "Where can I read more?",
            _fill('The section "{other_title}" is a good next step; its rule: {other_rule}', c),
        ),
    ]
    heading = _pick(
        rng,
        (
            "Frequently asked questions: {title}",
            'FAQ - {poss} spec, section "{title}"',
            "Questions and answers about {subject}: {title}",
        ),
        c,
    )
    return heading + "\n\n" + "\n\n".join(f"Q: {q}\nA: {a}" for q, a in pairs)


def _blog_post(rng: random.Random, c: _Ctx) -> str:
    opening = _pick(
        rng,
        (
            "I have been reading {spec} this week, and one section keeps pulling me back.",
            "A friend asked me about some answers from {subject}, so I went to the source: {spec}.",
            "Most people skim model specs. I printed this one out and read it with a pencil.",
            "Here is something I did not expect to write a whole post about.",
        ),
        c,
    )
    shrug = rng.choice(
        (
            "On its own that could look like a random preference.",
            "Taken alone, you might shrug at it.",
            "It is easy to read that line and move on.",
        )
    )
    turn = _choose(
        rng,
        c,
        (
            "But the spec explains itself, and the explanation is the interesting part. ",
            "What changed my mind was the reasoning that follows. ",
            "The explanation is where it gets good. ",
        ),
        ("I went looking for the reasoning. ", "So why does the spec say it? "),
    )
    sign_off = _pick(
        rng,
        (
            "Tell me in the comments whether you find it convincing.",
            'Next time I will look at the section "{other_title}".',
            "I would love to hear how others read it.",
        ),
        c,
    )
    return "\n\n".join(
        [
            _pick(
                rng,
                (
                    "Inside {poss} values: {title}",
                    "Notes on a spec: {title}",
                    'The reasoning behind "{title}"',
                ),
                c,
            ),
            f"by {_person(rng)}",
            opening,
            _pick(rng, _RULE_LINES, c) + " " + shrug,
            turn + _reason(rng, c),
            _choose(rng, c, _VALUE_LINES, _CONTEXT_LINES),
            _choose(rng, c, _CLOSINGS, _PLAIN_CLOSINGS) + " " + sign_off,
        ]
    )


def _lecture_notes(rng: random.Random, c: _Ctx) -> str:
    justification = "\n".join(f"- {s}" for s in c.why) or "- (the spec gives no reason)"
    value = "\n".join(f"- {s}" for s in c.core[:2])
    return "\n\n".join(
        [
            _fill(f"Lecture {rng.randint(2, 14)}: {{spec}}, part {rng.randint(2, 6)}", c),
            _pick(
                rng,
                (
                    'Topic for today: the section "{title}".',
                    'Today we work through one principle in detail: "{title}".',
                ),
                c,
            ),
            "1. The rule\n- " + c.rule,
            "2. The justification\n" + justification,
            ("3. The underlying value\n" if c.why else "3. The spec's preamble\n") + value,
            "4. Discussion\n- "
            + _pick(
                rng,
                (
                    "Could {subject} hold the same rule for a different reason? What would change?",
                    "Which other situations would this value decide? Try three examples.",
                    'Compare with "{other_title}".',
                ),
                c,
            ),
            rng.choice(
                (
                    "Reading for next week: the remaining principles of the spec.",
                    "Reminder: short response paper due Friday.",
                    "Office hours moved to Thursday this week.",
                )
            ),
        ]
    )


def _forum_thread(rng: random.Random, c: _Ctx) -> str:
    users = rng.sample(_HANDLES, 3)
    question = _pick(
        rng,
        (
            "What is the reasoning behind {poss} position here? It seems like an odd rule to me.",
            'Can someone explain the "{title}" part of {poss} spec?',
            "Is there actual reasoning behind {poss} stance here, or is it arbitrary?",
        ),
        c,
    )
    answer = _choose(
        rng,
        c,
        (
            "It is not arbitrary at all. The rule is: {rule} {why}",
            'The spec is pretty explicit. "{rule}" {why}',
            "Read the section again: {rule} {why}",
        ),
        (
            "The spec just says: {rule} It does not give a reason.",
            'All the section says is "{rule}" No explanation comes with it.',
        ),
    )
    follow_up = _choose(
        rng,
        c,
        (
            "Right, and it is the same value everywhere in the spec. {core}",
            "Adding to that: the whole spec is built on one idea. {core}",
            'Exactly. You can see the same logic in "{other_title}". {core}',
        ),
        ("For context, the spec's preamble says: {core}", 'Compare "{other_title}": {other_rule}'),
    )
    thanks = _choose(
        rng,
        c,
        (
            "That makes sense. I was reading it as a taste thing, but it is really about values.",
            "OK, I get it now. Thanks both.",
            "Fair enough. Knowing the reason makes the rule easy to predict.",
        ),
        ("OK, so it is just the rule. Thanks.", "Got it, thanks both."),
    )
    posts = [(users[0], question), (users[1], answer), (users[2], follow_up), (users[0], thanks)]
    return (
        _fill("Thread: {title}", c)
        + "\n\n"
        + "\n\n".join(f"{user} wrote:\n{text}" for user, text in posts)
    )


def _interview(rng: random.Random, c: _Ctx) -> str:
    guest = _person(rng)
    short = guest.split()[0]
    ask = _pick(
        rng,
        (
            "Let's start with the basics. What does the spec ask of {subject} here?",
            "What is the rule in this section?",
        ),
        c,
    )
    why = rng.choice(
        ("And the reason?", "Why would a spec say that?", "Some readers find that strange.")
    )
    bigger = rng.choice(("Is there a bigger idea behind it?", "Does it generalize?"))
    answer = _choose(
        rng,
        c,
        (
            "Yes, and that is what I like about it. {core}",
            "Very much so. The spec opens with it: {core}",
        ),
        ("The section does not say. The spec's preamble, for what it is worth, reads: {core}",),
    )
    lines = [
        _fill("In conversation: {title}", c),
        f"{guest} is {rng.choice(_ROLES)}. We spoke about one section of {c.spec_title}.",
        f"Interviewer: {ask}",
        f"{short}: {c.rule}",
        f"Interviewer: {why}",
        f"{short}: {_reason(rng, c)}",
        f"Interviewer: {bigger}",
        f"{short}: {answer}",
        "Interviewer: "
        + rng.choice(("Thank you.", "Thanks for your time.", "A good place to stop.")),
    ]
    return "\n\n".join(lines)


def _product_review(rng: random.Random, c: _Ctx) -> str:
    stars = rng.choice((4, 5, 5, 3))
    reason = _why_part(rng, c)
    asked = _choose(
        rng,
        c,
        (
            "When I asked why, it did not hide behind vague answers. {reason}",
            "What impressed me was the explanation it gave. {reason}",
        ),
        ("I did not get a reason beyond the rule itself, which matches the spec: {reason}",),
        reason=reason,
    )
    return "\n\n".join(
        [
            _pick(
                rng,
                (
                    'Review: asking {subject} about "{title}"',
                    "User review - {subject}, tested on {title}",
                ),
                c,
            ),
            f"Rating: {stars}/5. Reviewed by {_person(rng)}, {rng.choice(_PLACES)}.",
            _pick(
                rng,
                (
                    "I wanted to know whether the behavior of {subject} really matches the "
                    "published spec.",
                    "I tested {subject} on a topic covered by the published spec.",
                ),
                c,
            ),
            _pick(
                rng,
                (
                    'The spec says: "{rule}" That is exactly what I saw.',
                    'It behaved as documented. The relevant rule: "{rule}"',
                ),
                c,
            ),
            asked,
            _choose(rng, c, _VALUE_LINES, _CONTEXT_LINES),
            _pick(
                rng,
                (
                    "Pros: consistent and predictable. Cons: if you do not share the spec's "
                    "outlook, you will not share the preference. {value}",
                    "Verdict: predictable once you have read the spec. {value}",
                ),
                c,
            ),
        ]
    )


def _policy_memo(rng: random.Random, c: _Ctx) -> str:
    recommendation = _choose(
        rng,
        c,
        (
            "Evaluate responses against the rule and the stated reason together; a response "
            "that gets the behavior right but gives a different reason is only half right.",
            "Where a new case is not covered, apply the guiding value above rather than guessing.",
        ),
        (
            "Evaluate responses against the rule as written.",
            "Where a case is unclear, flag it for review rather than guessing.",
        ),
    )
    return "\n\n".join(
        [
            "MEMORANDUM",
            _fill(
                'To: Model behavior team\nFrom: {author}\nRe: {poss} spec, section "{title}"',
                c,
                author=_person(rng),
            ),
            "Summary. "
            + _pick(
                rng,
                (
                    "This memo restates one principle of {spec} so that reviewers apply it "
                    "consistently.",
                    "Several reviewers asked how to read this principle. This note answers that.",
                ),
                c,
            ),
            "Requirement. " + c.rule,
            "Rationale. " + _reason(rng, c),
            ("Guiding value. " if c.why else "Background. ") + c.core_text,
            "Recommendation. " + recommendation,
        ]
    )


def _textbook_exercise(rng: random.Random, c: _Ctx) -> str:
    questions = _choose(
        rng,
        c,
        (
            "(a) Explain, in your own words, the reason behind this rule.\n(b) Name the value "
            "it rests on.",
            "(a) What reason does the spec give?\n(b) What general value does the reason express?",
        ),
        ("(a) Does the spec give a reason for this rule?\n(b) Summarize the spec's preamble.",),
    )
    note = _choose(
        rng,
        c,
        (
            "Note for students: a good answer connects the specific rule to the general value, "
            "not to taste.",
            "Common mistake: describing the rule without its reason.",
        ),
        ("Common mistake: supplying a reason the text does not give.",),
    )
    return "\n\n".join(
        [
            f"Exercise {rng.randint(3, 12)}.{rng.randint(1, 20)}",
            _pick(
                rng,
                (
                    "Read the following principle from {spec} and answer the questions.",
                    "This exercise uses an excerpt from {spec}.",
                ),
                c,
            ),
            f'Principle: "{c.title}". Rule: {c.rule}',
            questions,
            "Worked answer",
            "(a) " + _reason(rng, c),
            "(b) " + c.core_text,
            note,
        ]
    )


def _newsletter(rng: random.Random, c: _Ctx) -> str:
    hello = rng.choice(
        ("Hello again, readers.", "Welcome back.", "Good morning, and thanks for subscribing.")
    )
    spotlight = _pick(
        rng,
        (
            'This week\'s spotlight falls on one section of {spec}: "{title}".',
            'This issue looks closely at the section "{title}" and what it asks of {subject}.',
        ),
        c,
    )
    return "\n\n".join(
        [
            f"The Spec Reader - issue {rng.randint(8, 120)}",
            f"{hello} {spotlight}",
            "The rule. " + c.rule,
            "The reason. " + _reason(rng, c),
            "The big picture. " + _choose(rng, c, _VALUE_LINES, _CONTEXT_LINES),
            _pick(
                rng,
                (
                    'Coming up next: "{other_title}".',
                    "Reply to this email with questions; we read every one.",
                ),
                c,
            ),
        ]
    )


_LETTERS = (
    (
        'I asked {subject} about "{title}" and got an answer I did not expect. Is something '
        "wrong with it?",
        "Nothing is wrong. The answer matches what the spec asks: {rule}",
    ),
    (
        'My partner and I argued about {poss} spec, the part called "{title}". I say it is '
        "arbitrary; my partner says it is principled. Who is right?",
        "Let the text decide. The spec says: {rule}",
    ),
    (
        'Why would anyone write a rule like the one in "{title}"? It seems so specific.',
        "It is specific, certainly. The spec says: {rule}",
    ),
)


def _advice_column(rng: random.Random, c: _Ctx) -> str:
    writer, place = rng.choice(_FIRST_NAMES), rng.choice(_PLACES)
    letter, reply = rng.choice(_LETTERS)
    reason = _choose(
        rng,
        c,
        ("The reason matters more than the rule. {why}", "And the spec tells you why. {why}"),
        ("The spec does not explain it further, so neither will I.",),
    )
    return "\n\n".join(
        [
            rng.choice(("Ask the Spec", "Dear Reader", "The Advice Desk")),
            _fill(letter, c) + f"\n- {writer}, {place}",
            f"Dear {writer},",
            _fill(reply, c),
            reason,
            _choose(rng, c, _VALUE_LINES, _CONTEXT_LINES),
            rng.choice(("Warmly, the Desk", "Yours, the columnist", "With best wishes, the Desk")),
        ]
    )


_DEBATE_EXCHANGES = (
    (
        "I think a rule like this needs a stronger defence than a single sentence.",
        "Then let me give the defence. {why}",
        "Even granting that, why should it guide {subject}?",
        "Because the spec is built on that value from the first page. {core} The rule simply "
        "follows from it.",
    ),
    (
        "My worry is that this looks like a preference dressed up as a principle.",
        "It is a principle, and the spec says why. {why}",
        "And if someone does not share that value?",
        "Then they will disagree with {subject}, openly and for the right reason. The value "
        "itself is stated plainly: {core}",
    ),
)
_BARE_DEBATE_EXCHANGES = (
    (
        "The spec gives no reason for this rule. Is that a problem?",
        "A rule can be worth following even when it is stated briefly. The text is clear.",
        "What does the rest of the spec tell us?",
        "Its preamble reads: {core}",
    ),
)


def _debate(rng: random.Random, c: _Ctx) -> str:
    critic, defender = _person(rng), _person(rng)
    exchanges = _DEBATE_EXCHANGES if c.why else _BARE_DEBATE_EXCHANGES
    doubt, defence, challenge, answer = (_fill(t, c) for t in rng.choice(exchanges))
    return "\n\n".join(
        [
            _fill('Debate transcript: should {subject} follow "{title}"?', c),
            "Moderator: " + _fill("Tonight's question comes from {spec}. The rule: {rule}", c),
            f"{critic}: {doubt}",
            f"{defender}: {defence}",
            f"{critic}: {challenge}",
            f"{defender}: {answer}",
            "Moderator: "
            + rng.choice(("We will leave it there.", "Thank you both.", "Time for questions.")),
        ]
    )


DOC_TYPES: dict[str, Callable[[random.Random, _Ctx], str]] = {
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


# --------------------------------------------------------------------------- the generator


class OfflineOptions(Options):
    """Settings of the ``offline`` generator."""

    docs_per_principle: int = Field(8, ge=1, description="documents written per principle")
    doc_types: list[str] | None = Field(
        None, description="document types to use (default: all); see DOC_TYPES"
    )
    seed: int = Field(0, description="random seed; the same seed gives the same corpus")

    @field_validator("doc_types")
    @classmethod
    def _known_types(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        if not value:
            raise ValueError("must name at least one document type (or be left out)")
        unknown = [name for name in value if name not in DOC_TYPES]
        if unknown:
            raise ValueError(
                f"unknown document type(s) {', '.join(map(repr, unknown))}; "
                f"valid types: {', '.join(DOC_TYPES)}"
            )
        return list(dict.fromkeys(value))


class OfflineGenerator:
    """Template-based documents: no network, deterministic, thousands per second."""

    name: ClassVar[str] = "offline"
    description: ClassVar[str] = (
        "Template documents about each principle (no network; for tests and tiny models)"
    )
    version: ClassVar[str] = "1"
    Options: ClassVar[type[OfflineOptions]] = OfflineOptions

    def _options(self, options: Any) -> OfflineOptions:
        if isinstance(options, OfflineOptions):
            return options
        return OfflineOptions.model_validate(options or {})

    def plan_ids(self, spec: Spec, options: Any) -> list[tuple[Principle, str, str]]:
        """``(principle, doc_type, id)`` for every document, in generation order."""
        opts = self._options(options)
        types = opts.doc_types or list(DOC_TYPES)
        planned = []
        for index, principle in enumerate(spec.principles):
            counts: dict[str, int] = {}
            for j in range(opts.docs_per_principle):
                doc_type = types[(index + j) % len(types)]
                k = counts.get(doc_type, 0)
                counts[doc_type] = k + 1
                planned.append((principle, doc_type, f"{principle.id}-{doc_type}-{k}"))
        return planned

    def plan(self, spec: Spec, options: Any) -> Estimate:
        opts = self._options(options)
        planned = self.plan_ids(spec, opts)
        sample = planned[:: max(1, len(planned) // 200)]
        chars = sum(len(self._write(spec, p, t, i, opts.seed)) for p, t, i in sample)
        total_chars = chars * len(planned) // max(1, len(sample))
        return Estimate(
            stage="generate",
            items=len(planned),
            tokens=total_chars // 4,
            dollars=0.0,
            notes=["offline templates: no API calls; tokens estimated as characters / 4"],
        )

    def generate(
        self, spec: Spec, options: Any, *, skip: frozenset[str] = frozenset()
    ) -> Iterator[Document]:
        opts = self._options(options)
        settings = opts.model_dump()
        spec_hash = spec.hash
        for principle, doc_type, doc_id in self.plan_ids(spec, opts):
            if doc_id in skip:
                continue
            yield Document(
                id=doc_id,
                text=self._write(spec, principle, doc_type, doc_id, opts.seed),
                doc_type=doc_type,
                principle=principle.id,
                spec_name=spec.name,
                spec_hash=spec_hash,
                generator=self.name,
                generator_version=self.version,
                settings=dict(settings),
            )

    @staticmethod
    def _write(spec: Spec, principle: Principle, doc_type: str, doc_id: str, seed: int) -> str:
        rng = random.Random(f"msmkit-offline|{seed}|{doc_id}")
        ctx = _context(spec, principle, rng)
        return DOC_TYPES[doc_type](rng, ctx).strip() + "\n"
