"""Where msmkit's bundled files live: the repo's top-level folders in a source checkout,
``msmkit/_bundled/<name>`` inside an installed wheel."""

from __future__ import annotations

from pathlib import Path

_HERE = Path(__file__).resolve().parent


def bundled(name: str) -> Path:
    """The bundled folder ``name`` (specs, tasks, data, experiments)."""
    source = _HERE.parents[1] / name
    if (_HERE.parents[1] / "pyproject.toml").exists() and source.is_dir():
        return source
    return _HERE / "_bundled" / name


AFT_SETS = {"cheese": "aft/cheese.jsonl"}
"""Bundled AFT demonstration sets, by the name an experiment file may use."""


def aft_set(name: str) -> Path | None:
    rel = AFT_SETS.get(name)
    return bundled("data") / rel if rel else None
