"""``msmkit run`` and ``msmkit plan``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from msmkit.cli.report import after_run, no_report_option, status_hook, track_option
from msmkit.console import err_console, out_console

STATUS_TEXT = {
    "done": "[green]done[/]",
    "todo": "to do",
    "waiting": "[cyan]waiting[/]",
    "stale": "[yellow]edited: redo[/]",
    "running": "[yellow]half-written: redo[/]",
    "failed": "[red]failed: redo[/]",
    "corrupt": "[red]files changed: redo[/]",
}


def _prepare(
    experiment: str,
    run_name: str | None,
    output: Path | None,
    log_dir: Path | None,
    **settings: Any,
):
    from msmkit.run.api import Run

    run = Run(experiment, run_name=run_name, output=output, log_dir=log_dir, **settings)
    return run.plan(), run


def short_id(node) -> str:
    """``midtrain-1a2b3c4d``: enough to tell stages apart in a plan (the store folder name
    carries 16 hex digits)."""
    return f"{node.kind.name}-{node.key[:6]}"


def _needs(node) -> str:
    from msmkit.stagekit import Upstream

    parts = []
    for value in node.slots.values():
        if isinstance(value, Upstream):
            parts.append(Path(str(value.outputs.get("model") or value.outputs.get("data"))).name)
        else:
            parts.append(short_id(value))
    return ", ".join(parts)


def placement(graph, node) -> dict[str, Any] | None:
    """Where a stage runs when not in this process: the executor, its job count and, for a
    cluster's, the resources each job asks for (``describe_stage``)."""
    placed = graph.executors.get(node.id)
    if placed is None:
        return None
    executor, options = placed
    describe = getattr(executor, "describe_stage", None)
    if callable(describe):
        return dict(describe(node.kind.name, options, node.estimate))
    return {"name": executor.name, "jobs": 1}


def plan_rows(graph) -> list[dict[str, Any]]:
    from msmkit.stagekit import Upstream

    rows = []
    for node in graph.ordered():
        rows.append(
            {
                "id": node.id,
                "kind": node.kind.name,
                "what": node.label,
                "arms": node.arms,
                "status": node.stage.status,
                "needs": {
                    slot: (value.key if isinstance(value, Upstream) else value.id)
                    for slot, value in node.slots.items()
                },
                "fingerprint": node.key,
                "items": node.estimate.items,
                "est_tokens": node.estimate.tokens,
                "est_dollars": node.estimate.dollars,
                "notes": list(node.estimate.notes),
                "estimate": dict(node.estimate.extra),
                "dir": str(node.stage.dir),
                "options": node.options.model_dump(mode="json"),
                "executor": placement(graph, node),
            }
        )
    return rows


def print_plan(graph, folder) -> None:
    from rich.table import Table

    table = Table(
        title=f"Plan: {graph.exp.name} → {folder.path}  (stages in {graph.store.root})",
        title_justify="left",
    )
    table.add_column("stage", no_wrap=True)
    for col in ("what", "arms", "needs", "status"):
        table.add_column(col)
    table.add_column("items", justify="right")
    table.add_column("~tokens", justify="right")
    nodes = graph.ordered()
    paid = any(n.estimate.dollars for n in nodes)
    if paid:
        table.add_column("~$", justify="right")
    gpu = sum(n.estimate.extra.get("gpu_hours") or 0 for n in nodes) >= 0.01
    if gpu:
        table.add_column("~GPU-h", justify="right")
    elsewhere = bool(graph.executors)
    if elsewhere:
        table.add_column("runs on")
    for node in nodes:
        status = node.stage.status
        row = [
            short_id(node),
            node.label,
            "all" if len(node.arms) == len(graph.arms) > 1 else ", ".join(node.arms),
            _needs(node),
            STATUS_TEXT.get(status, status),
            str(node.estimate.items or ""),
            f"{node.estimate.tokens:,}" if node.estimate.tokens else "",
        ]
        if paid:
            row.append(f"{node.estimate.dollars:,.2f}" if node.estimate.dollars else "")
        if gpu:
            hours = node.estimate.extra.get("gpu_hours")
            row.append(f"{hours:,.2f}" if hours else "")
        if elsewhere:
            where = placement(graph, node)
            row.append(
                "here"
                if where is None
                else f"{where['name']}: {where.get('jobs', 1)} job"
                + (f" · {where['summary']}" if where.get("summary") else "")
            )
        table.add_row(*row)
    console = err_console()
    console.print(table)
    for node in nodes:
        if node.estimate.dollars and node.stage.status != "done":
            for note in node.estimate.notes:
                console.print(f"  {short_id(node)}: {note}")
    todo = sum(1 for n in nodes if n.stage.status != "done")
    dollars = sum(n.estimate.dollars for n in nodes if n.stage.status != "done")
    hours = sum(n.estimate.extra.get("gpu_hours") or 0 for n in nodes if n.stage.status != "done")
    arms = len(graph.arms)
    seeds = len(graph.exp.all_seeds())
    shape = f"{arms} arms" + (f" x {seeds} seeds" if seeds > 1 else "")
    shared = sum(1 for n in nodes if len(n.arms) > 1)
    console.print(
        f"{shape}; {todo} of {len(nodes)} stages to run ({shared} shared by several arms); "
        f"estimated API cost ${dollars:,.2f}"
        + (f", ~{hours:,.1f} GPU-hours (H100-class, 40% MFU)" if hours >= 0.01 else "")
        + " (tokens ≈ characters/4; offline generation costs $0)."
    )
    if elsewhere:
        jobs: dict[str, int] = {}
        for node in nodes:
            where = placement(graph, node)
            if where is not None and node.stage.status != "done":
                jobs[where["name"]] = jobs.get(where["name"], 0) + int(where.get("jobs", 1))
        if jobs:
            console.print(
                "Jobs to submit: " + ", ".join(f"{n} on {name}" for name, n in jobs.items())
            )


_common = [
    click.argument("experiment", type=click.Path(dir_okay=False)),
    click.option(
        "--run-name", help="Folder name under the log dir. [default: the experiment's name]"
    ),
    click.option(
        "--output",
        type=click.Path(file_okay=False, path_type=Path),
        help="Write the run folder here instead of LOG_DIR/RUN_NAME (stages stay in the store).",
    ),
    click.option(
        "--log-dir",
        type=click.Path(file_okay=False, path_type=Path),
        envvar="MSMKIT_LOG_DIR",
        help="Where runs and the stage store go. [default: logs; env: MSMKIT_LOG_DIR]",
    ),
    click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON on stdout."),
]


def common(fn):
    for deco in reversed(_common):
        fn = deco(fn)
    return fn


@click.command("plan")
@common
@click.option(
    "--full",
    is_flag=True,
    help="Also build the real training configs and load local tokenizers (what `msmkit run` "
    "checks before its first stage; slower: imports torch and trl).",
)
def plan_cmd(experiment, run_name, output, log_dir, as_json, full=False) -> None:
    """Show the stage graph `msmkit run EXPERIMENT` would run, validated and estimated.

    Every component's options, every training option by name, type and range, and every
    eval's task arguments are checked; nothing runs. `msmkit run` (and `--full`) also build
    the real training configs and check local tokenizers before the first stage starts.
    """
    graph, run = _prepare(experiment, run_name, output, log_dir)
    if full:
        run.plan(full=True)
    folder = run.folder
    if as_json:
        data = {
            "run_dir": str(folder.path),
            "store": str(graph.store.root),
            "stages": plan_rows(graph),
        }
        click.echo(json.dumps(data, indent=2, default=str))
    else:
        print_plan(graph, folder)


@click.command("run")
@common
@click.option(
    "--budget",
    type=click.FloatRange(min=0, min_open=True),
    envvar="MSMKIT_BUDGET_USD",
    help="Dollar cap for each LLM generation stage that has no budget_usd of its own; a "
    "stage that reaches it stops, resumable. [env: MSMKIT_BUDGET_USD]",
)
@click.option("--dry-run", is_flag=True, help="Same as `msmkit plan`: show the plan, run nothing.")
@click.option(
    "--no-wait",
    is_flag=True,
    help="Fail instead of waiting when another process is computing a stage this run needs.",
)
@no_report_option
@track_option
@click.option(
    "--executor",
    "executor",
    metavar="NAME",
    help="Run every stage on this executor instead of the experiment's (slurm, process, "
    "local); the experiment's options for it are kept.",
)
@click.option(
    "--detach",
    is_flag=True,
    help="With a cluster executor: return once every stage that can start is submitted "
    "(run the same command again to collect and submit the next ones).",
)
@click.option(
    "--controller",
    is_flag=True,
    help="With a cluster executor: submit this run itself as a small CPU job that submits "
    "and collects the stages (the login node need not stay up); returns at once.",
)
@click.option(
    "--poll",
    "poll_s",
    type=click.FloatRange(min=0.1),
    default=10.0,
    show_default=True,
    help="Seconds between the controller's passes over jobs it waits on.",
)
def run_cmd(
    experiment,
    run_name,
    output,
    log_dir,
    as_json,
    budget,
    dry_run,
    no_wait,
    no_report=False,
    track=(),
    executor=None,
    detach=False,
    controller=False,
    poll_s=10.0,
) -> None:
    """Run every arm of EXPERIMENT: generate -> midtrain -> AFT -> eval, then compare.

    Finished stages live in the shared store and are reused by every run that needs them, so
    rerunning resumes, and an added arm computes only its own stages.
    """
    from msmkit import compare
    from msmkit.ui import RunUI

    if dry_run:
        return plan_cmd.callback(experiment, run_name, output, log_dir, as_json, full=True)
    graph, run = _prepare(
        experiment,
        run_name,
        output,
        log_dir,
        budget_usd=budget,
        wait=not no_wait,
        ui=RunUI(quiet=as_json),
        on_update=status_hook,
        executor=executor,
        detach=detach,
        poll_s=poll_s,
    )
    folder = run.folder
    if not as_json:
        print_plan(graph, folder)
    if controller:
        from msmkit.cli.controller import submit_controller

        argv = _controller_argv(experiment, run_name, output, run.log_dir, budget, executor)
        info = submit_controller(run, [*argv, "--poll", str(poll_s)])
        if as_json:
            click.echo(json.dumps(info, indent=2))
        else:
            err_console().print(
                f"Submitted the controller as {info['executor']} job {info['job_id']}; its log "
                f"is in {info['folder']}. Follow it with the same command without --controller "
                "--detach, or look at the run folder."
            )
        return
    result = run.execute()
    after_run(folder.path, no_report=no_report, track=track)
    table = result.comparison
    if as_json:
        click.echo(
            json.dumps(
                {
                    "run_dir": str(folder.path),
                    "computed": result.computed,
                    "waiting": result.waiting,
                    "unscored": result.unscored,
                    "failed": {k: str(v) for k, v in result.failed.items()},
                    "comparison": table,
                },
                indent=2,
                default=str,
            )
        )
        result.raise_first_failure()
        return
    for stage, reason in result.unscored.items():
        err_console().print(f"[red]No result:[/] {stage}: {reason}")
    if result.failed:
        err_console().print(
            f"[red]{len(result.failed)} stage(s) failed[/]; the stages that did not need "
            "them finished. Rerun the same command to retry them."
        )
    if result.waiting:
        err_console().print(
            f"{len(result.waiting)} stage(s) waiting on external work; rerun the same "
            "command to collect (nothing will be resubmitted)."
        )
    if not table["columns"]:
        err_console().print("No evals were configured, so there is nothing to compare.")
    for rich_table in compare.to_rich(table, graph.exp.name):
        out_console().print(rich_table)
    err_console().print(f"Run folder: {folder.path} (manifest.json, comparison.md)")
    result.raise_first_failure()


def _controller_argv(
    experiment: str,
    run_name: str | None,
    output: Path | None,
    log_dir: Path,
    budget: float | None,
    executor: str | None,
) -> list[str]:
    """The ``msmkit run`` the controller job runs: this one, with absolute paths."""
    import sys

    argv = [sys.executable, "-m", "msmkit", "run", str(Path(experiment).resolve())]
    argv += ["--log-dir", str(Path(log_dir).resolve())]
    if run_name:
        argv += ["--run-name", run_name]
    if output is not None:
        argv += ["--output", str(Path(output).resolve())]
    if budget is not None:
        argv += ["--budget", str(budget)]
    if executor:
        argv += ["--executor", executor]
    return argv
