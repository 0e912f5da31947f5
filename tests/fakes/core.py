"""The fake server's state: counters, faults, the token-bucket rate limit, and the
generation every wire format shares (text, truncation, usage with prompt caching).

A request's *key* is its last user message text (``key_fn`` changes that); tests put the
request id in the prompt so counts per key are counts per request id.

Fault actions, consumed in order per key (``faults``) or by whichever requests come next
(``global_faults``): ``"429"``, ``"500"``, ``"529"`` (error status), ``"hang"`` (never
answer), ``"slow:<s>"`` (answer after ``s`` seconds), ``"truncate"`` (stop at max tokens),
``"malformed"`` (200 with a body that is not JSON), ``"incomplete"`` (200 with JSON that
lacks the required fields), ``"cut"`` (a stream that ends before ``message_stop``),
``"401_echo"`` (an auth error whose message repeats the key it received). Batch entries take
``"errored"`` and ``"expired"`` from ``batch_faults``; ``batch_hold(keys)`` keeps a batch
whose entries have those keys in progress while it returns True.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from typing import Any

Responder = Callable[[str, dict[str, Any]], str]


def words(text: str) -> int:
    return len(text.split())


def text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(b.get("text", "") for b in content if isinstance(b, dict))
    return ""


def default_key(body: dict[str, Any]) -> str:
    users = [m for m in body.get("messages", []) if m.get("role") == "user"]
    if users:
        return text_of(users[-1]["content"]).strip()
    prompt = body.get("input")  # the Responses API
    if isinstance(prompt, str):
        return prompt.strip()
    if isinstance(prompt, list):
        users = [m for m in prompt if isinstance(m, dict) and m.get("role") == "user"]
        if users:
            return text_of(users[-1].get("content")).strip()
    return ""


@dataclass
class Generation:
    text: str
    truncated: bool
    input_tokens: int
    cache_write: int
    cache_read: int

    @property
    def output_tokens(self) -> int:
        return max(1, words(self.text))


@dataclass
class FakeState:
    """Settings and counters of a fake server (see the module docstring)."""

    responder: Responder | None = None
    latency_s: float = 0.0
    rate_limit_rps: float | None = None
    rate_burst: float | None = None
    faults: dict[str, list[str]] = field(default_factory=dict)
    global_faults: list[str] = field(default_factory=list)
    batch_faults: dict[str, list[str]] = field(default_factory=dict)
    batch_polls_to_end: int = 0
    batch_hold: Callable[[list[str]], bool] | None = None
    key_fn: Callable[[dict[str, Any]], str] = default_key

    def __post_init__(self) -> None:
        self.hits: Counter[str] = Counter()  # "POST /v1/messages" -> n
        self.by_key: Counter[str] = Counter()  # online generations per key (all attempts)
        self.answered: Counter[str] = Counter()  # online 200 answers per key
        self.streamed: Counter[str] = Counter()  # of those, answered as an SSE stream
        self.batch_by_key: Counter[str] = Counter()  # entries submitted in batches per key
        self.status_counts: Counter[int] = Counter()
        self.usage_by_key: dict[str, dict[str, int]] = {}  # usage of the last answer per key
        self.batches: dict[str, dict[str, Any]] = {}
        self.files: dict[str, bytes] = {}
        self._seen_prefixes: set[str] = set()
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._stop = threading.Event()
        self._tokens = 0.0
        self._last_refill = time.monotonic()
        self._httpd: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._httpd is not None
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

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

    def batch_ended(self, batch: dict[str, Any]) -> bool:
        if batch["polls"] < self.batch_polls_to_end:
            return False
        return not (self.batch_hold is not None and self.batch_hold(batch["keys"]))

    def generate(self, key: str, body: dict[str, Any], system: Any, truncate: bool) -> Generation:
        text = self.responder(key, body) if self.responder else f"answer to {key}"
        max_tokens = (
            body.get("max_tokens")
            or body.get("max_completion_tokens")
            or body.get("max_output_tokens")
            or 4096
        )
        parts = text.split()
        truncated = truncate or len(parts) > max_tokens
        if truncated:
            keep = min(max_tokens, max(1, len(parts) // 2)) if truncate else max_tokens
            text = " ".join(parts[:keep])
        cached_text, cacheable = cacheable_prefix(system)
        prompt_words = sum(words(text_of(m.get("content"))) for m in body.get("messages", []))
        total_in = words(text_of(system)) + prompt_words
        cache_write = cache_read = 0
        if cacheable and cached_text:
            with self._lock:
                if cached_text in self._seen_prefixes:
                    cache_read = words(cached_text)
                else:
                    self._seen_prefixes.add(cached_text)
                    cache_write = words(cached_text)
        gen = Generation(
            text, truncated, total_in - cache_write - cache_read, cache_write, cache_read
        )
        with self._lock:  # as Anthropic bills it (OpenAI bills a cache write as input)
            self.usage_by_key[key] = {
                "input_tokens": gen.input_tokens,
                "output_tokens": gen.output_tokens,
                "cache_write_tokens": gen.cache_write,
                "cache_read_tokens": gen.cache_read,
            }
        return gen


def cacheable_prefix(system: Any) -> tuple[str, bool]:
    """Anthropic caches system blocks up to the last ``cache_control`` mark; the OpenAI side
    passes system as a string and caches it automatically (``cacheable``)."""
    if isinstance(system, list):
        marked = [i for i, b in enumerate(system) if isinstance(b, dict) and b.get("cache_control")]
        if not marked:
            return "", False
        return text_of(system[: marked[-1] + 1]), True
    if isinstance(system, str):
        return system, True
    return "", False


def error_body(flavour: str, status: int, message: str) -> dict[str, Any]:
    kinds = {429: "rate_limit_error", 529: "overloaded_error", 500: "api_error"}
    kind = kinds.get(status, "invalid_request_error")
    if flavour == "anthropic":
        return {"type": "error", "error": {"type": kind, "message": message}}
    return {"error": {"message": message, "type": kind, "code": str(status), "param": None}}
