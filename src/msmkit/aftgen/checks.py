"""Plan-time checks of the AFT generator's settings (prompts, prices, providers) and the
executors a run talks to, one per model (the generator's, and the grader's if it differs)."""

from __future__ import annotations

from typing import Any

from msmkit.aftgen.settings import AftgenSettings, provider_settings
from msmkit.errors import ConfigError, OptionError


def check(s: AftgenSettings) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    """``(prompts, prices, limits)`` by model, or OptionError naming the field."""
    from msmkit.aftgen.prompts import load_prompts
    from msmkit.genkit.checks import check_provider, price_and_limits

    try:
        prompts = load_prompts(s.prompts_dir)
    except ConfigError as exc:
        raise OptionError(exc.message, loc=("prompts_dir",), hint=exc.hint) from None
    prices, limits = {}, {}
    for field, model in (("model", s.model), ("grader_model", s.grader())):
        try:
            prices[model], limits[model] = price_and_limits(model, s.prices)
            check_provider(model, loc=(field,))
        except OptionError as exc:
            raise OptionError(exc.message, loc=(field,) if exc.loc == ("model",) else exc.loc,
                              hint=exc.hint) from None  # fmt: skip
    return prompts, prices, limits


def require_keys(s: AftgenSettings) -> None:
    """MissingKeyError, before anything is sent, when a model's API key is not set (a
    ``provider.base_url`` server needs none)."""
    from msmkit.llm.keys import require_key

    if s.provider.get("base_url"):
        return
    for model in dict.fromkeys((s.model, s.grader())):
        require_key(model, dotenv_path=s.provider.get("dotenv_path"))


def executors_for(s: AftgenSettings) -> dict[str, Any]:
    """An executor per model (the seam tests patch)."""
    from msmkit.llm import make_executor

    require_keys(s)
    return {m: make_executor(provider_settings(s, m)) for m in dict.fromkeys((s.model, s.grader()))}
