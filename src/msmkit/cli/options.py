"""Small helpers shared by commands: ``-O KEY=VALUE`` options, guarded generator output."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def parse_options(pairs: tuple[str, ...], *, flag: str = "-O") -> dict[str, Any]:
    """``KEY=VALUE`` pairs (values are YAML) as a mapping; ``flag`` names them in errors."""
    from msmkit.errors import ConfigError
    from msmkit.yamlfile import load_value

    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"{flag} {pair!r}: expected KEY=VALUE")
        out[key.strip()] = load_value(value, f"{flag} {pair}")
    return out


def guarded(entry: Any, documents: Iterator[Any]) -> Iterator[Any]:
    """Iterate a generator's documents; its unexpected exceptions become a PluginError that
    names it (documents already written stay written)."""
    from msmkit.errors import MsmkitError

    iterator = iter(documents)
    while True:
        try:
            doc = next(iterator)
        except StopIteration:
            return
        except MsmkitError:
            raise
        except Exception as exc:
            raise entry.error("generating documents", exc) from exc
        yield doc
