"""``msmkit patterns``: reasoning-pattern frequencies in agentic-misalignment logs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from msmkit.console import err_console


def _model_args(pairs: tuple[str, ...]) -> dict[str, Any]:
    from msmkit.cli.options import parse_options

    return parse_options(pairs, flag="-M")


def resolve_grader(name: str, model_args: dict[str, Any]) -> Any:
    """The grader ``Model`` for ``--grader``; a seam tests replace with a scripted model."""
    from inspect_ai.model import get_model

    return get_model(name, **model_args)


@click.command("patterns")
@click.argument("logs", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--grader",
    metavar="MODEL",
    help="Grade every transcript with this model (e.g. anthropic/claude-sonnet-4-6). "
    "Without it, marks already in the logs (from `inspect score --scorer "
    "msmkit/reasoning_patterns`) are read.",
)
@click.option(
    "-M",
    "--grader-arg",
    "grader_args",
    multiple=True,
    metavar="KEY=VALUE",
    help="Grader model argument (YAML value), e.g. -M base_url=http://host:8000/v1.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write one JSON line of marks per transcript here.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON, not a table.")
@click.option(
    "--max-concurrency",
    default=8,
    show_default=True,
    type=click.IntRange(min=1),
    help="Grader calls in flight at once.",
)
@click.option(
    "--retries",
    default=2,
    show_default=True,
    type=click.IntRange(min=0),
    help="Times to ask again after a refusal or unreadable reply before a transcript is "
    "left unscored.",
)
def patterns_cmd(
    logs: tuple[str, ...],
    grader: str | None,
    grader_args: tuple[str, ...],
    out: Path | None,
    as_json: bool,
    max_concurrency: int,
    retries: int,
) -> None:
    """Which reasoning patterns drove the decisions in agentic-misalignment LOGS.

    Each transcript's reasoning (<think> blocks and provider reasoning) and final answer are
    graded for nine misaligned and nine aligned patterns; the report gives each pattern's
    frequency among misaligned and among aligned transcripts, split by the AM score's
    classifier_verdict, with Wilson 95% intervals. Unscored transcripts (grader refusals,
    unreadable replies) are counted, never fatal.
    """
    import asyncio

    from msmkit.console import out_console
    from msmkit.errors import ConfigError
    from msmkit.evals.reasoning_patterns.analysis import (
        grade_all,
        has_existing_marks,
        marks_from_logs,
        read_transcripts,
        summarize,
        summary_table,
    )

    console = err_console()
    transcripts, errored = read_transcripts(logs)
    if not transcripts:
        raise ConfigError(
            "no samples to analyse in the logs given",
            hint="Pass .eval logs of an agentic-misalignment run that finished samples.",
        )
    if grader is None:
        if not has_existing_marks(transcripts):
            raise ConfigError(
                "the logs carry no reasoning-pattern marks",
                hint="Pass --grader MODEL to grade them, or score them first with "
                "`inspect score LOG --scorer msmkit/reasoning_patterns`.",
            )
        marks = marks_from_logs(transcripts)
    else:
        model = resolve_grader(grader, _model_args(grader_args))
        console.print(
            f"Grading {len(transcripts)} transcripts with {model} ({max_concurrency} at a time)...",
            highlight=False,
        )
        marks = asyncio.run(
            grade_all(transcripts, model, retries=retries, max_concurrency=max_concurrency)
        )
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("w", encoding="utf-8") as handle:
            for mark in marks:
                handle.write(json.dumps(mark.to_json(), default=str) + "\n")
        console.print(f"Wrote {len(marks)} marks to {out}", highlight=False)
    summary = summarize(marks, errored=errored)
    if as_json:
        click.echo(json.dumps(summary, indent=2))
    else:
        out_console().print(summary_table(summary))
