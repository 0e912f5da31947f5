"""Plan-time checks of a generator's model settings, before anything is sent: the model has a
price, its provider is one Inspect knows, and each request fits the model's context window
and output limit. Also the hidden-reasoning budget of models that always reason.

Each failure is an :class:`~msmkit.errors.OptionError` naming the field, with the numbers.
"""

from __future__ import annotations

import math
from typing import Any

from msmkit.errors import OptionError
from msmkit.pricing import ModelLimits

HIDDEN_REASONING_TOKENS = 4096
"""Tokens budgeted on top of the answer for a model that always reasons (``reasoning: true``
in the price file, e.g. gpt-5) when no reasoning budget is set: its reasoning tokens count
against ``max_tokens``, so without them the answer would be cut short."""


def tokens(text: str) -> int:
    """Planning size of a text: characters / 4."""
    return math.ceil(len(text) / 4)


def price_and_limits(model: str, prices_file: str | None) -> tuple[Any, ModelLimits]:
    """The model's price and limits from the price file; OptionError (``model`` or
    ``prices``) when the file is bad or has no price for it."""
    from msmkit.pricing import PriceFileError, get_limits, get_price, load_limits, load_prices

    try:
        prices = load_prices(prices_file)
        limits = load_limits(prices_file)
    except PriceFileError as exc:
        raise OptionError(str(exc), loc=("prices",)) from None
    try:
        price = get_price(prices, model)
    except KeyError as exc:
        raise OptionError(
            str(exc.args[0]),
            loc=("model",),
            hint="add the model to a price file (Inspect model-cost format) and give it as "
            "prices: FILE",
        ) from None
    return price, get_limits(limits, model)


def known_providers() -> list[str] | None:
    """The model API names Inspect has registered, or None when that cannot be read (an
    Inspect without the registry msmkit reads: then nothing is refused here)."""
    try:
        import inspect_ai.model  # noqa: F401  (registers the providers)
        from inspect_ai._util.registry import registry_find, registry_unqualified_name
    except ImportError:
        return None
    try:
        infos = registry_find(lambda info: info.type == "modelapi")
        return sorted({registry_unqualified_name(info) for info in infos})
    except Exception:  # a changed private API: skip the check rather than break plans
        return None


def check_provider(model: str, *, loc: tuple[Any, ...] = ("model",)) -> None:
    """OptionError when Inspect has no provider of that name (``foo/bar``)."""
    provider = model.split("/", 1)[0]
    known = known_providers()
    if known is None or provider in known:
        return
    import difflib

    close = difflib.get_close_matches(provider, known, n=1)
    raise OptionError(
        f"model {model!r}: Inspect has no model provider {provider!r}",
        loc=loc,
        hint=(f"did you mean {close[0]}/...? " if close else "") + "providers: " + ", ".join(known),
    )


def answer_budget(
    answer_tokens: int, reasoning_tokens: int | None, limits: ModelLimits
) -> tuple[int, int | None, int]:
    """``(max_tokens, reasoning_tokens to send, hidden reasoning budgeted)`` for a request
    whose answer needs ``answer_tokens``: a thinking budget is added on top, never taken from
    the answer; a model that always reasons gets :data:`HIDDEN_REASONING_TOKENS` on top when
    no budget is set (nothing is sent for it: such models take no budget parameter)."""
    if reasoning_tokens:
        return answer_tokens + reasoning_tokens, reasoning_tokens, reasoning_tokens
    if limits.reasoning:
        return answer_tokens + HIDDEN_REASONING_TOKENS, None, HIDDEN_REASONING_TOKENS
    return answer_tokens, None, 0


def check_fits(
    model: str,
    limits: ModelLimits,
    step: str,
    input_tokens: int,
    max_tokens: int,
    *,
    loc: tuple[Any, ...] = ("model",),
) -> None:
    """OptionError when one request of ``step`` cannot fit the model: its output limit, or
    its context window (input, planned at characters/4, plus ``max_tokens``)."""
    if limits.max_output_tokens is not None and max_tokens > limits.max_output_tokens:
        raise OptionError(
            f"a {step} request asks for {max_tokens:,} output tokens; {model} gives at most "
            f"{limits.max_output_tokens:,}",
            loc=loc,
            hint="lower the step's max_tokens (or its reasoning budget)",
        )
    window = limits.context_window
    if window is not None and input_tokens + max_tokens > window:
        raise OptionError(
            f"a {step} request needs ~{input_tokens:,} input + {max_tokens:,} output tokens, "
            f"more than {model}'s context window of {window:,} tokens",
            loc=loc,
            hint="the spec is sent whole with every request: shorten it, or use a model with "
            "a larger context window (context_window in the price file)",
        )


def cache_note(model: str, limits: ModelLimits, prefix_tokens: int) -> str | None:
    """A plan line when the cached prefix is below the model's minimum cacheable length."""
    floor = limits.min_cache_tokens
    if floor is None or prefix_tokens >= floor:
        return None
    return (
        f"no prompt-cache saving: the cached spec block (~{prefix_tokens:,} tokens) is below "
        f"{model}'s minimum cacheable length ({floor:,} tokens)"
    )


def refuse_scale(
    what: str, count: int, limit: int, detail: str, *, loc: tuple[Any, ...]
) -> OptionError:
    """The error for a run far beyond any sensible size (refused before it is planned)."""
    return OptionError(
        f"{detail} means ~{count:,} {what}; msmkit refuses more than {limit:,} in one stage",
        loc=loc,
        hint="check the number (a typo in the exponent?); split a truly larger run into "
        "several stages",
    )
