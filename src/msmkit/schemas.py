"""Field schemas of heavy libraries' configs and of task signatures, cached on disk, so
``msmkit plan`` checks option names and types without importing torch, trl, peft or Inspect.

A schema is built once by importing the real thing (``trl.SFTConfig``'s fields, a task
function's signature) and written under ``$MSMKIT_CACHE_DIR`` (default
``$XDG_CACHE_HOME/msmkit`` or ``~/.cache/msmkit``), keyed by what it was built from: the
installed versions of the libraries (read from package metadata, no import) or the size and
mtime of a task's source files. Annotations are stored as portable text (an enum becomes
the ``Literal`` of its values; a class msmkit cannot name becomes ``Any``) and turned back
into types with :func:`restore`, so the same pydantic checks run on them. ``msmkit run``
still builds the real configs before any stage starts.
"""

from __future__ import annotations

import enum
import functools
import importlib.util
import os
import types
import typing
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Literal

from msmkit.files import read_json, write_json_atomic
from msmkit.hashing import fingerprint

SCHEMA_VERSION = "1"  # bump when the stored form changes


def cache_dir() -> Path:
    explicit = os.environ.get("MSMKIT_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "msmkit"


def dist_versions(*names: str) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in names:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


_memory: dict[str, dict[str, Any]] = {}


def cached(name: str, key: Any, build: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """The schema ``name`` for ``key``: from memory, from the cache folder, or built (and
    stored; a cache folder that can't be written only costs the build next time)."""
    digest = fingerprint(SCHEMA_VERSION, name, key)[:20]
    if digest in _memory:
        return _memory[digest]
    path = cache_dir() / "schemas" / f"{name}-{digest}.json"
    data = read_json(path)
    if not data:
        data = build()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_json_atomic(path, data)
        except OSError:
            pass
    _memory[digest] = data
    return data


# -- annotations as portable text -------------------------------------------------------------

_UNIONS = (typing.Union, types.UnionType)
_CONTAINERS = {list: "list", dict: "dict", tuple: "tuple", set: "set", frozenset: "frozenset"}


def portable(tp: Any) -> str:
    """An annotation as text :func:`restore` can read back without the defining module."""
    if tp is None or tp is type(None):
        return "None"
    if tp is Any:
        return "Any"
    if isinstance(tp, str):  # an unresolved forward reference
        return "Any"
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return f"Literal[{', '.join(repr(m.value) for m in tp)}]"
    if tp in (bool, int, float, str, bytes):
        return tp.__name__
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in _UNIONS:
        return f"Union[{', '.join(portable(a) for a in args)}]"
    if origin is Literal:
        return f"Literal[{', '.join(repr(a) for a in args)}]"
    if origin in _CONTAINERS:
        name = _CONTAINERS[origin]
        if not args:
            return name
        inner = ", ".join("..." if a is Ellipsis else portable(a) for a in args)
        return f"{name}[{inner}]"
    if tp in _CONTAINERS:
        return _CONTAINERS[tp]
    return "Any"


_NAMESPACE = {
    "Any": Any,
    "Union": typing.Union,
    "Literal": Literal,
    "list": list,
    "dict": dict,
    "tuple": tuple,
    "set": set,
    "frozenset": frozenset,
    "bool": bool,
    "int": int,
    "float": float,
    "str": str,
    "bytes": bytes,
    "None": None,
}


@functools.cache
def restore(text: str) -> Any:
    """The annotation :func:`portable` wrote (``Any`` if it cannot be read)."""
    try:
        return eval(text, {"__builtins__": {}}, dict(_NAMESPACE))
    except Exception:
        return Any


# -- what gets cached ----------------------------------------------------------------------------


def dataclass_fields(cls: type, *, lenient: Callable[[Any], Any] | None = None) -> dict[str, Any]:
    """``{"fields": {name: portable annotation}}`` of a config dataclass's init fields."""
    import dataclasses

    try:
        hints = typing.get_type_hints(cls)
    except Exception:
        hints = {}
    fields = {}
    for f in dataclasses.fields(cls):
        if f.init:
            tp = hints.get(f.name, Any)
            fields[f.name] = portable(lenient(tp) if lenient else tp)
    return {"fields": fields}


def pydantic_fields(model: type) -> dict[str, Any]:
    fields = {name: portable(info.annotation) for name, info in model.model_fields.items()}
    return {"fields": fields}


def signature_schema(fn: Any) -> dict[str, Any]:
    """A task function's parameters: names, portable annotations, whether it takes **kwargs."""
    import inspect

    target = inspect.unwrap(fn)
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return {"opaque": True, "params": {}, "var_keyword": True}
    try:
        hints = typing.get_type_hints(target)
    except Exception:
        hints = {}
    params = {}
    var_keyword = False
    for name, p in sig.parameters.items():
        if p.kind is inspect.Parameter.VAR_KEYWORD:
            var_keyword = True
            continue
        if p.kind is inspect.Parameter.VAR_POSITIONAL:
            continue
        params[name] = portable(hints[name]) if name in hints else None
    return {"params": params, "var_keyword": var_keyword}


def source_stamp(module: str) -> list[Any] | None:
    """Size and mtime of a module's source files (all of a package's), found without
    importing the module itself (its parent packages are imported)."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin or not Path(spec.origin).is_file():
        return None
    origin = Path(spec.origin)
    files = sorted(origin.parent.rglob("*.py")) if spec.submodule_search_locations else [origin]
    stamp: list[Any] = [str(origin)]
    for path in files:
        st = path.stat()
        stamp.append([path.name, st.st_size, st.st_mtime_ns])
    return stamp
