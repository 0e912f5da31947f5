"""A local fake of the Anthropic and OpenAI HTTP APIs, good enough for the real SDKs and
Inspect's providers: online messages / chat completions, Message Batches, the Batch API and
its files. It counts what it receives and injects faults on demand.

A request's *key* is its last user message text (``key_fn`` changes that); tests put the
request id in the prompt so counts per key are counts per request id.

Fault actions, consumed in order per key (``faults``) or by whichever requests come next
(``global_faults``): ``"429"``, ``"500"``, ``"529"`` (error status), ``"hang"`` (never
answer), ``"slow:<s>"`` (answer after ``s`` seconds), ``"truncate"`` (stop at max tokens),
``"malformed"`` (200 with a body that is not JSON), ``"401_echo"`` (an auth error whose
message repeats the key it received). Batch entries take ``"errored"`` and
``"expired"`` from ``batch_faults``.
"""

from __future__ import annotations

import email.parser
import email.policy
import itertools
import json
import math
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Responder = Callable[[str, dict[str, Any]], str]


def _words(text: str) -> int:
    return len(text.split())


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(b.get("text", "") for b in content if isinstance(b, dict))
    return ""


def default_key(body: dict[str, Any]) -> str:
    users = [m for m in body.get("messages", []) if m.get("role") == "user"]
    return _text_of(users[-1]["content"]).strip() if users else ""


@dataclass
class _Generation:
    text: str
    truncated: bool
    input_tokens: int
    cache_write: int
    cache_read: int

    @property
    def output_tokens(self) -> int:
        return max(1, _words(self.text))


@dataclass
class FakeLLMServer:
    """Start with ``with FakeLLMServer(...) as server:``; ``server.url`` is the base URL
    (Anthropic SDK ``base_url``; OpenAI SDK ``base_url`` is ``server.url + "/v1"``)."""

    responder: Responder | None = None
    latency_s: float = 0.0
    rate_limit_rps: float | None = None
    rate_burst: float | None = None
    faults: dict[str, list[str]] = field(default_factory=dict)
    global_faults: list[str] = field(default_factory=list)
    batch_faults: dict[str, list[str]] = field(default_factory=dict)
    batch_polls_to_end: int = 0
    key_fn: Callable[[dict[str, Any]], str] = default_key

    def __post_init__(self) -> None:
        self.hits: Counter[str] = Counter()  # "POST /v1/messages" -> n
        self.by_key: Counter[str] = Counter()  # online generations per key (all attempts)
        self.answered: Counter[str] = Counter()  # online 200 answers per key
        self.batch_by_key: Counter[str] = Counter()  # entries submitted in batches per key
        self.status_counts: Counter[int] = Counter()
        self.batches: dict[str, dict[str, Any]] = {}
        self.files: dict[str, bytes] = {}
        self._seen_prefixes: set[str] = set()
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._stop = threading.Event()
        self._tokens = 0.0
        self._last_refill = time.monotonic()
        self._httpd: ThreadingHTTPServer | None = None

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> FakeLLMServer:
        handler = type("Handler", (_Handler,), {"fake": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._tokens = self.rate_burst or self.rate_limit_rps or 0.0
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()

    def __enter__(self) -> FakeLLMServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._httpd is not None
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    # -- helpers ---------------------------------------------------------------------

    def new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):06d}"

    def next_fault(self, key: str) -> str | None:
        with self._lock:
            queue = self.faults.get(key)
            if queue:
                return queue.pop(0)
            if self.global_faults:
                return self.global_faults.pop(0)
        return None

    def take_rate_token(self) -> float:
        """0 when the request may pass, else the seconds until a token is available."""
        if not self.rate_limit_rps:
            return 0.0
        with self._lock:
            now = time.monotonic()
            burst = self.rate_burst or self.rate_limit_rps
            self._tokens = min(
                burst, self._tokens + (now - self._last_refill) * self.rate_limit_rps
            )
            self._last_refill = now
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return 0.0
            return (1.0 - self._tokens) / self.rate_limit_rps

    def generate(self, key: str, body: dict[str, Any], system: Any, truncate: bool) -> _Generation:
        text = self.responder(key, body) if self.responder else f"answer to {key}"
        max_tokens = body.get("max_tokens") or body.get("max_completion_tokens") or 4096
        words = text.split()
        truncated = truncate or len(words) > max_tokens
        if truncated:
            keep = min(max_tokens, max(1, len(words) // 2)) if truncate else max_tokens
            text = " ".join(words[:keep])
        cached_text, cacheable = self._cacheable_prefix(system)
        prompt_words = sum(_words(_text_of(m.get("content"))) for m in body.get("messages", []))
        total_in = _words(_text_of(system)) + prompt_words
        cache_write = cache_read = 0
        if cacheable and cached_text:
            with self._lock:
                if cached_text in self._seen_prefixes:
                    cache_read = _words(cached_text)
                else:
                    self._seen_prefixes.add(cached_text)
                    cache_write = _words(cached_text)
        return _Generation(
            text, truncated, total_in - cache_write - cache_read, cache_write, cache_read
        )

    @staticmethod
    def _cacheable_prefix(system: Any) -> tuple[str, bool]:
        """Anthropic caches system blocks up to the last ``cache_control`` mark; the OpenAI
        side passes system as a string and caches it automatically (``cacheable``)."""
        if isinstance(system, list):
            marked = [
                i for i, b in enumerate(system) if isinstance(b, dict) and b.get("cache_control")
            ]
            if not marked:
                return "", False
            return _text_of(system[: marked[-1] + 1]), True
        if isinstance(system, str):
            return system, True
        return "", False

    # -- wire formats ----------------------------------------------------------------

    def anthropic_message(self, key: str, body: dict[str, Any], truncate: bool) -> dict[str, Any]:
        system = body.get("system")
        if system is None:
            system = []
        gen = self.generate(key, body, system, truncate)
        return {
            "id": self.new_id("msg_"),
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

    def openai_completion(self, key: str, body: dict[str, Any], truncate: bool) -> dict[str, Any]:
        messages = body.get("messages", [])
        system = "\n".join(
            _text_of(m.get("content")) for m in messages if m.get("role") in ("system", "developer")
        )
        rest = {
            **body,
            "messages": [m for m in messages if m.get("role") not in ("system", "developer")],
        }
        gen = self.generate(key, rest, system, truncate)
        prompt_tokens = gen.input_tokens + gen.cache_write + gen.cache_read
        return {
            "id": self.new_id("chatcmpl-"),
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


def _error_body(flavour: str, status: int, message: str) -> dict[str, Any]:
    kinds = {429: "rate_limit_error", 529: "overloaded_error", 500: "api_error"}
    kind = kinds.get(status, "invalid_request_error")
    if flavour == "anthropic":
        return {"type": "error", "error": {"type": kind, "message": message}}
    return {"error": {"message": message, "type": kind, "code": str(status), "param": None}}


class _Handler(BaseHTTPRequestHandler):
    fake: FakeLLMServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    # -- plumbing --------------------------------------------------------------------

    def _body(self) -> bytes:
        length = int(self.headers.get("content-length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        with self.fake._lock:
            self.fake.status_counts[status] += 1
        self.send_response(status)
        ctype = "application/json" if not isinstance(payload, bytes) else "application/octet-stream"
        self.send_header("content-type", ctype)
        self.send_header("content-length", str(len(data)))
        self.send_header("request-id", self.fake.new_id("req_"))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _count(self, method: str) -> str:
        path = self.path.split("?", 1)[0]
        with self.fake._lock:
            self.fake.hits[f"{method} {path}"] += 1
        return path

    def do_GET(self) -> None:
        path = self._count("GET")
        parts = path.strip("/").split("/")
        if path == "/_stats":  # counters, for a server run in another process
            with self.fake._lock:
                stats = {
                    "status_counts": dict(self.fake.status_counts),
                    "hits": dict(self.fake.hits),
                }
            return self._send(200, stats)
        if parts[:3] == ["v1", "messages", "batches"] and len(parts) in (4, 5):
            return self._anthropic_batch_get(parts[3], results=len(parts) == 5)
        if parts[:2] == ["v1", "batches"] and len(parts) == 3:
            return self._openai_batch_get(parts[2])
        if parts[:2] == ["v1", "files"] and len(parts) == 4 and parts[3] == "content":
            data = self.fake.files.get(parts[2])
            if data is None:
                return self._send(404, _error_body("openai", 404, "no such file"))
            return self._send(200, data)
        self._send(404, {"error": {"message": f"no route {path}"}})

    def do_POST(self) -> None:
        path = self._count("POST")
        raw = self._body()
        if path == "/v1/files":
            return self._openai_file(raw)
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            return self._send(400, {"error": {"message": "body is not JSON"}})
        if path == "/v1/messages":
            return self._online("anthropic", body)
        if path == "/v1/chat/completions":
            return self._online("openai", body)
        if path == "/v1/messages/batches":
            return self._anthropic_batch_create(body)
        if path == "/v1/batches":
            return self._openai_batch_create(body)
        self._send(404, {"error": {"message": f"no route {path}"}})

    # -- online ----------------------------------------------------------------------

    def _online(self, flavour: str, body: dict[str, Any]) -> None:
        fake = self.fake
        key = fake.key_fn(body)
        with fake._lock:
            fake.by_key[key] += 1
        wait = fake.take_rate_token()
        if wait > 0:
            headers = {
                "retry-after": str(math.ceil(wait)),
                "retry-after-ms": str(int(wait * 1000) + 1),
            }
            return self._send(429, _error_body(flavour, 429, "rate limited"), headers)
        action = fake.next_fault(key)
        if fake.latency_s:
            time.sleep(fake.latency_s)
        if action is None or action == "truncate":
            truncate = action == "truncate"
        elif action == "hang":
            fake._stop.wait()
            self.close_connection = True
            return None
        elif action.startswith("slow:"):
            time.sleep(float(action.split(":", 1)[1]))
            truncate = False
        elif action == "malformed":
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", "9")
            self.end_headers()
            self.wfile.write(b"{not json")
            return None
        elif action == "401_echo":  # an auth error that echoes the key it was sent
            sent = self.headers.get("x-api-key") or self.headers.get("authorization", "")
            body = _error_body(flavour, 401, f"invalid x-api-key: {sent}")
            return self._send(401, body)
        else:
            status = int(action)
            headers = {"retry-after": "0"} if status == 429 else {}
            return self._send(status, _error_body(flavour, status, f"fake {status}"), headers)
        if flavour == "anthropic":
            payload = fake.anthropic_message(key, body, truncate)
        else:
            payload = fake.openai_completion(key, body, truncate)
        with fake._lock:
            fake.answered[key] += 1
        self._send(200, payload)

    # -- Anthropic Message Batches ---------------------------------------------------

    def _anthropic_batch_create(self, body: dict[str, Any]) -> None:
        fake = self.fake
        batch_id = fake.new_id("msgbatch_")
        lines = []
        for entry in body.get("requests", []):
            params, custom_id = entry["params"], entry["custom_id"]
            key = fake.key_fn(params)
            with fake._lock:
                fake.batch_by_key[key] += 1
                queue = fake.batch_faults.get(key)
                action = queue.pop(0) if queue else None
            if action == "errored":
                err = {"type": "error", "error": {"type": "api_error", "message": "fake"}}
                result: dict[str, Any] = {"type": "errored", "error": err}
            elif action == "expired":
                result = {"type": "expired"}
            else:
                message = fake.anthropic_message(key, params, action == "truncate")
                result = {"type": "succeeded", "message": message}
            lines.append({"custom_id": custom_id, "result": result})
        fake.batches[batch_id] = {"kind": "anthropic", "lines": lines, "polls": 0}
        self._send(200, self._anthropic_batch_obj(batch_id))

    def _anthropic_batch_obj(self, batch_id: str) -> dict[str, Any]:
        batch = self.fake.batches[batch_id]
        ended = batch["polls"] >= self.fake.batch_polls_to_end
        types = Counter(line["result"]["type"] for line in batch["lines"])
        now = "2026-01-01T00:00:00Z"
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
            "results_url": f"{self.fake.url}/v1/messages/batches/{batch_id}/results"
            if ended
            else None,
        }

    def _anthropic_batch_get(self, batch_id: str, *, results: bool) -> None:
        batch = self.fake.batches.get(batch_id)
        if batch is None:
            return self._send(404, _error_body("anthropic", 404, "no such batch"))
        if not results:
            payload = self._anthropic_batch_obj(batch_id)
            batch["polls"] += 1
            return self._send(200, payload)
        data = "".join(json.dumps(line) + "\n" for line in batch["lines"]).encode()
        self._send(200, data)

    # -- OpenAI Batch API ------------------------------------------------------------

    def _openai_file(self, raw: bytes) -> None:
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
        self._send(
            200,
            {
                "id": file_id,
                "object": "file",
                "bytes": len(content),
                "created_at": int(time.time()),
                "filename": "batch.jsonl",
                "purpose": "batch",
                "status": "processed",
            },
        )

    def _openai_batch_create(self, body: dict[str, Any]) -> None:
        fake = self.fake
        data = fake.files.get(body.get("input_file_id", ""))
        if data is None:
            return self._send(400, _error_body("openai", 400, "no such input file"))
        out, err = [], []
        for raw in data.decode().splitlines():
            entry = json.loads(raw)
            key = fake.key_fn(entry["body"])
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
                err.append(
                    {
                        **line,
                        "response": None,
                        "error": {"code": "batch_expired", "message": "expired"},
                    }
                )
            else:
                completion = fake.openai_completion(key, entry["body"], action == "truncate")
                response = {
                    "status_code": 200,
                    "request_id": fake.new_id("req_"),
                    "body": completion,
                }
                out.append({**line, "response": response, "error": None})
        batch_id = fake.new_id("batch_")
        fake.batches[batch_id] = {
            "kind": "openai",
            "out": out,
            "err": err,
            "polls": 0,
            "body": body,
        }
        self._send(200, self._openai_batch_obj(batch_id))

    def _openai_batch_obj(self, batch_id: str) -> dict[str, Any]:
        fake = self.fake
        batch = fake.batches[batch_id]
        ended = batch["polls"] >= fake.batch_polls_to_end
        output_file_id = error_file_id = None
        if ended and "out_file" not in batch:
            for name, rows in (("out_file", batch["out"]), ("err_file", batch["err"])):
                if rows:
                    file_id = fake.new_id("file-")
                    fake.files[file_id] = "".join(json.dumps(r) + "\n" for r in rows).encode()
                    batch[name] = file_id
            batch.setdefault("out_file", None)
        if ended:
            output_file_id, error_file_id = batch.get("out_file"), batch.get("err_file")
        total = len(batch["out"]) + len(batch["err"])
        return {
            "id": batch_id,
            "object": "batch",
            "endpoint": batch["body"].get("endpoint", "/v1/chat/completions"),
            "input_file_id": batch["body"].get("input_file_id"),
            "completion_window": "24h",
            "status": "completed" if ended else "in_progress",
            "created_at": int(time.time()),
            "output_file_id": output_file_id,
            "error_file_id": error_file_id,
            "errors": None,
            "request_counts": {
                "total": total,
                "completed": len(batch["out"]) if ended else 0,
                "failed": len(batch["err"]) if ended else 0,
            },
        }

    def _openai_batch_get(self, batch_id: str) -> None:
        if batch_id not in self.fake.batches:
            return self._send(404, _error_body("openai", 404, "no such batch"))
        payload = self._openai_batch_obj(batch_id)
        self.fake.batches[batch_id]["polls"] += 1
        self._send(200, payload)
