"""The requests of ``llm-spec``: which prompt file, system block and token budget each step
uses, on the shared step engine (:class:`msmkit.genkit.steps.StepPipeline`: stable request
ids, one journal per step, retries of rejected answers, budget and batch waits).

Steps: ``draft`` (one request per principle: its explanation, its sub-rules or its inverted
section), ``extend`` (value/rule: more words for principles of a spec that came out short) and
``preamble`` (invert: the title, description and opening text). Every request shares one
system block, the input spec, so the provider's prompt cache serves it.
"""

from __future__ import annotations

from typing import Any

from msmkit.errors import ConfigError, OptionError
from msmkit.genkit.prompts import PromptSet, render
from msmkit.genkit.steps import Parent, StepPipeline
from msmkit.pricing import ModelLimits
from msmkit.specgen.settings import SpecgenSettings, provider_settings

STEPS = {"value": ("draft", "extend"), "rule": ("draft", "extend"), "invert": ("preamble", "draft")}
TEMPLATES = {
    ("value", "draft"): "value",
    ("value", "extend"): "value_more",
    ("rule", "draft"): "rule",
    ("rule", "extend"): "rule_more",
    ("invert", "draft"): "invert",
    ("invert", "preamble"): "invert_preamble",
}


def check(s: SpecgenSettings) -> tuple[PromptSet, Any, ModelLimits]:
    """``(prompts, price, limits)``, or OptionError naming the field."""
    from msmkit.genkit.checks import check_provider, price_and_limits
    from msmkit.specgen.prompts import load_prompts

    try:
        prompts = load_prompts(s.prompts_dir, s.augment)
    except ConfigError as exc:
        raise OptionError(exc.message, loc=("prompts_dir",), hint=exc.hint) from None
    if s.name is not None:
        from msmkit.spec.model import NAME_RE

        if not NAME_RE.match(s.name):
            raise OptionError(
                f"name {s.name!r} is not a spec name",
                loc=("name",),
                hint="lowercase letters, digits and hyphens",
            )
    price, limits = price_and_limits(s.model, s.prices)
    check_provider(s.model)
    return prompts, price, limits


def require_keys(s: SpecgenSettings) -> None:
    """MissingKeyError, before anything is sent, when the model's API key is not set (a
    ``provider.base_url`` server needs none)."""
    from msmkit.llm.keys import require_key

    if not s.provider.get("base_url"):
        require_key(s.model, dotenv_path=s.provider.get("dotenv_path"))


def executors_for(s: SpecgenSettings) -> dict[str, Any]:
    """The executor for the model (the seam tests patch)."""
    from msmkit.llm import make_executor

    require_keys(s)
    return {s.model: make_executor(provider_settings(s))}


class SpecPipeline(StepPipeline):
    """One run of ``llm-spec`` in a stage folder."""

    def __init__(
        self,
        ctx: Any,
        *,
        spec: Any,
        settings: SpecgenSettings,
        prompts: PromptSet,
        executors: dict[str, Any],
        price: Any,
        limits: ModelLimits,
    ) -> None:
        self.steps = STEPS[settings.augment]
        super().__init__(
            ctx,
            settings=settings,
            prompts=prompts,
            executors=executors,
            prices={settings.model: price},
            budget_usd=settings.budget_usd,
            max_attempts=settings.max_attempts,
            temperature=settings.temperature,
        )
        self.spec, self.limits = spec, limits
        self.common = {
            "spec_name": spec.name,
            "subject_name": spec.subject,
            "extra_instructions": settings.extra_instructions,
        }
        self.system = render(prompts["system"].text, {**self.common, "spec": spec.text()})

    def template(self, step: str) -> str:
        return self.prompts[TEMPLATES[(self.settings.augment, step)]].text

    def system_for(self, step: str, parent: Parent) -> str:
        return self.system

    def tokens_for(self, step: str) -> tuple[int, int | None]:
        from msmkit.genkit.checks import answer_budget

        s = self.settings
        max_tokens, sent, _ = answer_budget(s.max_tokens, s.reasoning_tokens, self.limits)
        return max_tokens, sent
