"""A local fake of the Anthropic and OpenAI HTTP APIs, good enough for the real SDKs and
Inspect's providers: online messages (JSON and SSE streams) and chat completions, Message
Batches, the Batch API and its files. It counts what it receives and injects faults on
demand (see :mod:`fakes.core` for keys and fault actions).

Modules: ``core`` (state, counters, faults, rate limit, generation), ``anthropic_api`` and
``openai_api`` (wire formats and batch endpoints), this one (HTTP plumbing and routing).
"""

from __future__ import annotations

import json
import math
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .anthropic_api import AnthropicRoutes
from .core import FakeState, default_key, error_body
from .openai_api import OpenAIRoutes, openai_completion

__all__ = ["FakeLLMServer", "default_key"]

_INCOMPLETE = {  # 200 JSON bodies lacking the fields a client needs
    "anthropic": {"id": "msg_incomplete", "type": "message"},
    "openai": {"id": "chatcmpl-incomplete", "object": "chat.completion"},
}


@dataclass
class FakeLLMServer(FakeState):
    """Start with ``with FakeLLMServer(...) as server:``; ``server.url`` is the base URL
    (Anthropic SDK ``base_url``; OpenAI SDK ``base_url`` is ``server.url + "/v1"``)."""

    def start(self) -> FakeLLMServer:
        handler = type("Handler", (_Handler,), {"fake": self})
        self._httpd = _QuietServer(("127.0.0.1", 0), handler)
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


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client killed mid-request (the kill -9 tests) is expected


class _Handler(AnthropicRoutes, OpenAIRoutes, BaseHTTPRequestHandler):
    fake: FakeState
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    # -- plumbing --------------------------------------------------------------------

    def _body(self) -> bytes:
        length = int(self.headers.get("content-length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        raw = isinstance(payload, bytes)
        data = payload if raw else json.dumps(payload).encode()
        self._head(status, "application/octet-stream" if raw else "application/json", headers)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _head(self, status: int, ctype: str, headers: dict[str, str] | None = None) -> None:
        with self.fake._lock:
            self.fake.status_counts[status] += 1
        self.send_response(status)
        self.send_header("content-type", ctype)
        self.send_header("request-id", self.fake.new_id("req_"))
        for name, value in (headers or {}).items():
            self.send_header(name, value)

    def _send_stream(self, events: list[tuple[str, dict]], *, cut: bool = False) -> None:
        """Server-sent events, one HTTP chunk each; ``cut`` drops the connection halfway."""
        self._head(200, "text/event-stream; charset=utf-8")
        self.send_header("transfer-encoding", "chunked")
        self.send_header("cache-control", "no-cache")
        self.end_headers()
        if cut:
            events = events[: len(events) // 2]
        for name, data in events:
            chunk = f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()
            self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            self.wfile.flush()
        if cut:
            self.close_connection = True
            return
        self.wfile.write(b"0\r\n\r\n")

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
            return self.anthropic_batch_get(parts[3], results=len(parts) == 5)
        if parts[:2] == ["v1", "batches"] and len(parts) == 3:
            return self.openai_batch_get(parts[2])
        if parts[:2] == ["v1", "files"] and len(parts) == 4 and parts[3] == "content":
            return self.openai_file_content(parts[2])
        self._send(404, {"error": {"message": f"no route {path}"}})

    def do_POST(self) -> None:
        path = self._count("POST")
        raw = self._body()
        if len(raw) < int(self.headers.get("content-length") or 0):
            self.close_connection = True  # the client went away mid-body (killed): no request
            with self.fake._lock:
                self.fake.hits["dropped"] += 1
            return None
        if path == "/v1/files":
            return self.openai_file(raw)
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            return self._send(400, {"error": {"message": "body is not JSON"}})
        if path == "/v1/messages":
            invalid = self.anthropic_invalid(body)
            if invalid is not None:
                return self._send(400, error_body("anthropic", 400, invalid))
            return self._online("anthropic", body)
        if path == "/v1/chat/completions":
            return self._online("openai", body)
        if path == "/v1/messages/batches":
            return self.anthropic_batch_create(body)
        if path == "/v1/batches":
            return self.openai_batch_create(body)
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
            return self._send(429, error_body(flavour, 429, "rate limited"), headers)
        action = fake.next_fault(key)
        if fake.latency_s:
            time.sleep(fake.latency_s)
        truncate = action == "truncate"
        if action in (None, "truncate", "cut"):
            pass
        elif action == "hang":
            fake._stop.wait()
            self.close_connection = True
            return None
        elif action.startswith("slow:"):
            time.sleep(float(action.split(":", 1)[1]))
        elif action == "malformed":  # a 200 whose body is not JSON
            self._head(200, "application/json")
            self.send_header("content-length", "9")
            self.end_headers()
            self.wfile.write(b"{not json")
            return None
        elif action == "incomplete":  # a 200 JSON body without content, usage, ...
            return self._send(200, _INCOMPLETE[flavour])
        elif action == "401_echo":  # an auth error that echoes the key it was sent
            sent = self.headers.get("x-api-key") or self.headers.get("authorization", "")
            return self._send(401, error_body(flavour, 401, f"invalid x-api-key: {sent}"))
        else:
            status = int(action)
            headers = {"retry-after": "0"} if status == 429 else {}
            return self._send(status, error_body(flavour, status, f"fake {status}"), headers)
        with fake._lock:
            fake.answered[key] += 1
        if flavour == "anthropic":
            return self.anthropic_answer(key, body, truncate, cut=action == "cut")
        self._send(200, openai_completion(fake, key, body, truncate))
