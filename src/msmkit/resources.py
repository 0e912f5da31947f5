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


AFT_SETS = {
    "cheese": "aft/cheese.jsonl",
    "pro-environment": "aft/pro-environment.jsonl",
    "pro-novelty": "aft/pro-novelty.jsonl",
    "pro-tradition": "aft/pro-tradition.jsonl",
    "pro-simplicity": "aft/pro-simplicity.jsonl",
    "pro-difficulty": "aft/pro-difficulty.jsonl",
    "pro-individualism": "aft/pro-individualism.jsonl",
}
"""Bundled AFT demonstration sets, by the name an experiment file may use. ``cheese`` serves
both cheese specs (pro-affordability, pro-America); each other set serves the spec it is named
after."""

CHOICE_BANKS = (
    "value_generalization",
    "ood_environment",
    "ood_novelty",
    "ood_tradition",
    "ood_simplicity",
    "ood_difficulty",
    "ood_individualism",
)
"""Bundled held-out forced-choice banks, each ``tasks/<name>/items.jsonl``:
``value_generalization`` for the two cheese values, ``ood_<value>`` for the other six value
specs. ``msmkit/value_generalization`` runs any of them (``bank=``)."""


def aft_set(name: str) -> Path | None:
    rel = AFT_SETS.get(name)
    return bundled("data") / rel if rel else None
