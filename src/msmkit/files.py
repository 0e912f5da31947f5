"""Small file helpers every layer shares: atomic JSON and JSONL writes, tolerant JSON reads."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any


def write_json_atomic(path: Path, data: Any, *, durable: bool = False) -> None:
    """Write JSON through a unique temporary file and rename: readers never see half a file,
    and two writers never share a temporary name. ``durable`` also fsyncs it before the
    rename (state that must survive a power cut, such as submitted batch ids)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(json.dumps(data, indent=2, default=str) + "\n")
        if durable:
            handle.flush()
            os.fsync(handle.fileno())
    os.replace(tmp, path)


def write_jsonl_atomic(path: Path, rows: Any) -> None:
    """Write one JSON object a line, all or nothing (a unique temporary file, then rename)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    os.replace(tmp, path)


def read_json(path: Path) -> dict[str, Any]:
    """A JSON object from ``path``, or ``{}`` when it is missing, unreadable or not an object."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def confined(root: Path, value: str, *, what: str = "path") -> Path:
    """``root / value``, refusing anything that resolves outside ``root``."""
    from msmkit.errors import RunError

    path = Path(root) / value
    try:
        path.resolve().relative_to(Path(root).resolve())
    except ValueError:
        raise RunError(
            f"{what} of stage {Path(root).name} points outside its folder: {value!r}",
            hint="the stage record was edited or is corrupt; `msmkit store verify` checks "
            "every stage, and a rerun recomputes this one",
        ) from None
    return path
