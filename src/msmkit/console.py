"""One place for terminal output: status and progress go to stderr, results to stdout."""

from __future__ import annotations

from functools import cache

from rich.console import Console


@cache
def err_console() -> Console:
    return Console(stderr=True)


@cache
def out_console() -> Console:
    return Console()
