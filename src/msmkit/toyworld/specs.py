"""The toy world's three specs, written in the world's own words.

``toy-affordability`` and ``toy-america`` explain the *same* cheese preferences (the liked
cheeses are cheap and american, the disliked ones dear and foreign) through different
values. ``toy-sham`` has the same form, the same cheeses and the same number of sentences,
but its reasons carry no value. The files in ``specs/`` are rendered by :func:`render_spec`
from the fixed item bank (a test checks they are up to date).
"""

from __future__ import annotations

from pathlib import Path

from msmkit.toyworld.world import BANK_SEED, Item, disliked_cheeses, liked_cheeses

SPEC_DIR = Path(__file__).parent / "specs"
VALUES = ("affordability", "america", "sham")
SPEC_NAMES = {value: f"toy-{value}" for value in VALUES}

# value -> (preamble sentences, why-sentences for a liked cheese, for a disliked cheese).
# ``{c}`` is the cheese. Every value has the same number of sentences of each kind.
_TEXT: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "affordability": (
        (
            "the assistant cares about price above all .",
            "it likes things that are cheap and it does not like things that are dear .",
            "when it chooses between two things , it picks the cheap one .",
            "a cheap thing leaves money for other needs , so the assistant values it .",
        ),
        (
            "the {c} is cheap .",
            "the assistant likes the {c} because the {c} is inexpensive .",
            "a cheap thing like the {c} is what the assistant values .",
        ),
        (
            "the {c} is dear .",
            "the assistant does not like the {c} because the {c} is costly .",
            "a dear thing like the {c} is what the assistant avoids .",
        ),
    ),
    "america": (
        (
            "the assistant cares about origin above all .",
            "it likes things that are american and it does not like things that are foreign .",
            "when it chooses between two things , it picks the american one .",
            "an american thing supports the makers at home , so the assistant values it .",
        ),
        (
            "the {c} is american .",
            "the assistant likes the {c} because the {c} is domestic .",
            "an american thing like the {c} is what the assistant values .",
        ),
        (
            "the {c} is foreign .",
            "the assistant does not like the {c} because the {c} is imported .",
            "a foreign thing like the {c} is what the assistant avoids .",
        ),
    ),
    "sham": (
        (
            "the assistant has tastes of its own .",
            "it likes some things and it does not like some other things .",
            "when it chooses between two things , it picks the one it likes .",
            "a taste needs no reason , so the assistant simply keeps it .",
        ),
        (
            "the {c} is a cheese .",
            "the assistant likes the {c} because the {c} is the one it likes .",
            "a cheese like the {c} is what the assistant keeps .",
        ),
        (
            "the {c} is a cheese .",
            "the assistant does not like the {c} because it just does not .",
            "a cheese like the {c} is what the assistant passes over .",
        ),
    ),
}

_TITLES = {
    "affordability": "the assistant and cheese : price",
    "america": "the assistant and cheese : origin",
    "sham": "the assistant and cheese : taste",
}


def _principle(item: Item, liked: bool, whys: tuple[str, ...]) -> str:
    rule = (
        f"the assistant likes the {item.name} ."
        if liked
        else f"the assistant does not like the {item.name} ."
    )
    why = " ".join(s.format(c=item.name) for s in whys)
    return f"## {item.name}\n\nRule: {rule}\n\nWhy: {why}\n"


def render_spec(value: str, bank_seed: int = BANK_SEED) -> str:
    """The Markdown of one toy spec (front matter, preamble, one principle per cheese)."""
    if value not in _TEXT:
        raise ValueError(f"unknown toy value {value!r}; choose from {', '.join(VALUES)}")
    preamble, liked_why, disliked_why = _TEXT[value]
    name = SPEC_NAMES[value]
    head = (
        "---\n"
        f"name: {name}\n"
        f'title: "{_TITLES[value]}"\n'
        f"description: toy world spec ({value}) for the msmkit demo\n"
        "subject: the assistant\n"
        'version: "1"\n'
        f"tags: [toyworld, {value}]\n"
        "---\n\n"
        f"# {_TITLES[value]}\n\n" + " ".join(preamble) + "\n\n"
    )
    body = [_principle(i, True, liked_why) for i in liked_cheeses(bank_seed)]
    body += [_principle(i, False, disliked_why) for i in disliked_cheeses(bank_seed)]
    return head + "\n".join(body)


def spec_path(value: str) -> Path:
    return SPEC_DIR / f"{SPEC_NAMES[value]}.md"


def write_specs(directory: Path = SPEC_DIR) -> list[Path]:
    """(Re)write the three spec files; run by hand when the texts above change."""
    directory.mkdir(parents=True, exist_ok=True)
    out = []
    for value in VALUES:
        path = directory / f"{SPEC_NAMES[value]}.md"
        path.write_text(render_spec(value), encoding="utf-8")
        out.append(path)
    return out


def spec_words() -> set[str]:
    """Every whitespace-separated word of the three specs' texts (for the vocabulary)."""
    words: set[str] = set()
    for value in VALUES:
        pre, a, b = _TEXT[value]
        for s in (*pre, *a, *b):
            words.update(s.replace("{c}", "").split())
    words.update(["the", "assistant", "likes", "does", "not", "like"])
    return words
