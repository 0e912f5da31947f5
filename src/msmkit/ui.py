"""Progress and status for ``msmkit run``, drawn on stderr with rich."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from msmkit.console import err_console


class RunUI:
    """Reports stage by stage. ``quiet`` keeps stderr to errors only (for --json)."""

    def __init__(self, quiet: bool = False) -> None:
        self.console = err_console()
        self.quiet = quiet

    @property
    def inspect_display(self) -> str:
        if self.quiet:
            return "none"
        return "rich" if self.console.is_terminal else "plain"

    def note(self, message: str) -> None:
        if not self.quiet:
            self.console.print(f"  {message}", highlight=False)

    def skipped(self, node: Any) -> None:
        self.note(f"[dim]✓ {node.label} — done earlier ({node.id}), skipped[/]")

    def finished(self, node: Any) -> None:
        secs = node.stage.record().get("seconds")
        self.note(f"[green]✓[/] {node.label} [dim]({secs}s, {node.id})[/]")

    def held(self, node: Any, holder: str) -> None:
        """Another process is computing this stage; we wait for it (always shown)."""
        self.console.print(
            f"  [yellow]…[/] {node.label}: {node.id} is being computed by {holder}; waiting",
            highlight=False,
        )

    def failed(self, node: Any, exc: Exception) -> None:
        """A stage failed; the run goes on with the stages that don't need it (always shown)."""
        from rich.markup import escape

        first = escape(str(getattr(exc, "message", exc)).splitlines()[0])
        self.console.print(f"  [red]✗ {node.label}[/] ({node.id}): {first}", highlight=False)

    def waiting(self, node: Any, message: str) -> None:
        self.console.print(f"  [cyan]⏸ waiting:[/] {node.label}: {message}", highlight=False)

    @contextmanager
    def progress(
        self, label: str, arms: list[str], total: int | None
    ) -> Iterator[Callable[..., None]]:
        """Yields ``advance(n, total=None, absolute=False)``."""
        if self.quiet:
            yield lambda *a, **k: None
            return
        columns = [
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        ]
        with Progress(*columns, console=self.console, transient=True) as progress:
            task = progress.add_task(f"{label} [{', '.join(arms)}]", total=total)

            def advance(n: int = 1, total: int | None = None, absolute: bool = False) -> None:
                if total is not None:
                    progress.update(task, total=total)
                if absolute:
                    progress.update(task, completed=n)
                else:
                    progress.advance(task, n)

            yield advance
