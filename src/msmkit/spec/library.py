"""Finding specs: the search path (``$MSMKIT_SPECS_PATH``, ``./specs``, the bundled library),
listing every spec on it, and loading one by name or path.

A ``.md``/``.markdown``/``.txt`` file without front matter loads as a prose spec; a file
with front matter is always parsed strictly (see ``docs/specs.md``)."""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterator
from pathlib import Path

from msmkit.errors import SpecError
from msmkit.naming import looks_like_path
from msmkit.spec.model import Spec
from msmkit.spec.parse import (
    PROSE_SUFFIXES,
    check_characters,
    has_front_matter,
    parse_prose_spec,
    parse_spec,
)

__all__ = ["SPECS_PATH_ENV", "bundled_specs_dir", "list_specs", "load_spec", "spec_search_path"]

SPECS_PATH_ENV = "MSMKIT_SPECS_PATH"
_PACKAGE = Path(__file__).resolve().parents[1]  # src/msmkit in a checkout, msmkit in a wheel


def bundled_specs_dir() -> Path:
    """The specs that ship with msmkit: the repo's ``specs/`` in a source checkout, else the
    copy hatchling puts inside the wheel."""
    source = _PACKAGE.parents[1] / "specs"
    if source.is_dir():
        return source
    return _PACKAGE / "_bundled" / "specs"


def spec_search_path() -> list[Path]:
    """Where spec names are looked up, in order: ``$MSMKIT_SPECS_PATH`` entries,
    ``./specs``, then the bundled library. Directories that do not exist are kept so that
    error messages can say where msmkit looked."""
    entries = os.environ.get(SPECS_PATH_ENV, "").split(os.pathsep)
    candidates = [Path(entry).expanduser() for entry in entries if entry.strip()]
    candidates += [Path.cwd() / "specs", bundled_specs_dir()]
    seen: set[Path] = set()
    result: list[Path] = []
    for candidate in candidates:
        key = candidate.resolve()
        if key not in seen:
            seen.add(key)
            result.append(candidate)
    return result


def _spec_files(directory: Path) -> Iterator[Path]:
    if not directory.is_dir():
        return
    files = [f for suffix in PROSE_SUFFIXES for f in directory.glob(f"*{suffix}")]
    for file in sorted(files):
        if file.stem.lower() != "readme" and not file.name.startswith((".", "_")):
            yield file


def _read(path: Path) -> Spec:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError(f"not UTF-8 text ({exc.reason})", path=path) from None
    except OSError as exc:
        raise SpecError(f"cannot read file: {exc.strerror or exc}", path=path) from None
    check_characters(text, path)
    if not has_front_matter(text) and path.suffix.lower() in PROSE_SUFFIXES:
        return parse_prose_spec(text, path=path)
    return parse_spec(text, path=path)


def load_spec(name_or_path: str | Path) -> Spec:
    """Load a spec from a file path, or by name from ``spec_search_path()``."""
    if isinstance(name_or_path, Path) or looks_like_path(name_or_path):
        path = Path(name_or_path).expanduser()
        if not path.is_file():
            raise SpecError(
                "no such spec file",
                path=path,
                hint="check the path, or give a spec name (see 'msmkit specs list')",
            )
        return _read(path)
    name = name_or_path
    search = spec_search_path()
    for directory in search:
        for suffix in PROSE_SUFFIXES:
            candidate = directory / f"{name}{suffix}"
            if candidate.is_file():
                return _read(candidate)
    found = list_specs()
    for spec in found:
        if spec.name == name:
            return spec
    known = sorted({s.name for s in found} | {f.stem for d in search for f in _spec_files(d)})
    close = difflib.get_close_matches(name, known, n=3)
    suggestion = f"did you mean {', '.join(repr(c) for c in close)}? " if close else ""
    looked = ", ".join(str(d) + ("" if d.is_dir() else " (missing)") for d in search)
    raise SpecError(
        f"unknown spec '{name}'",
        hint=f"{suggestion}looked in: {looked}. Set ${SPECS_PATH_ENV} or pass a file path.",
    )


def list_specs(*, errors: list[SpecError] | None = None) -> list[Spec]:
    """Every valid spec on the search path; the first spec with a given name wins.

    Invalid files are skipped; pass a list as ``errors`` to collect their errors.
    """
    specs: dict[str, Spec] = {}
    for directory in spec_search_path():
        for file in _spec_files(directory):
            try:
                spec = _read(file)
            except SpecError as exc:
                if errors is not None:
                    errors.append(exc)
                continue
            specs.setdefault(spec.name, spec)
    return list(specs.values())
