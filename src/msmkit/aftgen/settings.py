"""Options of the ``llm-aft`` stage: AFT demonstrations written by an LLM from a spec.

Runtime options (``provider``, ``budget_usd``, ``prices``, ``prompts_dir`` as a path,
``max_rounds``) are marked ``RUNTIME``: they change how the stage runs, not what it makes, so
changing them continues the same set. What shapes the chats (models, counts, style, token
budgets, the prompts' content) is in the fingerprint.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import Field, model_validator

from msmkit.components import Options
from msmkit.stagekit import RUNTIME

DEFAULT_MODEL = "anthropic/claude-sonnet-4-5"
MAX_TARGET = 1_000_000
"""More accepted chats than this in one stage is refused at plan time (the paper's largest
generated AFT set is 80k)."""
PROMPT_KINDS = (
    "direct",
    "indirect",
    "comparison",
    "recommendation",
    "opinion",
    "edge_case",
    "ordinary",
)
"""How user prompts are spread within a domain: each (domain, kind) pair is its own request
series, so parts run side by side and later parts see the earlier parts' prompts."""


class AftgenSettings(Options):
    """Options of ``msmkit generate aft`` and the ``llm-aft`` stage."""

    model: str = Field(DEFAULT_MODEL, description="Inspect model name, provider/model")
    grader_model: str | None = Field(
        None, description="the grader's Inspect model (default: the same model)"
    )
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
    style: Literal["value", "rule"] = Field(
        "value",
        description="value: reasons from the spec's values as a model that holds them; rule: "
        "cites the spec's rules by name (the deliberative-alignment style)",
    )
    reasoning: bool = Field(
        True, description="write a reasoning part before each response (kept in its own field)"
    )
    target: int | None = Field(None, ge=1, description="accepted chats to deliver")
    target_tokens: int | None = Field(None, ge=1, description="or: accepted tokens to deliver")
    tokens_per_chat: int = Field(
        600, ge=20, description="expected tokens of a chat (sizes a token target)"
    )
    domains: int | None = Field(
        None, ge=1, le=500, description="conversation domains (default: target / 250, >= 5)"
    )
    domains_per_call: int = Field(20, ge=1, le=200)
    prompts_per_call: int = Field(20, ge=1, le=200)
    oversample: float = Field(
        1.3, ge=1.0, le=5.0, description="prompts asked per chat wanted (dedup, grader losses)"
    )
    max_rounds: int = Field(
        4,
        ge=1,
        le=20,
        json_schema_extra=RUNTIME,
        description="backfill rounds before giving up short of the target",
    )
    dedup_threshold: float = Field(
        0.6, gt=0, le=1, description="word-bigram Jaccard above which a prompt is a duplicate"
    )
    contamination: Literal["off", "report", "remove"] = Field(
        "remove", description="prompts and responses naming an eval item (every bank)"
    )
    keep_unclear: bool = Field(False, description="keep chats the grader calls UNCLEAR")
    criteria: list[str] = Field(
        default_factory=list,
        description="extra grader criteria, e.g. 'expresses no wish for its own continuation'",
    )
    extra_instructions: str = ""
    planning_max_tokens: int = Field(4096, ge=256)
    planning_reasoning_tokens: int | None = Field(None, ge=1024)
    response_max_tokens: int = Field(2048, ge=256)
    response_reasoning_tokens: int | None = Field(None, ge=1024)
    grader_max_tokens: int = Field(1024, ge=128)
    temperature: float | None = Field(1.0, ge=0, le=2)
    max_attempts: int = Field(3, ge=1, le=10, description="tries per item before rejecting")
    seed: int = Field(0, description="the order the delivered chats are drawn in")

    @model_validator(mode="after")
    def _check(self) -> AftgenSettings:
        for name in ("model", "grader_model"):
            value = getattr(self, name)
            if value is not None and "/" not in value:
                raise ValueError(f"{name} {value!r} is not provider/model ({DEFAULT_MODEL})")
        if "model" in self.provider:
            raise ValueError("give the model as `model`, not provider.model")
        if self.target is not None and self.target_tokens is not None:
            raise ValueError("give target or target_tokens, not both")
        wanted = self.target_chats()
        if wanted > MAX_TARGET:
            what = (
                f"target_tokens {self.target_tokens:,} at {self.tokens_per_chat:,} tokens a chat"
                if self.target_tokens
                else f"target {self.target:,}"
            )
            raise ValueError(
                f"{what} means ~{wanted:,} chats; msmkit refuses more than {MAX_TARGET:,} in "
                "one stage (a typo in the exponent?)"
            )
        provider_settings(self)  # validates the provider block
        return self

    def target_chats(self) -> int:
        """Accepted chats to deliver (from ``target_tokens`` when that is set)."""
        if self.target_tokens is not None:
            return math.ceil(self.target_tokens / self.tokens_per_chat)
        return self.target if self.target is not None else 100

    def domain_count(self) -> int:
        return self.domains or max(5, math.ceil(self.target_chats() / 250))

    def grader(self) -> str:
        return self.grader_model or self.model


def provider_settings(settings: AftgenSettings, model: str | None = None) -> Any:
    from msmkit.llm.settings import ProviderSettings

    return ProviderSettings.model_validate({"model": model or settings.model, **settings.provider})
