"""Ablation matrices: axes of an experiment expanded into arms named by their coordinates.

```yaml
matrix:
  axes:
    spec: [pro-affordability, pro-america]
    variant: [none, rules-only]          # a variant name, {name, options}, a list, or none
    aft_size: [50, 100, 200]             # nested AFT subsets of one set (aft-subset)
    msm_tokens: [1000000, 2000000, full] # nested midtraining doses of one corpus
    seed: [0, 1]                         # replicates: every arm is trained once per seed
    lr:                                  # any other axis: values and where they go
      values: [1.0e-4, 3.0e-4]
      set: {midtrain.options.sft.learning_rate: "{value}"}
    condition:                           # settings that differ per value
      values: [msm-aft, msm, aft]
      cases: {msm: {aft: false}, aft: {spec: null, midtrain: false}}
  exclude: [{spec: pro-america, variant: rules-only}]
  include: []                            # extra coordinates, axes' lists or not
  arm: {}                                # settings every matrix arm has (like an arm's)
  name: null                             # e.g. "{spec}-{variant}-aft{aft_size}"
```

Each coordinate becomes an ordinary arm (the experiment's ``defaults`` still apply), so every
stage two arms have in common is one stage in the store. ``seed`` sets the experiment's
seeds: seeds are replicates of an arm, and the comparison treats them so. Errors in a matrix
arm name the line of the axis value (or the ``arm`` template setting) at fault.
"""

from __future__ import annotations

import copy
import itertools
import re
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError

from msmkit.components import Options
from msmkit.naming import MAX_NAME

SPEC_SUFFIXES = (".md", ".markdown", ".txt", ".jsonl", ".yaml", ".yml")

BUILTIN_AXES = ("spec", "variant", "aft", "aft_size", "aft_tokens", "msm_tokens", "seed")
"""Axes msmkit knows how to apply; any other axis needs ``set``."""
FULL = ("full", "all", None)
SUBSET_SEED = 0
"""Every subset of one set is a prefix of the same seeded order: nested doses and sizes."""


class Axis(Options):
    values: list[Any] = Field(min_length=1)
    set: dict[str, Any] = Field(
        default_factory=dict,
        description="dotted arm paths and the value each coordinate puts there; '{value}' "
        "stands for the axis value",
    )
    cases: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="per value, dotted arm paths and what that value puts there (a "
        "condition axis: {aft-only: {spec: null, midtrain: false}, msm-only: {aft: false}})",
    )


class MatrixSettings(Options):
    axes: dict[str, list[Any] | Axis] = Field(min_length=1)
    include: list[dict[str, Any]] = Field(default_factory=list)
    exclude: list[dict[str, Any]] = Field(default_factory=list)
    arm: dict[str, Any] = Field(default_factory=dict)
    name: str | None = Field(None, description="arm name template, e.g. '{spec}-{variant}'")

    def values(self, axis: str) -> list[Any]:
        spec = self.axes[axis]
        return list(spec.values if isinstance(spec, Axis) else spec)


class MatrixError(ValueError):
    """A problem in the matrix, with the location (in the experiment file) it is about."""

    def __init__(self, loc: tuple[Any, ...], message: str) -> None:
        super().__init__(message)
        self.loc = loc


def coordinates(matrix: MatrixSettings) -> list[dict[str, Any]]:
    """Every coordinate: the product of the axes (but seed), minus ``exclude``, plus
    ``include``, in the order the axes list their values."""
    names = [a for a in matrix.axes if a != "seed"]
    for k, row in enumerate([*matrix.include, *matrix.exclude]):
        unknown = [key for key in row if key not in matrix.axes]
        if unknown:
            where = "include" if k < len(matrix.include) else "exclude"
            index = k if where == "include" else k - len(matrix.include)
            raise MatrixError((where, index, unknown[0]), f"'{unknown[0]}' is not an axis")
    out = []
    for combo in itertools.product(*(matrix.values(a) for a in names)):
        coord = dict(zip(names, combo, strict=True))
        if any(all(coord.get(k) == v for k, v in ex.items()) for ex in matrix.exclude):
            continue
        out.append(coord)
    for extra in matrix.include:
        coord = {k: v for k, v in extra.items() if k != "seed"}
        missing = [a for a in names if a not in coord]
        if missing:
            index = matrix.include.index(extra)
            raise MatrixError(("include", index), f"include gives no value for axis '{missing[0]}'")
        if coord not in out:
            out.append(coord)
    return out


def _slug(value: Any) -> str:
    if isinstance(value, dict):  # a variant: its name and its options' values
        options = value.get("options") or {}
        value = "-".join([str(value.get("name", "x")), *(str(v) for v in options.values())])
    elif isinstance(value, list):
        value = "+".join(_slug(v) for v in value) or "none"
    elif isinstance(value, str) and ("/" in value or value.endswith(SPEC_SUFFIXES)):
        value = Path(value).stem  # a spec (or data) file: its name, not its folders
    text = re.sub(r"[^A-Za-z0-9._-]+", "_", str(value)).strip("_.-")
    return text or "x"


def arm_name(matrix: MatrixSettings, coord: dict[str, Any]) -> str:
    if matrix.name:
        try:
            return _slug(matrix.name.format(**{k: _slug(v) for k, v in coord.items()}))
        except (KeyError, IndexError, ValueError) as exc:
            raise MatrixError(("name",), f"cannot fill the name template: {exc}") from None
    parts = []
    for axis, value in coord.items():
        text = _slug(value)
        parts.append(f"{axis.replace('_', '')}{text}" if isinstance(value, int | float) else text)
    return "-".join(parts)[:MAX_NAME]


def _set_path(arm: dict[str, Any], path: str, value: Any) -> None:
    keys = path.split(".")
    node = arm
    for key in keys[:-1]:
        child = node.get(key)
        if not isinstance(child, dict):
            child = {}
            node[key] = child
        node = child
    node[keys[-1]] = value


def _fill(template: Any, value: Any) -> Any:
    if template == "{value}":
        return value
    if isinstance(template, str):
        return template.replace("{value}", str(value))
    if isinstance(template, dict):
        return {k: _fill(v, value) for k, v in template.items()}
    if isinstance(template, list):
        return [_fill(v, value) for v in template]
    return template


def _variants(value: Any) -> list[Any]:
    if value in ("none", None, "base"):
        return []
    if isinstance(value, str):
        return [{"name": value}]
    if isinstance(value, dict):
        return [value]
    return list(value)


def _subset_step(kind: str, options: dict[str, Any], name: str) -> dict[str, Any]:
    return {"stage": kind, "name": name, "options": {**options, "seed": SUBSET_SEED}}


def expand_arm(
    matrix: MatrixSettings,
    coord: dict[str, Any],
    defaults: dict[str, Any],
    default_steps: list[str],
) -> tuple[dict[str, Any], dict[str, tuple[Any, ...]]]:
    """The arm for one coordinate, and for each arm field the matrix location it came from
    (so an error in it names the axis value's line)."""
    arm = copy.deepcopy(matrix.arm)
    where: dict[str, tuple[Any, ...]] = {k: ("arm", k) for k in arm}
    arm["name"] = arm_name(matrix, coord)
    where["name"] = ("name",) if matrix.name else ("axes",)
    steps: list[Any] | None = None
    for axis, value in coord.items():
        spec = matrix.axes[axis]
        index = matrix.values(axis).index(value) if value in matrix.values(axis) else None
        loc = ("axes", axis, *(() if index is None else (index,)))
        if isinstance(spec, Axis) and (spec.set or spec.cases):
            case = spec.cases.get(str(value), {})
            for path, template in {**spec.set, **case}.items():
                top = path.split(".")[0]
                if top not in arm and isinstance(defaults.get(top), dict):
                    arm[top] = copy.deepcopy(defaults[top])  # change one setting, keep the rest
                _set_path(arm, path, _fill(template, value))
                where[top] = (*loc[:2], "cases", str(value)) if path in case else loc
            continue
        if axis not in BUILTIN_AXES:
            raise MatrixError(
                ("axes", axis),
                f"axis '{axis}' is not one msmkit knows ({', '.join(BUILTIN_AXES)}); give it "
                "values and set: {arm.path: '{value}'}",
            )
        if axis == "spec":
            arm["spec"] = value
        elif axis == "variant":
            arm["variants"] = _variants(value)
        elif axis == "aft":
            aft = copy.deepcopy(arm.get("aft") or defaults.get("aft") or {})
            arm["aft"] = {**aft, "data": value}
        elif axis in ("aft_size", "aft_tokens", "msm_tokens"):
            if steps is None:
                steps = list(arm.get("stages") or defaults.get("stages") or default_steps)
            if value in FULL:
                where[axis] = loc
                continue
            if axis == "msm_tokens":
                step = _subset_step("corpus-subset", {"tokens": value}, "dose")
                steps.insert(_after(steps, "filters", "generate"), step)
            else:
                size = {"size": value} if axis == "aft_size" else {"tokens": value}
                steps.insert(_before(steps, "aft"), _subset_step("aft-subset", size, "aft-size"))
        where[{"variant": "variants"}.get(axis, axis)] = loc
    if steps is not None:
        arm["stages"] = steps
        where["stages"] = ("axes",)
    return arm, where


def _after(steps: list[Any], *names: str) -> int:
    for name in names:
        if name in steps:
            return steps.index(name) + 1
    return 0


def _before(steps: list[Any], name: str) -> int:
    return steps.index(name) if name in steps else len(steps)


def validate_arms(arms: list[dict[str, Any]], coords: list[Any] | None = None) -> None:
    """Two arms (matrix coordinates, or an arm listed by hand) that make one name are an
    error naming both."""
    coords = list(coords or []) + [None] * len(arms)
    seen: dict[str, int] = {}

    def which(i: int) -> str:
        coord = coords[i]
        if coord is None:
            return "an arm listed under arms:"
        return ", ".join(f"{axis}={value}" for axis, value in coord.items())

    for i, arm in enumerate(arms):
        if arm["name"] in seen:
            raise MatrixError(
                ("name",),
                f"two matrix arms are both named '{arm['name']}' "
                f"({which(seen[arm['name']])}; and {which(i)}): give matrix.name a template "
                "that tells them apart",
            )
        seen[arm["name"]] = i


__all__ = [
    "BUILTIN_AXES",
    "Axis",
    "MatrixError",
    "MatrixSettings",
    "ValidationError",
    "arm_name",
    "coordinates",
    "expand_arm",
    "validate_arms",
]
