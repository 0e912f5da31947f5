"""The comparison table printed at the end of ``msmkit run``, computed from Inspect samples.

Every number comes from the per-sample scores in the eval logs, not from the aggregate
metrics, so intervals can respect how samples were drawn (:mod:`msmkit.stats`): the two
option orders or several epochs of one item form one cluster, and training seeds of an arm
are replicates. Column keys are ``<task>/<scorer>`` for a scalar ``Score.value`` and
``<task>/<scorer>/<key>`` for each numeric entry of a dict value; ``task`` is the log's task
name without a ``msmkit/`` prefix, any other ``/`` in it turned into ``.`` so the first
``/`` of a key always ends the task. A value of None (or a string that is not a score)
means "does not apply to this sample" and is skipped.

inspect_ai, rich and scipy (via :mod:`msmkit.stats`) are imported inside the functions that
need them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Any

MAX_ALL_PAIRS = 5
"""With more arms than this, each arm is compared with the first only."""

# Inspect's string scores (value_to_float): correct, incorrect, partial, no answer.
_STRING_SCORES = {"C": 1.0, "I": 0.0, "P": 0.5, "N": 0.0, "yes": 1.0, "true": 1.0}
_STRING_SCORES.update({"no": 0.0, "false": 0.0})


@dataclass(frozen=True)
class SampleValue:
    """One sample's value for one metric column."""

    key: str
    task: str
    value: float
    cluster: str
    sample_id: str
    epoch: int


def task_name(raw: str) -> str:
    """The task part of a column key: no ``msmkit/`` prefix, no further ``/``."""
    return raw.removeprefix("msmkit/").replace("/", ".")


def as_float(value: Any) -> float | None:
    """A score as a float, or None when it does not apply (None, NaN, unknown strings)."""
    if isinstance(value, bool | int | float):
        number = float(value)
        return number if math.isfinite(number) else None
    if isinstance(value, str):
        text = value.strip()
        known = _STRING_SCORES.get(text, _STRING_SCORES.get(text.lower()))
        if known is not None:
            return known
        try:
            number = float(text)
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def score_fields(scorer: str, value: Any) -> list[tuple[str, float]]:
    """``(metric name, float)`` pairs one Score.value contributes; lists are not read."""
    if isinstance(value, Mapping):
        pairs = [(f"{scorer}/{k}", as_float(v)) for k, v in value.items()]
        return [(name, v) for name, v in pairs if v is not None]
    number = as_float(value)
    return [] if number is None else [(scorer, number)]


def cluster_of(sample: Any) -> str:
    """The item a sample belongs to: ``item_id``, else ``cluster`` metadata, else its id."""
    meta = sample.metadata or {}
    for field in ("item_id", "cluster"):
        if meta.get(field) is not None:
            return str(meta[field])
    return str(sample.id)


def _read_log(log_path: str | Path) -> Any:
    from inspect_ai.log import read_eval_log

    return read_eval_log(
        str(log_path), exclude_fields={"messages", "events", "store", "attachments"}
    )


def _rows(log: Any, name: str | None = None) -> list[SampleValue]:
    task = task_name(name or log.eval.task)
    rows = []
    for sample in log.samples or []:
        cluster = cluster_of(sample)
        for scorer, score in (sample.scores or {}).items():
            for name, number in score_fields(scorer, score.value):
                rows.append(
                    SampleValue(
                        f"{task}/{name}", task, number, cluster, str(sample.id), sample.epoch
                    )
                )
    return rows


def read_samples(log_path: str | Path) -> list[SampleValue]:
    """Every numeric per-sample score in an Inspect log (``[]`` when it has no samples)."""
    return _rows(_read_log(log_path))


def read_samples_or_note(
    log_path: str | Path, where: str = "", name: str | None = None
) -> tuple[list[SampleValue], str | None]:
    """Like :func:`read_samples`, but never raises: a missing, unreadable, empty or
    unfinished log comes back with a note saying what was skipped or used. ``name`` replaces
    the log's task name in the keys (an arm that evaluates one task twice names each)."""
    label = f"{where}: " if where else ""
    try:
        log = _read_log(log_path)
    except Exception as exc:  # any unreadable log is reported, not fatal
        return [], f"{label}skipped {log_path}: cannot read it ({type(exc).__name__}: {exc})"
    rows = _rows(log, name)
    status = getattr(log, "status", "unknown")
    if not rows:
        return [], f"{label}skipped {log_path}: no scored samples (log status {status})"
    if status != "success":
        n = len({(r.sample_id, r.epoch) for r in rows})
        return rows, f"{label}{log_path} has status {status}: its {n} scored samples are used"
    return rows, None


# ---------------------------------------------------------------------------- the table


def _num(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def _ci(ci: tuple[float, float]) -> list[float] | None:
    lo, hi = ci
    return [lo, hi] if math.isfinite(lo) and math.isfinite(hi) else None


Column = list[tuple[float, str, str]]  # (value, cluster, replicate) per sample


ArmLogs = Mapping[str, Sequence[tuple[str, str | Path] | tuple[str, str | Path, str]]]
"""arm -> [(replicate label, eval log path[, eval name replacing the log's task name])]"""


def _collect(arm_logs: ArmLogs, notes: list[str]) -> tuple[list[str], dict[str, dict[str, Column]]]:
    columns: dict[str, None] = {}
    data: dict[str, dict[str, Column]] = {}
    for arm, logs in arm_logs.items():
        per_metric = data.setdefault(arm, {})
        seen: set[tuple[str, str]] = set()
        for replicate, path, *name in logs:
            where = f"{arm} ({replicate})"
            rows, note = read_samples_or_note(path, where=where, name=name[0] if name else None)
            if note:
                notes.append(note)
            for task in sorted({r.task for r in rows}):
                if (replicate, task) in seen:
                    notes.append(
                        f"{arm}: task {task} has more than one log for {replicate!r}; "
                        "their samples are pooled"
                    )
                seen.add((replicate, task))
            for r in rows:
                columns.setdefault(r.key, None)
                per_metric.setdefault(r.key, []).append((r.value, r.cluster, str(replicate)))
    return list(columns), data


def _cell(samples: Column) -> dict[str, Any]:
    from msmkit.stats import clustered_mean

    values, clusters, reps = zip(*samples, strict=True)
    est = clustered_mean(values, clusters, reps)
    return {
        "value": est.mean,
        "ci95": _ci(est.ci95),
        "n_items": est.n_clusters,
        "n_samples": est.n_samples,
        "n_seeds": est.n_replicates,
        "method": est.method,
    }


def _pair(metric: str, a: str, b: str, sa: Column, sb: Column) -> dict[str, Any]:
    from msmkit.stats import compare_means

    av, ac, ar = zip(*sa, strict=True)
    bv, bc, br = zip(*sb, strict=True)
    res = compare_means(av, ac, bv, bc, ar, br)
    n_items = res.n_units if res.test.startswith(("paired", "welch t over items")) else None
    if n_items is None:  # over seeds: report the items behind them
        n_items = len(set(ac) | set(bc))
    return {
        "metric": metric,
        "a": a,
        "b": b,
        "diff": res.diff,
        "ci95": _ci(res.ci95),
        "p_value": _num(res.p_value),
        "test": res.test,
        "paired": res.paired,
        "n_items": n_items,
        "n_unshared_items": res.n_unshared,
    }


def arm_cells(arm_logs: ArmLogs) -> dict[str, Any]:
    """The cells of :func:`comparison` without the pairs: ``columns``, ``arms`` (arm -> key
    -> cell or None) and ``notes`` (e.g. one seed's estimates for a report's per-seed dots)."""
    notes: list[str] = []
    columns, data = _collect(arm_logs, notes)
    arms = {
        arm: {key: _cell(data[arm][key]) if key in data[arm] else None for key in columns}
        for arm in arm_logs
    }
    return {"columns": columns, "arms": arms, "notes": notes}


def arm_pairs(arms: Sequence[str]) -> list[tuple[str, str]]:
    """Every pair when there are few arms, else each arm against the first."""
    if len(arms) <= MAX_ALL_PAIRS:
        return list(combinations(arms, 2))
    return [(arms[0], other) for other in arms[1:]]


def holm(p_values: Sequence[float | None]) -> list[float | None]:
    """Holm's step-down adjusted p-values (None stays None): the i-th smallest of m is
    multiplied by m - i + 1, made monotone, capped at 1."""
    ranked = sorted((p, i) for i, p in enumerate(p_values) if p is not None)
    m = len(ranked)
    out: list[float | None] = [None] * len(p_values)
    running = 0.0
    for rank, (p, i) in enumerate(ranked):
        running = max(running, min(1.0, (m - rank) * p))
        out[i] = running
    return out


def comparison(
    arm_logs: ArmLogs,
    *,
    pairs: Sequence[tuple[str, str]] | None = None,
    correction: str = "none",
) -> dict[str, Any]:
    """The comparison of arms, from ``{arm: [(replicate label, eval log path[, name]), ...]}``.

    An arm's logs may be different tasks, different seeds (replicate labels), or both.
    ``pairs`` restricts the differences to declared contrasts (default: every pair of up to
    five arms, else each arm against the first); ``correction="holm"`` adjusts each metric's
    p-values over its contrasts (``p_adjusted``). Returns a JSON-ready dict: ``columns``
    (metric keys), ``arms`` (arm -> key -> cell or None), ``pairs`` (differences, ``diff =
    a - b``), ``correction`` and ``notes``.
    """
    notes: list[str] = []
    columns, data = _collect(arm_logs, notes)
    arms = list(arm_logs)
    table: dict[str, Any] = {
        "columns": columns,
        "arms": {
            arm: {key: _cell(data[arm][key]) if key in data[arm] else None for key in columns}
            for arm in arms
        },
        "pairs": [],
        "notes": notes,
    }
    mixed: set[tuple[str, str]] = set()
    wanted = list(pairs) if pairs is not None else arm_pairs(arms)
    for key in columns:
        for a, b in wanted:
            if key not in data[a] or key not in data[b]:
                continue
            table["pairs"].append(_pair(key, a, b, data[a][key], data[b][key]))
            seeds = [table["arms"][arm][key]["n_seeds"] for arm in (a, b)]
            if max(seeds) > 1 and min(seeds) == 1:
                mixed.add((a, b))
    for a, b in sorted(mixed):
        notes.append(
            f"{a} vs {b}: only one of them has several seeds, so their difference is tested "
            "over items and leaves seed-to-seed variance out"
        )
    table["correction"] = correction if table["pairs"] else "none"
    if table["pairs"] and correction == "holm":
        by_metric: dict[str, list[dict[str, Any]]] = {}
        for row in table["pairs"]:
            by_metric.setdefault(row["metric"], []).append(row)
        for rows in by_metric.values():
            for row, adjusted in zip(rows, holm([r["p_value"] for r in rows]), strict=True):
                row["p_adjusted"] = adjusted
        most = max(len(rows) for rows in by_metric.values())
        notes.append(
            "diff = a - b; p is Holm-corrected over the contrasts of each metric "
            f"(up to {most}); p_value in comparison.json is uncorrected"
        )
    elif table["pairs"]:
        notes.append("diff = a - b; p-values are not corrected for multiple comparisons")
    if table["pairs"] and pairs is None and len(arms) > MAX_ALL_PAIRS:
        notes.append(f"more than {MAX_ALL_PAIRS} arms: each arm is compared with {arms[0]}")
    return table


# ---------------------------------------------------------------------------- rendering


def _by_task(columns: Sequence[str]) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for key in columns:
        groups.setdefault(key.partition("/")[0], []).append(key)
    return groups


def _interval(ci: list[float] | None, signed: bool = False) -> str:
    if ci is None:
        return "[n/a]"
    spec = "+.2f" if signed else ".2f"
    return f"[{ci[0]:{spec}}, {ci[1]:{spec}}]"


def format_cell(cell: dict[str, Any] | None, sep: str = " ") -> str:
    """``0.512 [0.44, 0.58] n=121 items`` (and the seed count when there are several)."""
    if cell is None:
        return "—"
    size = f"n={cell['n_items']} items"
    if cell["n_seeds"] > 1:
        size += f", {cell['n_seeds']} seeds"
    return f"{cell['value']:.3f} {_interval(cell['ci95'])}{sep}{size}"


def format_p(p: float | None) -> str:
    if p is None:
        return "n/a"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def _short_test(pair: dict[str, Any]) -> str:
    test = pair["test"]
    kind = "paired" if pair["paired"] else ("welch, seeds" if "seeds" in test else "welch")
    if "zero variance" in test:
        kind += ", sd 0"
    return f"{kind}, {pair['n_items']} items"


def _pair_row(pair: dict[str, Any], task: str) -> list[str]:
    p = pair["p_adjusted"] if "p_adjusted" in pair else pair["p_value"]
    return [
        pair["metric"].removeprefix(f"{task}/"),
        f"{pair['a']} − {pair['b']}",
        f"{pair['diff']:+.3f} {_interval(pair['ci95'], signed=True)}",
        format_p(p),
        _short_test(pair),
    ]


def _p_header(table: dict[str, Any]) -> str:
    return "p (Holm)" if table.get("correction") == "holm" else "p"


_PAIR_HEADER = ["metric", "a − b", "diff [95% CI]", "p", "test"]


def to_markdown(table: dict[str, Any]) -> str:
    """One section per task: a metric × arm table, then the pairwise differences."""
    arms = list(table["arms"])
    lines: list[str] = []
    for task, keys in _by_task(table["columns"]).items():
        lines += [f"## {task}", "", "| metric | " + " | ".join(arms) + " |"]
        lines.append("|---" * (len(arms) + 1) + "|")
        for key in keys:
            cells = [format_cell(table["arms"][arm][key]) for arm in arms]
            lines.append(f"| {key.removeprefix(task + '/')} | " + " | ".join(cells) + " |")
        pairs = [p for p in table["pairs"] if p["metric"].partition("/")[0] == task]
        if pairs:
            header = [*_PAIR_HEADER[:3], _p_header(table), _PAIR_HEADER[4]]
            lines += ["", "| " + " | ".join(header) + " |", "|---" * 5 + "|"]
            lines += ["| " + " | ".join(_pair_row(p, task)) + " |" for p in pairs]
        lines.append("")
    if not table["columns"]:
        lines += ["No scored samples to compare.", ""]
    lines += [f"- {note}" for note in table["notes"]]
    return "\n".join(lines).rstrip("\n") + "\n"


def to_rich(table: dict[str, Any], title: str) -> list[Any]:
    """Per task, a metric × arm table and a table of pairwise differences.

    Cells break before the count so three arms fit a 100-column terminal; the notes are the
    caption of the last table.
    """
    from rich.table import Table

    arms = list(table["arms"])
    out: list[Any] = []
    for task, keys in _by_task(table["columns"]).items():
        t = Table(title=f"{title}: {task}", title_justify="left")
        t.add_column("metric", no_wrap=True)
        for arm in arms:
            t.add_column(arm, justify="right")
        sep = " " if len(arms) <= 2 else "\n"
        for key in keys:
            cells = [format_cell(table["arms"][arm][key], sep=sep) for arm in arms]
            t.add_row(key.removeprefix(task + "/"), *cells)
        out.append(t)
        pairs = [p for p in table["pairs"] if p["metric"].partition("/")[0] == task]
        if pairs:
            one = len({(p["a"], p["b"]) for p in pairs}) == 1
            name = f"{title}: {task}, differences"
            if one:
                name += f" ({pairs[0]['a']} − {pairs[0]['b']})"
            d = Table(title=name, title_justify="left")
            d.add_column("metric", no_wrap=True)
            if not one:
                d.add_column("a − b")
            d.add_column("diff [95% CI]", justify="right", no_wrap=True)
            d.add_column(_p_header(table), justify="right", no_wrap=True)
            d.add_column("test", no_wrap=True)
            for pair in pairs:
                row = _pair_row(pair, task)
                d.add_row(*(row[:1] + row[2:] if one else row))
            out.append(d)
    if out and table["notes"]:
        out[-1].caption = "\n".join(table["notes"])
        out[-1].caption_justify = "left"
    return out
