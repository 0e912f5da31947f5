"""The run's status (:func:`msmkit.report.status.collect`) as a terminal table and as
``status.html``: a self-contained page that reloads itself while a stage runs, with a few
lines of inline script that keep the running stages' elapsed time ticking."""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

from msmkit.report.page import CSS, table
from msmkit.report.text import dollars, seconds

STATE_STYLE = {
    "done": "green",
    "running": "yellow",
    "waiting": "cyan",
    "failed": "red",
    "interrupted": "red",
    "blocked": "dim",
    "todo": "dim",
}
REFRESH_S = 15


def _time(row: dict[str, Any]) -> str:
    if row["state"] == "done":
        return seconds(row.get("seconds"))
    if row["state"] in ("running", "interrupted"):
        text = f"{seconds(row.get('elapsed'))} so far"
        if row.get("progress"):
            p = row["progress"]
            text += f", step {p['step']}/{p['total']}"
        if row.get("eta") is not None:
            text += f", ~{seconds(row['eta'])} left"
        return text
    if row.get("estimate") is not None:
        return f"~{seconds(row['estimate'])} (mean of {row['estimate_from']} done)"
    return ""


def _money(row: dict[str, Any]) -> str:
    parts = []
    if row.get("dollars") is not None:
        parts.append(dollars(row["dollars"]))
    elif row.get("est_dollars"):
        parts.append(f"~{dollars(row['est_dollars'])} est.")
    if row.get("budget_usd"):
        parts.append(f"cap {dollars(row['budget_usd'])}")
    return ", ".join(parts)


def _detail(row: dict[str, Any]) -> list[str]:
    out = []
    if row.get("waiting"):
        out.append("waiting for " + "; ".join(row["waiting"]))
    if row.get("blocks"):
        out.append(f"blocks {len(row['blocks'])} stage(s): " + ", ".join(row["blocks"][:6]))
    if row.get("error"):
        out.append(f"error: {row['error']}")
    if row["state"] == "interrupted":
        out.append("the process that ran it is gone; rerun the same command to resume")
    return out


def summary_line(status: dict[str, Any]) -> str:
    counts = ", ".join(f"{n} {state}" for state, n in status["counts"].items())
    money = f"spent {dollars(status['spent_usd'])}"
    if status.get("budget_usd"):
        money += f" (cap {dollars(status['budget_usd'])} per paid stage)"
    if status.get("est_usd"):
        money += f" of ~{dollars(status['est_usd'])} planned"
    left = ""
    if status["remaining_seconds"]:
        approx = "" if status["remaining_known"] else " (some stages have no estimate)"
        left = f"; ~{seconds(status['remaining_seconds'])} of work left{approx}"
    return f"{len(status['stages'])} stages: {counts}; {money}{left}"


def to_rich(status: dict[str, Any]) -> list[Any]:
    from rich.markup import escape as rich_escape
    from rich.table import Table

    t = Table(
        title=f"{status['experiment']}: {status['path']} (as of {status['as_of']})",
        title_justify="left",
    )
    for name in ("stage", "arms", "state", "time", "$"):
        t.add_column(name, no_wrap=name in ("state",))
    for row in status["stages"]:
        style = STATE_STYLE.get(row["state"], "")
        t.add_row(
            rich_escape(f"{row['label']} ({row['stage']})"),
            rich_escape(", ".join(row["arms"])),
            f"[{style}]{row['state']}[/]" if style else row["state"],
            _time(row),
            _money(row),
        )
    out: list[Any] = [t, summary_line(status)]
    for row in status["stages"]:
        detail = _detail(row)
        if not detail and not row.get("log_tail"):
            continue
        out.append(f"[bold]{rich_escape(row['label'])}[/] ({row['stage']}):")
        out += [f"  {rich_escape(line)}" for line in detail]
        if row.get("log_tail"):
            out.append(f"  last lines of {rich_escape(str(row['log']))}:")
            out += [f"    [dim]{rich_escape(line)}[/]" for line in row["log_tail"]]
    return out


TICK = """<script>
(function () {
  function fmt(s) { return s < 90 ? Math.round(s) + " s" : s < 5400 ?
    (s / 60).toFixed(1) + " min" : (s / 3600).toFixed(1) + " h"; }
  function tick() {
    var now = Date.now() / 1000;
    document.querySelectorAll("[data-since]").forEach(function (el) {
      el.textContent = fmt(now - parseFloat(el.getAttribute("data-since"))) + " so far";
    });
  }
  tick(); setInterval(tick, 1000);
})();
</script>"""


def to_html(status: dict[str, Any]) -> str:
    e = escape
    rows = []
    for row in status["stages"]:
        time_cell = e(_time(row))
        if row["state"] == "running" and row.get("started_epoch"):
            rest = time_cell.split(" so far", 1)[1] if " so far" in time_cell else ""
            time_cell = f'<span data-since="{row["started_epoch"]:.0f}">{time_cell}</span>{rest}'
        detail = "<br>".join(e(x) for x in _detail(row))
        if row.get("log_tail"):
            detail += (
                f"<details><summary>last lines of {e(str(row['log']))}</summary><pre>"
                + e("\n".join(row["log_tail"]))
                + "</pre></details>"
            )
        rows.append(
            [
                f"{e(row['label'])}<br><code>{e(row['stage'])}</code>",
                e(", ".join(row["arms"])),
                f'<span class="st-{e(row["state"])}">{e(row["state"])}</span>',
                time_cell,
                e(_money(row)),
                detail,
            ]
        )
    refresh = f'<meta http-equiv="refresh" content="{REFRESH_S}">' if status["active"] else ""
    css = CSS + (
        ".st-done{color:#0a6b1f}.st-running{color:#8a6d00}.st-waiting{color:#006d8a}"
        ".st-failed,.st-interrupted{color:#a3161b}.st-blocked,.st-todo{color:#777}"
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"{refresh}<title>status: {e(str(status['experiment']))}</title><style>{css}</style>"
        f"</head><body><header><h1>{e(str(status['experiment']))}: status</h1>"
        f'<p class="sub">{e(status["path"])}, as of {e(status["as_of"])}'
        + (f" (reloads every {REFRESH_S} s while a stage runs)" if status["active"] else "")
        + f"</p><p>{e(summary_line(status))}</p></header><main>"
        + table(["stage", "arms", "state", "time", "$", "details"], rows)
        + f"</main>{TICK if status['active'] else ''}</body></html>\n"
    )


def write_status_page(run_dir: str | Path) -> Path:
    """Collect the run's status and write ``status.html`` in its folder (atomically)."""
    import os

    from msmkit.report.status import collect

    path = Path(run_dir) / "status.html"
    tmp = path.with_name(f".status.html.{os.getpid()}.tmp")
    tmp.write_text(to_html(collect(run_dir)), encoding="utf-8")
    os.replace(tmp, path)
    return path
