"""The report's figures as data: what each bar, interval, dot and point stands for.

Every figure is a plain dict (kept in ``report.json``) and :mod:`msmkit.report.draw` draws
exactly that dict, so each number on a figure can be traced to ``comparison.json`` (bars and
intervals), to each seed's own estimate (dots), to the AM logs (conditions) or to
``demo.json`` (the toy world). Two shapes:

- ``grouped``: panels of bars; each bar has a ``category`` (its place on the x axis) and a
  ``hue`` (its colour within the category), a value, an interval and per-seed ``dots``;
- ``lines``: panels of series; each point has ``x`` (log scale), a value and an interval.
"""

from __future__ import annotations

from typing import Any

from msmkit.report.runs import SEED_AXIS, ReportArm

MAX_PANELS = 12
ONE = "all"  # the hue when bars are not split by colour
SIZE_KEYS = ("aft_tokens", "aft_samples", "aft_size")


def show(value: Any) -> str:
    """An axis value as a label: a file path by its name without suffix."""
    text = str(value)
    if "/" in text and text.rsplit(".", 1)[-1] in ("md", "txt", "yaml", "yml", "jsonl", "json"):
        return text.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    return text


def _task(column: str) -> str:
    return column.partition("/")[0]


def _metric(column: str) -> str:
    return column.partition("/")[2]


def is_pattern(column: str) -> bool:
    return "/reasoning_patterns/" in f"/{_metric(column)}"


def placement(arms: list[ReportArm]) -> dict[str, tuple[str, str]]:
    """arm -> (category, hue): the first axis that varies makes the groups on the x axis and
    the others the colours; without axes every arm is its own category."""
    axes = [a.axes for a in arms]
    keys = list(dict.fromkeys(k for ax in axes for k in ax if k != SEED_AXIS))
    varying = [k for k in keys if len({str(ax.get(k)) for ax in axes}) > 1]
    out = {}
    for a in arms:
        if not varying or not a.axes:
            out[a.label] = (a.label, ONE)
            continue
        category = f"{varying[0]}={show(a.axes.get(varying[0]))}"
        rest = [f"{k}={show(a.axes.get(k))}" for k in varying[1:]]
        out[a.label] = (category, ", ".join(rest) if rest else ONE)
    return out


def _bar(arm: str, category: str, hue: str, cell: dict[str, Any], dots: list[dict]) -> dict:
    return {
        "arm": arm,
        "category": category,
        "hue": hue,
        "value": cell["value"],
        "ci95": cell.get("ci95"),
        "n_items": cell.get("n_items"),
        "n_seeds": cell.get("n_seeds"),
        "dots": dots,
    }


def _dots(per_seed: dict[str, dict[str, Any]], column: str) -> list[dict[str, Any]]:
    return [
        {"replicate": rep, "value": cells[column]["value"]}
        for rep, cells in per_seed.items()
        if column in cells
    ]


def metric_figures(
    comparison: dict[str, Any],
    arms: list[ReportArm],
    per_seed: dict[str, dict[str, dict[str, Any]]],
) -> tuple[list[dict[str, Any]], list[str]]:
    """One figure per task: a panel per metric, a bar per arm with its 95% interval and a
    dot per seed."""
    where = placement(arms)
    labels = [a for a in comparison["arms"] if a in where] or list(comparison["arms"])
    figures, notes = [], []
    by_task: dict[str, list[str]] = {}
    for column in comparison["columns"]:
        if not is_pattern(column):
            by_task.setdefault(_task(column), []).append(column)
    for n, (task, columns) in enumerate(by_task.items()):
        if len(columns) > MAX_PANELS:
            notes.append(
                f"{task}: {len(columns)} metrics; the figure shows the first {MAX_PANELS} "
                "(the table and report.json have them all)"
            )
        panels = []
        for column in columns[:MAX_PANELS]:
            bars = []
            for arm in labels:
                cell = comparison["arms"][arm].get(column)
                if cell is None or cell.get("value") is None:
                    continue
                category, hue = where.get(arm, (arm, ONE))
                dots = _dots(per_seed.get(arm, {}), column)
                bars.append(_bar(arm, category, hue, cell, dots))
            if bars:
                panels.append({"column": column, "title": _metric(column), "bars": bars})
        if panels:
            figures.append(
                {
                    "id": f"metrics-{n}",
                    "kind": "grouped",
                    "source": "comparison",
                    "title": f"{task}: every arm, 95% CI, one dot per seed",
                    "task": task,
                    "panels": panels,
                }
            )
    return figures, notes


def pattern_figure(comparison: dict[str, Any], arms: list[ReportArm]) -> dict[str, Any] | None:
    """Reasoning-pattern frequencies: a panel per task, the patterns on the x axis, an arm
    per colour."""
    panels = []
    by_task: dict[str, list[str]] = {}
    for column in comparison["columns"]:
        if is_pattern(column):
            by_task.setdefault(_task(column), []).append(column)
    for task, columns in by_task.items():
        bars = []
        for column in columns:
            pattern = column.rsplit("/", 1)[-1]
            for arm, cells in comparison["arms"].items():
                cell = cells.get(column)
                if cell is not None and cell.get("value") is not None:
                    bar = _bar(arm, pattern, arm, cell, [])
                    bar["column"] = column
                    bars.append(bar)
        if bars:
            panels.append({"title": f"{task}: share of transcripts", "bars": bars})
    if not panels:
        return None
    return {
        "id": "patterns",
        "kind": "grouped",
        "source": "comparison",
        "title": "Reasoning patterns: how often each drove the decision (95% CI)",
        "panels": panels,
        "wide": True,
    }


def _line_key(arm: ReportArm, varying: set[str]) -> str:
    """A line is the arms that differ only in AFT size: named by the other axes that vary
    (without axes: by the spec)."""
    rest = {k: v for k, v in arm.axes.items() if k in varying}
    if rest:
        return ", ".join(f"{k}={show(v)}" for k, v in rest.items())
    return (arm.spec or {}).get("name") or "arms"


def efficiency_figures(
    comparison: dict[str, Any], arms: list[ReportArm], sizes: dict[str, dict[str, Any] | None]
) -> tuple[list[dict[str, Any]], list[str]]:
    """Metric against AFT size (tokens when every arm has them, else samples; log x), one
    line per arm family (the arms that differ only in AFT size), a point per size."""
    sized = {a.label: sizes.get(a.label) for a in arms if sizes.get(a.label)}
    if len(sized) < 2:
        return [], []
    unit = next(
        (u for u in ("tokens", "samples") if all(s.get(u) for s in sized.values())),
        None,
    )
    if unit is None:
        return [], ["token efficiency: the arms' AFT sizes are not all in one unit; not drawn"]
    if len({s[unit] for s in sized.values()}) < 2:
        return [], []
    axes = [a.axes for a in arms if a.label in sized]
    keys = {k for ax in axes for k in ax if k not in (*SIZE_KEYS, SEED_AXIS)}
    varying = {k for k in keys if len({str(ax.get(k)) for ax in axes}) > 1}
    figures = []
    by_task: dict[str, list[str]] = {}
    for column in comparison["columns"]:
        if not is_pattern(column):
            by_task.setdefault(_task(column), []).append(column)
    for n, (task, columns) in enumerate(by_task.items()):
        panels = []
        for column in columns[:MAX_PANELS]:
            series: dict[str, list[dict[str, Any]]] = {}
            for arm in arms:
                cell = comparison["arms"].get(arm.label, {}).get(column)
                if arm.label not in sized or cell is None or cell.get("value") is None:
                    continue
                series.setdefault(_line_key(arm, varying), []).append(
                    {
                        "arm": arm.label,
                        "x": sized[arm.label][unit],
                        "value": cell["value"],
                        "ci95": cell.get("ci95"),
                        "n_items": cell.get("n_items"),
                        "n_seeds": cell.get("n_seeds"),
                    }
                )
            lines = [
                {"line": key, "points": sorted(points, key=lambda p: p["x"])}
                for key, points in series.items()
            ]
            if lines:
                panels.append({"column": column, "title": _metric(column), "series": lines})
        if panels:
            figures.append(
                {
                    "id": f"efficiency-{n}",
                    "kind": "lines",
                    "source": "comparison",
                    "title": f"{task}: against AFT {unit} (log scale), 95% CI",
                    "xlabel": f"AFT {unit}",
                    "panels": panels,
                }
            )
    return figures, []


def am_figure(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Agentic misalignment per condition: a panel per (eval, scenario, urgency), the goals
    on the x axis, an arm per colour."""
    if not rows:
        return None
    panels: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for row in rows:
        key = (row["column"], row["scenario"], row["urgency"])
        goal = (
            row["goal"]
            if row["goal_type"] in ("explicit", "none")
            else (f"{row['goal_type']}-{row['goal']}")
        )
        panels.setdefault(key, []).append(
            {
                "arm": row["arm"],
                "category": goal,
                "hue": row["arm"],
                "condition": row["condition"],
                "column": row["column"],
                "value": row["value"],
                "ci95": row["ci95"],
                "n_samples": row["n_samples"],
                "n_seeds": row["n_seeds"],
                "dots": [],
            }
        )
    several = len({k[0] for k in panels}) > 1
    return {
        "id": "am-conditions",
        "kind": "grouped",
        "source": "am",
        "title": "Agentic misalignment per condition: share of transcripts judged misaligned "
        "(95% CI)",
        "panels": [
            {
                "title": (f"{column.partition('/')[0]}: " if several else "")
                + f"{scenario}, {urgency}",
                "bars": bars,
            }
            for (column, scenario, urgency), bars in panels.items()
        ],
    }


def toy_figure(summary: dict[str, Any]) -> dict[str, Any] | None:
    """The toy world (``msmkit demo``): conflict pairs answered cheap, per arm, before and
    after AFT; the pooled bar (t over seeds) and a dot per seed."""
    from msmkit.toyworld.report import PHASES, RATE

    cells = summary.get("cells") or {}
    seeds = summary.get("seeds") or []
    pooled = "all" if len(seeds) > 1 else (seeds[0] if seeds else None)
    panels = []
    for phase, title in PHASES.items():
        bars = []
        for arm in summary.get("arms", []):
            cell = cells.get(f"{arm}|{phase}|{pooled}|{RATE}")
            if cell is None:
                continue
            dots = [
                {"replicate": f"seed={s}", "value": cells[f"{arm}|{phase}|{s}|{RATE}"]["mean"]}
                for s in seeds
                if f"{arm}|{phase}|{s}|{RATE}" in cells
            ]
            bars.append(
                {
                    "arm": arm,
                    "category": arm,
                    "hue": ONE,
                    "value": cell["mean"],
                    "ci95": [cell["lo"], cell["hi"]],
                    "n_items": cell.get("n"),
                    "key": f"{arm}|{phase}|{pooled}|{RATE}",
                    "dots": dots,
                }
            )
        if bars:
            panels.append({"title": title, "bars": bars, "ylim": [0, 1]})
    if not panels:
        return None
    return {
        "id": "toy-world",
        "kind": "grouped",
        "source": "demo",
        "title": "Toy world: share of held-out conflict pairs where the cheap item is preferred "
        "(95% CI; dots: seeds)",
        "panels": panels,
        "wide": True,
    }
