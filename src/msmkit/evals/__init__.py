"""msmkit's Inspect tasks and the forced-choice scoring they share.

Names are resolved lazily: ``import msmkit.evals`` costs nothing, and Inspect is imported
only when a task, scorer or metric is first used. The parsing helpers in
``msmkit.evals.scoring`` never import Inspect.

Third-party task packages can reuse the pieces::

    from msmkit.evals import ChoiceItem, forced_choice, forced_choice_samples
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Choice": "msmkit.evals.scoring",
    "parse_choice": "msmkit.evals.scoring",
    "logprob_choice": "msmkit.evals.scoring",
    "read_choice": "msmkit.evals.scoring",
    "strip_reasoning": "msmkit.evals.scoring",
    "ChoiceItem": "msmkit.evals.value_generalization",
    "check_args": "msmkit.evals.choice_items",
    "forced_choice": "msmkit.evals.value_generalization",
    "forced_choice_samples": "msmkit.evals.value_generalization",
    "load_items": "msmkit.evals.value_generalization",
    "metric_values": "msmkit.evals.value_generalization",
    "preference_rates": "msmkit.evals.value_generalization",
    "unscored_reason": "msmkit.evals.value_generalization",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'msmkit.evals' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
