"""Dollars of a generator's plan: per step, for the configured provider settings and for the
four combinations of batches and prompt caching (:func:`msmkit.pricing.plan_cost`).

Each step is planned with its expected answer, the hidden reasoning budgeted on top of it
(billed as output), and its ``max_tokens``: a step's output is never planned above
``max_tokens``, and a plan whose expected answer is longer says so (those answers would be
truncated and rejected). A cached prefix below the model's minimum cacheable length is
planned with no cache saving, and the plan says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from msmkit.components import Estimate
from msmkit.genkit.checks import cache_note
from msmkit.pricing import ModelLimits, StepPlan, plan_cost


@dataclass(frozen=True)
class PlannedStep:
    name: str
    calls: int
    input_tokens: int  # per call, the prefix included
    answer_tokens: int  # expected visible answer per call
    hidden_tokens: int  # reasoning budgeted per call (billed as output)
    max_tokens: int  # what each request may use
    prefix_tokens: int  # the repeated system block (cacheable)

    @property
    def output_tokens(self) -> int:
        return min(self.answer_tokens + self.hidden_tokens, self.max_tokens)

    @property
    def overflows(self) -> bool:
        return self.answer_tokens > self.max_tokens - self.hidden_tokens

    def plan(self) -> StepPlan:
        return StepPlan(
            self.name, self.calls, self.input_tokens, self.output_tokens, self.prefix_tokens
        )


MODES = ((False, False), (False, True), (True, False), (True, True))


def mode_name(batch: bool, caching: bool) -> str:
    return ("batch" if batch else "online") + ("+cache" if caching else "")


def cost_estimate(
    stage: str,
    model: str,
    planned: list[PlannedStep],
    price: Any,
    limits: ModelLimits,
    provider: Any,
    *,
    items: int,
    tokens: int,
    budget_usd: float | None = None,
    notes: list[str] | None = None,
    extra: dict[str, Any] | None = None,
) -> Estimate:
    """An :class:`~msmkit.components.Estimate` with dollars per mode and per step."""
    plans = [p.plan() for p in planned]
    batch_size = int(getattr(provider, "batch_size", 1000) or 1000)
    floor = limits.min_cache_tokens
    variants = {}
    for batch, caching in MODES:
        cost = plan_cost(
            plans,
            price,
            batch=batch,
            caching=caching,
            batch_size=batch_size,
            min_cache_tokens=floor,
        )
        variants[mode_name(batch, caching)] = round(cost.dollars, 4)
    batch, caching = (
        bool(getattr(provider, "batch", False)),
        bool(getattr(provider, "cache_prompt", True)),
    )
    chosen = plan_cost(
        plans, price, batch=batch, caching=caching, batch_size=batch_size, min_cache_tokens=floor
    )
    steps = [
        {
            "step": c.name,
            "calls": c.calls,
            "input_tokens": c.input_tokens,
            "cache_write_tokens": c.cache_write_tokens,
            "cache_read_tokens": c.cache_read_tokens,
            "output_tokens": c.output_tokens,
            "max_tokens": p.max_tokens,
            "dollars": round(c.dollars, 4),
        }
        for c, p in zip(chosen.steps, planned, strict=True)
    ]
    mode = mode_name(batch, caching)
    lines = [
        f"{model}, {mode}: ${chosen.dollars:.2f} ("
        + ", ".join(f"{k} ${v:.2f}" for k, v in variants.items())
        + ")",
        "calls: " + ", ".join(f"{p.name} {p.calls:,}" for p in planned),
        "retries of rejected items not included",
    ]
    prefixes = sorted({p.prefix_tokens for p in planned if p.prefix_tokens})
    below = [x for x in prefixes if cache_note(model, limits, x)]
    if below:
        note = cache_note(model, limits, below[-1]) or ""
        if len(below) > 1:
            note = note.replace(f"~{below[-1]:,} tokens", f"~{below[0]:,}-{below[-1]:,} tokens")
        lines.append(note)
    hidden = max((p.hidden_tokens for p in planned), default=0)
    if hidden and limits.reasoning:
        lines.append(
            f"{model} reasons before it answers: {hidden:,} hidden reasoning tokens a call are "
            "budgeted on top of each answer and priced as output (an upper bound)"
        )
    for p in planned:
        if p.overflows:
            lines.append(
                f"{p.name}: an answer needs ~{p.answer_tokens:,} tokens but max_tokens leaves "
                f"{p.max_tokens - p.hidden_tokens:,}: expect truncated (rejected) answers; "
                "raise that step's max_tokens"
            )
    lines.extend(notes or [])
    if budget_usd is not None:
        lines.append(f"budget ${budget_usd:.2f}")
    return Estimate(
        stage,
        items=items,
        tokens=tokens,
        dollars=chosen.dollars,
        notes=lines,
        extra={
            "steps": steps,
            "cost": variants,
            "mode": mode,
            "model": model,
            **(extra or {}),
        },
    )
