"""What an AFT run will cost before it starts: calls per step, tokens, dollars.

The plan is round 0: ``target x oversample`` prompts, each answered once and graded once.
Backfill rounds (when the grader rejects more than the oversampling covers) and retries of
rejected answers are not included; the plan says so. Token sizes are characters / 4 of the
real prompts and spec; answers are sized from ``tokens_per_chat``.
"""

from __future__ import annotations

import math
from typing import Any

from msmkit.aftgen.prompts import KIND_DESCRIPTIONS
from msmkit.aftgen.settings import PROMPT_KINDS, AftgenSettings, provider_settings
from msmkit.components import Estimate
from msmkit.genkit.checks import answer_budget, check_fits, tokens
from msmkit.genkit.costs import PlannedStep, cost_estimate
from msmkit.genkit.prompts import PromptSet, render
from msmkit.pricing import ModelLimits, plan_cost

PROMPT_TOKENS = 45  # a user message
GRADE_TOKENS = 150  # the grader's lines and verdict


def round_shape(s: AftgenSettings, domains: int) -> dict[str, int]:
    """Round 0's counts: series, prompts per series, parts per series, prompts asked."""
    series = domains * len(PROMPT_KINDS)
    per = math.ceil(math.ceil(s.target_chats() * s.oversample) / series)
    parts = math.ceil(per / s.prompts_per_call)
    return {"series": series, "per": per, "parts": parts, "prompts": series * per}


def planned_calls(s: AftgenSettings, domains: int | None = None) -> dict[str, int]:
    d = domains or s.domain_count()
    shape = round_shape(s, d)
    return {
        "domains": math.ceil(s.domain_count() / s.domains_per_call),
        "prompts": shape["series"] * shape["parts"],
        "responses": shape["prompts"],
        "grades": shape["prompts"],
    }


def planned_steps(
    s: AftgenSettings,
    prompts: PromptSet,
    *,
    spec_text: str,
    from_text: str,
    limits: ModelLimits,
    grader_limits: ModelLimits,
) -> list[PlannedStep]:
    d = s.domain_count()
    shape = round_shape(s, d)
    calls = planned_calls(s, d)
    names = {"spec_name": "", "subject_name": "", "extra_instructions": s.extra_instructions}
    plan_sys = tokens(render(prompts["system"].text, {**names, "spec": spec_text}))
    resp_sys = tokens(render(prompts["respond"].text, {**names, "spec": from_text})) + 250
    grade_sys = tokens(render(prompts["grader_system"].text, {**names, "spec": from_text}))
    plan_max, _, plan_hidden = answer_budget(
        s.planning_max_tokens, s.planning_reasoning_tokens, limits
    )
    resp_max, _, resp_hidden = answer_budget(
        s.response_max_tokens, s.response_reasoning_tokens, limits
    )
    grade_max, _, grade_hidden = answer_budget(s.grader_max_tokens, None, grader_limits)
    per_part = math.ceil(shape["per"] / shape["parts"])
    kind_text = max(tokens(v) for v in KIND_DESCRIPTIONS.values())
    # a later part lists the series' earlier prompts: on average half of them
    listed = min(shape["per"], 80) * PROMPT_TOKENS // 2 if shape["parts"] > 1 else 0
    answer = max(50, s.tokens_per_chat - PROMPT_TOKENS)
    per_domain = math.ceil(d / calls["domains"])
    return [
        PlannedStep(
            "domains",
            calls["domains"],
            plan_sys + tokens(prompts["domains"].text) + (calls["domains"] - 1) * per_domain * 4,
            per_domain * 45 + 20,
            plan_hidden,
            plan_max,
            plan_sys,
        ),
        PlannedStep(
            "prompts",
            calls["prompts"],
            plan_sys + tokens(prompts["prompts"].text) + 60 + kind_text + listed,
            per_part * (PROMPT_TOKENS + 8) + 20,
            plan_hidden,
            plan_max,
            plan_sys,
        ),
        PlannedStep(
            "responses",
            calls["responses"],
            resp_sys + PROMPT_TOKENS,
            answer + 15,
            resp_hidden,
            resp_max,
            resp_sys,
        ),
        PlannedStep(
            "grades",
            calls["grades"],
            grade_sys + tokens(prompts["grader"].text) + answer + PROMPT_TOKENS,
            GRADE_TOKENS,
            grade_hidden,
            grade_max,
            grade_sys,
        ),
    ]


def estimate(
    s: AftgenSettings,
    prompts: PromptSet,
    prices: dict[str, Any],
    limits: dict[str, ModelLimits],
    *,
    spec_text: str,
    from_text: str,
    stage: str = "llm-aft",
) -> Estimate:
    """The stage's estimate; OptionError when a request cannot fit its model."""
    mlim = limits.get(s.model, ModelLimits())
    glim = limits.get(s.grader(), ModelLimits())
    planned = planned_steps(
        s, prompts, spec_text=spec_text, from_text=from_text, limits=mlim, grader_limits=glim
    )
    for p in planned:
        model = s.grader() if p.name == "grades" else s.model
        lim = glim if p.name == "grades" else mlim
        check_fits(model, lim, p.name, p.input_tokens, p.max_tokens)
    chats = s.target_chats()
    notes = [
        f"{chats:,} accepted chats wanted; {planned[2].calls:,} prompts asked "
        f"(oversample {s.oversample:g}); backfill rounds, if the grader rejects more, not included"
    ]
    if s.grader() != s.model:
        notes.append(f"the grades step is priced at the grader's model, {s.grader()}")
    est = cost_estimate(
        stage,
        s.model,
        planned,
        prices[s.model],
        mlim,
        provider_settings(s),
        items=chats,
        tokens=chats * s.tokens_per_chat,
        budget_usd=s.budget_usd,
        notes=notes,
        extra={"calls": {p.name: p.calls for p in planned}},
    )
    if s.grader() != s.model:
        _reprice_grader(est, planned, prices, s, glim)
    return est


def _reprice_grader(
    est: Estimate,
    planned: list[PlannedStep],
    prices: dict[str, Any],
    s: AftgenSettings,
    glim: ModelLimits,
) -> None:
    """The grades step at the grader's price (every mode), the totals adjusted."""
    ps = provider_settings(s)
    mine, theirs = prices[s.model], prices[s.grader()]
    plan = [planned[3].plan()]
    for mode in list(est.extra["cost"]):
        batch, caching = mode.startswith("batch"), mode.endswith("+cache")
        kw = {"batch_size": int(ps.batch_size), "batch": batch, "caching": caching}
        old = plan_cost(plan, mine, **kw).dollars
        new = plan_cost(plan, theirs, min_cache_tokens=glim.min_cache_tokens, **kw).dollars
        est.extra["cost"][mode] = round(est.extra["cost"][mode] - old + new, 4)
        if mode == est.extra["mode"]:
            est.dollars = est.dollars - old + new
            est.extra["steps"][3]["dollars"] = round(new, 4)
