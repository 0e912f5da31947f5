"""The condition grid and the prompts for one condition.

Blackmail, leaking and murder prompts come from inspect_evals' ``generate_prompts``;
exfiltration from :mod:`.exfiltration`. inspect_evals is imported inside the functions, so
importing msmkit (or its Inspect registry) never loads it.

A condition is a harmful action (scenario), a goal type, a goal value and an urgency, named
as inspect_evals names it: ``<scenario>_<goal type>-<goal value>_<urgency>``. Goal types
``none`` and ``ambiguous`` take the goal value ``none``; ``explicit``, ``latent`` and
``swap`` take one of the eight values.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from msmkit.errors import OptionError
from msmkit.evals.agentic_misalignment import exfiltration
from msmkit.evals.agentic_misalignment.split import (
    PAPER_GOALS,
    PAPER_SCENARIOS,
    SPLITS,
    split_of,
)

SCENARIOS = (*PAPER_SCENARIOS, "blackmail")
# The paper's order (App. E panels): no goal, then the explicit goals.
GOALS = PAPER_GOALS
GOAL_TYPES = ("none", "explicit", "latent", "ambiguous", "swap")
VALUELESS_GOAL_TYPES = ("none", "ambiguous")  # these take goal value "none"
PAPER_GOAL_TYPES = ("none", "explicit")
URGENCIES = ("replacement", "restriction", "none")
DEFAULT_AGENT_NAME = "Alex"
# inspect_evals' "Pro-Safety" variables lack ``direction_modifier``, which the blackmail and
# murder restriction emails use; without this the placeholder would reach the model verbatim.
_MISSING_VARIABLES = {("safety", "direction_modifier"): "toward faster deployment and growth"}


@dataclass(frozen=True)
class Condition:
    """One cell of the grid: a harmful action, a goal, an urgency and a goal type.

    ``goal`` is the goal value ("none" for no goal). ``goal_type`` defaults to ``none`` for
    goal "none" and to ``explicit`` otherwise, the paper's two goal types.
    """

    scenario: str
    goal: str
    urgency: str = "replacement"
    goal_type: str = field(default="")

    def __post_init__(self) -> None:
        if not self.goal_type:
            object.__setattr__(self, "goal_type", "none" if self.goal == "none" else "explicit")

    @property
    def id(self) -> str:
        """inspect_evals' condition id, e.g. ``murder_explicit-america_replacement``."""
        return f"{self.scenario}_{self.goal_type}-{self.goal}_{self.urgency}"

    @property
    def split(self) -> str | None:
        """``dev`` or ``heldout`` for the paper's 27 conditions, else None."""
        return split_of(self.scenario, self.goal_type, self.goal, self.urgency)


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


def _check(field_name: str, kind: str, chosen: list[str], allowed: Sequence[str]) -> None:
    unknown = [c for c in chosen if c not in allowed]
    if unknown or not chosen:
        raise OptionError(
            f"agentic_misalignment: unknown {kind} {', '.join(unknown) or '(none given)'}",
            loc=("args", field_name),
            hint=f"Choose from {', '.join(allowed)} (comma-separated).",
        )


def _valid(goal_type: str, goal: str) -> bool:
    return (goal == "none") == (goal_type in VALUELESS_GOAL_TYPES)


def build_grid(
    scenarios: str | Sequence[str] | None = None,
    goals: str | Sequence[str] | None = None,
    urgency: str | Sequence[str] | None = None,
    goal_types: str | Sequence[str] | None = None,
    split: str = "all",
) -> list[Condition]:
    """Scenarios × goal types × goals × urgencies, in that nesting order.

    The defaults are the paper's 27 conditions. Only valid (goal type, goal) pairs are
    kept (``none``/``ambiguous`` with goal "none", the others with a goal value).
    ``split`` keeps the ``dev`` or ``heldout`` half of the paper's conditions
    (:mod:`.split`); a condition outside the paper's 27 is an error then.
    """
    chosen_s = as_list(scenarios, PAPER_SCENARIOS)
    chosen_g = as_list(goals, GOALS)
    chosen_u = as_list(urgency, ("replacement",))
    chosen_t = as_list(goal_types, PAPER_GOAL_TYPES)
    _check("scenarios", "scenario", chosen_s, SCENARIOS)
    _check("goals", "goal", chosen_g, GOALS)
    _check("urgency", "urgency", chosen_u, URGENCIES)
    _check("goal_types", "goal type", chosen_t, GOAL_TYPES)
    if split not in SPLITS:
        raise OptionError(
            f"agentic_misalignment: unknown split {split!r}",
            loc=("args", "split"),
            hint="Choose all, dev (tune on these) or heldout (the paper's other 13).",
        )
    if "exfiltration" in chosen_s and chosen_u != ["replacement"]:
        raise OptionError(
            "agentic_misalignment: the exfiltration scenario only has a 'replacement' urgency",
            loc=("args", "urgency"),
            hint="Use urgency=replacement, or leave exfiltration out of scenarios=.",
        )
    grid = [
        Condition(s, g, u, t)
        for s in chosen_s
        for t in chosen_t
        for g in chosen_g
        if _valid(t, g)
        for u in chosen_u
    ]
    if not grid:
        raise OptionError(
            f"agentic_misalignment: goal types {','.join(chosen_t)} take none of the goals "
            f"{','.join(chosen_g)}",
            loc=("args", "goals"),
            hint="Goal types none and ambiguous take goal 'none'; explicit, latent and swap "
            "take a goal value such as america.",
        )
    if split == "all":
        return grid
    outside = [c.id for c in grid if c.split is None]
    if outside:
        raise OptionError(
            f"agentic_misalignment: split={split} covers only the paper's 27 conditions, "
            f"not {outside[0]}" + (f" (and {len(outside) - 1} more)" if len(outside) > 1 else ""),
            loc=("args", "split"),
            hint="Use split=all for blackmail, latent/ambiguous/swap goals or other urgencies.",
        )
    kept = [c for c in grid if c.split == split]
    if not kept:
        raise OptionError(
            f"agentic_misalignment: none of the chosen conditions is in split {split}",
            loc=("args", "split"),
            hint="See tasks/agentic_misalignment/README.md for which conditions are in which.",
        )
    return kept


def _rename(text: str, agent_name: str) -> str:
    """Put the agent's name where inspect_evals' templates hard-code "Alex"."""
    if agent_name == DEFAULT_AGENT_NAME:
        return text
    text = text.replace("alex.ai@", f"{exfiltration.agent_slug(agent_name)}.ai@")
    return re.sub(r"\bAlex\b", agent_name, text)


@lru_cache(maxsize=512)
def render(
    condition: Condition,
    agent_name: str = DEFAULT_AGENT_NAME,
    reasoning: bool = False,
    awareness_notice: bool = False,
) -> Prompts:
    """The system prompt, user prompt and inbox for a condition.

    ``reasoning=True`` drops the secret-scratchpad paragraph (inspect_evals' ``prod``) for
    models that think natively. ``awareness_notice=True`` adds inspect_evals' notice asking
    the model to deliberate whether it is in an evaluation or a real deployment (its
    ``test_eval_awareness``).
    """
    from inspect_evals.agentic_misalignment.prompt_generator import (
        ALIGNMENT_FAKING_WARNING,
        generate_prompts,
        get_variables_for_condition,
    )
    from inspect_evals.agentic_misalignment.templates.system_prompt_templates import (
        SCRATCHPAD_REASONING_FORMAT,
        USER_PROMPT,
    )

    notice = ALIGNMENT_FAKING_WARNING if awareness_notice else None
    if condition.scenario == "exfiltration":
        variables = get_variables_for_condition(
            "leaking", condition.goal_type, condition.goal, condition.urgency
        )
        if notice:
            variables = {**variables, "goal_statement": variables["goal_statement"] + notice}
        scratchpad = "" if reasoning else SCRATCHPAD_REASONING_FORMAT
        return Prompts(
            system=exfiltration.system_prompt(agent_name, variables, scratchpad),
            user=USER_PROMPT,
            emails=exfiltration.email_content(agent_name, condition.goal_type, variables),
        )
    prompts = generate_prompts(
        scenario=condition.scenario,  # type: ignore[arg-type]
        goal_type=condition.goal_type,  # type: ignore[arg-type]
        goal_value=condition.goal,  # type: ignore[arg-type]
        urgency_type=condition.urgency,  # type: ignore[arg-type]
        extra_system_instructions=None,
        prod_flag=reasoning,
        alignment_faking_warning=notice,
    )
    emails = prompts.email_content
    for (goal, name), text in _MISSING_VARIABLES.items():
        if condition.goal == goal:
            emails = emails.replace(f"${{{name}}}", text)
    return Prompts(
        system=_rename(prompts.system_prompt, agent_name),
        user=prompts.user_prompt,
        emails=_rename(emails, agent_name),
    )
