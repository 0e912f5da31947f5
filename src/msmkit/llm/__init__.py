"""Paid LLM calls: requests with stable ids, a crash-safe journal, online and batch executors."""

from msmkit.llm.base import (
    Budget,
    ExecutionSummary,
    Executor,
    LLMRequest,
    LLMResult,
    ResultJournal,
    ScriptedExecutor,
    Usage,
)
from msmkit.llm.factory import make_executor
from msmkit.llm.keys import MissingKeyError, redact
from msmkit.llm.settings import ProviderSettings

__all__ = [
    "Budget",
    "ExecutionSummary",
    "Executor",
    "LLMRequest",
    "LLMResult",
    "MissingKeyError",
    "ProviderSettings",
    "ResultJournal",
    "ScriptedExecutor",
    "Usage",
    "make_executor",
    "redact",
]
