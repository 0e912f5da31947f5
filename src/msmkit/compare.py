"""The comparison table printed at the end of ``msmkit run``.

A metric named ``<x>_rate`` with a sibling ``<x>_n`` (how many samples the rate is over) is
shown with its Wilson 95% interval; ``*_n`` columns themselves are folded into those cells.
"""

from __future__ import annotations

import math
from typing import Any


def wilson(rate: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval for a proportion."""
    if n <= 0:
        return (0.0, 1.0)
    denom = 1 + z * z / n
    centre = (rate + z * z / (2 * n)) / denom
    half = z * math.sqrt(rate * (1 - rate) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def columns(results: dict[str, dict[str, dict[str, float]]]) -> list[tuple[str, str]]:
    """(task, metric) pairs present in any arm, in first-seen order, without ``*_n``."""
    seen: list[tuple[str, str]] = []
    for per_task in results.values():
        for task, metrics in per_task.items():
            for metric in metrics:
                if metric.endswith("_n") or (task, metric) in seen:
                    continue
                seen.append((task, metric))
    return seen


def cell(metrics: dict[str, float], metric: str) -> dict[str, Any] | None:
    if metric not in metrics:
        return None
    value = metrics[metric]
    out: dict[str, Any] = {"value": value}
    if metric.endswith("_rate"):
        n = metrics.get(metric[: -len("_rate")] + "_n")
        if n is not None:
            lo, hi = wilson(value, int(n))
            out.update(n=int(n), ci95=[round(lo, 4), round(hi, 4)])
    return out


def comparison(results: dict[str, dict[str, dict[str, float]]]) -> dict[str, Any]:
    cols = columns(results)
    return {
        "columns": [f"{t}/{m}" for t, m in cols],
        "arms": {
            arm: {f"{t}/{m}": cell(per_task.get(t, {}), m) for t, m in cols}
            for arm, per_task in results.items()
        },
    }


def _fmt(c: dict[str, Any] | None) -> str:
    if c is None:
        return "—"
    text = f"{c['value']:.3f}"
    if "ci95" in c:
        text += f" [{c['ci95'][0]:.2f}, {c['ci95'][1]:.2f}] n={c['n']}"
    return text


def to_markdown(table: dict[str, Any]) -> str:
    cols = table["columns"]
    lines = ["| arm | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for arm, cells in table["arms"].items():
        lines.append(f"| {arm} | " + " | ".join(_fmt(cells[c]) for c in cols) + " |")
    return "\n".join(lines) + "\n"


def to_rich(table: dict[str, Any], title: str) -> list[Any]:
    """One rich table per task, metrics as rows and arms as columns (fits a terminal)."""
    from rich.table import Table

    by_task: dict[str, list[str]] = {}
    for col in table["columns"]:
        task, _, metric = col.partition("/")
        by_task.setdefault(task, []).append(metric)
    out = []
    for task, metrics in by_task.items():
        t = Table(title=f"{title}: {task}", title_justify="left")
        t.add_column("metric")
        for arm in table["arms"]:
            t.add_column(arm, justify="right")
        for metric in metrics:
            cells = [_fmt(table["arms"][arm][f"{task}/{metric}"]) for arm in table["arms"]]
            t.add_row(metric, *cells)
        out.append(t)
    return out
