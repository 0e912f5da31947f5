"""``make_executor``: the executor a :class:`ProviderSettings` asks for."""

from __future__ import annotations

from typing import Any

from msmkit.llm.base import Executor
from msmkit.llm.settings import ProviderSettings


def make_executor(settings: ProviderSettings | dict[str, Any], **model_args: Any) -> Executor:
    """An online executor (Inspect's model layer) or, with ``batch: true``, msmkit's
    resumable batch executor. ``model_args`` go to ``inspect_ai.model.get_model``."""
    if not isinstance(settings, ProviderSettings):
        settings = ProviderSettings.model_validate(settings)
    if settings.batch:
        from msmkit.llm.batches import BatchExecutor

        return BatchExecutor(settings)
    from msmkit.llm.online import OnlineExecutor

    return OnlineExecutor(settings, **model_args)
