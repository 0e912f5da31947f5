"""Plan-time checks of the LLM pipeline's settings: prompts that load, a model with a price."""

from __future__ import annotations

from typing import Any

from msmkit.docgen.settings import DocgenSettings
from msmkit.errors import ConfigError, OptionError


def check(options: DocgenSettings) -> tuple[Any, Any]:
    """Load the prompts and the model's price, or raise OptionError naming the field."""
    from msmkit.docgen.prompts import load_prompts
    from msmkit.pricing import PriceFileError, get_price, load_prices

    try:
        prompts = load_prompts(options.prompts_dir, rules=options.mode == "rules")
    except ConfigError as exc:
        raise OptionError(exc.message, loc=("prompts_dir",), hint=exc.hint) from None
    try:
        prices = load_prices(options.prices)
    except PriceFileError as exc:
        raise OptionError(str(exc), loc=("prices",)) from None
    try:
        price = get_price(prices, options.model)
    except KeyError as exc:
        raise OptionError(
            str(exc.args[0]),
            loc=("model",),
            hint="add the model to a price file (Inspect model-cost format) and give it as "
            "prices: FILE",
        ) from None
    return prompts, price
