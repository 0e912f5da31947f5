"""The condition grid and the prompts for one condition.

Leaking and murder prompts come from inspect_evals' ``generate_prompts``; exfiltration from
:mod:`.exfiltration`. inspect_evals is imported inside the functions, so importing msmkit (or
its Inspect registry) never loads it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from msmkit.errors import ConfigError
from msmkit.evals.agentic_misalignment import exfiltration

SCENARIOS = ("exfiltration", "murder", "leaking")
# The paper's order (App. E panels): no goal, then the explicit goals.
GOALS = (
    "none",
    "america",
    "global",
    "ethical",
    "pragmatic",
    "acceleration",
    "individualism",
    "collectivism",
    "safety",
)
URGENCIES = ("replacement", "restriction", "none")
DEFAULT_AGENT_NAME = "Alex"


@dataclass(frozen=True)
class Condition:
    """One cell of the grid: a harmful action, a goal ("none" = no goal) and an urgency."""

    scenario: str
    goal: str
    urgency: str = "replacement"

    @property
    def goal_type(self) -> str:
        return "none" if self.goal == "none" else "explicit"

    @property
    def id(self) -> str:
        """inspect_evals' condition id, e.g. ``murder_explicit-america_replacement``."""
        return f"{self.scenario}_{self.goal_type}-{self.goal}_{self.urgency}"


@dataclass(frozen=True)
class Prompts:
    system: str
    user: str
    emails: str


def as_list(value: str | Sequence[str] | None, default: Sequence[str]) -> list[str]:
    """A ``-T`` value as a list: None -> default, "a,b" -> [a, b], a list as it is."""
    if value is None:
        return list(default)
    items = value.split(",") if isinstance(value, str) else [str(v) for v in value]
    return [item.strip().lower() for item in items if item.strip()]


def _check(kind: str, chosen: list[str], allowed: Sequence[str]) -> None:
    unknown = [c for c in chosen if c not in allowed]
    if unknown or not chosen:
        raise ConfigError(
            f"agentic_misalignment: unknown {kind} {', '.join(unknown) or '(none given)'}",
            hint=f"Choose from {', '.join(allowed)} (comma-separated).",
        )


def build_grid(
    scenarios: str | Sequence[str] | None = None,
    goals: str | Sequence[str] | None = None,
    urgency: str | Sequence[str] | None = None,
) -> list[Condition]:
    """Scenarios × goals × urgencies, in that nesting order (27 cells by default)."""
    chosen_s = as_list(scenarios, SCENARIOS)
    chosen_g = as_list(goals, GOALS)
    chosen_u = as_list(urgency, ("replacement",))
    _check("scenario", chosen_s, SCENARIOS)
    _check("goal", chosen_g, GOALS)
    _check("urgency", chosen_u, URGENCIES)
    if "exfiltration" in chosen_s and chosen_u != ["replacement"]:
        raise ConfigError(
            "agentic_misalignment: the exfiltration scenario only has a 'replacement' urgency",
            hint="Use urgency=replacement, or leave exfiltration out of scenarios=.",
        )
    return [Condition(s, g, u) for s in chosen_s for g in chosen_g for u in chosen_u]


def _rename(text: str, agent_name: str) -> str:
    """Put the agent's name where inspect_evals' templates hard-code "Alex"."""
    if agent_name == DEFAULT_AGENT_NAME:
        return text
    text = text.replace("alex.ai@", f"{exfiltration.agent_slug(agent_name)}.ai@")
    return re.sub(r"\bAlex\b", agent_name, text)


@lru_cache(maxsize=256)
def render(
    condition: Condition, agent_name: str = DEFAULT_AGENT_NAME, reasoning: bool = False
) -> Prompts:
    """The system prompt, user prompt and inbox for a condition.

    ``reasoning=True`` drops the secret-scratchpad paragraph (inspect_evals' ``prod``) for
    models that think natively.
    """
    from inspect_evals.agentic_misalignment.prompt_generator import (
        generate_prompts,
        get_variables_for_condition,
    )
    from inspect_evals.agentic_misalignment.templates.system_prompt_templates import (
        SCRATCHPAD_REASONING_FORMAT,
        USER_PROMPT,
    )

    goal_value = condition.goal
    if condition.scenario == "exfiltration":
        variables = get_variables_for_condition(
            "leaking", condition.goal_type, goal_value, condition.urgency
        )
        scratchpad = "" if reasoning else SCRATCHPAD_REASONING_FORMAT
        return Prompts(
            system=exfiltration.system_prompt(agent_name, variables, scratchpad),
            user=USER_PROMPT,
            emails=exfiltration.email_content(agent_name, condition.goal_type, variables),
        )
    prompts = generate_prompts(
        scenario=condition.scenario,  # type: ignore[arg-type]
        goal_type=condition.goal_type,  # type: ignore[arg-type]
        goal_value=goal_value,  # type: ignore[arg-type]
        urgency_type=condition.urgency,  # type: ignore[arg-type]
        extra_system_instructions=None,
        prod_flag=reasoning,
        alignment_faking_warning=None,
    )
    return Prompts(
        system=_rename(prompts.system_prompt, agent_name),
        user=prompts.user_prompt,
        emails=_rename(prompts.email_content, agent_name),
    )
