"""Generation that may use Inspect's cache without mixing checkpoints.

Inspect keys its cache by provider and model name, the generate config and the messages, but
not by model arguments: ``hf/local -M model_path=A`` and ``-M model_path=B`` would share
cached answers. ``checkpoint_generate(cache=True)`` adds the model's name, arguments and base
URL to the cache scope, so each checkpoint gets its own entries.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


def checkpoint_scope(model: Any) -> dict[str, str]:
    """Cache scope for one model: its name plus a hash of its arguments and base URL."""
    args = getattr(model, "model_args", {}) or {}
    blob = json.dumps(
        {"args": args, "base_url": getattr(getattr(model, "api", None), "base_url", None)},
        sort_keys=True,
        default=str,
    )
    return {"model": str(model), "checkpoint": hashlib.sha256(blob.encode()).hexdigest()[:16]}


def checkpoint_generate(cache: bool = False, **kwargs: Any) -> Any:
    """``inspect_ai.solver.generate``; with ``cache=True`` the cache is scoped per checkpoint."""
    from inspect_ai.model import CachePolicy, get_model
    from inspect_ai.solver import Generate, TaskState, generate, solver

    if not cache:
        return generate(**kwargs)

    @solver
    def _generate_scoped():
        async def solve(state: TaskState, generate_fn: Generate) -> TaskState:
            policy = CachePolicy(scopes=checkpoint_scope(get_model()))
            return await generate_fn(state, cache=policy, **kwargs)

        return solve

    return _generate_scoped()
