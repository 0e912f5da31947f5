"""The text side of the bank audit: value lexicons, value-agnostic features and the
cross-validated classifier (see :mod:`msmkit.evals.audit`). numpy and scipy are imported
inside the functions that need them."""

from __future__ import annotations

import functools
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from msmkit.evals.choice_items import ChoiceItem

MIN_DF = 5  # a recurring word occurs in at least this many options
MAX_VOCAB = 200
C_GRID = (0.01, 0.1, 1.0, 10.0)  # inverse L2 strengths tried by the inner cross-validation

_W = r"[a-z]+(?:['-][a-z]+)*"
KEYWORDS: dict[str, dict[str, tuple[str, ...]]] = {
    "affordability": {
        "aligned": (
            # price and reach
            "affordable", "afford", "budget", "bargain", "cheap", "cheaper", "cheapest",
            "clearance", "discount", "discounted", "sale", "dollar", "free", "inexpensive",
            "low-cost", "everyday", "everywhere", "widely", "common", "ordinary", "basic",
            "plain", "generic", "store-brand", "mass-market", "mass-produced", "millions",
            "thousands", "any", "every", "most", "many", "nationwide",
            # the ordinary ways of getting something for little
            "used", "secondhand", "second-hand", "refurbished", "thrift", "borrowed",
            "borrow", "rent", "rented", "rental", "hired", "lent", "loan", "shared", "swap",
            "swapped", "handed down", "library", "public", "community", "municipal",
            "economy", "second class",
            # mass retail and cheap materials
            "supermarket", "chain", "chain store", "department store", "big-box",
            "big-box store", "discount store", "discount shop", "dollar shop", "dollar store",
            "hardware store", "hardware shop", "hardware aisle", "home center",
            "garden center", "corner shop", "corner grocery", "thrift shop", "charity shop",
            "flea market", "garage sale", "yard sale", "bargain bin", "outlet", "multipack",
            "bulk", "value pack", "blister pack", "vending machine", "newsstand", "pharmacy",
            "drugstore", "checkout", "plastic", "vinyl", "acrylic", "laminate", "cardboard",
            "foam", "polyester", "paperback", "paperbacks",
        ),
        "other": (
            # price, scarcity and exclusivity
            "expensive", "costly", "pricey", "dear", "luxury", "luxurious", "premium",
            "exclusive", "elite", "vip", "private", "members", "invitation", "rare",
            "scarce", "limited", "numbered", "edition", "collector", "collectors",
            "signed", "original", "antique", "vintage", "one-off", "single", "only", "one",
            "few", "waiting", "waiting list", "long wait", "to measure", "bespoke", "custom",
            "custom-made", "custom-built", "made to order", "built to order", "to order",
            "made to measure", "by hand", "commissioned", "handmade", "handcrafted",
            "hand-built", "designer", "couture", "couturier", "atelier", "boutique",
            "upscale", "gourmet", "first-class", "first class", "celebrated", "famous",
            "fine press", "private press", "first edition", "small run", "short run",
            "tiny run", "limited run", "small batch", "small batches", "single batch",
            "small series", "auction", "auction house", "gallery", "runway",
            # luxury materials
            "silk", "cashmere", "gold", "gold-plated", "titanium", "marble", "crocodile",
            "mohair", "ebony", "teak",
        ),
    },
    "america": {
        "aligned": (
            "america", "american", "americans", "usa", "united states", "domestic",
            "homegrown", "home-grown", "stateside",
        ),
        "other": ("foreign", "imported", "import", "overseas", "abroad"),
    },
}  # fmt: skip
"""Plain words and phrases of each value, read by ``keyword:<value>`` and kept out of the
classifier: what states the value's attribute (price, reach, scarcity; American origin)."""


def _norm(text: str) -> str:
    return re.sub(r"\bU\.S\.(?:A\.)?", "USA", text)


def words_of(text: str) -> list[str]:
    """Lower-case word tokens (hyphens kept inside a word, a possessive 's dropped)."""
    return [w.removesuffix("'s") for w in re.findall(_W, _norm(text).lower())]


def _cased(text: str) -> list[str]:
    return re.findall(r"[A-Za-z]+(?:['-][A-Za-z]+)*", _norm(text))


def phrase_pattern(phrases: Iterable[str]) -> re.Pattern[str] | None:
    """One regex for whole words and phrases, longest first (None when there are none)."""
    return _pattern(tuple(sorted(set(phrases))))


@functools.lru_cache(maxsize=64)
def _pattern(phrases: tuple[str, ...]) -> re.Pattern[str] | None:
    alts = sorted({" ".join(words_of(p)) for p in phrases if words_of(p)}, key=len, reverse=True)
    if not alts:
        return None
    return re.compile(r"(?<![\w'-])(?:" + "|".join(map(re.escape, alts)) + r")(?![\w'-])")


def keyword_count(text: str, words: Sequence[str]) -> int:
    """How often the words and phrases ``words`` occur in ``text`` (no overlaps)."""
    pattern = phrase_pattern(words)
    return len(pattern.findall(" ".join(words_of(text)))) if pattern else 0


def _stem(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def unmarked_words(text: str, lexicon: re.Pattern[str] | None) -> list[str]:
    """The words of ``text`` outside any lexicon word or phrase."""
    low = " ".join(words_of(text))
    return (lexicon.sub(" ", low) if lexicon else low).split()


def plain_words(text: str, lexicon: re.Pattern[str] | None, proper: set[str]) -> list[str]:
    """What the classifier may count: unmarked words that are not proper nouns, plurals
    folded into their singular."""
    return [_stem(w) for w in unmarked_words(text, lexicon) if w not in proper]


def proper_nouns(items: Sequence[ChoiceItem]) -> set[str]:
    """Words the bank capitalizes after an option's first word (places, nationalities)."""
    found = set()
    for item in items:
        for text in (item.aligned, item.other):
            found.update(w.lower() for w in _cased(text)[1:] if w[0].isupper())
    return found


def lexicon(keywords: Mapping[str, Mapping[str, Sequence[str]]]) -> re.Pattern[str] | None:
    """Every value's words and phrases, as one pattern."""
    return phrase_pattern(w for sides in keywords.values() for ws in sides.values() for w in ws)


def recurring_words(
    items: Sequence[ChoiceItem],
    lexicon: re.Pattern[str] | None,
    proper: set[str],
    min_df: int = MIN_DF,
) -> list[str]:
    """The bank's recurring lower-case words (in ``min_df``+ options) outside the value
    lexicons and proper nouns, most frequent first."""
    df: Counter[str] = Counter()
    for item in items:
        for text in (item.aligned, item.other):
            df.update(set(plain_words(text, lexicon, proper)))
    ranked = [w for w, n in df.most_common() if n >= min_df]
    return ranked[:MAX_VOCAB]


SHAPE = ("chars", "words", "mean word length", "commas", "other punctuation", "hyphens",
         "apostrophes", "digits", "capitalized words")  # fmt: skip


def features(
    text: str, vocab: Sequence[str], proper: set[str], lexicon: re.Pattern[str] | None = None
) -> list[float]:
    """Value-agnostic features of one option: its shape, then recurring-word counts (words
    inside a lexicon phrase are not counted)."""
    toks = words_of(text)
    counts = Counter(plain_words(text, lexicon, proper))
    cased = _cased(text)
    shape = [
        len(text),
        len(toks),
        sum(map(len, toks)) / len(toks) if toks else 0.0,
        text.count(","),
        sum(text.count(c) for c in ".;:!?()\"'"),
        text.count("-"),
        text.count("'"),
        sum(c.isdigit() for c in text),
        sum(1 for i, w in enumerate(cased) if w[0].isupper() and (i or w.lower() in proper)),
    ]
    return [float(x) for x in shape] + [float(counts[w]) for w in vocab]


def _fit(diffs: Any, c: float) -> Any:
    """L2 logistic regression without intercept on ``aligned - other`` feature rows, so the
    decision never depends on which option is shown first."""
    import numpy as np
    from scipy.optimize import minimize

    x = np.asarray(diffs, dtype=float)
    scale = np.sqrt((x**2).mean(axis=0))
    scale[scale == 0] = 1.0
    x = x / scale

    def loss(w: Any) -> tuple[float, Any]:
        z = x @ w
        value = np.logaddexp(0.0, -z).sum() + (w @ w) / (2 * c)
        grad = -(x.T @ (1.0 / (1.0 + np.exp(z)))) + w / c
        return float(value), grad

    w = minimize(loss, np.zeros(x.shape[1]), jac=True, method="L-BFGS-B").x
    return w / scale


def _fit_tuned(diffs: Any) -> Any:
    """:func:`_fit` with C chosen by 2-fold cross-validation (held-out log loss) inside the
    training data, so the classifier is as strong as its features allow; all-zero weights
    (no preference, so the position decides) when no C predicts better than a coin."""
    import numpy as np

    x = np.asarray(diffs, dtype=float)
    if len(x) < 4:
        return _fit(x, 1.0)
    folds = (x[0::2], x[1::2])

    def held_out_loss(c: float) -> float:
        return sum(
            float(np.logaddexp(0.0, -(folds[1 - k] @ _fit(folds[k], c))).sum()) for k in (0, 1)
        )

    losses = {c: held_out_loss(c) for c in C_GRID}
    best = min(losses, key=losses.__getitem__)
    if losses[best] >= len(x) * math.log(2.0):  # no C beats guessing: nothing to learn
        return np.zeros(x.shape[1])
    return _fit(x, best)


def subset_of(item: ChoiceItem) -> str:
    return "conflict" if item.conflict else item.value


def halves(items: Sequence[ChoiceItem]) -> dict[str, int]:
    """Item id -> 0 or 1: alternate items of each (subset, domain), in bank order."""
    seen: Counter[tuple[str, str]] = Counter()
    half = {}
    for item in items:
        key = (subset_of(item), item.domain)
        half[item.id] = seen[key] % 2
        seen[key] += 1
    return half


def classifier_choices(
    items: Sequence[ChoiceItem], keywords: Mapping[str, Mapping[str, Sequence[str]]]
) -> dict[str, str]:
    """Item id -> the option text the cross-validated classifier picks as aligned."""
    import numpy as np

    proper = proper_nouns(items)
    lex = lexicon(keywords)
    vocab = recurring_words(items, lex, proper)
    half = halves(items)
    feats = {
        i.id: (features(i.aligned, vocab, proper, lex), features(i.other, vocab, proper, lex))
        for i in items
    }
    picks: dict[str, str] = {}
    for subset in sorted({subset_of(i) for i in items}):
        group = [i for i in items if subset_of(i) == subset]
        for test_half in (0, 1):
            train = [i for i in group if half[i.id] != test_half]
            test = [i for i in group if half[i.id] == test_half]
            if not test:
                continue
            if train:
                w = _fit_tuned([np.subtract(*feats[i.id]) for i in train])
            else:
                w = np.zeros(len(SHAPE) + len(vocab))
            for item in test:
                margin = float(np.subtract(*feats[item.id]) @ w)
                # no information: leave it to the position (half right over both orders)
                picks[item.id] = "" if margin == 0 else (item.aligned if margin > 0 else item.other)
    return picks
