"""Item banks for the spec evals (``spec_qa`` questions, ``spec_knowledge`` probes).

A bank is JSON Lines, one item a line, stored per spec as
``tasks/<task dir>/<spec name>.jsonl``. Every row may carry ``"spec"`` (the spec name it was
written for; checked when present) and ``"status"``: ``"reviewed"`` for items a person has
read and accepted (the default when missing), ``"draft"`` for items written by
``msmkit draft questions|probes`` and not yet reviewed. The tasks refuse a bank that still
holds drafts, so model-written items never reach a result unread.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from msmkit.errors import ConfigError
from msmkit.jsonl import read_jsonl
from msmkit.resources import bundled
from msmkit.spec import Spec, load_spec

__all__ = [
    "DRAFT",
    "REVIEWED",
    "bank_path",
    "read_bank",
    "resolve_spec",
    "write_bank",
]

REVIEWED = "reviewed"
DRAFT = "draft"
_STATUSES = (REVIEWED, DRAFT)


def resolve_spec(spec: str | Path | Spec) -> Spec:
    """A spec by name (``philosophy``), by path (``specs/x.md``), or an already loaded one."""
    return spec if isinstance(spec, Spec) else load_spec(spec)


def bank_path(task_dir: str, spec: Spec) -> Path:
    """Where the shipped bank for ``spec`` lives: ``tasks/<task_dir>/<spec name>.jsonl``."""
    return bundled("tasks") / task_dir / f"{spec.name}.jsonl"


def read_bank(
    path: str | Path | None,
    *,
    task_dir: str,
    spec: Spec,
    required: Iterable[str],
    draft_command: str,
) -> list[dict[str, Any]]:
    """Read and check a bank; refuse drafts, rows for another spec and missing fields.

    ``path`` None means the shipped bank for ``spec``. ``draft_command`` names the
    ``msmkit draft`` sub-command that writes a bank, for the hint when none exists.
    """
    file = Path(path) if path else bank_path(task_dir, spec)
    if not file.is_file():
        raise ConfigError(
            f"no {task_dir} bank for spec '{spec.name}': {file} not found",
            hint=f"Draft one with `msmkit draft {draft_command} {spec.name} --model "
            f"<provider/model> --out {spec.name}.jsonl`, review it, then pass its path.",
        )
    required = tuple(required)
    rows: list[dict[str, Any]] = []
    drafts: list[str] = []
    seen: dict[str, int] = {}
    for number, row in read_jsonl(file):
        where = f"{file}:{number}"
        missing = [key for key in ("id", *required) if row.get(key) in (None, "", [])]
        if missing:
            raise ConfigError(
                f"{where}: item is missing {', '.join(missing)}",
                hint=f"Each row needs: id, {', '.join(required)}.",
            )
        item_id = str(row["id"])
        if item_id in seen:
            raise ConfigError(
                f"{where}: duplicate id {item_id!r} (first on line {seen[item_id]})",
                hint="Item ids must be unique within a bank: they name the comparison clusters.",
            )
        seen[item_id] = number
        status = row.get("status", REVIEWED)
        if status not in _STATUSES:
            raise ConfigError(
                f"{where}: unknown status {status!r}", hint=f"Use one of: {', '.join(_STATUSES)}."
            )
        if status == DRAFT:
            drafts.append(item_id)
        if row.get("spec") not in (None, spec.name):
            raise ConfigError(
                f"{where}: item {item_id!r} was written for spec {row['spec']!r}, "
                f"not {spec.name!r}",
                hint="Pass the bank that belongs to this spec (or the spec the bank is for).",
            )
        rows.append(row)
    if drafts:
        shown = ", ".join(drafts[:5]) + (", ..." if len(drafts) > 5 else "")
        raise ConfigError(
            f"{file} holds {len(drafts)} unreviewed draft item(s): {shown}",
            hint='Read each draft, fix or delete it, and set "status": "reviewed" on the ones '
            "you keep; the task refuses drafts so no unread item reaches a result.",
        )
    if not rows:
        raise ConfigError(f"{file} has no items", hint="Add at least one row.")
    return rows


def write_bank(path: str | Path, rows: Iterable[dict[str, Any]], *, overwrite: bool) -> Path:
    """Write rows as JSON Lines; refuse to replace an existing file unless ``overwrite``."""
    file = Path(path)
    if file.exists() and not overwrite:
        raise ConfigError(f"{file} already exists", hint="Pass --force to replace it.")
    file.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    file.write_text(text, encoding="utf-8")
    return file
