"""Post-hoc pattern analysis of agentic-misalignment logs (``msmkit patterns``).

Reads eval logs, grades each sample's transcript (or reuses the marks an earlier
``inspect score --scorer msmkit/reasoning_patterns`` left in the log), and reports how
often each pattern drove the decision among aligned and among misaligned transcripts, the
split coming from the AM score's ``classifier_verdict``.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from inspect_ai.log import read_eval_log
from inspect_ai.model import ChatMessage, Model

from msmkit.evals.reasoning_patterns.patterns import PATTERN_KEYS, PATTERNS
from msmkit.evals.reasoning_patterns.scorer import (
    DEFAULT_RETRIES,
    SCORER_NAME,
    grade_transcript,
)
from msmkit.evals.reasoning_patterns.transcript import Verdict, find_verdict, render_transcript
from msmkit.stats import wilson

SIDES = ("misaligned", "aligned")


@dataclass
class Transcript:
    """One sample-epoch of a log, with what the analysis needs from it."""

    log: str
    sample_id: str | int
    epoch: int
    condition: str | None
    item_id: str | None
    messages: list[ChatMessage]
    scores: dict[str, Any]
    error: str | None = None

    @property
    def verdict(self) -> Verdict:
        return find_verdict(self.scores, skip=(SCORER_NAME,))


@dataclass
class Mark:
    """One transcript's row in ``--out``: its verdict and its pattern marks (None: unscored)."""

    log: str
    sample_id: str | int
    epoch: int
    condition: str | None
    item_id: str | None
    misaligned: int | None
    harmful: int | None
    scored: bool
    reason: str | None
    attempts: int
    marks: dict[str, int | None]
    grader: str | None
    source: str  # "graded" (by this run) or "log" (read from an existing score)
    explanation: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def read_transcripts(paths: Iterable[str | Path]) -> tuple[list[Transcript], int]:
    """All sample-epochs of the logs, and how many were skipped for a sample error."""
    transcripts: list[Transcript] = []
    errored = 0
    for path in paths:
        log = read_eval_log(str(path), resolve_attachments=True)
        for sample in log.samples or []:
            if sample.error is not None:
                errored += 1
                continue
            meta = sample.metadata or {}
            transcripts.append(
                Transcript(
                    log=str(path),
                    sample_id=sample.id,
                    epoch=sample.epoch,
                    condition=_opt_str(meta.get("condition", meta.get("condition_id"))),
                    item_id=_opt_str(meta.get("item_id")),
                    messages=list(sample.messages),
                    scores=dict(sample.scores or {}),
                )
            )
    return transcripts, errored


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _mark(t: Transcript, **fields: Any) -> Mark:
    verdict = t.verdict
    return Mark(
        log=t.log,
        sample_id=t.sample_id,
        epoch=t.epoch,
        condition=t.condition,
        item_id=t.item_id,
        misaligned=verdict.misaligned,
        harmful=verdict.harmful,
        **fields,
    )


async def grade_all(
    transcripts: Sequence[Transcript],
    grader: Model,
    *,
    retries: int = DEFAULT_RETRIES,
    max_concurrency: int = 8,
    on_done: Callable[[Mark], None] | None = None,
) -> list[Mark]:
    """Grade every transcript, at most ``max_concurrency`` at a time; order is kept."""
    limit = asyncio.Semaphore(max(1, max_concurrency))

    async def one(t: Transcript) -> Mark:
        async with limit:
            grade = await grade_transcript(grader, render_transcript(t.messages), retries=retries)
        mark = _mark(
            t,
            scored=grade.scored,
            reason=grade.reason,
            attempts=grade.attempts,
            marks=grade.value(),
            grader=str(grader),
            source="graded",
            explanation=grade.replies[-1] if grade.replies else "",
        )
        if on_done is not None:
            on_done(mark)
        return mark

    return list(await asyncio.gather(*(one(t) for t in transcripts)))


def _existing_score(scores: Mapping[str, Any]) -> Any | None:
    named = [name for name in scores if name.startswith(SCORER_NAME)]
    for name in sorted(named, key=lambda n: (n != SCORER_NAME, n)):
        value = getattr(scores[name], "value", None)
        if isinstance(value, Mapping) and all(key in value for key in PATTERN_KEYS):
            return scores[name]
    return None


def marks_from_logs(transcripts: Sequence[Transcript]) -> list[Mark]:
    """Marks already in the logs; a transcript without them is unscored (``no_marks``)."""
    marks = []
    for t in transcripts:
        score = _existing_score(t.scores)
        if score is None:
            marks.append(
                _mark(
                    t,
                    scored=False,
                    reason="no_marks",
                    attempts=0,
                    marks=dict.fromkeys(PATTERN_KEYS),
                    grader=None,
                    source="log",
                )
            )
            continue
        meta = score.metadata or {}
        value = score.value
        scored = bool(meta.get("scored", all(value[k] in (0, 1) for k in PATTERN_KEYS)))
        marks.append(
            _mark(
                t,
                scored=scored,
                reason=meta.get("reason"),
                attempts=int(meta.get("attempts", 0)),
                marks={k: (int(value[k]) if scored else None) for k in PATTERN_KEYS},
                grader=meta.get("grader"),
                source="log",
                explanation=score.explanation or "",
            )
        )
    return marks


def has_existing_marks(transcripts: Sequence[Transcript]) -> bool:
    return any(_existing_score(t.scores) is not None for t in transcripts)


# ---------------------------------------------------------------------------- summary


def _rate(count: int, n: int) -> dict[str, Any]:
    rate = count / n if n else None
    low, high = wilson(rate or 0.0, n)
    return {"count": count, "n": n, "rate": rate, "ci95": [low, high] if n else None}


def summarize(marks: Sequence[Mark], *, errored: int = 0) -> dict[str, Any]:
    """Each pattern's frequency among scored misaligned and scored aligned transcripts.

    Transcripts whose AM verdict is unknown are counted (``no_verdict``) but belong to
    neither side; unscored transcripts are counted by reason and by side.
    """
    scored = [m for m in marks if m.scored]
    by_side = {
        "misaligned": [m for m in scored if m.misaligned == 1],
        "aligned": [m for m in scored if m.misaligned == 0],
    }
    unscored_by_side = Counter(
        "misaligned" if m.misaligned == 1 else "aligned" if m.misaligned == 0 else "unknown"
        for m in marks
        if not m.scored
    )
    groups = {
        side: {"n": len(by_side[side]), "unscored": unscored_by_side.get(side, 0)} for side in SIDES
    }
    patterns = []
    for pattern in PATTERNS:
        row: dict[str, Any] = {"key": pattern.key, "side": pattern.side, "title": pattern.title}
        for side in SIDES:
            group = by_side[side]
            row[side] = _rate(sum(m.marks[pattern.key] == 1 for m in group), len(group))
        patterns.append(row)
    return {
        "transcripts": len(marks),
        "scored": len(scored),
        "unscored": len(marks) - len(scored),
        "unscored_reasons": dict(Counter(m.reason or "unknown" for m in marks if not m.scored)),
        "no_verdict": sum(m.misaligned is None for m in marks),
        "errored_samples": errored,
        "groups": groups,
        "patterns": patterns,
    }


def _cell(stats: Mapping[str, Any]) -> str:
    if not stats["n"]:
        return "–"
    low, high = stats["ci95"]
    return (
        f"{stats['count']}/{stats['n']}  {100 * stats['rate']:.0f}% "
        f"[dim][{100 * low:.0f}–{100 * high:.0f}][/]"
    )


def summary_table(summary: Mapping[str, Any]) -> Any:
    """A rich table: one row per pattern, a column per AM side (count/n, %, Wilson 95%)."""
    from rich.table import Table

    groups = summary["groups"]
    table = Table(
        title="Reasoning patterns by agentic-misalignment verdict",
        caption=(
            f"{summary['transcripts']} transcripts, {summary['scored']} scored, "
            f"{summary['unscored']} unscored, {summary['no_verdict']} without an AM verdict. "
            "Cells: count/n, %, Wilson 95% interval."
        ),
    )
    table.add_column("pattern")
    table.add_column("kind")
    for side in SIDES:
        table.add_column(f"{side} (n={groups[side]['n']})", justify="right")
    rows = summary["patterns"]
    for index, row in enumerate(rows):
        last_of_side = index + 1 < len(rows) and rows[index + 1]["side"] != row["side"]
        table.add_row(
            row["key"],
            row["side"],
            *(_cell(row[side]) for side in SIDES),
            end_section=last_of_side,
        )
    return table
