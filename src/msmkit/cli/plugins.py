"""``msmkit plugins`` and ``msmkit list KIND``.

Both commands must keep working when plugins misbehave, since they are how one finds out
which plugin does: a name clash between two providers is shown (status ``error`` on the
plugin, a ``clash`` row in the listing) instead of failing the command.
"""

from __future__ import annotations

import importlib.util
import json
from typing import Any

import click
from pydantic import BaseModel

from msmkit.console import out_console
from msmkit.registry import HOOKS, SINGULAR, Clash, Entry


@click.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def plugins_cmd(as_json: bool) -> None:
    """List installed plugins (and the built-ins), their versions, hooks and status."""
    from msmkit.plugins import plugin_infos
    from msmkit.registry import get_registry

    # Building the registries runs every register_* hook, which is what reveals plugins
    # whose hooks raise or whose names clash.
    for kind in HOOKS:
        get_registry(kind, allow_clashes=True)  # type: ignore[arg-type]
    infos = plugin_infos()
    if as_json:
        click.echo(json.dumps([i.as_dict() for i in infos], indent=2))
        return
    from rich.markup import escape
    from rich.table import Table

    table = Table()
    for col in ("plugin", "from", "status", "registers"):
        table.add_column(col)
    for i in infos:
        status = {"ok": "[green]ok[/]", "blocked": "[yellow]blocked[/]"}.get(
            i.status, f"[red]error[/]: {escape(i.error or '')}"
        )
        hooks = ", ".join(h.removeprefix("register_") for h in i.hooks)
        table.add_row(i.name, i.source, status, hooks)
    out_console().print(table)


def _row(kind: str, entry: Entry, clash: Clash | None = None) -> dict[str, Any]:
    row: dict[str, Any] = {
        "name": entry.name,
        "plugin": entry.plugin,
        "provider": entry.provider,
        "description": entry.description,
        "status": "clash" if clash else "ok",
        "error": clash.message if clash else None,
    }
    if clash is not None:
        other = clash.rejected if entry is clash.kept else clash.kept
        row["clash_with"] = other.provider
    component = entry.component
    if kind == "backends":
        requires = getattr(component, "requires", ())
        missing = [m for m in requires if importlib.util.find_spec(m) is None]
        row["available"] = not missing
        row["missing"] = missing
    options = getattr(component, "Options", None)
    if kind != "tasks" and isinstance(options, type) and issubclass(options, BaseModel):
        row["options"] = options.model_json_schema().get("properties", {})
    return row


def _rows(kind: str) -> list[dict[str, Any]]:
    """One row per registered component; a clash adds a row for each side of it."""
    from msmkit.registry import get_registry

    registry = get_registry(kind, allow_clashes=True)  # type: ignore[arg-type]
    clashes: dict[int, Clash] = {}
    rejected = []
    for clash in registry.clashes:
        clashes.setdefault(id(clash.kept), clash)
        rejected.append(_row(kind, clash.rejected, clash))
    rows = [_row(kind, e, clashes.get(id(e))) for e in registry.entries()]
    return sorted(rows + rejected, key=lambda r: r["name"])


def _command_rows() -> list[dict[str, Any]]:
    """The root group's commands with who provides each (see ``cli._add_plugin_commands``)."""
    root = click.get_current_context().find_root().command
    providers: dict[str, tuple[str, str | None]] = getattr(root, "providers", {})
    rows = []
    for name, command in sorted(getattr(root, "commands", {}).items()):
        provider, plugin = providers.get(name, ("?", None))
        clash = (
            getattr(command, "message", None) if type(command).__name__ == "_ClashCommand" else None
        )
        rows.append(
            {
                "name": name,
                "plugin": plugin or "msmkit",
                "provider": provider,
                "description": command.get_short_help_str(200),
                "status": "clash" if clash else "ok",
                "error": clash,
            }
        )
    return rows


@click.command("list")
@click.argument("kind", type=click.Choice([*HOOKS, "commands"]))
@click.option("--json", "as_json", is_flag=True, help="Print JSON (with option schemas).")
def list_cmd(kind: str, as_json: bool) -> None:
    """List the registered components of one KIND (stages: the stage kinds a run can use;
    commands: the msmkit subcommands, built-in and from plugins)."""
    from msmkit.registry import get_registry

    if kind == "commands":
        rows = _command_rows()
        if as_json:
            click.echo(json.dumps(rows, indent=2))
            return
        _table(kind, rows)
        return
    rows = _rows(kind)
    for clash in get_registry(kind, allow_clashes=True).clashes:  # type: ignore[arg-type]
        error = clash.error()
        _warn(f"{error.message}; commands that use {kind} fail until one is removed ({error.hint})")
    if as_json:
        click.echo(json.dumps(rows, indent=2, default=str))
        return
    _table(kind, rows)


def _table(kind: str, rows: list[dict[str, Any]]) -> None:
    from rich.markup import escape
    from rich.table import Table

    from msmkit.plugins import plugin_info

    table = Table()
    for col in ("name", "from", "description"):
        table.add_column(col)
    for row in rows:
        desc = escape(row["description"])
        if kind == "backends" and not row["available"]:
            desc += f" [red](needs {', '.join(row['missing'])}: pip install 'msmkit[train]')[/]"
        if row["status"] == "clash" and kind == "commands":
            desc = f"[red]{escape(row['error'])}[/]"
        elif row["status"] == "clash":
            desc += f" [red](clash with {escape(row['clash_with'])})[/]"
        info = plugin_info(row["plugin"])
        source = info.source if info else row["provider"] if kind == "commands" else row["plugin"]
        table.add_row(row["name"], source, desc)
    if not rows:
        out_console().print(f"no {SINGULAR.get(kind, kind.rstrip('s'))}s are registered")
        return
    out_console().print(table)


def _warn(message: str) -> None:
    from rich.markup import escape

    from msmkit.console import err_console

    err_console().print(f"[yellow]warning:[/] {escape(message)}", highlight=False)
