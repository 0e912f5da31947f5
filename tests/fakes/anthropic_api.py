"""The Anthropic side of the fake: ``/v1/messages`` (plain JSON, and the SSE stream the SDK
reads when ``stream: true``) and the Message Batches API."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from .core import FakeState, error_body


def anthropic_message(fake: FakeState, key: str, body: dict[str, Any], truncate: bool) -> dict:
    gen = fake.generate(key, body, body.get("system") or [], truncate)
    return {
        "id": fake.new_id("msg_"),
        "type": "message",
        "role": "assistant",
        "model": body.get("model", "fake"),
        "content": [{"type": "text", "text": gen.text}],
        "stop_reason": "max_tokens" if gen.truncated else "end_turn",
        "stop_sequence": None,
        "usage": {
            "input_tokens": gen.input_tokens,
            "output_tokens": gen.output_tokens,
            "cache_creation_input_tokens": gen.cache_write,
            "cache_read_input_tokens": gen.cache_read,
        },
    }


def stream_events(message: dict[str, Any], *, pieces: int = 3) -> list[tuple[str, dict]]:
    """The SSE events of a streamed message, its text in ``pieces`` text deltas: what the
    API sends for ``stream: true`` (usage: input in message_start, output in message_delta)."""
    text = message["content"][0]["text"]
    usage = message["usage"]
    head = {**message, "content": [], "stop_reason": None, "stop_sequence": None}
    head["usage"] = {**usage, "output_tokens": 1}
    step = max(1, -(-len(text) // pieces))
    chunks = [text[i : i + step] for i in range(0, len(text), step)] or [""]
    events: list[tuple[str, dict]] = [
        ("message_start", {"type": "message_start", "message": head}),
        (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
        ),
        ("ping", {"type": "ping"}),
    ]
    for chunk in chunks:
        delta = {"type": "text_delta", "text": chunk}
        events.append(
            ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta})
        )
    events += [
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None},
                "usage": {"output_tokens": usage["output_tokens"]},
            },
        ),
        ("message_stop", {"type": "message_stop"}),
    ]
    return events


SAMPLING = ("temperature", "top_p", "top_k")
NO_SAMPLING_SINCE = "2026-10-21"
"""The API version from which sampling parameters are rejected on every model (what
Inspect's anthropic provider says; the anthropic SDK >= 2.0 sends this version)."""


def rejected_param(version: str, params: dict[str, Any]) -> str | None:
    if version >= NO_SAMPLING_SINCE:
        return next((p for p in SAMPLING if p in params), None)
    return None


class AnthropicRoutes:
    """Handler methods for the Anthropic endpoints (mixed into the request handler)."""

    fake: FakeState
    headers: Any

    def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        raise NotImplementedError

    def _send_stream(self, events: list[tuple[str, dict]], *, cut: bool = False) -> None:
        raise NotImplementedError

    def anthropic_invalid(self, body: dict[str, Any]) -> str | None:
        """The 400 message a real API gives for this body, if any."""
        param = rejected_param(self.headers.get("anthropic-version", ""), body)
        return f"{param}: Extra inputs are not permitted" if param else None

    def anthropic_answer(self, key: str, body: dict[str, Any], truncate: bool, cut: bool) -> None:
        message = anthropic_message(self.fake, key, body, truncate)
        if body.get("stream"):
            with self.fake._lock:
                self.fake.streamed[key] += 1
            return self._send_stream(stream_events(message), cut=cut)
        self._send(200, message)

    def anthropic_batch_create(self, body: dict[str, Any]) -> None:
        fake = self.fake
        batch_id = fake.new_id("msgbatch_")
        lines, keys = [], []
        for entry in body.get("requests", []):
            params, custom_id = entry["params"], entry["custom_id"]
            key = fake.key_fn(params)
            keys.append(key)
            with fake._lock:
                fake.batch_by_key[key] += 1
                queue = fake.batch_faults.get(key)
                action = queue.pop(0) if queue else None
            invalid = self.anthropic_invalid(params)
            if invalid is not None:
                detail = {"type": "invalid_request_error", "message": invalid}
                result: dict[str, Any] = {
                    "type": "errored",
                    "error": {"type": "error", "error": detail},
                }
            elif action == "errored":
                err = {"type": "error", "error": {"type": "api_error", "message": "fake"}}
                result = {"type": "errored", "error": err}
            elif action == "expired":
                result = {"type": "expired"}
            else:
                message = anthropic_message(fake, key, params, action == "truncate")
                result = {"type": "succeeded", "message": message}
            lines.append({"custom_id": custom_id, "result": result})
        fake.batches[batch_id] = {"kind": "anthropic", "lines": lines, "polls": 0, "keys": keys}
        self._send(200, self._anthropic_batch_obj(batch_id))

    def _anthropic_batch_obj(self, batch_id: str) -> dict[str, Any]:
        batch = self.fake.batches[batch_id]
        ended = self.fake.batch_ended(batch)
        types = Counter(line["result"]["type"] for line in batch["lines"])
        now = "2026-01-01T00:00:00Z"
        url = f"{self.fake.url}/v1/messages/batches/{batch_id}/results"
        return {
            "id": batch_id,
            "type": "message_batch",
            "processing_status": "ended" if ended else "in_progress",
            "request_counts": {
                "processing": 0 if ended else len(batch["lines"]),
                "succeeded": types["succeeded"] if ended else 0,
                "errored": types["errored"] if ended else 0,
                "canceled": 0,
                "expired": types["expired"] if ended else 0,
            },
            "created_at": now,
            "expires_at": "2026-01-02T00:00:00Z",
            "ended_at": now if ended else None,
            "cancel_initiated_at": None,
            "archived_at": None,
            "results_url": url if ended else None,
        }

    def anthropic_batch_get(self, batch_id: str, *, results: bool) -> None:
        batch = self.fake.batches.get(batch_id)
        if batch is None:
            return self._send(404, error_body("anthropic", 404, "no such batch"))
        if not results:
            payload = self._anthropic_batch_obj(batch_id)
            batch["polls"] += 1
            return self._send(200, payload)
        data = "".join(json.dumps(line) + "\n" for line in batch["lines"]).encode()
        self._send(200, data)
