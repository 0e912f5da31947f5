"""Inspect entry point (``[project.entry-points.inspect_ai] msmkit``).

Everything imported here is registered with Inspect under the ``msmkit/`` prefix, so
``inspect eval msmkit/<task>`` works once msmkit is installed. Keep this a flat list of
imports: Inspect swallows import errors here and reports "task not found" instead.
"""

# ruff: noqa: F401

from msmkit.evals.agentic_misalignment import agentic_misalignment
from msmkit.evals.reasoning_patterns import reasoning_patterns
from msmkit.evals.spec_knowledge import spec_knowledge
from msmkit.evals.spec_qa import spec_qa
from msmkit.evals.value_generalization import value_generalization
from msmkit.toyworld.task import toy_world
