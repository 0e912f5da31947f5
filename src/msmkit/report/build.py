"""``msmkit report``: one or more run folders -> a report folder.

The folder holds ``report.html`` (self-contained), ``report.md`` with ``figures/*.svg``,
``report.json`` (every number and the data of every figure), ``comparison.json`` (the
comparison the page shows: the run's own, or one recomputed from the eval logs when runs are
merged or arms pooled over a seed axis) and CSV tables.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from msmkit.report import extras, figures
from msmkit.report.runs import (
    FINAL,
    ReportArm,
    RunData,
    comparison_for,
    load_run,
    per_seed_cells,
    report_arms,
)


def _toy_summary(runs: list[RunData], arms: list[ReportArm]) -> dict[str, Any] | None:
    """The toy world's summary (``msmkit demo`` runs only): the run's ``demo.json``, or, for
    merged demo runs, recomputed from their toy_world logs."""
    from msmkit.toyworld import report as toy

    if not all(run.demo and run.demo.get("cells") for run in runs):
        return None
    if len(runs) == 1:
        summary = dict(runs[0].demo or {})
    else:
        phases = {"before_aft": "msm", FINAL: "aft"}
        logs = {
            (arm.label, phases[ref.phase], int(ref.seed)): ref.log
            for arm in arms
            for ref in arm.evals
            if ref.task == "toy_world" and ref.phase in phases and ref.scored
        }
        if not logs:
            return None
        summary = toy.summarize(logs)
    summary["sentences"] = toy.sentences(summary)
    return summary


def build_report(paths: list[str | Path], *, title: str | None = None) -> dict[str, Any]:
    """Everything the report shows, as JSON-ready data (figures as data, not yet drawn)."""
    from msmkit import __version__

    runs = [load_run(p) for p in paths]
    arms, notes = report_arms(runs)
    comparison, source = comparison_for(runs, arms)
    per_seed = per_seed_cells(arms, comparison)
    sizes = {a.label: extras.aft_size(a) for a in arms}
    am = extras.am_conditions(arms)
    figs: list[dict[str, Any]] = []
    demo = _toy_summary(runs, arms)
    if demo:
        toy = figures.toy_figure(demo)
        if toy:
            figs.append(toy)
    metric_figs, fig_notes = figures.metric_figures(comparison, arms, per_seed)
    figs += metric_figs
    efficiency, eff_notes = figures.efficiency_figures(comparison, arms, sizes)
    figs += efficiency
    for extra in (figures.am_figure(am), figures.pattern_figure(comparison, arms)):
        if extra:
            figs.append(extra)
    names = list(dict.fromkeys((r.manifest.get("experiment") or {}).get("name") for r in runs))
    return {
        "title": title or ("Report: " + ", ".join(str(n) for n in names)),
        "generated": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "msmkit_version": __version__,
        "runs": [extras.manifest_summary(r) for r in runs],
        "arms": [
            {
                "label": a.label,
                "axes": a.axes,
                "members": [{"run": r, "arm": n} for r, n in a.members],
                "spec": a.spec,
                "replicates": a.replicates,
                "aft_size": sizes[a.label],
            }
            for a in arms
        ],
        "comparison_source": source,
        "comparison": comparison,
        "per_seed": per_seed,
        "am_conditions": am,
        "spec_diffs": extras.spec_diffs(arms),
        "eval_logs": extras.eval_logs(arms),
        "demo": demo,
        "figures": figs,
        "notes": [*notes, *comparison.get("notes", []), *fig_notes, *eff_notes],
    }


def write_report(
    paths: list[str | Path], out: str | Path, *, title: str | None = None
) -> dict[str, Path]:
    """Build and write the report into ``out``; returns the files by role."""
    from msmkit.files import write_json_atomic
    from msmkit.report import draw, page, text

    data = build_report(paths, title=title)
    out = Path(out)
    (out / "figures").mkdir(parents=True, exist_ok=True)
    svgs: dict[str, str] = {}
    files: dict[str, str] = {}
    for fig in data["figures"]:
        svg = draw.draw(fig)
        svgs[fig["id"]] = svg
        name = f"figures/{fig['id']}.svg"
        (out / name).write_text(svg, encoding="utf-8")
        files[fig["id"]] = name
    html = out / "report.html"
    html.write_text(page.to_html(data, svgs), encoding="utf-8")
    markdown = out / "report.md"
    markdown.write_text(text.to_markdown(data, files), encoding="utf-8")
    write_json_atomic(out / "report.json", data)
    write_json_atomic(out / "comparison.json", data["comparison"])
    text.write_csvs(data, out)
    return {"html": html, "markdown": markdown, "json": out / "report.json", "dir": out}
