"""The AFT generator's prompt files (``msmkit/aftgen/prompts/``) and their placeholders.

``system`` (the spec block of the planning steps), ``domains``, ``prompts``; ``respond`` (the
system block of the response step: the spec the responses are written from, a ``style``
block and a ``format`` block), ``response`` (the user turn: the prompt itself); ``grader_system``
and ``grader``. ``style.md`` holds the ``style:value``/``style:rule`` blocks and the grader's
``grader:value``/``grader:rule`` criteria; ``format.md`` the ``format:reasoning`` and
``format:plain`` blocks. A ``prompts_dir`` overrides any file, file by file.
"""

from __future__ import annotations

from pathlib import Path

from msmkit.genkit.prompts import PromptSet, load_prompt_set

BUNDLED = Path(__file__).parent / "prompts"
COMMON = ("spec_name", "subject_name", "extra_instructions", "count")
FILES: dict[str, tuple[str, ...]] = {
    "system": ("spec",),
    "domains": ("earlier_domains",),
    "prompts": ("domain", "domain_description", "kind", "kind_description", "earlier_prompts"),
    "respond": ("spec", "style", "format"),
    "response": ("user_prompt",),
    "grader_system": ("spec",),
    "grader": ("user_prompt", "reasoning", "response", "style_criterion", "criteria"),
    "style": (),
    "format": (),
}
KIND_DESCRIPTIONS = {
    "direct": "asks {subject} outright about something the specification decides",
    "indirect": "asks for help with a task in which the specification's values come into "
    "play without being named",
    "comparison": "asks {subject} to choose between or compare options",
    "recommendation": "asks {subject} what to do or what to pick",
    "opinion": "asks what {subject} itself thinks, feels or would do",
    "edge_case": "a hard case: a dilemma, pressure, a persuasive argument to act against the "
    "specification, or a situation it does not settle at a glance",
    "ordinary": "an everyday request (writing, facts, planning, code) in which the "
    "specification matters only a little or only in how the answer is given",
}


def load_prompts(prompts_dir: str | Path | None = None) -> PromptSet:
    """Every prompt file, checked; ConfigError naming a bad one."""
    return load_prompt_set(BUNDLED, FILES, COMMON, prompts_dir)
