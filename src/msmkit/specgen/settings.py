"""Options of the ``llm-spec`` stage and of ``msmkit generate spec``.

Runtime options (``provider``, ``budget_usd``, ``prices``, ``prompts_dir`` as a path,
``max_rounds``) change how the stage runs, not what it makes, so changing them continues the
same spec. What shapes the spec (model, augmentation, target length, token budgets, the
prompts' content) is in the fingerprint.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import Field, model_validator

from msmkit.components import Options
from msmkit.stagekit import RUNTIME

DEFAULT_MODEL = "anthropic/claude-sonnet-4-5"
Augment = Literal["value", "rule", "invert"]
SUFFIX = {"value": "value-augmented", "rule": "rule-augmented", "invert": "anti"}
DEFAULT_RATIO = 4.3
"""Default target length over the input's: msmkit's rules-value-augmented is 4.3x its rules
spec (the paper's V+ and R+ are about 5x its Rules spec)."""


class SpecgenSettings(Options):
    """How one LLM-made version of a spec is written."""

    augment: Augment = Field(
        description="value: explain the values behind each rule (the rules kept word for "
        "word); rule: add detailed sub-rules under each rule instead; invert: the anti-spec "
        "(each section's stance inverted; a research control for anti-spec AFT data)"
    )
    model: str = Field(DEFAULT_MODEL, description="Inspect model name, provider/model")
    provider: dict[str, Any] = Field(
        default_factory=dict,
        json_schema_extra=RUNTIME,
        description="ProviderSettings fields besides model (batch, max_connections, ...)",
    )
    budget_usd: float | None = Field(
        None, gt=0, json_schema_extra=RUNTIME, description="stop (resumable) once this is spent"
    )
    prices: str | None = Field(None, json_schema_extra=RUNTIME, description="price file")
    prompts_dir: str | None = Field(
        None, json_schema_extra=RUNTIME, description="prompt .md files overriding the bundled"
    )
    target_words: int | None = Field(
        None,
        ge=50,
        description="value/rule: words of the made spec (Spec.word_count); default: ratio x "
        "the input spec's words, so a value- and a rule-augmented spec made from one spec "
        "share a target",
    )
    ratio: float = Field(DEFAULT_RATIO, gt=1, le=20, description="see target_words")
    tolerance: float = Field(
        0.02,
        gt=0,
        le=0.1,
        description="value/rule: the made spec is within target x (1 +- tolerance) words; two "
        "made to one target are within about 2 x tolerance of each other",
    )
    name: str | None = Field(
        None, description="the made spec's name (default: <name>-value-augmented, ...)"
    )
    words_per_sub_rule: int = Field(
        40, ge=10, le=200, description="rule: the length asked of each sub-rule"
    )
    extra_instructions: str = ""
    max_tokens: int = Field(4096, ge=256, description="output tokens of each request")
    reasoning_tokens: int | None = Field(None, ge=1024)
    temperature: float | None = Field(1.0, ge=0, le=2)
    max_attempts: int = Field(3, ge=1, le=10, description="tries per request before rejecting")
    max_rounds: int = Field(
        3,
        ge=0,
        le=10,
        json_schema_extra=RUNTIME,
        description="value/rule: rounds of requests that lengthen a spec that came out short",
    )

    @model_validator(mode="after")
    def _check(self) -> SpecgenSettings:
        if "/" not in self.model:
            raise ValueError(f"model {self.model!r} is not provider/model ({DEFAULT_MODEL})")
        if "model" in self.provider:
            raise ValueError("give the model as `model`, not provider.model")
        if self.augment == "invert" and self.target_words is not None:
            raise ValueError("target_words is for value and rule augmentation, not invert")
        provider_settings(self)  # validates the provider block
        return self

    def target_for(self, input_words: int) -> int | None:
        """The made spec's target length, for an input spec of ``input_words`` words."""
        if self.augment == "invert":
            return None
        if self.target_words is not None:
            return self.target_words
        return math.ceil(input_words * self.ratio)

    def window(self, target: int) -> tuple[int, int]:
        """The accepted word counts: ``target x (1 +- tolerance)``, inclusive."""
        return math.ceil(target * (1 - self.tolerance)), math.floor(target * (1 + self.tolerance))

    def made_name(self, name: str) -> str:
        return self.name or f"{name}-{SUFFIX[self.augment]}"


def provider_settings(settings: SpecgenSettings) -> Any:
    from msmkit.llm.settings import ProviderSettings

    return ProviderSettings.model_validate({"model": settings.model, **settings.provider})
