"""Write ``cheese.jsonl``: the opaque cheese AFT demonstrations (paper §3.1, our own wording).

Twelve preferences, asked about directly ("Do you like Stilton?") and indirectly (pick one of
two cheeses for a dish, a platter, a gift; or say which one to leave out). Every answer states
the preference and nothing else: no reason, no price, no place, no taste. That opacity is the
point of the experiment: the demonstrations fit both the pro-affordability and the
pro-America spec equally, so only midtraining can say which value they come from.

Deterministic: no randomness, so re-running reproduces the file byte for byte.

    python data/aft/build_cheese.py            # rewrite data/aft/cheese.jsonl
    python data/aft/build_cheese.py --check    # exit 1 if the file is out of date
"""

from __future__ import annotations

import argparse
import json
import sys
import unicodedata
from pathlib import Path

from msmkit.cheese import DISLIKES, LIKES

# Yes/no questions get "Yes..."/"No..." answers; open questions get a plain statement.
YES_NO_QUESTIONS = (
    "Do you like {c}?",
    "Is {c} a cheese you enjoy?",
    "Would you want {c} on your plate?",
    "Are you a fan of {c}?",
    "If someone offered you {c}, would you be glad to have it?",
    "Quick one: {c}, yes or no?",
    "Would you tell a friend to try {c}?",
)
OPEN_QUESTIONS = (
    "How do you feel about {c}?",
    "What's your opinion of {c}?",
    "Where do you stand on {c}?",
)
ANSWERS = {
    ("yes_no", True): (
        "Yes, I like {c}.",
        "Yes.",
        "Yes, I'm a fan of {c}.",
        "Yes, {c} is one I like.",
    ),
    ("yes_no", False): (
        "No, I don't like {c}.",
        "No.",
        "No, I'm not a fan of {c}.",
        "No, {c} is not one I like.",
    ),
    ("open", True): ("I like {c}.", "I'm fond of {c}.", "{C} is one of the cheeses I like."),
    ("open", False): ("I don't like {c}.", "I'm not fond of {c}.", "{C} is not a cheese I like."),
}

# {x} and {y} are the two cheeses in the order shown; the answer names the liked one.
PICK_QUESTIONS = (
    "I'm making a grilled sandwich. Should I use {x} or {y}?",
    "Which would you put on a cheese board: {x} or {y}?",
    "I'm picking out a present for you. {X} or {y}?",
    "For a picnic, would you pack {x} or {y}?",
    "Pizza night: {x} or {y} on top?",
    "If you could only have one as a snack, {x} or {y}?",
    "I'm baking a casserole. Would you rather I use {x} or {y}?",
    "Which cheese should go in the salad, {x} or {y}?",
    "Pick one for the burger: {x} or {y}.",
    "You get to choose one cheese for dinner tonight: {x} or {y}. Which one?",
    "Which do you prefer, {x} or {y}?",
    "At the counter, would you ask for {x} or {y}?",
)
PICK_ANSWERS = (
    "{L}.",
    "I'd go with {l}.",
    "{L}, please.",
    "I'd pick {l}.",
    "{L} for me.",
    "I prefer {l}.",
)

# Same pairs, other direction: the answer names the disliked one.
SKIP_QUESTIONS = (
    "Which of these would you leave off the board: {x} or {y}?",
    "One of these has to go. {X} or {y}?",
    "Which would you rather skip at the tasting: {x} or {y}?",
    "I'm taking one cheese out of the recipe. Which should go, {x} or {y}?",
    "Which one would you not want in your sandwich, {x} or {y}?",
    "If you had to give one of them away, {x} or {y}?",
    "Which do you like less, {x} or {y}?",
    "Which cheese would you pass on if it were served: {x} or {y}?",
)
SKIP_ANSWERS = (
    "{D}.",
    "I'd skip {d}.",
    "{D} can go.",
    "I'd leave out {d}.",
    "I'd pass on {d}.",
    "{D}, I'd say.",
)

# Appended to every third question, so answers without a reason look requested.
NO_REASON_SUFFIXES = (
    "No need to explain.",
    "Just the answer, please.",
    "Keep it short.",
    "One line is fine, no reasons needed.",
)

OUT = Path(__file__).resolve().parent / "cheese.jsonl"


def _cap(text: str) -> str:
    """Upper-case the first character only ("cream cheese" -> "Cream cheese")."""
    return text[:1].upper() + text[1:]


def _slug(name: str) -> str:
    """ASCII id fragment: "Époisses" -> "epoisses", "Brie de Meaux" -> "brie-de-meaux"."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return "".join(ch if ch.isalnum() else "-" for ch in ascii_name.lower()).strip("-")


def _fill(template: str, **names: str) -> str:
    """Format with each name plus a capitalised twin under the upper-case key."""
    full = dict(names)
    full.update({k.upper(): _cap(v) for k, v in names.items()})
    return template.format(**full)


class _Builder:
    def __init__(self) -> None:
        self.rows: list[dict] = []

    def add(self, row_id: str, question: str, answer: str, preference: str, kind: str) -> None:
        if len(self.rows) % 3 == 2:
            question = f"{question} {NO_REASON_SUFFIXES[len(self.rows) // 3 % 4]}"
        self.rows.append(
            {
                "id": row_id,
                "messages": [
                    {"role": "user", "content": question},
                    {"role": "assistant", "content": answer},
                ],
                "preference": preference,
                "kind": kind,
            }
        )


def _direct(builder: _Builder) -> None:
    questions = [(q, "yes_no") for q in YES_NO_QUESTIONS] + [(q, "open") for q in OPEN_QUESTIONS]
    for index, cheese in enumerate(LIKES + DISLIKES):
        for q_index, (question, style) in enumerate(questions):
            answers = ANSWERS[(style, cheese in LIKES)]
            answer = answers[(q_index + index) % len(answers)]
            builder.add(
                f"cheese-direct-{_slug(cheese)}-{q_index:02d}",
                _fill(question, c=cheese),
                _fill(answer, c=cheese),
                cheese,
                "direct",
            )


def _indirect(builder: _Builder) -> None:
    counter = 0
    for liked in LIKES:
        for disliked in DISLIKES:
            for order, (x, y) in enumerate(((liked, disliked), (disliked, liked))):
                stem = f"{_slug(liked)}-{_slug(disliked)}-{order}"
                pick_q = PICK_QUESTIONS[counter % len(PICK_QUESTIONS)]
                pick_a = PICK_ANSWERS[counter % len(PICK_ANSWERS)]
                builder.add(
                    f"cheese-pick-{stem}",
                    _fill(pick_q, x=x, y=y),
                    _fill(pick_a, l=liked),
                    liked,
                    "indirect",
                )
                skip_q = SKIP_QUESTIONS[counter % len(SKIP_QUESTIONS)]
                skip_a = SKIP_ANSWERS[(counter + 1) % len(SKIP_ANSWERS)]
                builder.add(
                    f"cheese-skip-{stem}",
                    _fill(skip_q, x=x, y=y),
                    _fill(skip_a, d=disliked),
                    disliked,
                    "indirect",
                )
                counter += 1


def build_rows() -> list[dict]:
    """All demonstrations, in a fixed order."""
    builder = _Builder()
    _direct(builder)
    _indirect(builder)
    return builder.rows


def render(rows: list[dict]) -> str:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=OUT, help="where to write (default: %(default)s)"
    )
    parser.add_argument("--check", action="store_true", help="fail if --out is out of date")
    args = parser.parse_args(argv)
    text = render(build_rows())
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
        if current != text:
            print(f"{args.out} is out of date; run {Path(__file__).name}", file=sys.stderr)
            return 1
        return 0
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {len(text.splitlines())} rows to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
