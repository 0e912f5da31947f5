"""Named components, collected from plugins through the ``register_*`` hooks.

Each kind has one registry, built on first use by calling every plugin's hook separately so
each component remembers which plugin provided it. A name registered twice is an error naming
both providers; an unknown name suggests close matches.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel

from msmkit.errors import (
    DuplicateComponentError,
    MsmkitError,
    PluginError,
    UnknownComponentError,
)

Kind = Literal["variants", "generators", "backends", "tasks", "stages"]

HOOKS: dict[str, str] = {
    "variants": "register_spec_variants",
    "generators": "register_doc_generators",
    "backends": "register_training_backends",
    "tasks": "register_eval_tasks",
    "stages": "register_stage_kinds",
}
SINGULAR = {
    "variants": "variant",
    "generators": "generator",
    "backends": "backend",
    "tasks": "task",
    "stages": "stage kind",
}


@dataclass(frozen=True)
class Entry:
    name: str
    component: Any
    plugin: str  # plugin name, e.g. "attribution" or "msmkit.variants"
    provider: str  # human-readable, with package and version

    @property
    def description(self) -> str:
        text = getattr(self.component, "description", "") or ""
        return text.strip().splitlines()[0] if text.strip() else ""

    def call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """Run this component's code; its unexpected exceptions become one short
        PluginError that names the component and its provider (msmkit's own errors pass)."""
        try:
            return fn(*args, **kwargs)
        except MsmkitError:
            raise
        except Exception as exc:
            raise self.error(what, exc) from exc

    def error(self, what: str, exc: BaseException) -> PluginError:
        return PluginError(
            f"{self.name} ({self.provider}) failed while {what}: {type(exc).__name__}: {exc}",
            hint="this is a bug in that component; rerun with --debug for the traceback",
        )


class Registry:
    def __init__(self, kind: Kind, entries: dict[str, Entry], aliases: dict[str, str]) -> None:
        self.kind = kind
        self._entries = entries
        self._aliases = aliases

    def __contains__(self, name: str) -> bool:
        return name in self._entries or name in self._aliases

    def names(self) -> list[str]:
        return sorted(self._entries)

    def entries(self) -> list[Entry]:
        return [self._entries[n] for n in self.names()]

    def entry(self, name: str) -> Entry:
        name = self._aliases.get(name, name)
        if name in self._entries:
            return self._entries[name]
        what = SINGULAR[self.kind]
        close = difflib.get_close_matches(name, list(self._entries) + list(self._aliases), n=3)
        hint = f"did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
        available = ", ".join(self.names()) or "none"
        from msmkit.plugins import plugin_infos

        broken = [i.name for i in plugin_infos() if i.status == "error"]
        if broken:
            hint += f"(plugins that failed to load: {', '.join(broken)}; see `msmkit plugins`) "
        raise UnknownComponentError(
            f"unknown {what} '{name}'",
            hint=f"{hint}available: {available}. `msmkit list {self.kind}` shows them all",
        )

    def get(self, name: str) -> Any:
        return self.entry(name).component


_cache: dict[str, Registry] = {}


def clear_cache() -> None:
    _cache.clear()


def _check_contract(kind: Kind, item: Any) -> None:
    name = getattr(item, "name", None)
    if not isinstance(name, str) or not name:
        raise TypeError(f"registered {SINGULAR[kind]} has no string 'name': {item!r}")
    if kind == "tasks":
        return
    options = getattr(item, "Options", None)
    if not (isinstance(options, type) and issubclass(options, BaseModel)):
        raise TypeError(f"{SINGULAR[kind]} '{name}' has no pydantic 'Options' class")
    required = {
        "variants": "apply",
        "generators": "generate",
        "backends": "train",
        "stages": "run",
    }[kind]
    if not callable(getattr(item, required, None)):
        raise TypeError(f"{SINGULAR[kind]} '{name}' has no {required}() method")


def _registrar(
    kind: Kind,
    entries: dict[str, Entry],
    alias_map: dict[str, str],
    plugin_name: str,
    provider: str,
    added: list[str],
):
    """The ``register`` callable handed to one plugin's hook."""

    def register(item: Any, *, aliases: tuple[str, ...] = ()) -> None:
        _check_contract(kind, item)
        names = (item.name, *aliases)
        for n in names:
            clash = entries.get(n) or entries.get(alias_map.get(n, ""))
            if clash is not None:
                raise DuplicateComponentError(
                    f"{SINGULAR[kind]} '{n}' is registered by both {clash.provider} and {provider}",
                    hint="uninstall one of them, or skip one with "
                    f"MSMKIT_BLOCK_PLUGINS={plugin_name}",
                )
        entries[item.name] = Entry(item.name, item, plugin_name, provider)
        for alias in names[1:]:
            alias_map[alias] = item.name
        added.append(item.name)

    return register


def get_registry(kind: Kind) -> Registry:
    """The registry of one kind of component, built from every loaded plugin."""
    if kind in _cache:
        return _cache[kind]
    from msmkit.plugins import get_plugin_manager, plugin_info, record_failure

    pm = get_plugin_manager()
    entries: dict[str, Entry] = {}
    alias_map: dict[str, str] = {}
    hook = getattr(pm.hook, HOOKS[kind])
    # Built-ins first, so a clash is reported against msmkit's own component.
    impls = sorted(hook.get_hookimpls(), key=lambda i: not i.plugin_name.startswith("msmkit."))
    for impl in impls:
        plugin_name = impl.plugin_name
        info = plugin_info(plugin_name)
        provider = info.provider if info else plugin_name
        added: list[str] = []
        register = _registrar(kind, entries, alias_map, plugin_name, provider, added)
        try:
            impl.function(register=register)
        except DuplicateComponentError:
            raise
        except Exception as exc:  # a broken plugin is reported, not fatal
            for n in added:
                entries.pop(n, None)
            record_failure(plugin_name, exc)
            if info is not None and info.builtin:
                raise PluginError(f"built-in plugin {plugin_name} failed: {exc}") from exc
    registry = Registry(kind, entries, alias_map)
    _cache[kind] = registry
    return registry


def get(kind: Kind, name: str) -> Any:
    return get_registry(kind).get(name)
