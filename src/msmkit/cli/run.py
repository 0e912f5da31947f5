"""``msmkit run`` and ``msmkit plan``."""

from __future__ import annotations

import json
from pathlib import Path

import click

from msmkit.console import err_console, out_console


def _pipeline(experiment: str, run_name: str | None, output: Path | None, log_dir: Path | None):
    from msmkit.experiment import load_experiment
    from msmkit.pipeline import Pipeline
    from msmkit.runs import run_dir_for

    exp, base_dir = load_experiment(experiment)
    run_dir = run_dir_for(run_name or exp.name, log_dir=log_dir, output=output)
    pipe = Pipeline(exp, Path(experiment).resolve(), base_dir, run_dir)
    stages = pipe.plan()
    return pipe, stages


def _plan_rows(pipe, stages) -> list[dict]:
    return [
        {
            "stage": sp.stage.kind,
            "what": sp.label,
            "arms": sp.arms,
            "status": sp.status,
            "items": sp.estimate.items,
            "est_tokens": sp.estimate.tokens,
            "est_dollars": sp.estimate.dollars,
            "dir": str(sp.stage.dir),
        }
        for sp in stages
    ]


def _print_plan(pipe, stages) -> None:
    from rich.table import Table

    table = Table(title=f"Plan: {pipe.exp.name} → {pipe.run.path}", title_justify="left")
    table.add_column("stage")
    table.add_column("arms")
    table.add_column("status")
    table.add_column("items", justify="right")
    table.add_column("~tokens", justify="right")
    dollars = sum(sp.estimate.dollars for sp in stages)
    for row in _plan_rows(pipe, stages):
        table.add_row(
            row["what"],
            ", ".join(row["arms"]),
            "[green]done[/]" if row["status"] == "done" else "to do",
            str(row["items"] or ""),
            f"{row['est_tokens']:,}" if row["est_tokens"] else "",
        )
    console = err_console()
    console.print(table)
    todo = sum(1 for sp in stages if sp.status != "done")
    console.print(
        f"{todo} of {len(stages)} stages to run; estimated API cost ${dollars:.2f} "
        "(tokens ≈ characters/4; offline generation and local training cost $0)."
    )


_common = [
    click.argument("experiment", type=click.Path(dir_okay=False)),
    click.option(
        "--run-name", help="Folder name under the log dir. [default: the experiment's name]"
    ),
    click.option(
        "--output",
        type=click.Path(file_okay=False, path_type=Path),
        help="Write the run to this folder instead of LOG_DIR/RUN_NAME.",
    ),
    click.option(
        "--log-dir",
        type=click.Path(file_okay=False, path_type=Path),
        envvar="MSMKIT_LOG_DIR",
        help="Where runs go. [default: logs; env: MSMKIT_LOG_DIR]",
    ),
    click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON on stdout."),
]


def common(fn):
    for deco in reversed(_common):
        fn = deco(fn)
    return fn


@click.command("plan")
@common
def plan_cmd(experiment, run_name, output, log_dir, as_json) -> None:
    """Show what `msmkit run EXPERIMENT` would do, and estimate it. Runs nothing."""
    pipe, stages = _pipeline(experiment, run_name, output, log_dir)
    if as_json:
        click.echo(
            json.dumps(
                {"run_dir": str(pipe.run.path), "stages": _plan_rows(pipe, stages)}, indent=2
            )
        )
    else:
        _print_plan(pipe, stages)


@click.command("run")
@common
@click.option("--dry-run", is_flag=True, help="Same as `msmkit plan`: show the plan, run nothing.")
def run_cmd(experiment, run_name, output, log_dir, as_json, dry_run) -> None:
    """Run every arm of EXPERIMENT: generate -> midtrain -> AFT -> eval, then compare.

    Finished stages are kept and skipped, so rerunning the same command resumes.
    """
    from msmkit import compare
    from msmkit.runs import write_json_atomic
    from msmkit.stages import run_stage
    from msmkit.ui import RunUI

    pipe, stages = _pipeline(experiment, run_name, output, log_dir)
    if dry_run:
        return plan_cmd.callback(experiment, run_name, output, log_dir, as_json)
    ui = RunUI(quiet=as_json)
    pipe.run.claim(pipe.exp.config_hash(), pipe.exp.name)
    if not as_json:
        _print_plan(pipe, stages)
    pipe.run.write_manifest(pipe.manifest())
    try:
        for sp in stages:
            run_stage(pipe, sp, ui)
            pipe.run.write_manifest(pipe.manifest())
    finally:
        pipe.run.write_manifest(pipe.manifest())
    results = pipe.results()
    table = compare.comparison(results)
    write_json_atomic(pipe.run.path / "comparison.json", table)
    (pipe.run.path / "comparison.md").write_text(compare.to_markdown(table))
    pipe.run.write_manifest(pipe.manifest(results))
    if as_json:
        click.echo(json.dumps({"run_dir": str(pipe.run.path), "comparison": table}, indent=2))
    else:
        if not table["columns"]:
            err_console().print("No evals were configured, so there is nothing to compare.")
        for rich_table in compare.to_rich(table, pipe.exp.name):
            out_console().print(rich_table)
        err_console().print(f"Run folder: {pipe.run.path} (manifest.json, comparison.md)")
