"""``msmkit plugins`` and ``msmkit list KIND``."""

from __future__ import annotations

import json

import click

from msmkit.console import out_console


@click.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def plugins_cmd(as_json: bool) -> None:
    """List installed plugins (and the built-ins), their versions, hooks and status."""
    from msmkit.plugins import plugin_infos
    from msmkit.registry import HOOKS, get_registry

    # Building the registries runs every register_* hook, which is what reveals plugins
    # whose hooks raise.
    for kind in HOOKS:
        get_registry(kind)  # type: ignore[arg-type]
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


@click.command("list")
@click.argument("kind", type=click.Choice(["variants", "generators", "backends", "tasks"]))
@click.option("--json", "as_json", is_flag=True, help="Print JSON (with option schemas).")
def list_cmd(kind: str, as_json: bool) -> None:
    """List the registered components of one KIND."""
    import importlib.util

    from msmkit.registry import get_registry

    entries = get_registry(kind).entries()  # type: ignore[arg-type]
    rows = []
    for e in entries:
        row = {
            "name": e.name,
            "plugin": e.plugin,
            "provider": e.provider,
            "description": e.description,
        }
        if kind == "backends":
            missing = [m for m in e.component.requires if importlib.util.find_spec(m) is None]
            row["available"] = not missing
            row["missing"] = missing
        if kind != "tasks":
            row["options"] = e.component.Options.model_json_schema().get("properties", {})
        rows.append(row)
    if as_json:
        click.echo(json.dumps(rows, indent=2, default=str))
        return
    from rich.table import Table

    from msmkit.plugins import plugin_info

    table = Table()
    for col in ("name", "from", "description"):
        table.add_column(col)
    for row in rows:
        desc = row["description"]
        if kind == "backends" and not row["available"]:
            desc += f" [red](needs {', '.join(row['missing'])}: pip install 'msmkit[train]')[/]"
        info = plugin_info(row["plugin"])
        table.add_row(row["name"], info.source if info else row["plugin"], desc)
    out_console().print(table)
