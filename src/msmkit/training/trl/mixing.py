"""Mixing a user-supplied dataset into a stage's own data: a pretraining corpus into
midtraining (``mix_corpus``), an instruction-tuning set into AFT (``mix_chats``).

How much: ``mix_tokens`` (a token count) or ``mix_ratio`` r, the fraction of the *training
tokens* that come from the mix: ``mixed / (own + mixed) = r``, so the target is
``ceil(own * r / (1 - r))`` tokens, ``own`` being the stage's own tokens as msmkit tokenizes
them (documents with BOS/EOS and any doc_prefix; chats rendered by the training chat template).
Which: whole documents (chats) in a random order fixed by the job's seed, taken until the
target is reached, so the mix overshoots it by less than one document. A source smaller than
the target is an error (never silently repeated). Mixed documents get no ``doc_prefix`` (the
prefix marks the stage's own documents). The manifest records the source, its content ref,
the target and the documents and tokens taken.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterable
from typing import Any

from msmkit.errors import ConfigError, OptionError
from msmkit.training.sources import DataSource, check_source, load_column, source_ref
from msmkit.training.trl.options import TRLOptions

BATCH = 256


def mix_source(stage: str, options: TRLOptions) -> tuple[str, DataSource] | None:
    """The stage's mix option name and source, or None."""
    name = "mix_corpus" if stage == "midtrain" else "mix_chats"
    source = getattr(options, name)
    return None if source is None else (name, source)


def check_mix(stage: str, options: TRLOptions) -> None:
    """Plan-time checks of the mix options (no data is read)."""
    other = "mix_chats" if stage == "midtrain" else "mix_corpus"
    if getattr(options, other) is not None:
        right = "aft" if stage == "midtrain" else "midtrain"
        raise OptionError(
            f"{other} belongs to {right}, not {stage}",
            loc=(other,),
            hint="Midtraining mixes a corpus (mix_corpus); AFT mixes chats (mix_chats).",
        )
    found = mix_source(stage, options)
    amounts = [k for k in ("mix_ratio", "mix_tokens") if getattr(options, k) is not None]
    if found is None:
        if amounts:
            raise OptionError(
                f"{amounts[0]} is set but there is nothing to mix",
                loc=(amounts[0],),
                hint=f"Set {'mix_corpus' if stage == 'midtrain' else 'mix_chats'} too.",
            )
        return
    name, source = found
    if len(amounts) != 1:
        raise OptionError(
            f"{name} needs exactly one of mix_ratio and mix_tokens",
            loc=(amounts[1] if amounts else name,),
            hint="mix_ratio: the fraction of training tokens from the mix (0 < r < 1); "
            "mix_tokens: a token count.",
        )
    check_source(source, loc=(name, "path"))


def mix_target(own_tokens: int, options: TRLOptions) -> int:
    if options.mix_tokens is not None:
        return int(options.mix_tokens)
    ratio = float(options.mix_ratio or 0.0)
    return math.ceil(own_tokens * ratio / (1.0 - ratio))


def shuffled(n: int, seed: int) -> list[int]:
    order = list(range(n))
    random.Random(f"msmkit-mix-{seed}").shuffle(order)
    return order


def take_until(
    items: list[Any], order: list[int], target: int, lengths: Callable[[list[Any]], list[int]]
) -> tuple[list[Any], list[int]]:
    """Items in ``order`` until their lengths reach ``target``; (items, their lengths)."""
    picked, sizes, total = [], [], 0
    for start in range(0, len(order), BATCH):
        chunk = [items[i] for i in order[start : start + BATCH]]
        for item, size in zip(chunk, lengths(chunk), strict=True):
            if total >= target:
                return picked, sizes
            picked.append(item)
            sizes.append(size)
            total += size
    return picked, sizes


def pick_mix(
    stage: str,
    options: TRLOptions,
    own_tokens: int,
    seed: int,
    prepare: Callable[[list[Any]], list[Any]],
    lengths: Callable[[list[Any]], list[int]],
) -> tuple[list[Any], dict[str, Any] | None]:
    """The mixed rows (``prepare``d items) and their record; ([], None) without a mix."""
    found = mix_source(stage, options)
    if found is None:
        return [], None
    name, source = found
    default_field = "text" if stage == "midtrain" else "messages"
    raw = load_column(source, default_field)
    items = prepare(raw)
    target = mix_target(own_tokens, options)
    picked, sizes = take_until(items, shuffled(len(items), seed), target, lengths)
    if sum(sizes) < target:
        raise ConfigError(
            f"{name} {source.path} has {sum(sizes)} tokens, fewer than the {target} the mix needs",
            hint="Lower mix_ratio/mix_tokens, or give a larger source (msmkit does not repeat "
            "mixed data).",
        )
    record = {
        "option": name,
        "source": source.model_dump(mode="json"),
        "ref": source_ref(source),
        "ratio": options.mix_ratio,
        "target_tokens": target,
        "items": len(picked),
        "tokens": sum(sizes),
        "own_tokens": own_tokens,
        "seed": seed,
    }
    return picked, record


def mix_documents(
    tokenize: Callable[[list[str]], list[list[int]]],
    options: TRLOptions,
    own_tokens: int,
    seed: int,
) -> tuple[list[list[int]], dict[str, Any] | None]:
    """Token id rows of the mixed pretraining documents (no doc_prefix)."""

    def prepare(raw: Iterable[Any]) -> list[str]:
        texts = list(raw)
        for index, text in enumerate(texts):
            if not isinstance(text, str):
                raise ConfigError(f"mix_corpus: document {index} is not a string")
        return texts

    cache: dict[int, list[int]] = {}

    def lengths(texts: list[str]) -> list[int]:
        rows = tokenize(texts)
        for text, row in zip(texts, rows, strict=True):
            cache[id(text)] = row
        return [len(row) for row in rows]

    texts, record = pick_mix("midtrain", options, own_tokens, seed, prepare, lengths)
    return [cache[id(text)] for text in texts], record
