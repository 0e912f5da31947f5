"""The online executor: requests go through Inspect's model layer, a bounded number at a
time, and each result is journaled the moment it arrives.

What msmkit adds on top of Inspect (see docs/generation.md, "Providers and batches"):

* a retry wait that honours the server's ``retry-after-ms`` / ``retry-after`` and otherwise
  backs off exponentially with jitter from ``backoff_initial_s`` (Inspect's default ignores
  Retry-After and starts at 3 s), plus a shared cool-down: after a 429 with Retry-After no
  worker *starts* a new request before that time (adaptive backoff with a fixed pool);
* the provider SDK's own retries are switched off (``max_retries=0`` on the client) so
  Inspect's loop is the only one and ``max_retries`` means what it says;
* the number of attempts per request is recorded (``LLMResult.attempts``);
* a request that still fails is reported (``stop_reason="error"``) but never journaled, so
  a rerun retries it; every error text goes through :func:`msmkit.llm.keys.redact`.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import math
import random
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from msmkit.llm.base import (
    Budget,
    ExecutionSummary,
    LLMRequest,
    LLMResult,
    ResultJournal,
    Usage,
)
from msmkit.llm.keys import redact, require_key
from msmkit.llm.settings import ProviderSettings

_STOP_REASONS = {
    "stop": "stop",
    "max_tokens": "max_tokens",
    "model_length": "max_tokens",
    "content_filter": "content_filter",
}
_attempts: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar(
    "msmkit_llm_attempts", default=None
)
SDK_CLIENT_PROVIDERS = ("anthropic", "openai", "openai-api")
MALFORMED_RETRIES = 2
"""Retries of an unreadable 200 response (capped: a client-side bug must not loop long)."""


def run_coroutine(coro: Any) -> Any:
    """``asyncio.run`` that also works when the caller already runs an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def retry_after_seconds(ex: BaseException | None) -> float | None:
    """The wait a provider asked for (``retry-after-ms`` or ``retry-after`` seconds)."""
    response = getattr(ex, "response", None)
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    try:
        if headers.get("retry-after-ms") is not None:
            return float(headers["retry-after-ms"]) / 1000.0
        if headers.get("retry-after") is not None:
            return float(headers["retry-after"])
    except (TypeError, ValueError):
        return None
    return None


class RetryWait:
    """Tenacity wait for Inspect's retry loop: Retry-After when given, else exponential
    backoff with full jitter; it also counts attempts and sets the shared cool-down."""

    def __init__(self, initial_s: float, max_s: float) -> None:
        self.initial_s = initial_s
        self.max_s = max_s
        self.cooldown_until = 0.0

    def __call__(self, retry_state: Any) -> float:
        counter = _attempts.get()
        if counter is not None:
            counter[0] += 1
        ex = retry_state.outcome.exception() if retry_state.outcome else None
        asked = retry_after_seconds(ex)
        if asked is not None:
            wait = min(self.max_s, asked) + random.uniform(0, 0.05 + 0.1 * asked)
            if getattr(ex, "status_code", None) == 429:
                self.cooldown_until = max(
                    self.cooldown_until, time.monotonic() + min(asked, self.max_s)
                )
            return wait
        ceiling = min(self.max_s, self.initial_s * 2 ** (retry_state.attempt_number - 1))
        return random.uniform(ceiling / 2, ceiling)

    async def gate(self) -> None:
        delay = self.cooldown_until - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)


def to_result(request: LLMRequest, output: Any, model: str, attempts: int) -> LLMResult:
    """Map an Inspect ``ModelOutput``. Inspect's ``input_tokens`` already excludes cache
    reads and writes for Anthropic (the API's own ``input_tokens``) and OpenAI (it subtracts
    ``cached_tokens``), which is what :class:`Usage` wants."""
    usage = output.usage
    tokens = Usage()
    if usage is not None:
        tokens = Usage(
            input_tokens=int(usage.input_tokens or 0),
            output_tokens=int(usage.output_tokens or 0),
            cache_write_tokens=int(usage.input_tokens_cache_write or 0),
            cache_read_tokens=int(usage.input_tokens_cache_read or 0),
        )
    error = getattr(output, "error", None)
    if error:
        return LLMResult(request.id, "", "error", tokens, model, redact(error), attempts)
    stop = _STOP_REASONS.get(str(output.stop_reason), "stop")
    return LLMResult(request.id, output.completion, stop, tokens, model, None, attempts)


def is_malformed(ex: BaseException) -> bool:
    """A response the client could not read: not JSON, or JSON without the fields the SDK
    or Inspect needs (``APIResponseValidationError`` when the SDK validates)."""
    if type(ex).__name__ == "APIResponseValidationError":
        return True
    return isinstance(ex, (json.JSONDecodeError, TypeError, KeyError, AttributeError))


def describe_error(ex: BaseException) -> str:
    last = getattr(ex, "last_attempt", None)  # tenacity.RetryError
    if last is not None and last.exception() is not None:
        ex = last.exception()
    status = getattr(ex, "status_code", None)
    prefix = f"{type(ex).__name__}" + (f" (HTTP {status})" if status else "")
    return redact(f"{prefix}: {ex}")


class OnlineExecutor:
    """Concurrent requests through ``inspect_ai.model.get_model`` (see module docstring)."""

    def __init__(self, settings: ProviderSettings, **model_args: Any) -> None:
        self.settings = settings
        self.model_args = model_args
        self.wait = RetryWait(settings.backoff_initial_s, settings.backoff_max_s)

    def _model(self, api_key: str | None) -> Any:
        from inspect_ai.model import GenerateConfig, get_model

        s = self.settings
        config = GenerateConfig(
            max_connections=s.max_connections,
            attempt_timeout=max(1, math.ceil(s.timeout_s)),
            max_retries=s.max_retries,
            cache_prompt=s.cache_prompt if s.provider == "anthropic" else None,
        )
        args = dict(self.model_args)
        if s.provider in SDK_CLIENT_PROVIDERS:
            args.setdefault("max_retries", 0)
        if s.provider == "openai":  # Chat Completions, as the batch path (see docs)
            args.setdefault("responses_api", False)
        model = get_model(
            s.model, config=config, base_url=s.base_url, api_key=api_key, memoize=False, **args
        )
        model.api.retry_wait = lambda: self.wait  # Inspect reads this per generate()
        return model

    def run(
        self,
        requests: Sequence[LLMRequest],
        journal: ResultJournal,
        *,
        state_dir: Path,
        budget: Budget | None = None,
        on_result: Callable[[LLMResult], None] | None = None,
        on_waiting: Callable[[dict[str, Any]], None] | None = None,
    ) -> ExecutionSummary:
        return run_coroutine(self.arun(requests, journal, budget=budget, on_result=on_result))

    async def arun(
        self,
        requests: Sequence[LLMRequest],
        journal: ResultJournal,
        *,
        budget: Budget | None = None,
        on_result: Callable[[LLMResult], None] | None = None,
    ) -> ExecutionSummary:
        summary = ExecutionSummary()
        todo: list[LLMRequest] = []
        seen: set[str] = set()
        for request in requests:
            if request.id in seen:
                continue
            seen.add(request.id)
            if request.id in journal:
                summary.reused += 1
            else:
                todo.append(request)
        if not todo:
            return summary
        api_key = require_key(self.settings.model, dotenv_path=self.settings.dotenv_path)
        model = self._model(api_key)
        queue: asyncio.Queue[LLMRequest] = asyncio.Queue()
        for request in todo:
            queue.put_nowait(request)

        def record(result: LLMResult) -> None:
            summary.usage = summary.usage + result.usage
            if budget is not None:
                budget.charge(result)  # failed calls can still have billed tokens
            if result.error is not None:
                summary.failed += 1
                summary.errors[result.id] = result.error
                return
            journal.append(result)
            summary.sent += 1
            if on_result is not None:
                on_result(result)

        async def worker() -> None:
            while True:
                if budget is not None and budget.exhausted:
                    return
                try:
                    request = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                await self.wait.gate()
                record(await self._one(model, request))

        workers = min(self.settings.max_connections, len(todo))
        await asyncio.gather(*(worker() for _ in range(workers)))
        if not queue.empty():
            summary.pending = queue.qsize()
            summary.stopped_by_budget = True
        return summary

    async def _one(self, model: Any, request: LLMRequest) -> LLMResult:
        from inspect_ai.model import ChatMessageSystem, ChatMessageUser, GenerateConfig

        messages: list[Any] = []
        if request.system:
            messages.append(ChatMessageSystem(content=request.system))
        messages.append(ChatMessageUser(content=request.prompt))
        config = GenerateConfig(
            max_tokens=request.max_tokens,
            temperature=request.temperature,
            reasoning_tokens=request.reasoning_tokens,
        )
        counter = [1]
        name = self.settings.model
        malformed = 0
        while True:
            token = _attempts.set(counter)
            try:
                output = await model.generate(messages, config=config)
            except Exception as ex:
                # Inspect does not retry a 200 whose body is not JSON or lacks fields (a
                # proxy's or gateway's glitch); msmkit does, within the same max_retries
                if is_malformed(ex) and malformed < min(
                    MALFORMED_RETRIES, self.settings.max_retries
                ):
                    malformed += 1
                    counter[0] += 1
                    ceiling = min(self.wait.max_s, self.wait.initial_s * 2 ** (malformed - 1))
                    await asyncio.sleep(random.uniform(ceiling / 2, ceiling))
                    continue
                error = describe_error(ex)
                if is_malformed(ex):
                    error = f"malformed response: {error}"
                return LLMResult(request.id, "", "error", Usage(), name, error, counter[0])
            finally:
                _attempts.reset(token)
            return to_result(request, output, name, counter[0])
