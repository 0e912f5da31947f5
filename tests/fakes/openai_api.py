"""The OpenAI side of the fake: ``/v1/chat/completions``, files and the Batch API."""

from __future__ import annotations

import email.parser
import email.policy
import json
import time
from typing import Any

from .core import FakeState, error_body, text_of


def openai_completion(fake: FakeState, key: str, body: dict[str, Any], truncate: bool) -> dict:
    messages = body.get("messages", [])
    system = "\n".join(
        text_of(m.get("content")) for m in messages if m.get("role") in ("system", "developer")
    )
    rest = {
        **body,
        "messages": [m for m in messages if m.get("role") not in ("system", "developer")],
    }
    gen = fake.generate(key, rest, system, truncate)
    prompt_tokens = gen.input_tokens + gen.cache_write + gen.cache_read
    return {
        "id": fake.new_id("chatcmpl-"),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "fake"),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": gen.text},
                "finish_reason": "length" if gen.truncated else "stop",
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": gen.output_tokens,
            "total_tokens": prompt_tokens + gen.output_tokens,
            "prompt_tokens_details": {"cached_tokens": gen.cache_read},
        },
    }


class OpenAIRoutes:
    """Handler methods for the OpenAI endpoints (mixed into the request handler)."""

    fake: FakeState
    headers: Any

    def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        raise NotImplementedError

    def openai_file(self, raw: bytes) -> None:
        ctype = self.headers.get("content-type", "")
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            f"content-type: {ctype}\r\n\r\n".encode() + raw
        )
        content = b""
        for part in message.iter_parts():
            if part.get_param("name", header="content-disposition") == "file":
                content = part.get_payload(decode=True) or b""
        file_id = self.fake.new_id("file-")
        self.fake.files[file_id] = content
        info = {"id": file_id, "object": "file", "bytes": len(content)}
        info |= {"created_at": int(time.time()), "filename": "batch.jsonl"}
        self._send(200, {**info, "purpose": "batch", "status": "processed"})

    def openai_batch_create(self, body: dict[str, Any]) -> None:
        fake = self.fake
        data = fake.files.get(body.get("input_file_id", ""))
        if data is None:
            return self._send(400, error_body("openai", 400, "no such input file"))
        out, err, keys = [], [], []
        for raw in data.decode().splitlines():
            entry = json.loads(raw)
            key = fake.key_fn(entry["body"])
            keys.append(key)
            with fake._lock:
                fake.batch_by_key[key] += 1
                queue = fake.batch_faults.get(key)
                action = queue.pop(0) if queue else None
            line: dict[str, Any] = {
                "id": fake.new_id("batch_req_"),
                "custom_id": entry["custom_id"],
            }
            if action == "errored":
                error = {"error": {"message": "fake", "type": "server_error"}}
                err.append({**line, "response": {"status_code": 500, "body": error}, "error": None})
            elif action == "expired":
                expired = {"code": "batch_expired", "message": "expired"}
                err.append({**line, "response": None, "error": expired})
            else:
                completion = openai_completion(fake, key, entry["body"], action == "truncate")
                response = {"status_code": 200, "request_id": fake.new_id("req_")}
                out.append({**line, "response": {**response, "body": completion}, "error": None})
        batch_id = fake.new_id("batch_")
        fake.batches[batch_id] = {
            "kind": "openai",
            "out": out,
            "err": err,
            "polls": 0,
            "body": body,
            "keys": keys,
        }
        self._send(200, self._openai_batch_obj(batch_id))

    def _openai_batch_obj(self, batch_id: str) -> dict[str, Any]:
        fake = self.fake
        batch = fake.batches[batch_id]
        ended = fake.batch_ended(batch)
        if ended and "out_file" not in batch:
            for name, rows in (("out_file", batch["out"]), ("err_file", batch["err"])):
                if rows:
                    file_id = fake.new_id("file-")
                    fake.files[file_id] = "".join(json.dumps(r) + "\n" for r in rows).encode()
                    batch[name] = file_id
            batch.setdefault("out_file", None)
        total = len(batch["out"]) + len(batch["err"])
        return {
            "id": batch_id,
            "object": "batch",
            "endpoint": batch["body"].get("endpoint", "/v1/chat/completions"),
            "input_file_id": batch["body"].get("input_file_id"),
            "completion_window": "24h",
            "status": "completed" if ended else "in_progress",
            "created_at": int(time.time()),
            "output_file_id": batch.get("out_file") if ended else None,
            "error_file_id": batch.get("err_file") if ended else None,
            "errors": None,
            "request_counts": {
                "total": total,
                "completed": len(batch["out"]) if ended else 0,
                "failed": len(batch["err"]) if ended else 0,
            },
        }

    def openai_batch_get(self, batch_id: str) -> None:
        if batch_id not in self.fake.batches:
            return self._send(404, error_body("openai", 404, "no such batch"))
        payload = self._openai_batch_obj(batch_id)
        self.fake.batches[batch_id]["polls"] += 1
        self._send(200, payload)

    def openai_file_content(self, file_id: str) -> None:
        data = self.fake.files.get(file_id)
        if data is None:
            return self._send(404, error_body("openai", 404, "no such file"))
        self._send(200, data)
