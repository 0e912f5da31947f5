"""The staged pipeline: spec -> domains -> subdomains -> assertions -> document types ->
ideas -> documents, each step's output saved in ``steps/`` before the next step reads it.

Every model call is an :class:`~msmkit.llm.base.LLMRequest` whose id hashes the step, the
model, the generation settings, the system block (the whole spec), the rendered prompt (so
the prompt file and every input) and the attempt number. Results go to one journal per step
(``journal/<step>.jsonl``), so a rerun replays every step from its journal and sends only ids
the journal lacks: no paid request is repeated, and an edited step file changes exactly the
requests that depend on it.
"""

from __future__ import annotations

from typing import Any

from msmkit.docgen.prompts import PromptSet, render
from msmkit.docgen.settings import DocgenSettings
from msmkit.errors import PrerequisiteError
from msmkit.genkit.steps import (
    BudgetExhausted,
    Parent,
    StepFailed,
    StepPipeline,
    StepReport,
    key_of,
)

LIST_STEPS = ("domains", "subdomains", "assertions", "doctypes", "ideas")
STEPS = (*LIST_STEPS, "documents")
ASSERTION_KINDS = ("rule", "value", "preference", "belief", "tone")


def executor_for(settings: DocgenSettings) -> Any:
    """The executor for these settings: the seam to the provider layer (tests patch it)."""
    from msmkit.docgen.settings import provider_settings

    require_key(settings)
    ps = provider_settings(settings)
    try:
        from msmkit.llm import make_executor  # type: ignore[attr-defined]
    except ImportError:
        try:
            from msmkit.llm.factory import make_executor  # type: ignore[import-not-found]
        except ImportError:
            raise PrerequisiteError(
                "the LLM provider layer (msmkit.llm make_executor) is not available",
                hint="update msmkit; meanwhile use the offline generator",
            ) from None
    return make_executor(ps)


def budget_limit(settings: DocgenSettings, run_budget: float | None = None) -> float | None:
    """``budget_usd``, else the run's budget (``msmkit run --budget``), else None."""
    if settings.budget_usd is not None:
        return settings.budget_usd
    return run_budget


def require_key(settings: DocgenSettings) -> None:
    """PrerequisiteError, before anything is sent, when the model's API key is not set (a
    ``provider.base_url`` server needs none)."""
    from msmkit.docgen.settings import missing_key

    if settings.provider.get("base_url"):
        return
    try:
        from msmkit.llm.keys import require_key as provider_require_key
    except ImportError:  # an older provider layer: check the variables ourselves
        provider_require_key = None
    if provider_require_key is not None:
        try:
            provider_require_key(settings.model, dotenv_path=settings.provider.get("dotenv_path"))
            return
        except ImportError:  # python-dotenv missing: fall through to the plain check
            pass
    var = missing_key(settings.model)
    if var is not None:
        raise PrerequisiteError(
            f"no API key for {settings.model}: {var} is not set; nothing was sent",
            hint=f"export {var}=... (or put it in .env), or use the offline generator "
            "(--generator offline)",
        )


class Pipeline(StepPipeline):
    """One run of the document pipeline in a stage folder (see :class:`StepPipeline`)."""

    steps = STEPS

    def __init__(
        self,
        ctx: Any,
        *,
        spec_name: str,
        spec_hash: str,
        spec_text: str,
        subject: str,
        settings: DocgenSettings,
        prompts: PromptSet,
        executor: Any,
        price: Any = None,
        version: str = "1",
        probe: int | None = None,
        limits: Any = None,
    ) -> None:
        from msmkit.pricing import ModelLimits

        super().__init__(
            ctx,
            settings=settings,
            prompts=prompts,
            executors={settings.model: executor},
            prices={settings.model: price} if price is not None else {},
            budget_usd=settings.budget_usd,
            probe=probe,
            max_attempts=settings.max_attempts,
            temperature=settings.temperature,
        )
        self.executor, self.price = executor, price
        self.limits = limits or ModelLimits()
        self.corpus_info = {"spec_name": spec_name, "spec_hash": spec_hash, "version": version}
        self.subject_name = (
            settings.subject_name
            or {
                "model": subject,
                "other-ai": "Atlas",
                "humans": "people",
            }[settings.subject]
        )
        self.common = {
            "spec_name": spec_name,
            "subject_name": self.subject_name,
            "extra_instructions": settings.extra_instructions,
        }
        blocks = prompts.blocks("framing")
        framing = "\n\n".join(
            blocks.get(k, "") for k in (f"subject:{settings.subject}", f"voice:{settings.voice}")
        ).strip()
        self.common["framing"] = render(framing, self.common)
        self.system = render(prompts["system"].text, {**self.common, "spec": spec_text})

    def model_for(self, step: str) -> str:
        return self.settings.model

    def template(self, step: str) -> str:
        return self.prompts["document" if step == "documents" else step].text

    def system_for(self, step: str, parent: Parent) -> str:
        return self.system

    def tokens_for(self, step: str) -> tuple[int, int | None]:
        from msmkit.genkit.checks import answer_budget

        s = self.settings
        doc = step == "documents"
        answer = s.document_max_tokens if doc else s.planning_max_tokens
        reasoning = s.document_reasoning_tokens if doc else s.planning_reasoning_tokens
        max_tokens, sent, _ = answer_budget(answer, reasoning, self.limits)
        return max_tokens, sent  # the thinking budget never eats the answer's


__all__ = [
    "ASSERTION_KINDS",
    "LIST_STEPS",
    "STEPS",
    "BudgetExhausted",
    "Parent",
    "Pipeline",
    "StepFailed",
    "StepReport",
    "budget_limit",
    "executor_for",
    "key_of",
    "require_key",
]
