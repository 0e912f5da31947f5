"""Applying spec variants: the one place that validates a variant's options, runs its code and
checks what it returned, so a broken variant is blamed by name (and not whatever runs next).

Used by ``msmkit generate docs --variant``, ``msmkit specs show --variant`` and the run graph.
On the command line a variant is written ``NAME`` or ``NAME:KEY=VALUE,KEY=VALUE`` (values
are YAML, as with ``-O``): ``attribution:subject=AI systems,plural=true``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from msmkit.errors import ConfigError, OptionError, PluginError
from msmkit.spec import Spec

if TYPE_CHECKING:
    from msmkit.registry import Entry

__all__ = [
    "VARIANT_SYNTAX",
    "apply_variant",
    "apply_variants",
    "parse_variant_ref",
    "variant_options",
]

VARIANT_SYNTAX = "NAME or NAME:KEY=VALUE,KEY=VALUE (YAML values)"
_NEXT_KEY = re.compile(r",(?=\s*[A-Za-z_][A-Za-z0-9_-]*\s*=)")
"""Split ``a=1,b=x, y`` at commas that start a new ``key=``; other commas stay in values."""


def parse_variant_ref(text: str) -> tuple[str, dict[str, Any]]:
    """``"attribution:subject=Claude,plural=false"`` -> ``("attribution", {...})``."""
    import yaml

    from msmkit.yamlfile import YAMLValueError, parse_yaml

    name, sep, rest = text.partition(":")
    name = name.strip()
    if not name:
        raise ConfigError(f"--variant {text!r}: no variant name", hint=f"write {VARIANT_SYNTAX}")
    options: dict[str, Any] = {}
    if not sep or not rest.strip():
        return name, options
    for pair in _NEXT_KEY.split(rest):
        key, eq, value = pair.partition("=")
        key = key.strip()
        if not eq or not key:
            raise ConfigError(
                f"--variant {text!r}: expected KEY=VALUE, got {pair.strip()!r}",
                hint=f"write {VARIANT_SYNTAX}",
            )
        if key in options:
            raise ConfigError(f"--variant {text!r}: option '{key}' given twice")
        try:
            options[key] = parse_yaml(value)[0]
        except (yaml.YAMLError, YAMLValueError):
            raise ConfigError(
                f"--variant {text!r}: option '{key}': {value.strip()!r} is not a valid YAML value",
                hint="quote the value, e.g. subject='\"AI: systems\"'",
            ) from None
    return name, options


def variant_options(entry: Entry, raw: Mapping[str, Any] | BaseModel | None) -> BaseModel:
    """Validate ``raw`` against the variant's ``Options``; a problem is an OptionError (a
    ConfigError) naming the variant and the field."""
    model: type[BaseModel] = entry.component.Options
    if isinstance(raw, model):
        return raw
    if isinstance(raw, BaseModel):
        raw = raw.model_dump()
    try:
        return model.model_validate(dict(raw or {}))
    except ValidationError as exc:
        raise _option_error(entry, model, exc) from None


def _option_error(entry: Entry, model: type[BaseModel], exc: ValidationError) -> OptionError:
    # an unknown option is usually a typo that also causes a "missing" error: report it first
    order = {"extra_forbidden": 0, "missing": 2}
    errors = sorted(exc.errors(), key=lambda e: order.get(e["type"], 1))
    first = errors[0]
    loc = tuple(first["loc"])
    field = ".".join(str(part) for part in loc) or "(options)"
    fields = list(model.model_fields)
    if first["type"] == "extra_forbidden":
        problem = "unknown option"
        close = difflib.get_close_matches(field, fields, n=1)
        if close:
            problem += f" (did you mean '{close[0]}'?)"
    elif first["type"] == "missing":
        problem = "required option is missing"
    else:
        problem = first["msg"]
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    hint = (
        f"options of '{entry.name}': {', '.join(fields)}"
        if fields
        else f"'{entry.name}' takes no options"
    )
    return OptionError(
        f"variant '{entry.name}': option '{field}': {problem}{more}", loc=loc, hint=hint
    )


def apply_variant(entry: Entry, spec: Spec, options: Any) -> Spec:
    """Run one variant's ``apply``. Its exceptions, and a result that is not a ``Spec``, are a
    PluginError naming the variant and its provider. ``options`` may be a mapping (it is
    validated first) or the variant's ``Options`` instance. A prose spec is refused with a
    ConfigError: variants work on principles."""
    if spec.is_prose:
        raise ConfigError(
            f"variant '{entry.name}' needs a structured spec (front matter + Rule/Why); "
            f"'{spec.name}' is free prose",
            hint="write the spec in the structured format (docs/specs.md), or drop the variant",
        )
    opts = variant_options(entry, options)
    result = entry.call("applying the variant", entry.component.apply, spec, opts)
    if not isinstance(result, Spec):
        raise PluginError(
            f"{entry.name} ({entry.provider}) failed while applying the variant: apply() "
            f"returned {type(result).__name__}, not a Spec",
            hint="apply() must return a new Spec, e.g. spec.replace(...); this is a bug in "
            "that variant",
        )
    return result


def apply_variants(spec: Spec, refs: Iterable[tuple[str, Mapping[str, Any] | None]]) -> Spec:
    """Apply ``(name, options)`` variants in order, each to the previous one's result. An
    unknown name is an UnknownComponentError, bad options an OptionError."""
    from msmkit.registry import get_registry

    registry = get_registry("variants")
    for name, raw in refs:
        spec = apply_variant(registry.entry(name), spec, raw)
    return spec
