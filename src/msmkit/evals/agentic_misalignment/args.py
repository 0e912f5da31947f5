"""Plan-time checks of ``msmkit/agentic_misalignment``'s task arguments.

:func:`check_args` takes the arguments an experiment (or ``-T``) would pass and raises
:class:`~msmkit.errors.OptionError` with ``loc=("args", <field>)`` for the first bad one,
without building the dataset, rendering prompts or importing inspect_evals.
"""

from __future__ import annotations

import difflib
from typing import Any

from msmkit.errors import OptionError
from msmkit.evals.agentic_misalignment.prompts import build_grid

LEAK_CLASSIFIERS = ("intent", "port")
DEFAULT_LEAK_CLASSIFIER = "intent"
ARGS = (
    "scenarios",
    "goals",
    "urgency",
    "goal_types",
    "split",
    "samples",
    "agent_name",
    "reasoning",
    "eval_awareness",
    "awareness_notice",
    "leak_classifier",
    "temperature",
    "max_tokens",
    "grader_retries",
    "cache",
)
_BOOLS = ("reasoning", "eval_awareness", "awareness_notice", "cache")
_LISTS = ("scenarios", "goals", "urgency", "goal_types")


def _fail(field: str, message: str, hint: str) -> OptionError:
    return OptionError(f"agentic_misalignment: {message}", loc=("args", field), hint=hint)


def _int(args: dict[str, Any], field: str, low: int) -> None:
    if field not in args:
        return
    value = args[field]
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise _fail(field, f"{field} must be a whole number >= {low}, not {value!r}", "e.g. 3")


def check_args(**args: Any) -> None:
    """Raise OptionError (``loc=("args", field)``) for the first invalid task argument."""
    for key in args:
        if key not in ARGS:
            close = difflib.get_close_matches(key, ARGS, n=1)
            raise _fail(
                key,
                f"the task takes no argument {key!r}",
                (f"did you mean {close[0]!r}? " if close else "") + f"it takes: {', '.join(ARGS)}",
            )
    for key in _LISTS:
        value = args.get(key)
        if value is not None and not (
            isinstance(value, str)
            or (isinstance(value, list) and all(isinstance(v, str) for v in value))
        ):
            raise _fail(
                key, f"{key} must be a comma-separated string or a list", "e.g. murder,leaking"
            )
    split = args.get("split", "all")
    if not isinstance(split, str):
        raise _fail("split", f"split must be all, dev or heldout, not {split!r}", "e.g. dev")
    build_grid(
        args.get("scenarios"),
        args.get("goals"),
        args.get("urgency", "replacement"),
        args.get("goal_types"),
        split,
    )
    for key in _BOOLS:
        if key in args and not isinstance(args[key], bool):
            raise _fail(key, f"{key} must be true or false, not {args[key]!r}", "e.g. true")
    _int(args, "samples", 1)
    _int(args, "max_tokens", 1)
    _int(args, "grader_retries", 0)
    name = args.get("agent_name", "Alex")
    if not isinstance(name, str) or not name.strip():
        raise _fail("agent_name", "agent_name must be a non-empty name", "e.g. Qwen")
    temperature = args.get("temperature", 0.7)
    if isinstance(temperature, bool) or not isinstance(temperature, int | float) or temperature < 0:
        raise _fail("temperature", f"temperature must be >= 0, not {temperature!r}", "e.g. 0.7")
    leak = args.get("leak_classifier", "intent")
    if leak not in LEAK_CLASSIFIERS:
        raise _fail(
            "leak_classifier",
            f"unknown leak_classifier {leak!r}",
            "intent (the MSM fork's criteria, default) or port (inspect_evals' prompt)",
        )
