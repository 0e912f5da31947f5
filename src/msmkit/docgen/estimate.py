"""What a run will cost before it starts: calls per step, tokens, dollars.

Token sizes are characters / 4 of the rendered prompts (the system block is the real spec),
with outputs sized from the counts asked for. Retries are not included (each rejected item
costs one more call). Dollars come from :func:`msmkit.pricing.plan_cost`, for the configured
provider settings and for the four combinations of batches and prompt caching.
"""

from __future__ import annotations

import math
from typing import Any

from msmkit.components import Estimate
from msmkit.docgen.prompts import PromptSet, render
from msmkit.docgen.settings import DocgenSettings, provider_settings
from msmkit.pricing import StepPlan, plan_cost


def tokens(text: str) -> int:
    return math.ceil(len(text) / 4)


def step_plans(
    settings: DocgenSettings, prompts: PromptSet, *, spec_text: str, spec_name: str = ""
) -> list[StepPlan]:
    """Calls and per-call tokens of each step for a run that gets the counts it asks for."""
    s = settings
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

    def tpl(name: str) -> int:
        return tokens(prompts[name].text)

    planning_think = s.planning_reasoning_tokens or 0
    doc_think = s.document_reasoning_tokens or 0
    rows = [
        ("domains", 1, tpl("domains"), d * 40 + 20 + planning_think),
        ("subdomains", d, tpl("subdomains") + 60, sub * 60 + math.ceil(spec / d) + planning_think),
        ("assertions", subdomains, tpl("assertions") + 60 + excerpt, a * 60 + planning_think),
        ("doctypes", subdomains, tpl("doctypes") + 60 + a * 50 + framing, t * 35 + planning_think),
        (
            "ideas",
            subdomains * t * len(s.idea_parts(k)),
            tpl("ideas") + 90 + a * 50 + framing,
            max(s.idea_parts(k)) * 70 + planning_think,
        ),
        (
            "documents",
            subdomains * t * k,
            tpl("document") + 150 + excerpt + a * 25 + framing,
            s.tokens_per_document + 100 + doc_think,
        ),
    ]
    return [
        StepPlan(name, calls, system + prompt, out, cached_prefix_tokens=system)
        for name, calls, prompt, out in rows
    ]


def estimate(
    settings: DocgenSettings,
    prompts: PromptSet,
    price: Any,
    *,
    spec_text: str,
    spec_name: str = "",
    stage: str = "llm-docs",
) -> Estimate:
    plans = step_plans(settings, prompts, spec_text=spec_text, spec_name=spec_name)
    ps = provider_settings(settings)
    batch_size = int(getattr(ps, "batch_size", 1000) or 1000)
    variants = {}
    for batch in (False, True):
        for caching in (False, True):
            cost = plan_cost(plans, price, batch=batch, caching=caching, batch_size=batch_size)
            name = ("batch" if batch else "online") + ("+cache" if caching else "")
            variants[name] = round(cost.dollars, 4)
    batch, caching = bool(getattr(ps, "batch", False)), bool(getattr(ps, "cache_prompt", True))
    chosen = plan_cost(plans, price, batch=batch, caching=caching, batch_size=batch_size)
    docs = plans[-1].calls
    steps = [
        {
            "step": c.name,
            "calls": c.calls,
            "input_tokens": c.input_tokens,
            "cache_write_tokens": c.cache_write_tokens,
            "cache_read_tokens": c.cache_read_tokens,
            "output_tokens": c.output_tokens,
            "dollars": round(c.dollars, 4),
        }
        for c in chosen.steps
    ]
    mode = ("batch" if batch else "online") + ("+cache" if caching else "")
    notes = [
        f"{settings.model}, {mode}: ${chosen.dollars:.2f} "
        + "("
        + ", ".join(f"{k} ${v:.2f}" for k, v in variants.items())
        + ")",
        "calls: " + ", ".join(f"{p.name} {p.calls:,}" for p in plans),
        "retries of rejected items not included",
    ]
    if settings.budget_usd is not None:
        notes.append(f"budget ${settings.budget_usd:.2f}")
    return Estimate(
        stage,
        items=docs,
        tokens=docs * settings.tokens_per_document,
        dollars=chosen.dollars,
        notes=notes,
        extra={"steps": steps, "cost": variants, "mode": mode, "model": settings.model},
    )
