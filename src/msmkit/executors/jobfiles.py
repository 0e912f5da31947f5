"""The files a job leaves beside its job file: progress lines, the log, error records.

A worker (``python -m <module> <job file>``, once per rank) appends ``{"step", "total"}``
lines to ``<job>.progress.jsonl`` from rank 0 and writes ``<job>.error-<rank>.json`` when it
fails; the parent (:mod:`msmkit.executors.local`) raises the recorded msmkit error class
with its message, hint and option location.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from msmkit import errors
from msmkit.errors import MsmkitError, OptionError, RunError


def job_paths(job_file: Path) -> dict[str, Path]:
    stem = Path(job_file).with_suffix("")
    return {
        "progress": stem.with_name(stem.name + ".progress.jsonl"),
        "log": stem.with_name(stem.name + ".log"),
        "errors": stem.parent,
    }


def error_files(job_file: Path) -> list[Path]:
    job_file = Path(job_file)
    stem = job_file.with_suffix("").name
    found = sorted(job_file.parent.glob(f"{stem}.error-*.json"))
    return sorted(found, key=lambda p: p.name != f"{stem}.error-0.json")  # rank 0 first


def write_error(job_file: Path, rank: int, exc: BaseException) -> None:
    record = {
        "type": type(exc).__name__,
        "msmkit": isinstance(exc, MsmkitError),
        "message": getattr(exc, "message", None) or str(exc) or type(exc).__name__,
        "hint": getattr(exc, "hint", None),
        "loc": list(getattr(exc, "loc", ()) or ()),
        "rank": rank,
    }
    job_file = Path(job_file)
    stem = job_file.with_suffix("").name
    path = job_file.parent / f"{stem}.error-{rank}.json"
    path.write_text(json.dumps(record, default=str) + "\n", encoding="utf-8")


def raise_recorded(record: dict[str, Any], log_file: Path) -> None:
    cls = getattr(errors, str(record.get("type")), None)
    message = str(record.get("message"))
    hint = record.get("hint")
    if not (isinstance(cls, type) and issubclass(cls, MsmkitError)):
        where = f" (rank {record.get('rank')})" if record.get("rank") else ""
        raise RunError(
            f"the job failed{where}: {record.get('type')}: {message}",
            hint=f"The job's log is {log_file}.",
        )
    if issubclass(cls, OptionError):
        raise cls(message, loc=tuple(record.get("loc") or ()), hint=hint)
    try:
        exc = cls(message, hint=hint)
    except TypeError:  # a subclass with another signature
        exc = RunError(message, hint=hint)
    raise exc


def log_tail(path: Path, lines: int = 30) -> str:
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])
