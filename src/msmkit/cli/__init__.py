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

    from msmkit.cli.patterns import patterns_cmd
    from msmkit.cli.plugins import list_cmd, plugins_cmd
    from msmkit.cli.run import plan_cmd, run_cmd
    from msmkit.cli.specs import specs
    from msmkit.cli.store import store_group
    from msmkit.cli.tools import generate_cmd, tiny_model_cmd

    commands = (run_cmd, plan_cmd, specs, store_group, plugins_cmd, list_cmd, generate_cmd)
    from msmkit.cli.corpus import corpus_group

    commands = (*commands, patterns_cmd, corpus_group)
    from msmkit.cli.demo import demo_cmd
    from msmkit.cli.draft import draft_group

    cli.add_command(demo_cmd)
    from msmkit.cli.evals import evals_group

    cli.add_command(evals_group)

    for command in (*commands, tiny_model_cmd, draft_group):
        cli.add_command(command)

    _add_plugin_commands(cli)
    return cli


def _add_plugin_commands(cli: click.Group) -> None:
    from msmkit.plugins import get_plugin_manager, plugin_info, record_failure

    pm = get_plugin_manager()
    for impl in pm.hook.register_commands.get_hookimpls():
        try:
            impl.function(cli=cli)
        except Exception as exc:
            info = plugin_info(impl.plugin_name)
            if info is not None and info.builtin:
                raise
            record_failure(impl.plugin_name, exc)


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
