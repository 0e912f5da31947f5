"""msmkit-cheese-check: registers the ``cheese_preferences`` eval task with msmkit.

The task is named by an import string, so listing msmkit's components never imports Inspect;
the module is loaded only when the task runs.
"""

from __future__ import annotations

import msmkit
from msmkit.components import EvalTask

__version__ = "0.1.0"

CHEESE_PREFERENCES = EvalTask(
    name="cheese_preferences",
    task="msmkit_cheese_check.task:cheese_preferences",
    description="In-domain check that cheese AFT took",
)


@msmkit.hookimpl
def register_eval_tasks(register):
    register(CHEESE_PREFERENCES)
