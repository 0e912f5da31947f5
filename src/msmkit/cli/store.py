"""``msmkit store``: the shared stage store (list it, verify it, prune what no run uses)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from msmkit.console import err_console, out_console


def _size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


_log_dir = click.option(
    "--log-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="MSMKIT_LOG_DIR",
    help="The log dir whose store/ to use. [default: logs; env: MSMKIT_LOG_DIR]",
)


def _store(log_dir: Path | None):
    from msmkit.run.folder import default_log_dir
    from msmkit.run.store import Store

    return Store.under(log_dir or default_log_dir())


@click.group("store")
def store_group() -> None:
    """The stage store shared by every run under a log dir."""


@store_group.command("list")
@_log_dir
@click.option("--json", "as_json", is_flag=True, help="Print JSON on stdout.")
def list_cmd(log_dir, as_json) -> None:
    """List stages: kind, fingerprint, status, size and which runs use each."""
    from rich.table import Table

    store = _store(log_dir)
    rows = store.entries()
    if as_json:
        click.echo(json.dumps({"store": str(store.root), "stages": rows}, indent=2))
        return
    if not rows:
        err_console().print(f"The store {store.root} is empty.")
        return
    table = Table(title=f"Stage store {store.root}", title_justify="left")
    for col in ("stage", "kind", "status", "size", "used by"):
        table.add_column(col, justify="right" if col == "size" else "left")
    for row in rows:
        runs = ", ".join(Path(r).name for r in row["runs"]) or "[dim]no run[/]"
        table.add_row(row["name"], row["kind"], row["status"], _size(row["bytes"]), runs)
    out_console().print(table)
    total = sum(r["bytes"] for r in rows)
    unused = [r for r in rows if not r["runs"]]
    err_console().print(
        f"{len(rows)} stages, {_size(total)}; {len(unused)} used by no run "
        f"({_size(sum(r['bytes'] for r in unused))}): `msmkit store prune` removes them."
    )


@store_group.command("prune")
@_log_dir
@click.option("--dry-run", is_flag=True, help="Say what would be removed; remove nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON on stdout.")
def prune_cmd(log_dir, dry_run, as_json) -> None:
    """Remove stages (and set-aside leftovers) that no run folder references.

    A run references every stage of every experiment version it ran; deleting a run folder
    releases its stages. Stages being computed right now are never removed.
    """
    store = _store(log_dir)
    removed = store.prune(dry_run=dry_run)
    if as_json:
        click.echo(json.dumps({"dry_run": dry_run, "removed": removed}, indent=2))
        return
    verb = "would remove" if dry_run else "removed"
    for row in removed:
        err_console().print(f"  {verb} {row['name']} ({_size(row['bytes'])})")
    total = sum(r["bytes"] for r in removed)
    err_console().print(f"{verb} {len(removed)} stage folder(s), {_size(total)}.")


@store_group.command("verify")
@_log_dir
@click.option("--json", "as_json", is_flag=True, help="Print JSON on stdout.")
def verify_cmd(log_dir, as_json) -> None:
    """Hash every file of every finished stage against what it recorded when it finished.

    A stage whose files changed (truncated, edited, missing) or whose outputs point outside
    its folder is reported, and marked so the next run that needs it recomputes it. Exits 1
    when any stage has a problem.
    """
    store = _store(log_dir)
    rows = store.verify()
    bad = [r for r in rows if r["problems"]]
    if as_json:
        click.echo(json.dumps({"store": str(store.root), "stages": rows}, indent=2))
    else:
        console = err_console()
        for row in bad:
            console.print(f"[red]✗[/] {row['name']}: " + "; ".join(row["problems"]))
        console.print(
            f"{len(rows)} finished stage(s) checked, {len(bad)} with problems"
            + (": the next run that needs them recomputes them." if bad else ".")
        )
    if bad:
        raise click.exceptions.Exit(1)
