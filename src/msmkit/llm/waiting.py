"""Saying so when a command waits on a provider.

The online executor calls :meth:`ProviderWatch.retrying` before it sleeps for a retry (what
failed, retry n of m, next try in s) and runs :meth:`ProviderWatch.heartbeat` while requests
are in flight: when no answer has come for ``quiet_s`` seconds it says how long it has been
waiting, then again after twice as long, and so on. Lines go to stderr, at most one retry line
every ``min_gap_s`` seconds, so a pool of failing workers does not flood the terminal.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from urllib.parse import urlsplit

from msmkit.errors import MsmkitError

DEFAULT_HOSTS = {
    "anthropic": "api.anthropic.com",
    "openai": "api.openai.com",
}


class ProviderUnavailableError(MsmkitError):
    """A provider did not answer (connection refused, unreachable, every attempt timed out)
    through all retries, and nothing had been answered before: going on would only repeat it."""


class ProviderRejectedError(MsmkitError):
    """The provider refused the request itself (HTTP 401/403: a wrong key, no access to the
    model): every other request would be refused the same way, so the run stops at once."""


def provider_place(model: str, base_url: str | None) -> str:
    """``api.anthropic.com (anthropic/claude-sonnet-4-5)``: where requests go, for messages.
    Without ``base_url``, the provider's ``<NAME>_BASE_URL`` variable (as Inspect and the
    SDKs read it), else the provider's public host."""
    parts = model.split("/")
    service = parts[1] if parts[0] == "openai-api" and len(parts) > 2 else parts[0]
    base_url = base_url or os.environ.get(f"{service.upper().replace('-', '_')}_BASE_URL")
    host = urlsplit(base_url).netloc if base_url else DEFAULT_HOSTS.get(parts[0], parts[0])
    return f"{host or base_url} ({model})"


def _say(message: str) -> None:
    from rich.markup import escape

    from msmkit.console import err_console

    err_console().print(f"[yellow]waiting:[/] {escape(message)}", highlight=False, soft_wrap=True)


class ProviderWatch:
    """Tracks requests in flight and answers, and reports waits (see module docstring)."""

    def __init__(
        self,
        place: str,
        *,
        attempt_timeout_s: float,
        quiet_s: float = 10.0,
        min_gap_s: float = 5.0,
        say: Callable[[str], None] = _say,
    ) -> None:
        self.place = place
        self.attempt_timeout_s = attempt_timeout_s
        self.quiet_s = quiet_s
        self.min_gap_s = min_gap_s
        self.say = say
        self.in_flight = 0
        self.answered = 0
        self._last_event = time.monotonic()
        self._next_quiet = quiet_s
        self._last_retry_line = float("-inf")

    def sent(self) -> None:
        if self.in_flight == 0:
            self._event()
        self.in_flight += 1

    def back(self, *, answered: bool) -> None:
        """A request returned (``answered``: with a completion, not an error)."""
        self.in_flight -= 1
        self.answered += answered
        self._event()

    def _event(self) -> None:
        self._last_event = time.monotonic()
        self._next_quiet = self.quiet_s

    def retrying(self, what: str, retry: int, retries: int, delay_s: float) -> None:
        now = time.monotonic()
        if now - self._last_retry_line < self.min_gap_s:
            return
        self._last_retry_line = now
        self.say(f"{self.place}: {what}; retry {retry} of {retries} in {delay_s:.1f} s")

    async def heartbeat(self, poll_s: float = 0.25) -> None:
        """Run until cancelled: report a silence of ``quiet_s``, ``2*quiet_s``, ..."""
        while True:
            await asyncio.sleep(poll_s)
            quiet = time.monotonic() - self._last_event
            if self.in_flight and quiet >= self._next_quiet:
                self._next_quiet *= 2
                requests = "request" if self.in_flight == 1 else "requests"
                self.say(
                    f"{self.place}: no answer yet after {quiet:.0f} s ({self.in_flight} "
                    f"{requests} in flight; an attempt is abandoned after "
                    f"{self.attempt_timeout_s:g} s and retried)"
                )
