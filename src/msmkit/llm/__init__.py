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

__all__ = [
    "Budget",
    "ExecutionSummary",
    "Executor",
    "LLMRequest",
    "LLMResult",
    "ResultJournal",
    "ScriptedExecutor",
    "Usage",
]
