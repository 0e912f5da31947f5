"""Plan-time checks of the LLM pipeline's settings: prompts that load, a model with a price
and a provider Inspect knows (see :mod:`msmkit.genkit.checks`)."""

from __future__ import annotations

from typing import Any

from msmkit.docgen.settings import DocgenSettings
from msmkit.errors import ConfigError, OptionError


def check(options: DocgenSettings) -> tuple[Any, Any, Any]:
    """Load the prompts, the model's price and limits, or raise OptionError naming the
    field. Returns ``(prompts, price, limits)``."""
    from msmkit.docgen.prompts import load_prompts
    from msmkit.genkit.checks import check_provider, price_and_limits

    try:
        prompts = load_prompts(options.prompts_dir, rules=options.mode == "rules")
    except ConfigError as exc:
        raise OptionError(exc.message, loc=("prompts_dir",), hint=exc.hint) from None
    price, limits = price_and_limits(options.model, options.prices)
    check_provider(options.model)
    return prompts, price, limits
