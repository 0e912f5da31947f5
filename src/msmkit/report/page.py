"""The report as one self-contained HTML page: inline CSS and SVG, no script, no font, image
or style sheet from anywhere, so it opens from a file or an email attachment."""

from __future__ import annotations

from html import escape
from typing import Any

from msmkit.report.text import contrast_sentence, dollars, interval, num, p_text, seconds

CSS = """
:root { --fg:#1b1b1f; --muted:#5b5b66; --line:#dcdce3; --accent:#2a5bd7; --bg:#fff; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: var(--fg); background: var(--bg); margin: 0; }
header, main { max-width: 1180px; margin: 0 auto; padding: 0 20px; }
header { padding-top: 18px; border-bottom: 1px solid var(--line); }
h1 { font-size: 22px; margin: 4px 0; } h2 { font-size: 18px; margin-top: 28px; }
h3 { font-size: 15px; margin: 18px 0 6px; }
.sub { color: var(--muted); margin: 2px 0 10px; }
nav a { margin-right: 14px; color: var(--accent); text-decoration: none; font-size: 13px; }
table { border-collapse: collapse; margin: 8px 0 14px; font-size: 12.5px; }
th, td { border: 1px solid var(--line); padding: 3px 7px; text-align: left; vertical-align: top; }
th { background: #f4f4f8; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
figure.fig { margin: 10px 0 18px; } figure.fig svg { max-width: 100%; height: auto; }
figcaption { color: var(--muted); font-size: 12.5px; }
code, pre { font: 12px/1.4 ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; }
pre { background: #f7f7fa; border: 1px solid var(--line); padding: 8px; overflow-x: auto; }
.add { color: #0a6b1f; } .del { color: #a3161b; } .hunk { color: #6b4fbb; }
.warn { color: #8a4b00; } ul.notes li { margin: 3px 0; }
details { margin: 6px 0; } summary { cursor: pointer; color: var(--accent); }
div.wide { overflow-x: auto; } td { overflow-wrap: anywhere; } th { overflow-wrap: break-word; }
td.n { white-space: nowrap; overflow-wrap: normal; }
"""


def _e(value: Any) -> str:
    return escape(str(value), quote=True)


def table(header: list[str], rows: list[list[str]], numeric: set[int] | None = None) -> str:
    """A table of already escaped cells."""
    numeric = numeric or set()
    head = "".join(f"<th>{h}</th>" for h in header)
    head = f"<thead><tr>{head}</tr></thead>" if header else ""
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="n">{c}</td>' if i in numeric else f"<td>{c}</td>"
            for i, c in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table>{head}<tbody>{body}</tbody></table>"


def figure_html(fig: dict[str, Any], svg: str) -> str:
    return (
        f'<figure class="fig" id="fig-{_e(fig["id"])}" data-figure="{_e(fig["id"])}">'
        f"<h3>{_e(fig['title'])}</h3>{svg}"
        f"<figcaption>{_e(fig.get('caption', ''))}</figcaption></figure>"
    )


def _cell(cell: dict[str, Any] | None) -> str:
    if cell is None:
        return "—"
    size = f"n={cell.get('n_items')} items"
    if (cell.get("n_seeds") or 1) > 1:
        size += f", {cell['n_seeds']} seeds"
    return f"{num(cell.get('value'))} {interval(cell.get('ci95'))}<br><small>{_e(size)}</small>"


def results_html(data: dict[str, Any], svgs: dict[str, str]) -> str:
    """Per task: its figure, then a table with a row per arm (its axes as columns, when the
    arms have axes) and a column per metric."""
    from msmkit.report.figures import show

    comparison = data["comparison"]
    arms = list(comparison["arms"])
    axes_of = {a["label"]: a.get("axes") or {} for a in data["arms"]}
    axes = list(dict.fromkeys(k for a in arms for k in axes_of.get(a, {})))
    by_task: dict[str, list[str]] = {}
    for column in comparison["columns"]:
        by_task.setdefault(column.partition("/")[0], []).append(column)
    parts = []
    figs = {f.get("task"): f for f in data["figures"] if f["id"].startswith("metrics-")}
    for task, columns in by_task.items():
        if task in figs and figs[task]["id"] in svgs:
            parts.append(figure_html(figs[task], svgs[figs[task]["id"]]))
        else:
            parts.append(f"<h3>{_e(task)}</h3>")
        rows = [
            [_e(arm), *(_e(show(axes_of.get(arm, {}).get(k, ""))) for k in axes)]
            + [_cell(comparison["arms"][arm].get(col)) for col in columns]
            for arm in arms
        ]
        header = ["arm", *map(_e, axes), *(_e(c.partition("/")[2]) for c in columns)]
        numeric = set(range(1 + len(axes), len(header)))
        parts.append(f'<div class="wide">{table(header, rows, numeric)}</div>')
    if not comparison["columns"]:
        parts.append("<p>No scored samples to compare.</p>")
    return "".join(parts)


def contrasts_html(pairs: list[dict[str, Any]], correction: str | None = None) -> str:
    """Per task, the pairs of the comparison (diff = a − b), then the same in words."""
    if not pairs:
        return ""
    by_task: dict[str, list[dict[str, Any]]] = {}
    for p in pairs:
        by_task.setdefault(p["metric"].partition("/")[0], []).append(p)
    adjusted = any(p.get("p_adjusted") is not None for p in pairs)
    name = {"holm": "p (Holm)"}.get(str(correction), f"p ({correction})")
    header = ["metric", "a − b", "diff [95% CI]", "p", *([name] if adjusted else [])]
    header += ["test", "items"]
    parts = []
    for task, group in by_task.items():
        rows = []
        for p in group:
            row = [
                _e(p["metric"].partition("/")[2]),
                _e(f"{p['a']} − {p['b']}"),
                f"{p['diff']:+.3f} {interval(p.get('ci95'), signed=True)}",
                p_text(p.get("p_value")),
            ]
            if adjusted:
                row.append(p_text(p.get("p_adjusted")))
            rows.append([*row, _e(p.get("test", "")), _e(p.get("n_items", ""))])
        numeric = {2, 3, len(header) - 1} | ({4} if adjusted else set())
        parts += [f"<h3>{_e(task)}</h3>", table(header, rows, numeric)]
    words = "".join(f"<li>{_e(contrast_sentence(p, correction))}</li>" for p in pairs)
    return "".join(parts) + f"<details><summary>In words</summary><ul>{words}</ul></details>"


def diff_html(text: str) -> str:
    out = []
    for line in text.splitlines():
        cls = ""
        if line.startswith("+") and not line.startswith("+++"):
            cls = "add"
        elif line.startswith("-") and not line.startswith("---"):
            cls = "del"
        elif line.startswith("@@"):
            cls = "hunk"
        out.append(f'<span class="{cls}">{_e(line)}</span>' if cls else _e(line))
    return "<pre>" + "\n".join(out) + "</pre>"


def _sha(value: Any) -> str:
    return f"<code>{_e(str(value)[:12])}</code>" if value else "—"


def manifest_html(run: dict[str, Any]) -> str:
    source = run.get("source") or {}
    commit = source.get("commit")
    rev = f"commit <code>{_e(commit[:12])}</code>" if commit else "not from a git checkout"
    if commit and source.get("dirty"):
        rev += ' <span class="warn">(uncommitted changes)</span>'
    base = run.get("base_model") or {}
    totals = run.get("totals") or {}
    budget = run.get("budget_usd")
    facts = [
        (
            "experiment",
            f"{_e((run.get('experiment') or {}).get('name'))} "
            f"(<code>{_e((run.get('experiment') or {}).get('path'))}</code>, config "
            f"<code>{_e(str(run.get('config_hash'))[:12])}</code>)",
        ),
        ("msmkit", f"{_e(run.get('msmkit_version'))}, {rev}"),
        ("command", f"<code>{_e(' '.join(run.get('argv') or []))}</code>"),
        (
            "base model",
            f"{_e(base.get('model'))} (revision {_e(base.get('revision') or 'n/a')},"
            f" fingerprint <code>{_e(str(base.get('fingerprint'))[:12])}</code>)",
        ),
        (
            "spent",
            f"{dollars(totals.get('dollars'))}"
            + (f" (budget {dollars(budget)} per paid stage)" if budget else "")
            + f"; GPU time {seconds(totals.get('gpu_seconds'))}",
        ),
        (
            "run folder",
            f"<code>{_e(run['path'])}</code>, {_e(run.get('created'))} to {_e(run.get('updated'))}",
        ),
    ]
    parts = [f"<h3>Run {_e(run['run'])}</h3>", table([], [[k, v] for k, v in facts])]
    data_rows = [
        [_e(arm), _e(d.get("spec") or "—"), _sha(d.get("corpus_sha256")), _sha(d.get("aft_sha256"))]
        for arm, d in (run.get("data") or {}).items()
    ]
    parts.append(table(["arm", "spec", "corpus sha256", "AFT data sha256"], data_rows))
    stage_rows = [
        [
            _e(s["label"]),
            f"<code>{_e(s['stage'])}</code>",
            _e(", ".join(s.get("arms") or [])),
            _e(s["status"]),
            seconds(s["seconds"]),
            seconds(s["gpu_seconds"]),
            dollars(s["dollars"]),
        ]
        for s in run["stages"]
    ]
    parts.append(
        table(["stage", "id", "arms", "status", "time", "GPU time", "$"], stage_rows, {4, 5, 6})
    )
    libs = ", ".join(f"{k} {v}" for k, v in (run.get("libraries") or {}).items() if v)
    plugins = ", ".join(f"{k} ({v})" for k, v in (run.get("plugins") or {}).items())
    parts.append(f"<p><small>Libraries: {_e(libs)}. Components: {_e(plugins)}.</small></p>")
    parts.append(
        f"<details><summary>Resolved experiment</summary><pre>{_e(run['config'])}</pre></details>"
    )
    return "".join(parts)


def logs_html(logs: list[dict[str, Any]]) -> str:
    rows = [
        [
            _e(x["arm"]),
            _e(x["replicate"]),
            _e(x["eval"]),
            _e(x["phase"]),
            _e(x["status"] + (" (nothing scored)" if x["unscored"] else "")),
            f"<code>{_e(x['view'])}</code>",
        ]
        for x in logs
    ]
    return table(["arm", "seed", "eval", "phase", "status", "view the log"], rows)


def am_html(rows: list[dict[str, Any]]) -> str:
    body = [
        [
            _e(r["column"].partition("/")[0]),
            _e(r["arm"]),
            _e(r["condition"]),
            f"{num(r['value'])} {interval(r['ci95'])}",
            _e(r["n_samples"]),
        ]
        for r in rows
    ]
    return (
        "<details><summary>Rates per condition (table)</summary>"
        + table(["eval", "arm", "condition", "rate [95% CI]", "samples"], body, {3, 4})
        + "</details>"
    )


def to_html(data: dict[str, Any], svgs: dict[str, str]) -> str:
    sections: list[tuple[str, str, str]] = []  # (id, title, html)
    demo = data.get("demo")
    if demo:
        toy = next((f for f in data["figures"] if f["id"] == "toy-world"), None)
        body = "".join(f"<p>{_e(s)}</p>" for s in demo.get("sentences", []))
        if toy and toy["id"] in svgs:
            body = figure_html(toy, svgs[toy["id"]]) + body
        sections.append(("verdict", "Toy world verdict", body))
    sections.append(("results", "Results", results_html(data, svgs)))
    pairs = data["comparison"]["pairs"]
    if pairs:
        correction = data["comparison"].get("correction")
        sections.append(("contrasts", "Contrasts", contrasts_html(pairs, correction)))
    for prefix, title in (
        ("efficiency-", "Token efficiency"),
        ("am-", "Agentic misalignment"),
        ("patterns", "Reasoning patterns"),
    ):
        figs = [f for f in data["figures"] if f["id"].startswith(prefix) and f["id"] in svgs]
        body = "".join(figure_html(f, svgs[f["id"]]) for f in figs)
        if prefix == "am-" and data["am_conditions"]:
            body += am_html(data["am_conditions"])
        if body:
            sections.append((prefix.rstrip("-"), title, body))
    if data["spec_diffs"]:
        body = ""
        for d in data["spec_diffs"]:
            body += (
                f"<h3>{_e(d['a']['name'])} → {_e(d['b']['name'])}</h3><p>Arms "
                f"{_e(', '.join(d['a']['arms']))} vs {_e(', '.join(d['b']['arms']))}"
                + (f"; variants: {_e('; '.join(d['lineage']))}" if d["lineage"] else "")
                + "</p>"
            )
            body += diff_html(d["diff"]) if d["diff"] else f"<p>{_e(d.get('note'))}</p>"
        sections.append(("specs", "Spec differences", body))
    sections.append(("manifest", "Provenance", "".join(manifest_html(r) for r in data["runs"])))
    sections.append(("logs", "Eval logs", logs_html(data["eval_logs"])))
    if data["notes"]:
        items = "".join(f"<li>{_e(n)}</li>" for n in data["notes"])
        sections.append(("notes", "Notes", f'<ul class="notes">{items}</ul>'))
    nav = "".join(f'<a href="#{sid}">{_e(title)}</a>' for sid, title, _ in sections)
    main = "".join(
        f'<section id="{sid}"><h2>{_e(t)}</h2>{body}</section>' for sid, t, body in sections
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(data['title'])}</title><style>{CSS}</style></head><body>"
        f'<header><h1>{_e(data["title"])}</h1><p class="sub">Generated {_e(data["generated"])}'
        f" by msmkit {_e(data['msmkit_version'])}. Numbers: {_e(data['comparison_source'])}."
        f"</p><nav>{nav}</nav></header><main>{main}</main></body></html>\n"
    )
