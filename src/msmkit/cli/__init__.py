"""The ``msmkit`` command line.

The click group is built by ``make_cli()`` (not at import time) so plugin commands are added
fresh and ``msmkit --help`` stays fast: nothing here imports torch, transformers or Inspect.
"""

from __future__ import annotations

import os
import sys

import click

from msmkit import __version__
from msmkit.errors import MsmkitError

HELP = """Model Spec Midtraining research toolkit.

\b
Quick start:
  msmkit specs list                         # the spec library
  msmkit plan experiments/cheese-demo.yaml  # what a run will do, and its cost
  msmkit run experiments/cheese-demo.yaml   # generate -> midtrain -> AFT -> eval

Docs: README.md and docs/ in the msmkit repository.
"""


def make_cli() -> click.Group:
    @click.group(help=HELP, context_settings={"help_option_names": ["-h", "--help"]})
    @click.version_option(__version__, prog_name="msmkit")
    @click.option(
        "--debug",
        is_flag=True,
        envvar="MSMKIT_DEBUG",
        help="Show full tracebacks for errors. [env: MSMKIT_DEBUG]",
    )
    @click.pass_context
    def cli(ctx: click.Context, debug: bool) -> None:
        ctx.ensure_object(dict)
        ctx.obj["debug"] = debug

    from msmkit.cli.generate import generate_group as generate_cmd
    from msmkit.cli.generate_spec import spec_cmd

    generate_cmd.add_command(spec_cmd)
    from msmkit.cli.patterns import patterns_cmd
    from msmkit.cli.plugins import list_cmd, plugins_cmd
    from msmkit.cli.run import plan_cmd, run_cmd
    from msmkit.cli.specs import specs
    from msmkit.cli.store import store_group
    from msmkit.cli.tools import tiny_model_cmd

    commands = (run_cmd, plan_cmd, specs, store_group, plugins_cmd, list_cmd, generate_cmd)
    from msmkit.cli.corpus import corpus_group

    commands = (*commands, patterns_cmd, corpus_group)
    from msmkit.cli.demo import demo_cmd
    from msmkit.cli.draft import draft_group

    cli.add_command(demo_cmd)
    from msmkit.cli.evals import evals_group

    cli.add_command(evals_group)
    from msmkit.cli.report import report_cmd, status_cmd

    cli.add_command(report_cmd)
    cli.add_command(status_cmd)

    for command in (*commands, tiny_model_cmd, draft_group):
        cli.add_command(command)

    _add_plugin_commands(cli)
    return cli


def _add_plugin_commands(cli: click.Group) -> None:
    """Add each plugin's commands. A name that a built-in or an earlier plugin already has
    is a clash: the command under that name becomes an error naming both providers (and
    ``msmkit plugins`` shows it on the plugins); every other command keeps working. A hook
    that raises drops what it added and marks its plugin broken."""
    from msmkit.plugins import get_plugin_manager, plugin_info, record_clash, record_failure

    pm = get_plugin_manager()
    owners: dict[str, tuple[str, str | None]] = {  # name -> (provider, plugin name)
        name: (f"msmkit {__version__} (built-in)", None) for name in cli.commands
    }
    impls = sorted(pm.hook.register_commands.get_hookimpls(), key=lambda i: i.plugin_name)
    for impl in impls:
        info = plugin_info(impl.plugin_name)
        provider = info.provider if info else impl.plugin_name
        before = dict(cli.commands)
        try:
            impl.function(cli=cli)
        except Exception as exc:
            if info is not None and info.builtin:
                raise
            _restore(cli, before)
            record_failure(impl.plugin_name, exc, hook="register_commands")
            continue
        added = {n: c for n, c in cli.commands.items() if before.get(n) is not c}
        _restore(cli, before)
        for name, command in added.items():
            if name not in owners:
                cli.commands[name] = command
                owners[name] = (provider, impl.plugin_name)
                continue
            first, first_plugin = owners[name]
            message = f"command '{name}' is registered by both {first} and {provider}"
            record_clash(impl.plugin_name, message)
            if first_plugin is not None:
                record_clash(first_plugin, message)
            blockable = [p for p in (first_plugin, impl.plugin_name) if p is not None]
            cli.commands[name] = _clash_command(name, message, blockable, cli)
    cli.providers = owners  # type: ignore[attr-defined]  # for `msmkit list commands`


def _restore(cli: click.Group, commands: dict[str, click.Command]) -> None:
    cli.commands.clear()
    cli.commands.update(commands)


def _clash_command(name: str, message: str, plugins: list[str], cli: click.Group) -> click.Command:
    """A stand-in for a command two providers registered: using it is the error."""
    from msmkit.errors import DuplicateComponentError

    earlier = cli.commands.get(name)
    if isinstance(earlier, _ClashCommand):  # a third provider: name them all
        message = f"{earlier.message}; {message}"

    block = " or ".join(f"MSMKIT_BLOCK_PLUGINS={p}" for p in plugins)

    def fail(args: tuple[str, ...]) -> None:
        raise DuplicateComponentError(
            message, hint=f"uninstall one of them, or skip a plugin with {block}"
        )

    command = _ClashCommand(
        name,
        callback=fail,
        params=[click.Argument(["args"], nargs=-1, type=click.UNPROCESSED)],
        help=f"Unusable: {message}.",
        short_help="(clash: registered twice, see `msmkit plugins`)",
        add_help_option=False,
        context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    )
    command.message = message
    return command


class _ClashCommand(click.Command):
    message = ""


def render_error(exc: MsmkitError) -> None:
    from rich.markup import escape

    from msmkit.console import err_console

    console = err_console()
    console.print(f"[bold red]Error:[/] {escape(exc.message)}", highlight=False, soft_wrap=True)
    if exc.hint:
        console.print(f"[dim]Hint:[/] {escape(exc.hint)}", highlight=False, soft_wrap=True)


def main(argv: list[str] | None = None) -> None:
    debug = "--debug" in (argv if argv is not None else sys.argv[1:]) or os.environ.get(
        "MSMKIT_DEBUG", ""
    ) not in ("", "0")
    try:
        make_cli().main(args=argv, prog_name="msmkit", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("Interrupted. Rerun the same command to resume.", err=True)
        sys.exit(130)
    except MsmkitError as exc:
        if debug:
            raise
        render_error(exc)
        sys.exit(1)
