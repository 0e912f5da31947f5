"""msmkit's own batch path: Anthropic Message Batches and the OpenAI Batch API.

Inspect's batch mode keeps batch ids in memory only, so a crash after submitting pays for
results nobody collects. Here every submitted batch id (with the request ids inside it) is
written to ``state_dir/batches.json`` atomically, and ``on_waiting(state)`` is called,
*before* any polling. A rerun reads that file and collects those batches instead of
resubmitting. Results are journaled one by one as they are read. Entries that errored or
expired inside a batch are resubmitted in a later batch, at most ``max_batch_resubmits``
times each; after that they count as failed (reported, not journaled).
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from msmkit.files import write_json_atomic
from msmkit.llm.base import Budget, ExecutionSummary, LLMRequest, LLMResult, ResultJournal, Usage
from msmkit.llm.keys import redact, require_key
from msmkit.llm.settings import ProviderSettings

STATE_FILE = "batches.json"
_CUSTOM_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_ANTHROPIC_STOP = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "max_tokens"}
_ANTHROPIC_STOP |= {"refusal": "refusal", "model_context_window_exceeded": "max_tokens"}
_OPENAI_STOP = {"stop": "stop", "length": "max_tokens", "content_filter": "content_filter"}

Entry = tuple[str, "LLMResult | str"]  # (custom_id, result or the error text of a failed entry)


def custom_id(request_id: str) -> str:
    """A provider-safe ``custom_id`` (Anthropic allows ``[A-Za-z0-9_-]{1,64}``)."""
    if _CUSTOM_ID.match(request_id):
        return request_id
    return "h" + hashlib.sha256(request_id.encode()).hexdigest()[:40]


def save_state(path: Path, data: Any) -> None:
    """The batch state file, fsynced: it holds what the provider is already working on."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, data, durable=True)


class AnthropicBatches:
    """Message Batches through the ``anthropic`` SDK."""

    def __init__(self, settings: ProviderSettings, api_key: str | None) -> None:
        import anthropic

        self.settings = settings
        self.client = anthropic.Anthropic(
            api_key=api_key,
            base_url=settings.base_url,
            max_retries=settings.max_retries,
            timeout=settings.timeout_s,
        )

    def params(self, request: LLMRequest) -> dict[str, Any]:
        params: dict[str, Any] = {
            "model": self.settings.model_name,
            "max_tokens": request.max_tokens,
            "messages": [{"role": "user", "content": request.prompt}],
        }
        if request.system:
            block: dict[str, Any] = {"type": "text", "text": request.system}
            if self.settings.cache_prompt:
                block["cache_control"] = {"type": "ephemeral"}
            params["system"] = [block]
        # no temperature: API version 2026-10-21 (the anthropic SDK >= 2.0 sends it) rejects
        # temperature/top_p/top_k on every model; Inspect's online path drops them too
        if request.reasoning_tokens:
            params["thinking"] = {"type": "enabled", "budget_tokens": request.reasoning_tokens}
        return params

    def submit(self, requests: Sequence[LLMRequest]) -> str:
        entries = [{"custom_id": custom_id(r.id), "params": self.params(r)} for r in requests]
        return self.client.messages.batches.create(requests=entries).id  # type: ignore[arg-type]

    def ended(self, batch_id: str) -> bool:
        return self.client.messages.batches.retrieve(batch_id).processing_status == "ended"

    def results(self, batch_id: str) -> Iterator[Entry]:
        for line in self.client.messages.batches.results(batch_id):
            result = line.result
            if result.type != "succeeded":
                error = getattr(result, "error", None)
                yield line.custom_id, redact(f"batch entry {result.type}: {error or ''}".strip())
                continue
            message = result.message
            text = "".join(getattr(b, "text", "") for b in message.content if b.type == "text")
            u = message.usage
            usage = Usage(
                input_tokens=u.input_tokens or 0,
                output_tokens=u.output_tokens or 0,
                cache_write_tokens=u.cache_creation_input_tokens or 0,
                cache_read_tokens=u.cache_read_input_tokens or 0,
            )
            stop = _ANTHROPIC_STOP.get(str(message.stop_reason), "stop")
            model = self.settings.model
            yield line.custom_id, LLMResult("", text, stop, usage, model, batched=True)


class OpenAIBatches:
    """The OpenAI Batch API (``/v1/chat/completions``) through the ``openai`` SDK."""

    def __init__(self, settings: ProviderSettings, api_key: str | None) -> None:
        import openai

        self.settings = settings
        self.client = openai.OpenAI(
            api_key=api_key,
            base_url=settings.base_url,
            max_retries=settings.max_retries,
            timeout=settings.timeout_s,
        )

    def body(self, request: LLMRequest) -> dict[str, Any]:
        messages = [{"role": "user", "content": request.prompt}]
        if request.system:  # OpenAI caches a repeated prefix by itself
            messages.insert(0, {"role": "system", "content": request.system})
        body: dict[str, Any] = {
            "model": self.settings.model_name,
            "messages": messages,
            "max_completion_tokens": request.max_tokens,
        }
        if request.temperature is not None:
            body["temperature"] = request.temperature
        return body

    def submit(self, requests: Sequence[LLMRequest]) -> str:
        lines = [
            {
                "custom_id": custom_id(r.id),
                "method": "POST",
                "url": "/v1/chat/completions",
                "body": self.body(r),
            }
            for r in requests
        ]
        data = "".join(json.dumps(line) + "\n" for line in lines).encode()
        file = self.client.files.create(file=("msmkit-batch.jsonl", data), purpose="batch")
        batch = self.client.batches.create(
            input_file_id=file.id, endpoint="/v1/chat/completions", completion_window="24h"
        )
        return batch.id

    def ended(self, batch_id: str) -> bool:
        status = self.client.batches.retrieve(batch_id).status
        return status in ("completed", "failed", "expired", "cancelled")

    def _lines(self, file_id: str | None) -> Iterator[dict[str, Any]]:
        if not file_id:
            return
        for raw in self.client.files.content(file_id).text.splitlines():
            if raw.strip():
                yield json.loads(raw)

    def results(self, batch_id: str) -> Iterator[Entry]:
        batch = self.client.batches.retrieve(batch_id)
        for line in self._lines(batch.output_file_id):
            yield self._entry(line)
        for line in self._lines(batch.error_file_id):
            yield self._entry(line)

    def _entry(self, line: dict[str, Any]) -> Entry:
        cid = line.get("custom_id", "")
        response = line.get("response") or {}
        if line.get("error") or response.get("status_code") != 200:
            detail = line.get("error") or response.get("body") or {}
            return cid, redact(f"batch entry failed: {json.dumps(detail)}")
        body = response["body"]
        choice = body["choices"][0]
        u = body.get("usage") or {}
        cached = (u.get("prompt_tokens_details") or {}).get("cached_tokens") or 0
        usage = Usage(
            input_tokens=(u.get("prompt_tokens") or 0) - cached,
            output_tokens=u.get("completion_tokens") or 0,
            cache_read_tokens=cached,
        )
        stop = _OPENAI_STOP.get(str(choice.get("finish_reason")), "stop")
        text = (choice.get("message") or {}).get("content") or ""
        return cid, LLMResult("", text, stop, usage, self.settings.model, batched=True)


class BatchExecutor:
    """Runs requests through a provider batch API; resumable from ``state_dir``."""

    def __init__(self, settings: ProviderSettings, *, sleep: Callable[[float], None] = time.sleep):
        self.settings = settings
        self.sleep = sleep
        self.state: dict[str, Any] = {}

    def _api(self) -> AnthropicBatches | OpenAIBatches:
        key = require_key(self.settings.model, dotenv_path=self.settings.dotenv_path)
        if self.settings.provider == "anthropic":
            return AnthropicBatches(self.settings, key)
        return OpenAIBatches(self.settings, key)

    @staticmethod
    def _affordable(
        chunk: list[LLMRequest],
        budget: Budget | None,
        waiting: list[dict[str, Any]],
        by_id: dict[str, LLMRequest],
    ) -> int:
        """How many of ``chunk`` fit the budget, counting each request (submitted or not) at
        its worst case: ~3 characters a token in, ``max_tokens`` out, half price. Batch costs
        are known only when results come back, so this is what keeps a cap a cap. At least
        one request goes out when nothing is outstanding and the budget is not spent."""
        if budget is None or budget.limit_usd is None or budget.price is None:
            return len(chunk)
        price = budget.price

        def worst(r: LLMRequest) -> float:
            tokens_in = (len(r.system) + len(r.prompt)) / 3
            return (tokens_in * price.input + r.max_tokens * price.output) / 2e6

        outstanding = sum(worst(by_id[i]) for b in waiting for i in b["request_ids"] if i in by_id)
        room = budget.limit_usd - budget.spent_usd - outstanding
        take = 0
        for request in chunk:
            room -= worst(request)
            if room < 0:
                break
            take += 1
        return max(take, 1) if not waiting else take

    def _load(self, path: Path) -> dict[str, Any]:
        if path.exists():
            return json.loads(path.read_text(encoding="utf-8"))
        return {"version": 1, "model": self.settings.model, "batches": [], "resubmits": {}}

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
        s = self.settings
        path = Path(state_dir) / STATE_FILE
        state = self.state = self._load(path)
        summary = ExecutionSummary()
        by_id: dict[str, LLMRequest] = {}
        for request in requests:
            if request.id in by_id:
                continue
            by_id[request.id] = request
            if request.id in journal:
                summary.reused += 1
        by_custom = {custom_id(rid): rid for rid in by_id}
        failed: set[str] = set()
        api: AnthropicBatches | OpenAIBatches | None = None

        def open_batches() -> list[dict[str, Any]]:
            return [b for b in state["batches"] if b["status"] == "submitted"]

        def todo() -> list[LLMRequest]:
            inside = {rid for b in open_batches() for rid in b["request_ids"]}
            return [
                r
                for rid, r in by_id.items()
                if rid not in journal and rid not in inside and rid not in failed
            ]

        while True:
            new = todo()
            if (new or open_batches()) and api is None:
                api = self._api()
            submitted = False
            while new and not (budget is not None and budget.exhausted):
                take = self._affordable(new[: s.batch_size], budget, open_batches(), by_id)
                if take == 0:
                    break
                chunk, new = new[:take], new[take:]
                assert api is not None
                batch_id = api.submit(chunk)
                state["batches"].append(
                    {
                        "id": batch_id,
                        "request_ids": [r.id for r in chunk],
                        "status": "submitted",
                        "submitted_at": time.time(),
                    }
                )
                save_state(path, state)
                submitted = True
            if new:  # the budget stopped submission
                summary.stopped_by_budget = True
            waiting = open_batches()
            if not waiting:
                break
            if submitted and on_waiting is not None:
                on_waiting(json.loads(json.dumps(state)))
            assert api is not None
            progressed = False  # one pass collects every batch that has ended
            for batch in waiting:
                if not api.ended(batch["id"]):
                    continue
                seen: set[str] = set()
                progressed = True
                outcomes = api.results(batch["id"])
                missing = [
                    (custom_id(r), "batch entry missing from results") for r in batch["request_ids"]
                ]
                for cid, outcome in [*outcomes, *missing]:
                    rid = by_custom.get(cid)
                    if rid is None or rid in journal or rid in failed:
                        continue
                    if isinstance(outcome, str):
                        if cid in seen:
                            continue
                        count = state["resubmits"].get(rid, 0)
                        if count >= s.max_batch_resubmits:
                            failed.add(rid)
                            summary.errors[rid] = outcome
                        else:
                            state["resubmits"][rid] = count + 1
                        seen.add(cid)
                        continue
                    outcome.id = rid
                    journal.append(outcome)
                    summary.sent += 1
                    summary.usage = summary.usage + outcome.usage
                    if budget is not None:
                        budget.charge(outcome)
                    if on_result is not None:
                        on_result(outcome)
                batch["status"] = "collected"
                save_state(path, state)
            if not progressed:
                if not s.wait_for_batches:  # return with the rest pending: a rerun collects
                    break
                self.sleep(s.poll_interval_s)
        summary.failed = len(failed)
        summary.pending = sum(1 for rid in by_id if rid not in journal and rid not in failed)
        return summary
