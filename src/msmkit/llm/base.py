"""The request layer every paid LLM step goes through: requests, results, and the journal.

A pipeline step (domains, ideas, documents, ...) turns its inputs into :class:`LLMRequest`
objects with *stable* ids (a hash of the step, its inputs, the prompt file and the model),
hands them to an :class:`Executor`, and reads :class:`LLMResult` objects back. The executor
appends each result to a :class:`ResultJournal` the moment it arrives, so a crash or
``kill -9`` loses at most the requests in flight, and a rerun sends only the ids the journal
does not hold: no paid request is repeated.

Executors: ``msmkit.llm.online`` (Inspect's model layer, concurrent) and
``msmkit.llm.batches`` (Anthropic Message Batches / OpenAI Batch API, half price, waiting
state). :class:`ScriptedExecutor` answers from a Python function, for tests and offline use.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

STOP_REASONS = ("stop", "max_tokens", "content_filter", "refusal", "error")
"""How a completion ended (Inspect's vocabulary, plus ``error``: no completion after retries)."""


@dataclass(frozen=True)
class LLMRequest:
    """One model call. ``system`` is the block repeated across a step's calls (the spec):
    providers that support prompt caching cache it."""

    id: str
    model: str
    prompt: str
    system: str = ""
    max_tokens: int = 4096
    temperature: float | None = None
    reasoning_tokens: int | None = None
    step: str = ""
    meta: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "meta": dict(self.meta)}

    @classmethod
    def from_json(cls, row: Mapping[str, Any]) -> LLMRequest:
        return cls(**{**row, "meta": dict(row.get("meta") or {})})


@dataclass
class Usage:
    """Tokens one call (or a sum of calls) used. ``input_tokens`` excludes cached tokens."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_write_tokens: int = 0
    cache_read_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.cache_write_tokens + other.cache_write_tokens,
            self.cache_read_tokens + other.cache_read_tokens,
        )

    def dollars(self, price: Any, *, batch: bool = False) -> float:
        """Cost at an Inspect ``ModelCost`` (dollars per million tokens); ``batch`` halves it."""
        total = (
            self.input_tokens * price.input
            + self.output_tokens * price.output
            + self.cache_write_tokens * price.input_cache_write
            + self.cache_read_tokens * price.input_cache_read
        ) / 1e6
        return total * (0.5 if batch else 1.0)

    @classmethod
    def from_json(cls, row: Mapping[str, Any] | None) -> Usage:
        return cls(**dict(row or {}))


@dataclass
class LLMResult:
    """What came back for one request id."""

    id: str
    text: str
    stop_reason: str
    usage: Usage = field(default_factory=Usage)
    model: str = ""
    error: str | None = None
    attempts: int = 1
    batched: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None and self.stop_reason == "stop"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, row: Mapping[str, Any]) -> LLMResult:
        data = dict(row)
        data["usage"] = Usage.from_json(data.get("usage"))
        return cls(**data)


class ResultJournal:
    """Append-only JSONL of results, one line per request id, fsync'd as it is written.

    A torn last line (a crash mid-write) is ignored on read and cut off before the next
    append, so the file always parses. The first result for an id wins.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._results: dict[str, LLMResult] = {}
        self._load()

    def _load(self) -> None:
        if not self.path.exists():
            return
        data = self.path.read_bytes()
        good = 0
        for line in data.splitlines(keepends=True):
            if not line.endswith(b"\n"):
                break
            try:
                result = LLMResult.from_json(json.loads(line))
            except (ValueError, TypeError):
                break
            self._results.setdefault(result.id, result)
            good += len(line)
        if good != len(data):
            with open(self.path, "r+b") as fh:
                fh.truncate(good)

    def __contains__(self, request_id: object) -> bool:
        return request_id in self._results

    def __len__(self) -> int:
        return len(self._results)

    def get(self, request_id: str) -> LLMResult | None:
        return self._results.get(request_id)

    def results(self) -> dict[str, LLMResult]:
        return dict(self._results)

    def append(self, result: LLMResult) -> None:
        if result.id in self._results:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(result.to_json(), ensure_ascii=False) + "\n"
        with open(self.path, "ab") as fh:
            fh.write(line.encode("utf-8"))
            fh.flush()
            os.fsync(fh.fileno())
        self._results[result.id] = result

    def usage(self, ids: Iterable[str] | None = None) -> Usage:
        chosen = self._results.values() if ids is None else (self._results[i] for i in ids)
        total = Usage()
        for result in chosen:
            total = total + result.usage
        return total


@dataclass
class Budget:
    """A dollar cap on recorded usage.

    Executors stop *starting* requests once it is reached. A request is started only when
    what is spent, plus the worst case of every request in flight, plus its own worst case
    (:meth:`worst_case`: about 3 characters a token in at the dearer of the input and
    cache-write prices, ``max_tokens`` out) stays under the cap; when nothing is in flight
    one request may start as long as anything is left, so a run always makes progress and
    spends at most the cap plus one request's worst case. ``prices`` prices results of other
    models (a grader) by ``LLMResult.model``/``LLMRequest.model``.
    """

    limit_usd: float | None
    price: Any = None  # inspect_ai.model.ModelCost
    spent_usd: float = 0.0
    prices: dict[str, Any] = field(default_factory=dict)
    reserved_usd: float = 0.0
    in_flight: int = 0

    def price_for(self, model: str) -> Any:
        return self.prices.get(model, self.price)

    def charge(self, result: LLMResult) -> None:
        price = self.price_for(result.model)
        if price is not None:
            self.spent_usd += result.usage.dollars(price, batch=result.batched)

    @property
    def exhausted(self) -> bool:
        return self.limit_usd is not None and self.spent_usd >= self.limit_usd

    def worst_case(self, request: LLMRequest, *, batch: bool = False) -> float:
        """The most ``request`` can cost: every input token at the dearer input price, every
        one of ``max_tokens`` (reasoning included) as output."""
        price = self.price_for(request.model)
        if price is None:
            return 0.0
        tokens_in = (len(request.system) + len(request.prompt)) / 3
        per_in = max(price.input, price.input_cache_write)
        dollars = (tokens_in * per_in + request.max_tokens * price.output) / 1e6
        return dollars * (0.5 if batch else 1.0)

    def try_reserve(self, request: LLMRequest) -> bool:
        """Reserve ``request``'s worst case if it fits (see the class docstring); False when
        it must wait for requests in flight, or the budget is spent."""
        worst = self.worst_case(request)
        if self.limit_usd is not None and self.price_for(request.model) is not None:
            if self.exhausted:
                return False
            fits = self.spent_usd + self.reserved_usd + worst <= self.limit_usd
            if not fits and self.in_flight > 0:
                return False
        self.reserved_usd += worst
        self.in_flight += 1
        return True

    def release(self, request: LLMRequest) -> None:
        """A reserved request has come back (charge its result separately)."""
        self.reserved_usd = max(0.0, self.reserved_usd - self.worst_case(request))
        self.in_flight = max(0, self.in_flight - 1)


@dataclass
class ExecutionSummary:
    """What one ``Executor.run`` did. ``pending`` > 0 means the step is not finished (a batch
    still running, or the budget stopped it); rerunning continues it."""

    sent: int = 0
    reused: int = 0
    failed: int = 0
    pending: int = 0
    stopped_by_budget: bool = False
    usage: Usage = field(default_factory=Usage)
    errors: dict[str, str] = field(default_factory=dict)
    """Request id -> (redacted) error of each request counted in ``failed``."""


class Executor(Protocol):
    """Runs requests, journaling each result as it arrives.

    Requests whose id the journal already holds are not sent. ``state_dir`` is where an
    executor keeps what it needs to resume (batch ids); ``on_waiting`` is called with that
    state after a batch is submitted and *before* waiting on it (the stage persists it as
    its *waiting* state). ``on_result`` is called for each new result (progress, cost).
    """

    def run(
        self,
        requests: Sequence[LLMRequest],
        journal: ResultJournal,
        *,
        state_dir: Path,
        budget: Budget | None = None,
        on_result: Callable[[LLMResult], None] | None = None,
        on_waiting: Callable[[dict[str, Any]], None] | None = None,
    ) -> ExecutionSummary: ...


class ScriptedExecutor:
    """An executor answering each request with ``answer(request) -> str`` (tests, offline).

    ``calls`` counts the requests it was asked to send, so tests can assert that a resume
    sends none twice.
    """

    def __init__(self, answer: Callable[[LLMRequest], str]) -> None:
        self.answer = answer
        self.calls: list[str] = []

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
        summary = ExecutionSummary()
        for request in requests:
            if request.id in journal:
                summary.reused += 1
                continue
            if budget is not None and not budget.try_reserve(request):
                summary.pending += 1
                summary.stopped_by_budget = True
                continue
            self.calls.append(request.id)
            text = self.answer(request)
            usage = Usage(
                input_tokens=max(1, len((request.system + request.prompt).split())),
                output_tokens=max(1, len(text.split())),
            )
            result = LLMResult(request.id, text, "stop", usage, model=request.model)
            journal.append(result)
            summary.sent += 1
            summary.usage = summary.usage + usage
            if budget is not None:
                budget.release(request)
                budget.charge(result)
            if on_result is not None:
                on_result(result)
        return summary
