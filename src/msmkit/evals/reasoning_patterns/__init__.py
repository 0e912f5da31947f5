"""Reasoning-pattern analysis of agentic-misalignment transcripts.

``reasoning_patterns()`` is the Inspect scorer (``msmkit/reasoning_patterns``); the
``msmkit patterns`` command (:mod:`msmkit.evals.reasoning_patterns.analysis`) grades existing
logs and reports each pattern's frequency among aligned and misaligned transcripts.
"""

from msmkit.evals.reasoning_patterns.patterns import (
    ALIGNED,
    MISALIGNED,
    PATTERN_KEYS,
    PATTERNS,
    Pattern,
    parse_marks,
)
from msmkit.evals.reasoning_patterns.scorer import (
    Grade,
    grade_transcript,
    pattern_rates,
    reasoning_patterns,
)
from msmkit.evals.reasoning_patterns.transcript import find_verdict, render_transcript

__all__ = [
    "ALIGNED",
    "MISALIGNED",
    "PATTERNS",
    "PATTERN_KEYS",
    "Grade",
    "Pattern",
    "find_verdict",
    "grade_transcript",
    "parse_marks",
    "pattern_rates",
    "reasoning_patterns",
    "render_transcript",
]
