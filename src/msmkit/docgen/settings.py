"""The ``llm`` generator's settings, and how they size a run.

Fields marked *operational* (``provider``, ``budget_usd``, ``prices``, ``prompts_dir`` as a
path) are excluded from the stage fingerprint: changing the budget, switching to batches or
moving the prompt folder continues the same corpus. What shapes the documents (model, counts,
framing, token budgets, the prompts' content) is in it.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from msmkit.components import Options

DEFAULT_MODEL = "anthropic/claude-sonnet-4-5"
MAX_DOCUMENTS = 5_000_000
"""More documents than this in one stage is refused at plan time (a typo, not a plan: the
paper's philosophy corpus has 13,201)."""
KEY_VARS = {"anthropic": "ANTHROPIC_API_KEY", "openai": "OPENAI_API_KEY"}


class DocgenSettings(Options):
    """Options of the ``llm`` document generator (experiment ``generate: {name: llm}``)."""

    model: str = Field(DEFAULT_MODEL, description="Inspect model name, provider/model")
    provider: dict[str, Any] = Field(
        default_factory=dict,
        exclude=True,
        description="ProviderSettings fields besides model (batch, max_connections, ...)",
    )
    budget_usd: float | None = Field(
        None, gt=0, exclude=True, description="stop cleanly (resumable) once this is spent"
    )
    prices: str | None = Field(
        None, exclude=True, description="price file (Inspect model-cost format); default bundled"
    )
    prompts_dir: str | None = Field(
        None, exclude=True, description="folder of prompt .md files overriding the bundled ones"
    )
    mode: Literal["default", "rules"] = Field(
        "default", description="rules: documents cite rules and add no reasons"
    )
    subject: Literal["model", "other-ai", "humans"] = "model"
    subject_name: str | None = Field(
        None, description="who the documents name (default: the spec's subject; 'people')"
    )
    voice: Literal["descriptive", "normative"] = "descriptive"
    extra_instructions: str = ""
    domains: int = Field(6, ge=1, le=100)
    subdomains_per_domain: int = Field(4, ge=1, le=100)
    assertions_per_subdomain: int = Field(10, ge=1, le=100)
    doc_types_per_subdomain: int = Field(8, ge=1, le=200)
    ideas_per_type: int | None = Field(
        None, ge=1, le=500, description="default: from target_tokens, else 5"
    )
    ideas_per_call: int = Field(
        20, ge=1, le=500, description="at most this many ideas per request (more: in parts)"
    )
    target_tokens: int | None = Field(None, ge=1, description="corpus size to aim for")
    tokens_per_document: int = Field(800, ge=50, description="expected size of a document")
    planning_max_tokens: int = Field(4096, ge=256)
    planning_reasoning_tokens: int | None = Field(None, ge=1024)
    document_max_tokens: int = Field(3000, ge=256)
    document_reasoning_tokens: int | None = Field(None, ge=1024)
    temperature: float | None = Field(1.0, ge=0, le=2)
    max_attempts: int = Field(3, ge=1, le=10, description="tries per item before rejecting")
    min_document_chars: int = Field(200, ge=1)

    @model_validator(mode="after")
    def _check(self) -> DocgenSettings:
        if "/" not in self.model:
            raise ValueError(f"model {self.model!r} is not provider/model (e.g. {DEFAULT_MODEL})")
        if "model" in self.provider:
            raise ValueError("give the model as `model`, not provider.model")
        if self.ideas_per_type is not None and self.target_tokens is not None:
            raise ValueError("give ideas_per_type or target_tokens, not both")
        docs = self.target_documents()
        if docs is not None and docs > MAX_DOCUMENTS:
            raise ValueError(
                f"target_tokens {self.target_tokens:,} means ~{docs:,} documents at "
                f"{self.tokens_per_document:,} tokens each; msmkit refuses more than "
                f"{MAX_DOCUMENTS:,} in one stage (a typo in the exponent?)"
            )
        provider_settings(self)  # validates the provider block
        return self

    def words_per_document(self) -> int:
        return max(50, round(self.tokens_per_document * 0.75))

    def target_documents(self) -> int | None:
        if self.target_tokens is None:
            return None
        return math.ceil(self.target_tokens / self.tokens_per_document)

    def ideas_for(self, subdomains: int) -> int:
        """Ideas per (subdomain, type), given how many subdomains there are."""
        if self.ideas_per_type is not None:
            return self.ideas_per_type
        docs = self.target_documents()
        if docs is None:
            return 5
        return max(1, math.ceil(docs / max(1, subdomains * self.doc_types_per_subdomain)))

    def idea_parts(self, ideas: int) -> list[int]:
        """How many ideas each request of a (subdomain, type) pair asks for: ``ideas`` split
        into as few parts of at most ``ideas_per_call`` as possible, sized evenly."""
        parts = max(1, math.ceil(ideas / self.ideas_per_call))
        return [ideas // parts + (1 if i < ideas % parts else 0) for i in range(parts)]

    def framing_key(self) -> dict[str, Any]:
        return {"subject": self.subject, "voice": self.voice, "mode": self.mode}


def provider_settings(settings: DocgenSettings) -> Any:
    """The provider layer's ``ProviderSettings`` for these settings (a local stand-in with the
    same fields until ``msmkit.llm.settings`` exists)."""
    try:
        from msmkit.llm.settings import ProviderSettings  # type: ignore[import-not-found]
    except ImportError:
        ProviderSettings = _ProviderSettings
    return ProviderSettings.model_validate({"model": settings.model, **settings.provider})


class _ProviderSettings(Options):
    model: str
    batch: bool = False
    max_connections: int = Field(16, ge=1)
    timeout_s: float = Field(600, gt=0)
    max_retries: int = Field(6, ge=0)
    cache_prompt: bool = True
    base_url: str | None = None
    batch_size: int = Field(1000, ge=1)
    poll_interval_s: float = Field(60, gt=0)
    wait_for_batches: bool = True


def missing_key(model: str) -> str | None:
    """The environment variable a model's provider needs when it is unset, else None.

    A stand-in for the provider layer's keys module (switch here when it lands)."""
    try:
        from msmkit.llm.keys import key_env_var
    except ImportError:
        var = KEY_VARS.get(model.split("/", 1)[0])
    else:
        var = key_env_var(model)
    return var if var is not None and not os.environ.get(var, "").strip() else None


def resolve_path(value: str | None, base: Path | None) -> Path | None:
    if value is None:
        return None
    path = Path(value).expanduser()
    return path if path.is_absolute() or base is None else base / path
