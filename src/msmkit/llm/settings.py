"""Provider settings for paid LLM calls (the ``provider:`` block of a generation step)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator

from msmkit.components import Options

BATCH_PROVIDERS = ("anthropic", "openai")


class ProviderSettings(Options):
    """Which model answers, and how requests reach it.

    ``model`` is an Inspect model name: ``anthropic/claude-sonnet-4-5``, ``openai/gpt-5``,
    ``openai-api/<service>/<model>``, ``vllm/<model>``. ``batch`` sends requests through the
    provider's batch API (half price, hours of latency; anthropic/ and openai/ only).
    """

    model: str
    batch: bool = False
    max_connections: int = Field(16, ge=1, le=1024)
    timeout_s: float = Field(300.0, gt=0, description="per attempt; a hung request is abandoned")
    max_retries: int = Field(6, ge=0)
    cache_prompt: bool = True
    base_url: str | None = None
    batch_size: int = Field(1000, ge=1, le=100_000)
    poll_interval_s: float = Field(60.0, gt=0)
    wait_for_batches: bool = True
    max_batch_resubmits: int = Field(2, ge=0, description="rounds for errored/expired entries")
    backoff_initial_s: float = Field(3.0, ge=0, description="first retry wait without Retry-After")
    backoff_max_s: float = Field(120.0, ge=0)
    dotenv_path: Path | None = None

    @model_validator(mode="after")
    def _check(self) -> ProviderSettings:
        provider = self.provider
        if "/" not in self.model or not self.model.split("/", 1)[1]:
            raise ValueError(f"model {self.model!r} must be an Inspect name <provider>/<model>")
        if provider == "openai-api" and self.model.count("/") < 2:
            raise ValueError(f"model {self.model!r}: write openai-api/<service>/<model>")
        if self.batch and provider not in BATCH_PROVIDERS:
            raise ValueError(
                f"batch: true needs an anthropic/ or openai/ model (got {self.model!r}); "
                "other providers have no batch API msmkit can resume"
            )
        return self

    @property
    def provider(self) -> str:
        return self.model.split("/", 1)[0]

    @property
    def model_name(self) -> str:
        """The model name as the provider's API knows it (without ``provider/``)."""
        name = self.model.split("/", 1)[1]
        return name.split("/", 1)[1] if self.provider == "openai-api" else name
