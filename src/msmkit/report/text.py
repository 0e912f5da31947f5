"""The report as Markdown (for papers and READMEs) and as CSV tables (every number on the
page), plus the plain-words sentences both the page and the Markdown use."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Any


def num(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:.{digits}f}"


def interval(ci: list[float] | None, signed: bool = False) -> str:
    if not ci:
        return "[n/a]"
    spec = "+.3f" if signed else ".3f"
    return f"[{ci[0]:{spec}}, {ci[1]:{spec}}]"


def p_text(p: float | None) -> str:
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "n/a"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def dollars(value: Any) -> str:
    return "—" if value is None else f"${float(value):,.2f}"


def seconds(value: Any) -> str:
    if value is None:
        return "—"
    s = float(value)
    if s < 90:
        return f"{s:.0f} s"
    if s < 5400:
        return f"{s / 60:.1f} min"
    return f"{s / 3600:.1f} h"


def contrast_sentence(pair: dict[str, Any], correction: str | None = None) -> str:
    """One pair of the comparison in plain words (``correction``: the comparison's, e.g.
    ``holm``, which gives each pair a ``p_adjusted``)."""
    ci = pair.get("ci95")
    where = (
        "the 95% interval excludes 0"
        if ci and (ci[0] > 0 or ci[1] < 0)
        else ("the 95% interval includes 0" if ci else "no interval")
    )
    named = {"holm": "Holm-corrected"}.get(str(correction), f"{correction}-corrected")
    corrected = ""
    if pair.get("p_adjusted") is not None:
        corrected = f" ({named} p = {p_text(pair['p_adjusted'])})"
    elif correction in (None, "none"):
        corrected = " (not corrected for multiple comparisons)"
    return (
        f"{pair['a']} − {pair['b']} on {pair['metric']}: {pair['diff']:+.3f} "
        f"{interval(ci, signed=True)} ({where}), p = {p_text(pair.get('p_value'))}"
        f"{corrected}; {pair.get('test', '?')}, {pair.get('n_items', '?')} items."
    )


# ----------------------------------------------------------------------------- CSV


def _csv(rows: list[dict[str, Any]], columns: list[str]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in columns})
    return buf.getvalue()


def _ci_cols(row: dict[str, Any]) -> dict[str, Any]:
    ci = row.get("ci95") or [None, None]
    return {"ci95_low": ci[0], "ci95_high": ci[1]}


CELL_COLS = ["arm", "column", "value", "ci95_low", "ci95_high", "n_items", "n_samples"]
CELL_COLS += ["n_seeds", "method"]


def csv_tables(data: dict[str, Any]) -> dict[str, str]:
    """file name -> CSV text: every number the page shows."""
    comparison = data["comparison"]
    cells = [
        {"arm": arm, "column": col, **cell, **_ci_cols(cell)}
        for arm, row in comparison["arms"].items()
        for col, cell in row.items()
        if cell is not None
    ]
    pair_cols = ["metric", "a", "b", "diff", "ci95_low", "ci95_high", "p_value", "test"]
    pair_cols += ["n_items", "paired", "n_unshared_items"]
    extra = sorted({k for p in comparison["pairs"] for k in p} - {*pair_cols, "ci95"})
    out = {
        "cells.csv": _csv(cells, CELL_COLS),
        "pairs.csv": _csv([{**p, **_ci_cols(p)} for p in comparison["pairs"]], pair_cols + extra),
    }
    seeds = [
        {"arm": arm, "replicate": rep, "column": col, **cell, **_ci_cols(cell)}
        for arm, reps in data["per_seed"].items()
        for rep, row in reps.items()
        for col, cell in row.items()
    ]
    out["per_seed.csv"] = _csv(seeds, ["arm", "replicate", *CELL_COLS[1:]])
    if data["am_conditions"]:
        am_cols = ["column", "arm", "condition", "scenario", "goal", "goal_type", "urgency"]
        am_cols += ["value", "ci95_low", "ci95_high", "n_samples", "n_seeds", "method"]
        out["am_conditions.csv"] = _csv(
            [{**r, **_ci_cols(r)} for r in data["am_conditions"]], am_cols
        )
    points = []
    for fig in data["figures"]:
        for panel in fig["panels"]:
            for bar in panel.get("bars", []):
                points.append(
                    {
                        "figure": fig["id"],
                        "panel": panel["title"],
                        **bar,
                        **_ci_cols(bar),
                        "x": None,
                    }
                )
                for dot in bar.get("dots", []):
                    points.append(
                        {
                            "figure": fig["id"],
                            "panel": panel["title"],
                            "arm": bar["arm"],
                            "replicate": dot["replicate"],
                            "value": dot["value"],
                            "mark": "seed dot",
                        }
                    )
            for series in panel.get("series", []):
                for pt in series["points"]:
                    points.append(
                        {
                            "figure": fig["id"],
                            "panel": panel["title"],
                            "line": series["line"],
                            **pt,
                            **_ci_cols(pt),
                        }
                    )
    fig_cols = ["figure", "panel", "arm", "category", "hue", "line", "replicate", "mark", "x"]
    fig_cols += ["value", "ci95_low", "ci95_high", "n_items", "n_samples", "n_seeds"]
    out["figures.csv"] = _csv(points, fig_cols)
    stages = [{"run": r["run"], **s} for r in data["runs"] for s in r["stages"]]
    out["stages.csv"] = _csv(
        stages, ["run", "stage", "kind", "label", "status", "seconds", "gpu_seconds", "dollars"]
    )
    return out


# ------------------------------------------------------------------------ Markdown


def to_markdown(data: dict[str, Any], figure_files: dict[str, str]) -> str:
    from msmkit import compare

    lines = [
        f"# {data['title']}",
        "",
        f"Generated {data['generated']} by msmkit "
        f"{data['msmkit_version']}. Numbers: {data['comparison_source']}.",
        "",
    ]
    demo = data.get("demo")
    if demo and demo.get("sentences"):
        lines += ["## Verdict (toy world)", ""] + [f"- {s}" for s in demo["sentences"]] + [""]
    for fig in data["figures"]:
        if fig["id"] in figure_files:
            lines += [f"![{fig['title']}]({figure_files[fig['id']]})", ""]
    lines += ["## Results", "", compare.to_markdown(data["comparison"]).rstrip(), ""]
    pairs = data["comparison"]["pairs"]
    if pairs:
        correction = data["comparison"].get("correction")
        lines += ["## Contrasts in words", ""]
        lines += [f"- {contrast_sentence(p, correction)}" for p in pairs]
        lines.append("")
    if data["am_conditions"]:
        lines += [
            "## Agentic misalignment per condition",
            "",
            "| eval | arm | condition | rate [95% CI] | samples |",
            "|---|---|---|---|---|",
        ]
        for r in data["am_conditions"]:
            lines.append(
                f"| {r['column'].partition('/')[0]} | {r['arm']} | {r['condition']} | "
                f"{num(r['value'])} {interval(r['ci95'])} | {r['n_samples']} |"
            )
        lines.append("")
    for diff in data["spec_diffs"]:
        lines += [
            f"## Spec diff: {diff['a']['name']} → {diff['b']['name']}",
            "",
            f"Arms {', '.join(diff['a']['arms'])} vs {', '.join(diff['b']['arms'])}.",
            "",
        ]
        lines += ["```diff", (diff["diff"] or diff.get("note", "")).rstrip(), "```", ""]
    for run in data["runs"]:
        lines += manifest_markdown(run)
    lines += [
        "## Eval logs",
        "",
        "| arm | seed | eval | phase | status | view |",
        "|---|---|---|---|---|---|",
    ]
    for log in data["eval_logs"]:
        status = log["status"] + (" (nothing scored)" if log["unscored"] else "")
        lines.append(
            f"| {log['arm']} | {log['replicate']} | {log['eval']} | {log['phase']} | "
            f"{status} | `{log['view']}` |"
        )
    notes = data["notes"]
    if notes:
        lines += ["", "## Notes", ""] + [f"- {n}" for n in notes]
    return "\n".join(lines).rstrip() + "\n"


def manifest_markdown(run: dict[str, Any]) -> list[str]:
    source = run.get("source") or {}
    commit = source.get("commit")
    version = f"msmkit {run.get('msmkit_version')}"
    if commit:
        version += f", commit {commit[:12]}" + (" (dirty tree)" if source.get("dirty") else "")
    base = run.get("base_model") or {}
    totals = run.get("totals") or {}
    lines = [
        f"## Run {run['run']}",
        "",
        f"- experiment: {(run.get('experiment') or {}).get('name')} "
        f"(config {str(run.get('config_hash'))[:12]}); {version}",
        f"- command: `{' '.join(run.get('argv') or [])}`",
        f"- base model: {base.get('model')} (revision {base.get('revision') or 'n/a'})",
        f"- spent: {dollars(totals.get('dollars'))}, GPU time {seconds(totals.get('gpu_seconds'))}",
        "",
        "| stage | status | time | GPU time | $ |",
        "|---|---|---|---|---|",
    ]
    for s in run["stages"]:
        lines.append(
            f"| {s['label']} ({s['stage']}) | {s['status']} | {seconds(s['seconds'])} | "
            f"{seconds(s['gpu_seconds'])} | {dollars(s['dollars'])} |"
        )
    return [*lines, ""]


def write_csvs(data: dict[str, Any], out: Path) -> list[Path]:
    paths = []
    for name, text in csv_tables(data).items():
        path = out / name
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths
