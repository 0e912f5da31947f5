"""The AFT pipeline's requests: which prompt file, system block, model and token budget each
step uses (the engine is :class:`msmkit.genkit.steps.StepPipeline`).

Steps: ``domains`` and ``prompts`` are planned with the spec as their system block;
``responses`` are written with the spec they are *written from* (the arm's spec, or another
spec for anti-spec AFT) as theirs, with the style and format blocks; ``grades`` are given by
the grader model with that same spec. Every system block is identical across a step's calls,
so the provider's prompt cache serves it.
"""

from __future__ import annotations

from typing import Any

from msmkit.aftgen.settings import AftgenSettings
from msmkit.genkit.prompts import PromptSet, render
from msmkit.genkit.steps import Parent, StepPipeline
from msmkit.pricing import ModelLimits

STEPS = ("domains", "prompts", "responses", "grades")
TEMPLATES = {
    "domains": "domains",
    "prompts": "prompts",
    "responses": "response",
    "grades": "grader",
}


class AftPipeline(StepPipeline):
    """One run of the AFT pipeline in a stage folder."""

    steps = STEPS

    def __init__(
        self,
        ctx: Any,
        *,
        spec: Any,
        from_spec: Any,
        settings: AftgenSettings,
        prompts: PromptSet,
        executors: dict[str, Any],
        prices: dict[str, Any],
        limits: dict[str, ModelLimits],
        probe: int | None = None,
        version: str = "1",
    ) -> None:
        super().__init__(
            ctx,
            settings=settings,
            prompts=prompts,
            executors=executors,
            prices=prices,
            budget_usd=settings.budget_usd,
            probe=probe,
            max_attempts=settings.max_attempts,
            temperature=settings.temperature,
        )
        self.spec, self.from_spec, self.limits, self.version = spec, from_spec, limits, version
        self.common = {
            "spec_name": spec.name,
            "subject_name": spec.subject,
            "extra_instructions": settings.extra_instructions,
        }
        self.plan_system = render(prompts["system"].text, {**self.common, "spec": spec.text()})
        written = {
            "spec_name": from_spec.name,
            "subject_name": from_spec.subject,
            "extra_instructions": settings.extra_instructions,
        }
        styles = prompts.blocks("style")
        formats = prompts.blocks("format")
        fmt = "reasoning" if settings.reasoning else "plain"
        self.respond_system = render(
            prompts["respond"].text,
            {
                **written,
                "spec": from_spec.text(),
                "style": render(styles.get(f"style:{settings.style}", ""), written),
                "format": formats.get(f"format:{fmt}", ""),
            },
        )
        self.grader_system = render(
            prompts["grader_system"].text, {**written, "spec": from_spec.text()}
        )
        self.style_criterion = render(styles.get(f"grader:{settings.style}", ""), written)
        self.criteria = "\n".join(f"{n}. {c}" for n, c in enumerate(settings.criteria, start=5))

    def model_for(self, step: str) -> str:
        return self.settings.grader() if step == "grades" else self.settings.model

    def template(self, step: str) -> str:
        return self.prompts[TEMPLATES[step]].text

    def system_for(self, step: str, parent: Parent) -> str:
        if step == "responses":
            return self.respond_system
        if step == "grades":
            return self.grader_system
        return self.plan_system

    def tokens_for(self, step: str) -> tuple[int, int | None]:
        from msmkit.genkit.checks import answer_budget

        s = self.settings
        if step == "responses":
            answer, reasoning = s.response_max_tokens, s.response_reasoning_tokens
        elif step == "grades":
            answer, reasoning = s.grader_max_tokens, None
        else:
            answer, reasoning = s.planning_max_tokens, s.planning_reasoning_tokens
        limits = self.limits.get(self.model_for(step), ModelLimits())
        max_tokens, sent, _ = answer_budget(answer, reasoning, limits)
        return max_tokens, sent
