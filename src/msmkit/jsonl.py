"""Reading JSON Lines files: one place, with errors that name the file and line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from msmkit.errors import ConfigError


def read_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line_number, row)`` for each non-blank line; a bad line is a ConfigError."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(
            f"data file not found: {path}",
            hint="Check the path, or run the stage that writes this file first.",
        )
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise ConfigError(
                    f"{path}:{number}: not UTF-8 text (byte {raw[exc.start]:#04x} at column "
                    f"{exc.start + 1})",
                    hint="JSONL files are UTF-8 text, one JSON object per line; is this a "
                    "binary file?",
                ) from None
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ConfigError(
                    f"{path}:{number}: not valid JSON ({exc.msg})",
                    hint="Each line must be one JSON object.",
                ) from None
            if not isinstance(row, dict):
                raise ConfigError(
                    f"{path}:{number}: expected a JSON object, got {type(row).__name__}",
                    hint="Each line must be one JSON object.",
                )
            yield number, row
