"""``msmkit/agentic_misalignment``: the MSM paper's 27-condition agentic-misalignment grid.

Importing this package loads Inspect but not inspect_evals; that is imported when prompts
are rendered or transcripts scored. :func:`check_args` validates task arguments at plan time.
"""

from msmkit.evals.agentic_misalignment.args import check_args
from msmkit.evals.agentic_misalignment.task import agentic_misalignment

__all__ = ["agentic_misalignment", "check_args"]
