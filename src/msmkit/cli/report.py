"""``msmkit report`` and ``msmkit status``, and the hooks ``msmkit run``/``msmkit demo`` call:
a ``status.html`` refreshed after each stage, the report written at the end."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from msmkit.console import err_console, out_console

TRACKERS = ("tensorboard", "wandb", "mlflow")


def track_option(fn):
    return click.option(
        "--track",
        "track",
        multiple=True,
        type=click.Choice(TRACKERS),
        help="Also log each eval's metrics and the comparison to this tracker, under the "
        "run's name, in its local/offline mode (repeatable; see docs/reports.md).",
    )(fn)


def no_report_option(fn):
    return click.option(
        "--no-report",
        is_flag=True,
        help="Skip the report (report.html, report.md, CSV) written at the end.",
    )(fn)


def status_hook(run: Any, statuses: dict[str, str]) -> None:
    """Run's ``on_update``: refresh ``status.html`` (the plan's estimates written once per
    run of the command, so an experiment that grew an arm has its new stages' estimates)."""
    from msmkit.report.status import write_estimates
    from msmkit.report.status_page import write_status_page

    run_dir = run.folder.path
    if not getattr(run, "_status_estimates", False):
        write_estimates(run_dir, run.graph)
        run._status_estimates = True
    write_status_page(run_dir)


def after_run(run_dir: Path, *, no_report: bool, track: tuple[str, ...] = ()) -> Path | None:
    """Write the run's report into ``<run>/report`` and log to the trackers asked for. A
    report that cannot be written is a warning: the run's results are already saved."""
    from msmkit.errors import MsmkitError

    console = err_console()
    if track:
        from msmkit.report.trackers import log_run

        try:
            for line in log_run(run_dir, track):
                console.print(f"Tracker: {line}")
        except MsmkitError as exc:
            console.print(f"[yellow]Tracker not written:[/] {exc.message} ({exc.hint})")
    if no_report:
        return None
    from msmkit.report.build import write_report

    try:
        files = write_report([run_dir], run_dir / "report")
    except MsmkitError as exc:
        console.print(
            f"[yellow]Report not written:[/] {exc.message}" + (f" ({exc.hint})" if exc.hint else "")
        )
        return None
    except Exception as exc:  # the run is done and saved; a report bug must not hide that
        console.print(f"[yellow]Report not written:[/] {type(exc).__name__}: {exc}")
        return None
    console.print(f"Report: {files['html']} (and report.md, report.json, CSV tables)")
    return files["html"]


@click.command("report")
@click.argument("runs", nargs=-1, required=True, type=click.Path(file_okay=False, exists=True))
@click.option(
    "-o",
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to write the report into. [default: RUN/report for one run]",
)
@click.option("--title", help="The page's title. [default: Report: <experiment names>]")
@track_option
def report_cmd(runs, output, title, track) -> None:
    """Write a shareable report of one or more run folders.

    One self-contained report.html (inline SVG and CSS: it opens from a file or an email
    attachment), report.md with figures/*.svg, report.json and CSV tables of every number on
    the page. Several runs are merged when they share arms (re-runs, extra seeds).
    """
    from msmkit.errors import ConfigError
    from msmkit.report.build import write_report

    if output is None:
        if len(runs) > 1:
            raise ConfigError("several runs need an output folder", hint="pass -o DIR")
        output = Path(runs[0]) / "report"
    if track:
        from msmkit.report.trackers import log_run

        for run in runs:
            for line in log_run(Path(run), track):
                err_console().print(f"Tracker: {line}")
    files = write_report(list(runs), output, title=title)
    out_console().print(f"Report: {files['html']}")
    err_console().print(f"Also: {files['markdown']}, {files['json']} and CSV tables in {output}")


@click.command("status")
@click.argument("run", type=click.Path(file_okay=False, exists=True))
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON on stdout.")
@click.option("--html", "html", is_flag=True, help="Also (re)write RUN/status.html.")
def status_cmd(run, as_json, html) -> None:
    """Show every stage of a run: state, time so far and left, $ spent, what a waiting stage
    waits for and what it blocks, and why a stage failed with its log's last lines.

    Reads files only, so it works while the run goes on in another shell.
    """
    import json

    from msmkit.report.status import collect
    from msmkit.report.status_page import to_rich, write_status_page

    status = collect(run)
    if html:
        err_console().print(f"Status page: {write_status_page(run)}")
    if as_json:
        click.echo(json.dumps(status, indent=2, default=str))
        return
    for item in to_rich(status):
        out_console().print(item, highlight=False)
