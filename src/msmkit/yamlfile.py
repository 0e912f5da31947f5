"""Safe YAML loading with line numbers, and pydantic errors turned into short messages.

Only ``yaml.SafeLoader`` is used: experiment and spec files are data and never run code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from msmkit.errors import ConfigError


def load_yaml(path: Path, *, max_bytes: int | None = None) -> tuple[Any, yaml.Node | None]:
    """Parse a YAML file; returns the data and its node tree (for line lookups).

    ``max_bytes`` refuses a file larger than that before reading it (a settings file that
    size is a mistake, and parsing it would take minutes).
    """
    try:
        if max_bytes is not None and path.stat().st_size > max_bytes:
            size = path.stat().st_size
            raise ConfigError(
                f"{path}: {size:,} bytes is too large for a settings file (limit {max_bytes:,})",
                hint="an experiment file holds settings; put data in files it points to",
            )
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file", hint="check the path") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, not a YAML file") from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except RecursionError:
        raise ConfigError(f"{path}: YAML nested too deeply") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{where}: invalid YAML: {problem}") from None
    return data, node


def line_of(node: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """1-based line of the deepest node reachable along a pydantic error location."""
    line = node.start_mark.line + 1 if node is not None else None
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if getattr(k, "value", None) == key), None)
            if match is None:
                # unknown keys: point at the key itself
                keynode = next((k for k, _ in node.value if getattr(k, "value", None) == key), None)
                return keynode.start_mark.line + 1 if keynode else line
            node = match
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int):
            if key >= len(node.value):
                return line
            node = node.value[key]
        else:
            continue  # pydantic adds union-member names to loc; skip them
        line = node.start_mark.line + 1
    return line


def _is_branch(part: Any) -> bool:
    """Pydantic names union members in error locations (``TrainSettings``, ``literal[False]``)."""
    return isinstance(part, str) and (part[:1].isupper() or "[" in part)


def format_loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif not _is_branch(part):
            out += f".{part}" if out else part
    return out or "(top level)"


def _useful_errors(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Drop union-branch noise: 'Input should be False' beside a real error in the same place."""
    real = {format_loc(e["loc"]) for e in errors if e["type"] != "literal_error"}
    kept = []
    for err in errors:
        where = format_loc(err["loc"])
        if err["type"] == "literal_error" and any(r.startswith(where) and r != where for r in real):
            continue
        kept.append(err)
    return kept


def validation_error(
    exc: ValidationError, path: Path | str, node: yaml.Node | None = None, prefix: tuple = ()
) -> ConfigError:
    """One short ConfigError for a pydantic ValidationError (first few problems)."""
    lines = []
    errors = _useful_errors(exc.errors())
    for err in errors[:5]:
        loc = (*prefix, *err["loc"])
        line = line_of(node, tuple(p for p in loc if not _is_branch(p)))
        where = f"{path}:{line}" if line else str(path)
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown field"
        lines.append(f"{where}: {format_loc(loc)}: {msg}")
    more = len(errors) - 5
    if more > 0:
        lines.append(f"... and {more} more")
    return ConfigError("\n".join(lines), hint="fix the field(s) named above")


def validate(model: type[BaseModel], data: Any, path: Path | str, node=None, prefix=()) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, path, node, prefix) from None
