"""``msmkit run`` and ``msmkit plan``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from msmkit.console import err_console, out_console

STATUS_TEXT = {
    "done": "[green]done[/]",
    "todo": "to do",
    "waiting": "[cyan]waiting[/]",
    "stale": "[yellow]edited: redo[/]",
    "running": "[yellow]half-written: redo[/]",
    "failed": "[red]failed: redo[/]",
}


def _prepare(experiment: str, run_name: str | None, output: Path | None, log_dir: Path | None):
    from msmkit.experiment import read_experiment
    from msmkit.run.folder import RunFolder, default_log_dir, run_dir_for
    from msmkit.run.graph import build_graph
    from msmkit.run.store import Store

    ef = read_experiment(experiment)
    root = log_dir or default_log_dir()
    name = run_name if run_name is not None else ef.experiment.name
    folder = RunFolder(run_dir_for(name, log_dir=root, output=output))
    graph = build_graph(ef, Store.under(root))
    return graph, folder


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
        table.add_row(*row)
    console = err_console()
    console.print(table)
    for node in nodes:
        if node.estimate.dollars and node.stage.status != "done":
            for note in node.estimate.notes:
                console.print(f"  {short_id(node)}: {note}")
    todo = sum(1 for n in nodes if n.stage.status != "done")
    dollars = sum(n.estimate.dollars for n in nodes)
    console.print(
        f"{todo} of {len(nodes)} stages to run; estimated API cost ${dollars:.2f} "
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
def plan_cmd(experiment, run_name, output, log_dir, as_json) -> None:
    """Show the stage graph `msmkit run EXPERIMENT` would run, validated and estimated.

    Every component's options, the training backend's settings, the chat template of a
    local base model and every eval's task arguments are checked; nothing runs.
    """
    graph, folder = _prepare(experiment, run_name, output, log_dir)
    if as_json:
        data = {
            "run_dir": str(folder.path),
            "store": str(graph.store.root),
            "stages": plan_rows(graph),
        }
        click.echo(json.dumps(data, indent=2, default=str))
    else:
        print_plan(graph, folder)


def arm_logs(graph, statuses: dict[str, str]) -> dict[str, list[tuple[str, Path]]]:
    """arm -> [(replicate label, eval log path)] for every finished eval."""
    out: dict[str, list[tuple[str, Path]]] = {}
    for name, info in graph.arms.items():
        logs = []
        for chain in info.chains:
            for node in chain.evals.values():
                outputs = node.stage.outputs()
                if statuses.get(node.id) == "done" and "log" in outputs:
                    logs.append((f"seed={chain.seed}", node.stage.dir / outputs["log"]))
        out[name] = logs
    return out


def results_of(graph) -> dict[str, Any]:
    """arm -> seed -> namespaced metrics (task/scorer/metric) as Inspect reported them."""
    out: dict[str, Any] = {}
    for name, info in graph.arms.items():
        per_seed = {}
        for chain in info.chains:
            metrics: dict[str, Any] = {}
            for node in chain.evals.values():
                metrics.update(node.stage.outputs().get("metrics", {}))
            per_seed[str(chain.seed)] = metrics
        out[name] = per_seed
    return out


@click.command("run")
@common
@click.option(
    "--budget",
    type=click.FloatRange(min=0, min_open=True),
    help="Dollar cap for each LLM generation stage that has no budget_usd of its own; a "
    "stage that reaches it stops, resumable (env: MSMKIT_BUDGET_USD).",
)
@click.option("--dry-run", is_flag=True, help="Same as `msmkit plan`: show the plan, run nothing.")
@click.option(
    "--no-wait",
    is_flag=True,
    help="Fail instead of waiting when another process is computing a stage this run needs.",
)
def run_cmd(experiment, run_name, output, log_dir, as_json, budget, dry_run, no_wait) -> None:
    """Run every arm of EXPERIMENT: generate -> midtrain -> AFT -> eval, then compare.

    Finished stages live in the shared store and are reused by every run that needs them, so
    rerunning resumes, and an added arm computes only its own stages.
    """
    from msmkit import compare
    from msmkit.run.folder import build_manifest
    from msmkit.run.runner import execute
    from msmkit.run.store import write_json_atomic
    from msmkit.ui import RunUI

    if budget is not None:
        import os

        os.environ["MSMKIT_BUDGET_USD"] = str(budget)
    if dry_run:
        return plan_cmd.callback(experiment, run_name, output, log_dir, as_json)
    graph, folder = _prepare(experiment, run_name, output, log_dir)
    ui = RunUI(quiet=as_json)
    folder.claim(graph.exp.name)
    if not as_json:
        print_plan(graph, folder)
    folder.write(build_manifest(folder, graph, {}))
    graph.store.add_refs(folder.path, [n.id for n in graph.ordered()])
    statuses: dict[str, str] = {}

    def save(outcome) -> None:
        statuses.update(outcome.statuses)
        folder.write(build_manifest(folder, graph, statuses))

    try:
        outcome = execute(graph, run=folder.path.name, ui=ui, wait=not no_wait, on_stage=save)
    finally:
        folder.write(build_manifest(folder, graph, statuses))
    statuses.update(outcome.statuses)
    table = compare.comparison(arm_logs(graph, statuses))
    write_json_atomic(folder.path / "comparison.json", table)
    (folder.path / "comparison.md").write_text(compare.to_markdown(table))
    folder.write(build_manifest(folder, graph, statuses, results_of(graph)))
    if as_json:
        click.echo(
            json.dumps(
                {
                    "run_dir": str(folder.path),
                    "computed": outcome.computed,
                    "waiting": outcome.waiting,
                    "comparison": table,
                },
                indent=2,
                default=str,
            )
        )
        return
    if outcome.waiting:
        err_console().print(
            f"{len(outcome.waiting)} stage(s) waiting on external work; rerun the same "
            "command to collect (nothing will be resubmitted)."
        )
    if not table["columns"]:
        err_console().print("No evals were configured, so there is nothing to compare.")
    for rich_table in compare.to_rich(table, graph.exp.name):
        out_console().print(rich_table)
    err_console().print(f"Run folder: {folder.path} (manifest.json, comparison.md)")
