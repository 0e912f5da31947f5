"""What an ``llm-spec`` run will cost before it starts: calls per step, tokens and dollars.

The plan counts the drafts (one request per rule, or per section plus the preamble for the
anti-spec). Lengthening rounds, which only run when drafts come out short, and retries of
rejected answers are not included; the plan says so. Sizes are characters / 4 of the real
prompts and spec; answers are sized from the words asked (4/3 tokens a word).
"""

from __future__ import annotations

import math
from typing import Any

from msmkit.components import Estimate
from msmkit.errors import ConfigError, OptionError
from msmkit.genkit.checks import answer_budget, check_fits, tokens
from msmkit.genkit.costs import PlannedStep, cost_estimate
from msmkit.genkit.prompts import PromptSet, render
from msmkit.pricing import ModelLimits
from msmkit.specgen import fit
from msmkit.specgen.pipeline import TEMPLATES
from msmkit.specgen.settings import SpecgenSettings, provider_settings

TOKENS_PER_WORD = 4 / 3


def estimate(
    s: SpecgenSettings,
    prompts: PromptSet,
    price: Any,
    limits: ModelLimits,
    spec: Any,
    *,
    stage: str = "llm-spec",
) -> Estimate:
    """The stage's estimate for making a version of ``spec``; OptionError when the spec
    cannot be augmented or a request cannot fit the model."""
    from msmkit.specgen.flow import plan_for

    if spec.is_prose:
        raise OptionError(
            f"spec '{spec.name}' is free prose; llm-spec needs a structured spec",
            loc=("augment",),
            hint="write the spec in the structured format (docs/specs.md)",
        )
    names = {"spec_name": spec.name, "subject_name": spec.subject, "extra_instructions": ""}
    system = tokens(render(prompts["system"].text, {**names, "spec": spec.text()}))
    max_tokens, _, hidden = answer_budget(s.max_tokens, s.reasoning_tokens, limits)
    notes: list[str] = []
    extra: dict[str, Any] = {}
    if s.augment == "invert":
        sections = [
            len(" ".join(x for x in (p.title, p.rule, p.explanation) if x).split())
            for p in spec.principles
        ]
        head = len(spec.preamble.split()) + len(spec.meta.description.split()) + 12
        planned = [
            _step("preamble", 1, system, prompts, s, head, head, hidden, max_tokens),
            _step("draft", len(sections), system, prompts, s, max(sections or [0]),
                  sum(sections) / max(1, len(sections)), hidden, max_tokens),
        ]  # fmt: skip
        words = spec.word_count
        notes.append(f"anti-spec of {spec.name}: {len(sections)} sections and the preamble")
    else:
        try:
            plan = plan_for(spec, s)
        except ConfigError as exc:
            raise OptionError(exc.message, loc=("augment",), hint=exc.hint) from None
        n = sum(1 for p in spec.principles if p.rule)
        ask = math.ceil(plan.per_principle * fit.OVERSHOOT)
        if s.augment == "rule":
            count = max(2, round(ask / (s.words_per_sub_rule + fit.SUB_RULE_OVERHEAD)))
            answer = count * (s.words_per_sub_rule + 12)
        else:
            answer = ask
        rule_words = max(len((p.rule or "").split()) for p in spec.principles)
        planned = [_step("draft", n, system, prompts, s, rule_words, answer, hidden, max_tokens)]
        words = plan.target
        notes.append(
            f"target {plan.target:,} words (window {plan.low:,}-{plan.high:,}) from "
            f"{spec.word_count:,} input words"
            + ("" if s.target_words else f" x {s.ratio:g}")
            + "; lengthening rounds, if the drafts come out short, are not included"
        )
        extra["target_words"] = plan.target
        extra["window"] = [plan.low, plan.high]
    for p in planned:
        check_fits(s.model, limits, p.name, p.input_tokens, p.max_tokens)
    return cost_estimate(
        stage,
        s.model,
        planned,
        price,
        limits,
        provider_settings(s),
        items=1,
        tokens=math.ceil(words * TOKENS_PER_WORD),
        budget_usd=s.budget_usd,
        notes=notes,
        extra={"calls": {p.name: p.calls for p in planned}, **extra},
    )


def _step(
    name: str,
    calls: int,
    system: int,
    prompts: PromptSet,
    s: SpecgenSettings,
    input_words: float,
    answer_words: float,
    hidden: int,
    max_tokens: int,
) -> PlannedStep:
    template = prompts[TEMPLATES[(s.augment, name)]].text
    return PlannedStep(
        name,
        calls,
        system + tokens(template) + math.ceil(input_words * TOKENS_PER_WORD) + 40,
        math.ceil(answer_words * TOKENS_PER_WORD) + 20,
        hidden,
        max_tokens,
        system,
    )
