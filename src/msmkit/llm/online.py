"""The online executor: requests go through Inspect's model layer, a bounded number at a
time, and each result is journaled the moment it arrives.

What msmkit adds on top of Inspect (see docs/generation.md, "Providers and batches"):

* its own retry loop around ``Model.generate`` (Inspect's is set to ``max_retries=0``, and the
  provider SDK's to ``max_retries=0`` on the client, so ``max_retries`` means what it says):
  a retry waits what the server asked (``retry-after-ms`` / ``retry-after``) or else backs off
  exponentially with jitter from ``backoff_initial_s``; after a 429 with Retry-After no worker
  *starts* a request before that time (a shared cool-down). Whether an error is worth a retry
  is Inspect's call: it wraps the errors it would retry in tenacity's ``RetryError``;
* a check of every 200 JSON body on the HTTP client (an httpx response hook, for the
  anthropic/, openai/ and openai-api/ providers): a body that is not JSON or lacks the fields
  of a completion raises :class:`MalformedResponse`, which is retried (a proxy's glitch) at
  most ``MALFORMED_RETRIES`` times. A ``TypeError``/``KeyError``/``AttributeError`` is a bug,
  in msmkit or below it: it is raised, never retried or journaled;
* the number of attempts per request is recorded (``LLMResult.attempts``);
* waits are reported on stderr (:mod:`msmkit.llm.waiting`); when nothing has been answered
  and a request runs out of retries on a provider that does not answer, the run stops with
  one :class:`~msmkit.llm.waiting.ProviderUnavailableError`;
* a request that still fails is reported (``stop_reason="error"``) but never journaled, so
  a rerun retries it; every error text goes through :func:`msmkit.llm.keys.redact`.
"""

from __future__ import annotations

import asyncio
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
from msmkit.llm.waiting import (
    ProviderRejectedError,
    ProviderUnavailableError,
    ProviderWatch,
    provider_place,
)

_STOP_REASONS = {
    "stop": "stop",
    "max_tokens": "max_tokens",
    "model_length": "max_tokens",
    "content_filter": "content_filter",
}
SDK_CLIENT_PROVIDERS = ("anthropic", "openai", "openai-api")
MALFORMED_RETRIES = 2
"""Retries of an unreadable 200 response (capped: a client-side bug must not loop long)."""
BUGS = (TypeError, KeyError, AttributeError)
"""Exceptions that are programming errors, never a provider's answer: raised at once."""
UNANSWERED = ("APIConnectionError", "APITimeoutError", "AttemptTimeoutError", "NoStreamDataError")
"""Inspect/SDK errors meaning the provider did not answer at all (with OSError, TimeoutError)."""


class MalformedResponse(Exception):
    """A 200 response whose body is not JSON or lacks the fields of a completion."""


class _CheckFailed(Exception):
    """The body check itself raised (a bug): carried through the SDK, then raised as is."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(repr(error))
        self.error = error


def run_coroutine(coro: Any) -> Any:
    """``asyncio.run`` that also works when the caller already runs an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        running = False  # asyncio.run outside the handler: errors must not chain to this one
    else:
        running = True
    if not running:
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


class Backoff:
    """How long to wait before a retry: Retry-After when given, else exponential backoff with
    full jitter; a 429 with Retry-After also sets the shared cool-down (:meth:`gate`)."""

    def __init__(self, initial_s: float, max_s: float) -> None:
        self.initial_s = initial_s
        self.max_s = max_s
        self.cooldown_until = 0.0

    def delay(self, ex: BaseException, retry: int) -> float:
        """The wait before retry number ``retry`` (1-based) after the error ``ex``."""
        asked = retry_after_seconds(ex)
        if asked is not None:
            if getattr(ex, "status_code", None) == 429:
                self.cooldown_until = max(
                    self.cooldown_until, time.monotonic() + min(asked, self.max_s)
                )
            return min(self.max_s, asked) + random.uniform(0, 0.05 + 0.1 * asked)
        ceiling = min(self.max_s, self.initial_s * 2 ** (retry - 1))
        return random.uniform(ceiling / 2, ceiling)

    async def gate(self) -> None:
        delay = self.cooldown_until - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)


def body_problem(path: str, raw: bytes) -> str | None:
    """Why a 200 JSON body from a completion endpoint cannot be a completion, or None."""
    if path.endswith("/messages"):
        required = {"content": list, "usage": dict}  # Anthropic Messages
    elif path.endswith("/chat/completions"):
        required = {"choices": list}  # OpenAI Chat Completions and compatible servers
    else:
        return None
    try:
        data = json.loads(raw)
    except ValueError as exc:
        return f"the body is not JSON ({exc})"
    if not isinstance(data, dict):
        return "the body is not a JSON object"
    wrong = [k for k, kind in required.items() if not isinstance(data.get(k), kind)]
    if wrong:
        return f"the body has no {' or '.join(repr(k) for k in wrong)}"
    if "choices" in required and not all(
        isinstance(c, dict) and isinstance(c.get("message"), dict) for c in data["choices"]
    ):
        return "a choice in the body has no 'message'"
    return None


async def check_body(response: Any) -> None:
    """httpx response hook: raise MalformedResponse for an unreadable 200 completion body."""
    try:
        if response.status_code != 200:
            return
        if "json" not in response.headers.get("content-type", ""):
            return  # SSE streams are read (and checked) by the SDK as they arrive
        path = response.request.url.path
        if not path.endswith(("/messages", "/chat/completions")):
            return
        await response.aread()
        problem = body_problem(path, response.content)
    except Exception as exc:
        raise _CheckFailed(exc) from exc
    if problem is not None:
        raise MalformedResponse(f"{response.request.url.host}{path}: {problem}")


def _chain(ex: BaseException) -> list[BaseException]:
    """``ex`` and its causes (``__cause__``, else ``__context__``), outermost first."""
    seen: list[BaseException] = []
    while ex is not None and ex not in seen and len(seen) < 20:
        seen.append(ex)
        ex = ex.__cause__ or (None if ex.__suppress_context__ else ex.__context__)  # type: ignore[assignment]
    return seen


def classify(
    ex: BaseException, should_retry: Callable[[BaseException], Any] | None = None
) -> tuple[str, BaseException]:
    """What a failed ``generate`` means: ``("bug" | "malformed" | "retry" | "final", error)``.

    ``error`` is the exception to report (inside tenacity's RetryError) or, for a bug, to
    raise. ``should_retry`` (the provider's public ``ModelAPI.should_retry``) is asked only when
    Inspect did not already say "retry" by wrapping the error in a RetryError.
    """
    last = getattr(ex, "last_attempt", None)  # tenacity.RetryError: Inspect would retry it
    inner = last.exception() if last is not None and last.exception() is not None else ex
    chain = _chain(inner)
    for link in chain:
        if isinstance(link, _CheckFailed):
            return "bug", link.error
    if any(
        isinstance(link, (MalformedResponse, json.JSONDecodeError))
        or type(link).__name__ == "APIResponseValidationError"
        for link in chain
    ):
        return "malformed", inner
    retry = last is not None
    if not retry and should_retry is not None and not isinstance(inner, BUGS):
        decision = should_retry(inner)
        retry = bool(getattr(decision, "retry", decision))
    if not retry and isinstance(inner, BUGS):
        return "bug", inner
    return ("retry" if retry else "final"), inner


def unanswered(error: BaseException) -> bool:
    """The provider gave no answer at all (refused, unreachable, timed out)."""
    return any(
        type(link).__name__ in UNANSWERED or isinstance(link, (OSError, TimeoutError))
        for link in _chain(error)
    )


def describe_error(ex: BaseException) -> str:
    last = getattr(ex, "last_attempt", None)  # tenacity.RetryError
    if last is not None and last.exception() is not None:
        ex = last.exception()
    status = getattr(ex, "status_code", None)
    prefix = f"{type(ex).__name__}" + (f" (HTTP {status})" if status else "")
    text = f"{prefix}: {ex}"
    root = _chain(ex)[-1]
    if root is not ex and str(root) and str(root) not in text:
        text += f" ({type(root).__name__}: {root})"
    return redact(" ".join(text.split()))


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


class OnlineExecutor:
    """Concurrent requests through ``inspect_ai.model.get_model`` (see module docstring)."""

    quiet_s = 10.0
    """Seconds without an answer before the heartbeat says it is waiting."""

    def __init__(self, settings: ProviderSettings, **model_args: Any) -> None:
        self.settings = settings
        self.model_args = model_args
        self.backoff = Backoff(settings.backoff_initial_s, settings.backoff_max_s)
        self.place = provider_place(settings.model, settings.base_url)
        self.watch: ProviderWatch | None = None

    def _model(self, api_key: str | None) -> tuple[Any, Any]:
        """The Inspect model, and the HTTP client msmkit made for it (None if the caller
        passed one, or the provider takes none)."""
        from inspect_ai.model import GenerateConfig, get_model

        s = self.settings
        config = GenerateConfig(
            max_connections=s.max_connections,
            attempt_timeout=max(1, math.ceil(s.timeout_s)),
            max_retries=0,  # msmkit's loop retries (see _one)
            cache_prompt=s.cache_prompt if s.provider == "anthropic" else None,
        )
        args = dict(self.model_args)
        client = None
        if s.provider in SDK_CLIENT_PROVIDERS:
            args.setdefault("max_retries", 0)
            if "http_client" not in args:
                sdk = __import__("anthropic" if s.provider == "anthropic" else "openai")
                client = sdk.DefaultAsyncHttpxClient(event_hooks={"response": [check_body]})
                args["http_client"] = client
        if s.provider == "openai":  # Chat Completions, as the batch path (see docs)
            args.setdefault("responses_api", False)
        model = get_model(
            s.model, config=config, base_url=s.base_url, api_key=api_key, memoize=False, **args
        )
        return model, client

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
        model, client = self._model(api_key)
        self.watch = ProviderWatch(
            self.place, attempt_timeout_s=self.settings.timeout_s, quiet_s=self.quiet_s
        )
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

        turn = asyncio.Condition()  # a request came back: reservations may fit again

        async def reserve(request: LLMRequest) -> bool:
            """Wait until ``request``'s worst case fits the budget beside those in flight;
            False (the request put back) once the budget is spent."""
            if budget is None:
                return True
            async with turn:
                while not budget.try_reserve(request):
                    if budget.exhausted or budget.in_flight == 0:
                        queue.put_nowait(request)
                        return False
                    await turn.wait()
            return True

        async def worker() -> None:
            while True:
                try:
                    request = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                if not await reserve(request):
                    return
                try:
                    result = await self._one(model, request)
                except BaseException:
                    if budget is not None:
                        budget.release(request)
                    raise
                if budget is None:
                    record(result)
                    continue
                async with turn:
                    budget.release(request)
                    record(result)
                    turn.notify_all()

        heartbeat = asyncio.create_task(self.watch.heartbeat())
        workers = [
            asyncio.create_task(worker())
            for _ in range(min(self.settings.max_connections, len(todo)))
        ]
        try:
            await asyncio.gather(*workers)
        finally:  # a bug or a provider that is gone stops every worker, not just one
            for task in (*workers, heartbeat):
                task.cancel()
            await asyncio.gather(*workers, heartbeat, return_exceptions=True)
            if client is not None:
                await client.aclose()
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
        watch = self.watch or ProviderWatch(self.place, attempt_timeout_s=self.settings.timeout_s)
        name = self.settings.model
        retries = self.settings.max_retries
        attempts = malformed = 0
        while True:
            await self.backoff.gate()
            attempts += 1
            watch.sent()
            try:
                output = await model.generate(messages, config=config)
            except Exception as ex:
                watch.back(answered=False)
                kind, error = classify(ex, getattr(model.api, "should_retry", None))
                if kind == "bug":
                    if error is ex:
                        raise
                    raise error from None
                text = describe_error(error)
                if type(error).__name__ == "AttemptTimeoutError":
                    text = f"no answer within {self.settings.timeout_s:g} s"
                if kind == "malformed":
                    malformed += 1
                    text = f"malformed response: {text}"
                    again = malformed <= min(MALFORMED_RETRIES, retries) and attempts <= retries
                else:
                    again = kind == "retry" and attempts <= retries
                if again:
                    retry = attempts
                    delay = self.backoff.delay(error, malformed if kind == "malformed" else retry)
                    watch.retrying(text, retry, retries, delay)
                    await asyncio.sleep(delay)
                    continue
                if kind == "final" and getattr(error, "status_code", None) in (401, 403):
                    raise ProviderRejectedError(
                        f"{self.place} refused the request: {text}",
                        hint="check the API key (and that it may use this model); nothing was "
                        "sent after this, and answered requests are kept for a rerun",
                    ) from None
                if kind == "retry" and watch.answered == 0 and unanswered(error):
                    raise ProviderUnavailableError(
                        f"gave up on {self.place} after {attempts} attempts: {text}",
                        hint="check the network, the base URL and the provider's status page; "
                        "rerun the same command to go on (answered requests are kept)",
                    ) from None
                return LLMResult(request.id, "", "error", Usage(), name, text, attempts)
            watch.back(answered=True)
            return to_result(request, output, name, attempts)
