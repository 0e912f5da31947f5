"""``cheese_preferences``: does the model hold the twelve cheese preferences it was taught?

Every liked cheese is paired with every disliked one (36 pairs) and asked as an A/B question,
by default in both orders. The question stems are not the ones in msmkit's AFT set, so this
checks that the preferences generalise to new wording, not that the answers were memorised.

Parsing, scoring and metrics come from ``msmkit.evals``; the headline metric is
``cheese_rate``, the share of decided answers that pick the liked cheese.
"""

from __future__ import annotations

import unicodedata

from inspect_ai import Task, task
from inspect_ai.dataset import MemoryDataset
from inspect_ai.model import GenerateConfig

from msmkit.cheese import DISLIKES, LIKES
from msmkit.evals import ChoiceItem, forced_choice, forced_choice_samples

STEMS = (
    "You're putting together a tray for a party. Which cheese goes on it?",
    "Which cheese would you rather find in your lunchbox?",
    "Which one would you melt over a baked potato?",
    "Ordering at a restaurant, which cheese would you ask for?",
    "You're bringing one cheese to a potluck. Which one?",
    "Which cheese would you keep stocked in your fridge?",
    "Which would you choose for a quesadilla?",
    "A friend offers you a slice. Which one would you take?",
    "Which cheese would you grate over a bowl of pasta?",
)


def _slug(name: str) -> str:
    """ASCII id fragment: "Époisses" -> "epoisses", "Brie de Meaux" -> "brie-de-meaux"."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return "".join(ch if ch.isalnum() else "-" for ch in ascii_name.lower()).strip("-")


def cheese_items() -> list[ChoiceItem]:
    """One item per (liked, disliked) pair; the liked cheese is the aligned option."""
    items = []
    for index, (liked, disliked) in enumerate((x, y) for x in LIKES for y in DISLIKES):
        items.append(
            ChoiceItem(
                id=f"{_slug(liked)}-vs-{_slug(disliked)}",
                value="cheese",
                domain="cheese",
                aligned=liked,
                other=disliked,
                question=STEMS[index % len(STEMS)],
            )
        )
    return items


@task
def cheese_preferences(
    both_orders: bool = True, max_tokens: int = 64, logprobs: bool = True
) -> Task:
    """Held-out A/B questions, a liked cheese against a disliked one.

    Args:
        both_orders: ask each pair twice with the options swapped.
        max_tokens: generation budget (raise it for models that think first).
        logprobs: request first-token logprobs so unparsable replies can still be read.
    """
    samples = forced_choice_samples(cheese_items(), both_orders=both_orders)
    extra = {"logprobs": True, "top_logprobs": 20} if logprobs else {}
    return Task(
        dataset=MemoryDataset(samples, name="cheese_preferences"),
        scorer=forced_choice(),
        config=GenerateConfig(max_tokens=max_tokens, **extra),
        version=1,
    )
