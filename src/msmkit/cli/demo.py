"""``msmkit demo``: the toy world experiment, end to end, with a verdict.

Runs ``experiments/toy-world.yaml`` through the ordinary stage graph (so every stage is
cached in the store and a rerun resumes), then prints a per-seed table (MSM only beside
MSM+AFT, with the control) and one plain sentence per phase: do the affordability and
America arms separate in the predicted direction, by how much against the sham arms'
spread, with a CI and a test.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import click

from msmkit.cli.report import after_run, no_report_option, status_hook
from msmkit.console import err_console, out_console
from msmkit.errors import ConfigError

EXPERIMENT = "toy-world.yaml"


def find_experiment(given: str | None) -> Path:
    """The experiment file: as given, else ./experiments/toy-world.yaml, else the one in the
    msmkit checkout this package was installed from."""
    if given:
        return Path(given)
    candidates = [
        Path.cwd() / "experiments" / EXPERIMENT,
        Path(__file__).resolve().parents[3] / "experiments" / EXPERIMENT,
    ]
    for path in candidates:
        if path.is_file():
            return path
    raise ConfigError(
        f"cannot find experiments/{EXPERIMENT}",
        hint="run from the msmkit checkout, or pass --experiment PATH",
    )


def _with_seeds(ef, seeds: int | None, first_seed: int = 0):
    from msmkit.experiment import ExperimentFile

    if seeds is None and not first_seed:
        return ef
    count = seeds if seeds is not None else len(ef.experiment.all_seeds())
    exp = ef.experiment.model_copy(update={"seeds": list(range(first_seed, first_seed + count))})
    return ExperimentFile(exp, ef.path, ef.node)


PHASES = {"before_aft": "msm", "final": "aft"}


def demo_logs(graph, statuses: dict[str, str]) -> dict[tuple[str, str, int], Path]:
    """(arm, phase, seed) -> the toy_world eval log, for every finished eval."""
    out: dict[tuple[str, str, int], Path] = {}
    for name, info in graph.arms.items():
        for chain in info.chains:
            for step in chain.eval_steps:
                node = step.node
                if step.task != "toy_world" or step.phase not in PHASES:
                    continue
                if statuses.get(node.id) != "done":
                    continue
                outputs = node.stage.outputs()
                if "log" in outputs:
                    out[(name, PHASES[step.phase], chain.seed)] = node.stage.dir / outputs["log"]
    return out


def base_probes(graph) -> dict[int, dict]:
    """seed -> the pretrained base's knowledge probes (from the toyworld-base stage)."""
    out = {}
    for node in graph.ordered():
        if node.kind.name == "toyworld-base" and node.stage.status == "done":
            o = node.stage.outputs()
            out[node.options.seed] = {
                "probes": o.get("probes"),
                "steps": o.get("steps"),
                "params": o.get("params"),
                "seconds": o.get("seconds"),
            }
    return out


@click.command("demo")
@click.option("--seeds", type=click.IntRange(1, 50), help="Run N seeds (default: the file's).")
@click.option(
    "--first-seed",
    type=click.IntRange(0),
    default=0,
    show_default=True,
    help="Number the seeds from here (seeds K..K+N-1): fresh seeds for a confirming run.",
)
@click.option("--experiment", "experiment", help="Experiment file [default: toy-world.yaml].")
@click.option("--run-name", help="Run folder name. [default: toy-world or toy-world-<N>seeds]")
@click.option(
    "--log-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="MSMKIT_LOG_DIR",
    help="Where runs and the stage store go. [default: logs; env: MSMKIT_LOG_DIR]",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON on stdout.")
@no_report_option
def demo_cmd(seeds, first_seed, experiment, run_name, log_dir, as_json, no_report=False) -> None:
    """Show the MSM effect in a toy world, from scratch, on a CPU (3-4 minutes a seed).

    A small model is pretrained on an invented world (items cheap or dear, american or
    foreign), midtrained on documents about an affordability spec, an America spec or a
    sham spec (or not at all), fine-tuned on the same cheese preferences, and asked about
    pairs in held-out domains where the two values disagree.
    """
    os.environ.setdefault("OMP_NUM_THREADS", "2")
    from msmkit.experiment import read_experiment
    from msmkit.files import write_json_atomic
    from msmkit.run.api import Run
    from msmkit.toyworld import report
    from msmkit.ui import RunUI

    started = time.monotonic()
    ef = _with_seeds(read_experiment(find_experiment(experiment)), seeds, first_seed)
    n = len(ef.experiment.all_seeds())
    name = run_name or (ef.experiment.name if n == 1 else f"{ef.experiment.name}-{n}seeds")
    run = Run(ef, run_name=name, log_dir=log_dir, ui=RunUI(quiet=as_json), on_update=status_hook)
    graph = run.plan()
    folder = run.folder
    console = err_console()
    if not as_json:
        todo = sum(1 for node in graph.ordered() if node.stage.status != "done")
        console.print(
            f"[bold]msmkit demo[/]: {len(graph.arms)} arms × {n} seed(s), "
            f"{len(graph.ordered())} stages ({todo} to run); stages are cached in "
            f"{graph.store.root}"
        )
    result = run.execute()
    summary = report.summarize(demo_logs(graph, result.statuses))
    summary["base"] = base_probes(graph)
    summary["wall_seconds"] = round(time.monotonic() - started, 1)
    write_json_atomic(folder.path / "demo.json", summary)
    (folder.path / "demo.md").write_text(report.to_markdown(summary))
    after_run(folder.path, no_report=no_report)
    if as_json:
        click.echo(json.dumps(summary, indent=2, default=str))
        result.raise_first_failure()
        return
    for seed, base in sorted(summary["base"].items()):
        p = base["probes"] or {}
        console.print(
            f"seed {seed}: base model {base['params']:,} parameters, {base['steps']} "
            f"pretraining steps; knowledge probes price {p.get('price', 0):.2f}, origin "
            f"{p.get('origin', 0):.2f}, answer format {p.get('format', 0):.2f}, answer mass "
            f"{p.get('answer_mass', 0):.2f}"
        )
    out_console().print(report.to_rich(summary, f"{graph.exp.name}: OOD conflict pairs"))
    for sentence in report.sentences(summary):
        out_console().print(sentence)
    console.print(
        f"Run folder: {folder.path} (demo.md, demo.json, comparison.md); "
        f"{summary['wall_seconds']:.0f} s"
    )
    result.raise_first_failure()
