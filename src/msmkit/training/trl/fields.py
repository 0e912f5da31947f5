"""Checking user option values against a config dataclass's fields (SFTConfig, LoraConfig).

The dataclasses themselves check little (``SFTConfig(num_train_epochs="two")`` builds fine and
fails hours later, ``LoraConfig(r=0)`` too), so each user key is validated against its field's
annotation with a pydantic ``TypeAdapter`` first. Two adjustments make that match how the
libraries really read values: ``SomeEnum | str`` fields accept only the enum's values (they
are converted with ``SomeEnum(value)``), and a string is never accepted where a number or
bool is meant (YAML reads ``1e-4`` as the text "1e-4").
"""

from __future__ import annotations

import dataclasses
import difflib
import enum
import functools
import re
import types
import typing
from collections.abc import Mapping
from typing import Any

from msmkit.errors import OptionError

_UNION_TYPES = (typing.Union, types.UnionType)


def init_fields(cls: type) -> set[str]:
    """The keyword arguments a config dataclass accepts."""
    return {f.name for f in dataclasses.fields(cls) if f.init}


def check_known(block: str, values: Mapping[str, Any], known: set[str], docs: str) -> None:
    """An unknown key is an OptionError at ``(block, key)`` suggesting the closest real one."""
    unknown = [key for key in values if key not in known]
    if not unknown:
        return
    suggestions = []
    for key in unknown:
        close = difflib.get_close_matches(key, sorted(known), n=1)
        if close:
            suggestions.append(f"{key!r} -> {close[0]!r}?")
    hint = ("Did you mean " + ", ".join(suggestions) + " ") if suggestions else ""
    raise OptionError(
        f"unknown {block} option(s): {', '.join(unknown)}",
        loc=(block, unknown[0]),
        hint=hint + f"See {docs} for the valid keys.",
    )


def _lenient(tp: Any) -> Any:
    """The annotation as the library really reads it (see the module docstring)."""
    origin = typing.get_origin(tp)
    if origin in _UNION_TYPES:
        args = [_lenient(a) for a in typing.get_args(tp)]
        if str in args and any(isinstance(a, type) and issubclass(a, enum.Enum) for a in args):
            args.remove(str)
        return typing.Union[tuple(args)]  # noqa: UP007 (built from a runtime tuple)
    literal = typing.get_args(tp) if origin is typing.Literal else ()
    # Literal values that are templates, e.g. peft's 'pissa_niter_[number of iters]'.
    if any(isinstance(a, str) and "[" in a for a in literal):
        return typing.Union[tuple({type(a) for a in literal})]  # noqa: UP007
    return tp


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    try:
        return typing.get_type_hints(cls)
    except Exception:  # an annotation we cannot resolve: skip type checks for this class
        return {}


@functools.cache
def _adapter(cls: type, key: str) -> Any:
    tp = _hints(cls).get(key)
    return None if tp is None else _make_adapter(_lenient(tp))


@functools.cache
def _text_adapter(text: str) -> Any:
    from msmkit.schemas import restore

    return _make_adapter(restore(text))


def _make_adapter(tp: Any) -> Any:
    from pydantic import ConfigDict, TypeAdapter

    try:
        return TypeAdapter(tp, config=ConfigDict(arbitrary_types_allowed=True))
    except Exception:  # a type pydantic cannot express: the dataclass itself checks it
        return None


def lenient_portable(tp: Any) -> Any:
    """The annotation as :func:`check_types` reads it, for a cached schema
    (``msmkit.schemas.dataclass_fields(cls, lenient=lenient_portable)``)."""
    return _lenient(tp)


def type_name(tp: Any) -> str:
    """``float | None``, ``SchedulerType | str``: annotations without module prefixes."""
    if isinstance(tp, type) and typing.get_origin(tp) is None:
        return tp.__name__
    text = str(tp).replace("typing.", "").replace("NoneType", "None")
    return re.sub(r"\b(?:[A-Za-z_]\w*\.)+([A-Za-z_]\w*)", r"\1", text)


def check_types(
    block: str, cls: type | Mapping[str, str], values: Mapping[str, Any], docs: str
) -> None:
    """Each value must fit its field's annotation; errors are OptionErrors at (block, key).
    ``cls`` is the config dataclass, or its cached schema (field -> portable annotation)."""
    from pydantic import ValidationError

    from msmkit.schemas import restore

    for key, value in values.items():
        if isinstance(cls, Mapping):
            text = cls.get(key)
            adapter = None if text is None else _text_adapter(text)
            tp = None if text is None else restore(text)
        else:
            adapter = _adapter(cls, key)
            tp = _hints(cls).get(key)
        if adapter is None:
            continue
        expected = type_name(tp)
        try:
            parsed = adapter.validate_python(value)
        except ValidationError as exc:
            reason = exc.errors()[0]["msg"]
            raise OptionError(
                f"{block} option {key!r} has an invalid value {value!r}: {reason}",
                loc=(block, key),
                hint=f"{key} takes {expected}. See {docs}.",
            ) from None
        if isinstance(value, str) and not isinstance(parsed, (str, enum.Enum)):
            raise OptionError(
                f"{block} option {key!r} is the text {value!r}, not {expected}",
                loc=(block, key),
                hint=_text_hint(value),
            )


def _text_hint(value: str) -> str:
    try:
        float(value)
    except ValueError:
        return "Remove the quotes around the value."
    return (
        "YAML reads numbers like 1e-4 as text; write them with a dot and a signed exponent "
        "(1.0e-4) or in full (0.0001)."
    )
