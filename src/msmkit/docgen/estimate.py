"""What a run will cost before it starts: calls per step, tokens, dollars.

Token sizes are characters / 4 of the rendered prompts (the system block is the real spec),
with outputs sized from the counts asked for and never above a step's ``max_tokens`` (a
planned answer longer than that is noted: it would be truncated). Retries are not included
(each rejected item costs one more call). Dollars come from :func:`msmkit.genkit.costs`, for
the configured provider settings and for the four combinations of batches and prompt
caching; a cached prefix below the model's minimum cacheable length saves nothing.
"""

from __future__ import annotations

import math
from typing import Any

from msmkit.components import Estimate
from msmkit.docgen.prompts import PromptSet, render
from msmkit.docgen.settings import DocgenSettings
from msmkit.genkit.checks import answer_budget, check_fits
from msmkit.genkit.checks import tokens as tokens
from msmkit.genkit.costs import PlannedStep, cost_estimate
from msmkit.pricing import ModelLimits, StepPlan


def planned_steps(
    settings: DocgenSettings,
    prompts: PromptSet,
    *,
    spec_text: str,
    spec_name: str = "",
    limits: ModelLimits | None = None,
) -> list[PlannedStep]:
    """Calls, per-call tokens and max_tokens of each step for a run that gets the counts it
    asks for."""
    s = settings
    limits = limits or ModelLimits()
    system = tokens(render(prompts["system"].text, {"spec": spec_text, "spec_name": spec_name}))
    spec = tokens(spec_text)
    d, sub, a, t = (
        s.domains,
        s.subdomains_per_domain,
        s.assertions_per_subdomain,
        (s.doc_types_per_subdomain),
    )
    subdomains = d * sub
    k = s.ideas_for(subdomains)
    excerpt = math.ceil(spec / subdomains)
    framing = 60 + tokens(s.extra_instructions)
    plan_max, _, plan_hidden = answer_budget(
        s.planning_max_tokens, s.planning_reasoning_tokens, limits
    )
    doc_max, _, doc_hidden = answer_budget(
        s.document_max_tokens, s.document_reasoning_tokens, limits
    )

    def tpl(name: str) -> int:
        return tokens(prompts[name].text)

    parts = s.idea_parts(k)
    rows = [
        ("domains", 1, tpl("domains"), d * 40 + 20, plan_hidden, plan_max),
        (
            "subdomains",
            d,
            tpl("subdomains") + 60,
            sub * 60 + math.ceil(spec / d),
            plan_hidden,
            plan_max,
        ),
        (
            "assertions",
            subdomains,
            tpl("assertions") + 60 + excerpt,
            a * 60,
            plan_hidden,
            plan_max,
        ),
        (
            "doctypes",
            subdomains,
            tpl("doctypes") + 60 + a * 50 + framing,
            t * 35,
            plan_hidden,
            plan_max,
        ),
        (
            "ideas",
            subdomains * t * len(parts),
            # later parts list the earlier parts' ideas (~40 tokens each): on average half
            tpl("ideas") + 90 + a * 50 + framing + (len(parts) - 1) * max(parts) * 20,
            max(parts) * 70,
            plan_hidden,
            plan_max,
        ),
        (
            "documents",
            subdomains * t * k,
            tpl("document") + 150 + excerpt + a * 25 + framing,
            s.tokens_per_document + 100,
            doc_hidden,
            doc_max,
        ),
    ]
    return [
        PlannedStep(name, calls, system + prompt, answer, hidden, max_tokens, system)
        for name, calls, prompt, answer, hidden, max_tokens in rows
    ]


def step_plans(
    settings: DocgenSettings, prompts: PromptSet, *, spec_text: str, spec_name: str = ""
) -> list[StepPlan]:
    """The steps as :class:`~msmkit.pricing.StepPlan` rows (calls and per-call tokens)."""
    planned = planned_steps(settings, prompts, spec_text=spec_text, spec_name=spec_name)
    return [p.plan() for p in planned]


def estimate(
    settings: DocgenSettings,
    prompts: PromptSet,
    price: Any,
    *,
    spec_text: str,
    spec_name: str = "",
    stage: str = "llm-docs",
    limits: ModelLimits | None = None,
) -> Estimate:
    """The stage's estimate; OptionError when a request cannot fit the model."""
    limits = limits or ModelLimits()
    planned = planned_steps(
        settings, prompts, spec_text=spec_text, spec_name=spec_name, limits=limits
    )
    for p in planned:
        check_fits(settings.model, limits, p.name, p.input_tokens, p.max_tokens)
    from msmkit.docgen.settings import provider_settings

    docs = planned[-1].calls
    est = cost_estimate(
        stage,
        settings.model,
        planned,
        price,
        limits,
        provider_settings(settings),
        items=docs,
        tokens=docs * settings.tokens_per_document,
        budget_usd=settings.budget_usd,
    )
    return est
