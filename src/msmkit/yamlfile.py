"""Safe YAML loading with line numbers, and pydantic errors turned into short messages.

Only a ``yaml.SafeLoader`` is used: experiment and spec files are data and never run code.
Every YAML msmkit reads goes through :func:`parse_yaml`, which also refuses what YAML
accepts silently but no settings file means: a key given twice (YAML keeps the last), and
aliases that expand to an absurd number of values (a "billion laughs" chain that would make
msmkit hang or run out of memory when it reads the options).
"""

from __future__ import annotations

import types
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from msmkit.errors import ConfigError

MAX_EXPANDED = 200_000
"""A settings file expands to at most this many values, aliases followed."""


class YAMLValueError(ValueError):
    """Duplicate keys or an alias bomb; ``line`` is 1-based (or None). For a duplicate key,
    ``key`` and ``first_line`` say which and where it was first given."""

    def __init__(
        self, message: str, line: int | None, key: Any = None, first_line: int | None = None
    ) -> None:
        super().__init__(message)
        self.line = line
        self.key = key
        self.first_line = first_line


def _check_node(node: yaml.Node | None) -> None:
    """Refuse duplicate mapping keys and alias chains that expand beyond MAX_EXPANDED."""
    sizes: dict[int, int] = {}

    def size(n: yaml.Node, depth: int = 0) -> int:
        key = id(n)
        if key in sizes:
            return sizes[key]
        sizes[key] = 1  # guards against recursive aliases
        total = 1
        if isinstance(n, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for k, v in n.value:
                if isinstance(k, yaml.ScalarNode):
                    line = k.start_mark.line + 1
                    if k.value in seen:
                        raise YAMLValueError(
                            f"key {k.value!r} is given twice (first on line {seen[k.value]})",
                            line,
                            key=k.value,
                            first_line=seen[k.value],
                        )
                    seen[k.value] = line
                total += size(k, depth + 1) + size(v, depth + 1)
        elif isinstance(n, yaml.SequenceNode):
            total += sum(size(v, depth + 1) for v in n.value)
        if total > MAX_EXPANDED:
            raise YAMLValueError(
                f"YAML aliases expand to more than {MAX_EXPANDED:,} values (an alias bomb?)",
                n.start_mark.line + 1,
            )
        sizes[key] = total
        return total

    if node is not None:
        size(node)


def parse_yaml(text: str) -> tuple[Any, yaml.Node | None]:
    """Safe-load ``text`` after checking it (:func:`_check_node`); returns the data and its
    node tree. Raises ``yaml.YAMLError`` or :class:`YAMLValueError`."""
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    _check_node(node)
    return yaml.safe_load(text), node


def load_value(text: str, where: str) -> Any:
    """One YAML value written on a command line (``-O key=VALUE``), checked the same way."""
    try:
        return parse_yaml(text)[0]
    except YAMLValueError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(
            f"{where}: {text!r} is not a valid YAML value ({problem})",
            hint="quote the value",
        ) from None


def decode_text(data: bytes, path: Path | str) -> str:
    """UTF-8 text, or a ConfigError naming the line and byte that is not."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ConfigError(
            f"{path}:{line}: not UTF-8 text (byte {data[exc.start]:#04x})",
            hint="save the file as UTF-8",
        ) from None


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
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file", hint="check the path") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, not a YAML file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    text = decode_text(raw, path)
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise ConfigError(f"{path}:{line}: a NUL byte in a settings file")
    try:
        data, node = parse_yaml(text)
    except YAMLValueError as exc:
        where = f"{path}:{exc.line}" if exc.line else str(path)
        raise ConfigError(f"{where}: {exc}", hint="fix the file") from None
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


def _models_at(tp: Any, loc: tuple[Any, ...]) -> list[type[BaseModel]]:
    """The pydantic models a value at ``loc`` (inside a value of type ``tp``) may be."""
    import typing

    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType) or origin is typing.Annotated:
        args = typing.get_args(tp)[:1] if origin is typing.Annotated else typing.get_args(tp)
        return [m for a in args for m in _models_at(a, loc)]
    if not loc:
        return [tp] if isinstance(tp, type) and issubclass(tp, BaseModel) else []
    part, rest = loc[0], loc[1:]
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        field = tp.model_fields.get(part) if isinstance(part, str) else None
        return _models_at(field.annotation, rest) if field is not None else []
    args = typing.get_args(tp)
    if origin in (list, tuple, set) and isinstance(part, int) and args:
        return _models_at(args[0], rest)
    if origin is dict and isinstance(part, str) and len(args) == 2:
        return _models_at(args[1], rest)
    return []


def _suggest(model: type[BaseModel] | None, loc: tuple[Any, ...]) -> str:
    """`` (did you mean 'x'?)`` for an unknown key, from the fields allowed where it is."""
    import difflib

    if model is None or not loc or not isinstance(loc[-1], str):
        return ""
    plain = tuple(p for p in loc[:-1] if not _is_branch(p))
    known = sorted({f for m in _models_at(model, plain) for f in m.model_fields})
    close = difflib.get_close_matches(loc[-1], known, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def validation_error(
    exc: ValidationError,
    path: Path | str,
    node: yaml.Node | None = None,
    prefix: tuple = (),
    model: type[BaseModel] | None = None,
) -> ConfigError:
    """One short ConfigError for a pydantic ValidationError (first few problems). With the
    ``model`` that was validated, an unknown key suggests the closest allowed one."""
    lines = []
    errors = _useful_errors(exc.errors())
    for err in errors[:5]:
        loc = (*prefix, *err["loc"])
        line = line_of(node, tuple(p for p in loc if not _is_branch(p)))
        where = f"{path}:{line}" if line else str(path)
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown field" + _suggest(model, tuple(err["loc"]))
        lines.append(f"{where}: {format_loc(loc)}: {msg}")
    more = len(errors) - 5
    if more > 0:
        lines.append(f"... and {more} more")
    return ConfigError("\n".join(lines), hint="fix the field(s) named above")


def validate(model: type[BaseModel], data: Any, path: Path | str, node=None, prefix=()) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, path, node, prefix, model=model) from None
