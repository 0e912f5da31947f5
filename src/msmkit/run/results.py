"""A finished (or partly finished) run's results: eval logs per arm and metrics per seed,
every eval named by its name in the arm (so two evals of one task are two columns)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def arm_logs(graph: Any, statuses: dict[str, str]) -> dict[str, list[tuple[str, Path, str]]]:
    """arm -> [(replicate label, eval log path, eval name)] for every finished final eval
    that scored something (see :func:`unscored_notes` for the others)."""
    out: dict[str, list[tuple[str, Path, str]]] = {}
    for name, info in graph.arms.items():
        logs = []
        for chain in info.chains:
            for step in chain.eval_steps:
                if not step.final:
                    continue
                node = step.node
                outputs = node.stage.outputs()
                if statuses.get(node.id) != "done" or "log" not in outputs:
                    continue
                if not outputs.get("unscored"):
                    logs.append((f"seed={chain.seed}", node.stage.dir / outputs["log"], step.name))
        out[name] = logs
    return out


def unscored_notes(graph: Any, statuses: dict[str, str]) -> list[str]:
    """One line per finished eval that scored nothing: the comparison leaves it out rather
    than show its empty rates as zeros."""
    notes = []
    for name, info in graph.arms.items():
        for chain in info.chains:
            for step in chain.eval_steps:
                reason = step.node.stage.outputs().get("unscored")
                if step.final and statuses.get(step.node.id) == "done" and reason:
                    notes.append(f"{name} (seed={chain.seed}) {step.name}: no result: {reason}")
    return notes


def renamed(metrics: dict[str, Any], task: str, name: str) -> dict[str, Any]:
    """``task/scorer/metric`` keys as ``name/scorer/metric``."""
    if name == task:
        return dict(metrics)
    prefix = f"{task}/"
    return {
        (f"{name}/{key[len(prefix) :]}" if key.startswith(prefix) else key): value
        for key, value in metrics.items()
    }


def results_of(graph: Any) -> dict[str, Any]:
    """arm -> seed -> metrics (eval name/scorer/metric) as Inspect reported them."""
    out: dict[str, Any] = {}
    for name, info in graph.arms.items():
        per_seed = {}
        for chain in info.chains:
            metrics: dict[str, Any] = {}
            for step in chain.eval_steps:
                if step.final:
                    found = step.node.stage.outputs().get("metrics", {})
                    metrics.update(renamed(found, step.task, step.name))
            per_seed[str(chain.seed)] = metrics
        out[name] = per_seed
    return out
