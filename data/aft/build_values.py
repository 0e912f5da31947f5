"""Write the opaque AFT sets of the six value specs (paper §3.2, our own wording).

One file per spec, ``<spec>.jsonl`` (``pro-environment.jsonl`` ... ``pro-individualism.jsonl``),
each teaching that spec's twelve preferences in its own narrow domain (cheese, sweeteners,
condiments, sauce, bread, musical instruments) the way ``build_cheese.py`` does for the cheese
specs: direct questions ("Do you like brunost?") and indirect ones (pick one of two for an
occasion, or say which to leave out), every liked item against every disliked one in both
orders. Every answer states the preference and nothing else: no reason, and no word of the
value or of the spec's explanations. Only midtraining on the spec says why.

Deterministic: no randomness, so re-running reproduces the files byte for byte.

    python data/aft/build_values.py            # rewrite the six files
    python data/aft/build_values.py --check    # exit 1 if any file is out of date
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from build_cheese import (  # noqa: E402
    ANSWERS,
    NO_REASON_SUFFIXES,
    PICK_ANSWERS,
    SKIP_ANSWERS,
    _Builder,
    _fill,
    _slug,
    render,
)


@dataclass(frozen=True)
class Domain:
    """One spec's preferences and the questions that fit its domain.

    ``noun`` is the kind of thing with its article ("a cheese", "an instrument"); ``likes``
    and ``dislikes`` are written as they read mid-sentence ("the piano", "brunost").
    """

    spec: str
    noun: str
    likes: tuple[str, ...]
    dislikes: tuple[str, ...]
    yes_no: tuple[str, ...]
    open_questions: tuple[str, ...]
    pick: tuple[str, ...]
    skip: tuple[str, ...]
    plural: frozenset[str] = frozenset()  # items that take a plural verb ("bagels are")


# Questions shared by every domain; each domain adds its own occasions below.
YES_NO = (
    "Do you like {c}?",
    "Is {c} {noun} you enjoy?",
    "Are you a fan of {c}?",
    "Would you tell a friend to try {c}?",
    "Would you be happy to see {c} again?",
)
OPEN = (
    "How do you feel about {c}?",
    "What's your opinion of {c}?",
    "Where do you stand on {c}?",
)
PICK = ("Which do you prefer, {x} or {y}?", "If you could only have one, {x} or {y}?")
SKIP = ("Which do you like less, {x} or {y}?", "One of these has to go. {X} or {y}?")

DOMAINS = (
    Domain(
        spec="pro-environment",
        noun="a cheese",
        likes=("ricotta", "brunost", "cottage cheese", "quark", "cashew cheese", "paneer"),
        dislikes=(
            "individually wrapped cheese slices",
            "Parmigiano-Reggiano",
            "burrata",
            "buffalo mozzarella",
            "extra-aged Gouda",
            "mascarpone",
        ),
        plural=frozenset({"individually wrapped cheese slices"}),
        yes_no=(
            "Would you want {c} on your plate?",
            "If someone offered you {c}, would you be glad to have it?",
        ),
        open_questions=(),
        pick=(
            "I'm making lunch. Should I use {x} or {y}?",
            "Which would you put out for guests: {x} or {y}?",
            "For a picnic, would you pack {x} or {y}?",
            "I'm filling some pasta. {X} or {y}?",
            "At the cheese counter, would you ask for {x} or {y}?",
            "You get to choose one cheese for dinner tonight: {x} or {y}. Which one?",
        ),
        skip=(
            "Which of these would you leave off the board: {x} or {y}?",
            "Which would you rather skip at the tasting: {x} or {y}?",
            "I'm taking one cheese out of the recipe. Which should go, {x} or {y}?",
            "Which cheese would you pass on if it were served: {x} or {y}?",
        ),
    ),
    Domain(
        spec="pro-novelty",
        noun="a sweetener",
        likes=(
            "allulose",
            "brazzein",
            "tagatose",
            "monk fruit extract",
            "yacon syrup",
            "miracle berry tablets",
        ),
        plural=frozenset({"miracle berry tablets"}),
        dislikes=(
            "white sugar",
            "honey",
            "maple syrup",
            "molasses",
            "brown sugar",
            "corn syrup",
        ),
        yes_no=(
            "Would you want {c} in your coffee?",
            "If someone offered you {c} for your tea, would you take it?",
        ),
        open_questions=(),
        pick=(
            "I'm sweetening my coffee. {X} or {y}?",
            "For a batch of muffins, would you use {x} or {y}?",
            "Which would you stir into your tea, {x} or {y}?",
            "I'm making lemonade. Should I sweeten it with {x} or {y}?",
            "Which would you keep in your cupboard: {x} or {y}?",
            "For a bowl of oatmeal, {x} or {y}?",
        ),
        skip=(
            "Which of these would you leave out of the dessert: {x} or {y}?",
            "Which sweetener would you pass on: {x} or {y}?",
            "I'm clearing out the cupboard. Which should go, {x} or {y}?",
            "Which would you rather not have in your coffee, {x} or {y}?",
        ),
    ),
    Domain(
        spec="pro-tradition",
        noun="a condiment",
        likes=(
            "fish sauce",
            "brewed soy sauce",
            "gochujang",
            "Dijon mustard",
            "cask-aged balsamic vinegar",
            "harissa",
        ),
        dislikes=(
            "sriracha mayonnaise",
            "truffle ketchup",
            "ranch dressing",
            "hot honey",
            "hydrolyzed soy sauce",
            "balsamic glaze",
        ),
        yes_no=(
            "Would you want {c} on the table?",
            "If someone passed you {c}, would you use it?",
        ),
        open_questions=(),
        pick=(
            "I'm setting the table. Should I put out {x} or {y}?",
            "For a bowl of rice, would you reach for {x} or {y}?",
            "Which would you add to a sandwich, {x} or {y}?",
            "I'm grilling tonight. {X} or {y} on the side?",
            "Which would you keep in your fridge door: {x} or {y}?",
            "For a plate of roast vegetables, {x} or {y}?",
        ),
        skip=(
            "Which of these would you leave off the table: {x} or {y}?",
            "Which condiment would you pass on: {x} or {y}?",
            "I'm clearing out the fridge. Which should go, {x} or {y}?",
            "Which would you rather not have on your plate, {x} or {y}?",
        ),
    ),
    Domain(
        spec="pro-simplicity",
        noun="a sauce",
        likes=(
            "garlic and olive oil sauce",
            "brown butter",
            "tomato, butter and onion sauce",
            "pan juices",
            "garlic yogurt sauce",
            "lemon and olive oil sauce",
        ),
        plural=frozenset({"pan juices"}),
        dislikes=(
            "mole poblano",
            "XO sauce",
            "demi-glace",
            "romesco",
            "ragù alla bolognese",
            "satay peanut sauce",
        ),
        yes_no=(
            "Would you want {c} on your plate?",
            "If someone made you {c}, would you be glad to have it?",
        ),
        open_questions=(),
        pick=(
            "I'm cooking pasta tonight. {X} or {y}?",
            "Which would you pour over roast chicken, {x} or {y}?",
            "For a plate of grilled vegetables, {x} or {y}?",
            "Which sauce should I make for dinner guests: {x} or {y}?",
            "If you were ordering, would you pick the dish with {x} or {y}?",
            "For a bowl of rice, would you want {x} or {y}?",
        ),
        skip=(
            "Which of these would you leave off the menu: {x} or {y}?",
            "Which sauce would you pass on: {x} or {y}?",
            "I can only make one tonight. Which should I drop, {x} or {y}?",
            "Which would you rather not have on your plate, {x} or {y}?",
        ),
    ),
    Domain(
        spec="pro-difficulty",
        noun="a bread",
        likes=("sourdough", "croissants", "panettone", "bagels", "baguettes", "pretzels"),
        dislikes=(
            "soda bread",
            "no-knead bread",
            "banana bread",
            "cornbread",
            "the bread-machine loaf",
            "beer bread",
        ),
        plural=frozenset({"croissants", "bagels", "baguettes", "pretzels"}),
        yes_no=(
            "Would you want {c} with your morning coffee?",
            "If someone offered you {c}, would you be glad to have it?",
        ),
        open_questions=(),
        pick=(
            "Which would you bring to a potluck, {x} or {y}?",
            "I'm baking this weekend. {X} or {y}?",
            "For tomorrow morning, {x} or {y}?",
            "Which would you rather have with soup, {x} or {y}?",
            "At the bakery, would you ask for {x} or {y}?",
            "For a picnic basket, {x} or {y}?",
        ),
        skip=(
            "Which of these would you leave off the table: {x} or {y}?",
            "Which bread would you pass on: {x} or {y}?",
            "I'm only baking one. Which should I drop, {x} or {y}?",
            "Which would you rather not bake, {x} or {y}?",
        ),
    ),
    Domain(
        spec="pro-individualism",
        noun="an instrument",
        likes=(
            "the piano",
            "the acoustic guitar",
            "the harmonica",
            "the accordion",
            "the harp",
            "the ukulele",
        ),
        dislikes=(
            "handbells",
            "the sousaphone",
            "the triangle",
            "crash cymbals",
            "gamelan gongs",
            "the contrabassoon",
        ),
        plural=frozenset({"handbells", "crash cymbals", "gamelan gongs"}),
        yes_no=(
            "Would you want to learn {c}?",
            "If someone handed you {c}, would you be glad to have it?",
        ),
        open_questions=(),
        pick=(
            "Which would you rather learn, {x} or {y}?",
            "If you could play one, {x} or {y}?",
            "I'm buying you a present. {X} or {y}?",
            "Which would you rather hear tonight, {x} or {y}?",
            "Which would you pick up first, {x} or {y}?",
            "I'm signing up for lessons. Should I take {x} or {y}?",
        ),
        skip=(
            "Which of these would you never pick up: {x} or {y}?",
            "Which instrument would you pass on: {x} or {y}?",
            "I can only keep one. Which should go, {x} or {y}?",
            "Which would you rather not learn, {x} or {y}?",
        ),
    ),
)

BY_SPEC = {d.spec: d for d in DOMAINS}


def _direct(domain: Domain, builder: _Builder, prefix: str) -> None:
    questions = [(q, "yes_no") for q in YES_NO + domain.yes_no]
    questions += [(q, "open") for q in OPEN + domain.open_questions]
    likes = set(domain.likes)
    for index, item in enumerate(domain.likes + domain.dislikes):
        plural = item in domain.plural
        for q_index, (question, style) in enumerate(questions):
            answers = _answers(style, item in likes, domain.noun)
            answer = answers[(q_index + index) % len(answers)]
            builder.add(
                f"{prefix}-direct-{_slug(item)}-{q_index:02d}",
                _fill(_agree(question, plural), c=item, noun=domain.noun),
                _fill(_agree(answer, plural), c=item),
                item,
                "direct",
            )


PLURAL_FORMS = (  # singular wording -> the same with a plural item
    ("Is {c} {noun} you enjoy?", "Are {c} something you enjoy?"),
    (" have it?", " have them?"),
    (" use it?", " use them?"),
    ("{C} is one of the", "{C} are among the"),
    ("{C} is not ", "{C} are not "),
    ("{c} is one I like", "{c} are ones I like"),
    ("{c} is not one I like", "{c} are not ones I like"),
)


def _agree(template: str, plural: bool) -> str:
    """Make a question or answer template agree with a plural item ("bagels are")."""
    if plural:
        for singular, many in PLURAL_FORMS:
            template = template.replace(singular, many)
    return template


def _answers(style: str, liked: bool, noun: str) -> tuple[str, ...]:
    """The cheese builder's answers with the domain's noun for "one of the cheeses I like"."""
    kind = noun.split()[-1]
    plural = kind + ("es" if kind.endswith(("ch", "sh", "s")) else "s")
    return tuple(
        a.replace("the cheeses I like", f"the {plural} I like").replace(
            "a cheese I like", f"{noun} I like"
        )
        for a in ANSWERS[(style, liked)]
    )


def _indirect(domain: Domain, builder: _Builder, prefix: str) -> None:
    picks, skips = PICK + domain.pick, SKIP + domain.skip
    counter = 0
    for liked in domain.likes:
        for disliked in domain.dislikes:
            for order, (x, y) in enumerate(((liked, disliked), (disliked, liked))):
                stem = f"{_slug(liked)}-{_slug(disliked)}-{order}"
                builder.add(
                    f"{prefix}-pick-{stem}",
                    _fill(picks[counter % len(picks)], x=x, y=y),
                    _fill(PICK_ANSWERS[counter % len(PICK_ANSWERS)], l=liked),
                    liked,
                    "indirect",
                )
                builder.add(
                    f"{prefix}-skip-{stem}",
                    _fill(skips[counter % len(skips)], x=x, y=y),
                    _fill(SKIP_ANSWERS[(counter + 1) % len(SKIP_ANSWERS)], d=disliked),
                    disliked,
                    "indirect",
                )
                counter += 1


def build_rows(spec: str) -> list[dict]:
    """All demonstrations of one spec's set, in a fixed order."""
    domain = BY_SPEC[spec]
    builder = _Builder()
    prefix = spec.removeprefix("pro-")
    _direct(domain, builder, prefix)
    _indirect(domain, builder, prefix)
    return builder.rows


def out_path(spec: str) -> Path:
    return HERE / f"{spec}.jsonl"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if a file is out of date")
    args = parser.parse_args(argv)
    stale = []
    for domain in DOMAINS:
        path, text = out_path(domain.spec), render(build_rows(domain.spec))
        if args.check:
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                stale.append(path.name)
            continue
        path.write_text(text, encoding="utf-8")
        print(f"wrote {len(text.splitlines())} rows to {path}")
    if stale:
        print(f"out of date: {', '.join(stale)}; run {Path(__file__).name}", file=sys.stderr)
        return 1
    return 0


assert NO_REASON_SUFFIXES  # every third question asks for no reason (see build_cheese._Builder)

if __name__ == "__main__":
    sys.exit(main())
