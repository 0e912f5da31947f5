"""Named components, collected from plugins through the ``register_*`` hooks.

Each kind has one registry, built on first use by calling every plugin's hook separately so
each component remembers which plugin provided it. An unknown name suggests close matches.

A name registered twice is a *clash*. The first registration (built-ins come first) is kept
and the clash is recorded on the registry, so ``msmkit plugins`` and ``msmkit list`` can show
it; :func:`get_registry` raises it as a DuplicateComponentError naming both providers, so
anything that actually uses that kind of component fails until one provider is removed.

A hook that raises marks its plugin broken (see :mod:`msmkit.plugins`); what that one hook
call registered is dropped, the plugin's other hooks are unaffected.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel

from msmkit import plugins
from msmkit.errors import (
    DuplicateComponentError,
    MsmkitError,
    PluginError,
    UnknownComponentError,
)

Kind = Literal["variants", "generators", "backends", "tasks", "stages", "executors"]

HOOKS: dict[str, str] = {
    "variants": "register_spec_variants",
    "generators": "register_doc_generators",
    "backends": "register_training_backends",
    "tasks": "register_eval_tasks",
    "stages": "register_stage_kinds",
    "executors": "register_executors",
}
SINGULAR = {
    "variants": "variant",
    "generators": "generator",
    "backends": "backend",
    "tasks": "task",
    "stages": "stage kind",
    "executors": "executor",
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


@dataclass(frozen=True)
class Clash:
    """A name registered a second time: ``kept`` is the first registration, ``rejected``
    the one that was refused (its component is kept here so listings can describe it)."""

    kind: str
    name: str
    kept: Entry
    rejected: Entry

    @property
    def message(self) -> str:
        return (
            f"{SINGULAR[self.kind]} '{self.name}' is registered by both "
            f"{self.kept.provider} and {self.rejected.provider}"
        )

    def error(self) -> DuplicateComponentError:
        return DuplicateComponentError(
            self.message,
            hint="uninstall one of them, or skip one with "
            f"MSMKIT_BLOCK_PLUGINS={self.rejected.plugin}",
        )


class Registry:
    def __init__(
        self,
        kind: Kind,
        entries: dict[str, Entry],
        aliases: dict[str, str],
        clashes: list[Clash] | None = None,
    ) -> None:
        self.kind = kind
        self._entries = entries
        self._aliases = aliases
        self.clashes: list[Clash] = list(clashes or [])

    def __contains__(self, name: str) -> bool:
        return name in self._entries or name in self._aliases

    def names(self) -> list[str]:
        return sorted(self._entries)

    def entries(self) -> list[Entry]:
        return [self._entries[n] for n in self.names()]

    def check_clashes(self) -> None:
        """Raise the first clash as a DuplicateComponentError naming both providers."""
        if self.clashes:
            raise self.clashes[0].error()

    def entry(self, name: str) -> Entry:
        name = self._aliases.get(name, name)
        if name in self._entries:
            return self._entries[name]
        what = SINGULAR[self.kind]
        close = difflib.get_close_matches(name, list(self._entries) + list(self._aliases), n=3)
        hint = f"did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
        available = ", ".join(self.names()) or "none"
        broken = [i.name for i in plugins.plugin_infos() if i.status == "error"]
        if broken:
            hint += f"(plugins with errors: {', '.join(broken)}; see `msmkit plugins`) "
        raise UnknownComponentError(
            f"unknown {what} '{name}'",
            hint=f"{hint}available: {available}. `msmkit list {self.kind}` shows them all",
        )

    def get(self, name: str) -> Any:
        return self.entry(name).component


_cache: dict[str, Registry] = {}
_cache_generation = -1


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
        "executors": "run",
    }[kind]
    if not callable(getattr(item, required, None)):
        raise TypeError(f"{SINGULAR[kind]} '{name}' has no {required}() method")


class _HookCall:
    """The ``register`` callable handed to one plugin's hook, and what that call added."""

    def __init__(
        self,
        kind: Kind,
        entries: dict[str, Entry],
        alias_map: dict[str, str],
        clashes: list[Clash],
        plugin_name: str,
        provider: str,
    ) -> None:
        self.kind, self.entries, self.alias_map, self.clashes = kind, entries, alias_map, clashes
        self.plugin_name, self.provider = plugin_name, provider
        self.added: list[str] = []
        self.added_aliases: list[str] = []

    def register(self, item: Any, *, aliases: tuple[str, ...] = ()) -> None:
        _check_contract(self.kind, item)
        names = (item.name, *aliases)
        mine = Entry(item.name, item, self.plugin_name, self.provider)
        for n in names:
            kept = self.entries.get(n) or self.entries.get(self.alias_map.get(n, ""))
            if kept is not None:  # the first registration wins; the clash is remembered
                self.clashes.append(Clash(self.kind, n, kept, mine))
                plugins.record_clash(self.plugin_name, self.clashes[-1].message)
                return
        self.entries[item.name] = mine
        self.added.append(item.name)
        for alias in names[1:]:
            self.alias_map[alias] = item.name
            self.added_aliases.append(alias)

    def roll_back(self) -> None:
        for n in self.added:
            self.entries.pop(n, None)
        for alias in self.added_aliases:
            self.alias_map.pop(alias, None)


def _build(kind: Kind) -> Registry:
    pm = plugins.get_plugin_manager()
    entries: dict[str, Entry] = {}
    alias_map: dict[str, str] = {}
    clashes: list[Clash] = []
    hook_name = HOOKS[kind]
    found = getattr(pm.hook, hook_name).get_hookimpls()
    infos = {impl.plugin_name: plugins.plugin_info(impl.plugin_name) for impl in found}

    def builtin(name: str) -> bool:
        info = infos[name]
        return info is not None and info.builtin

    # Built-ins first, so a clash is reported against msmkit's own component.
    impls = sorted(found, key=lambda impl: not builtin(impl.plugin_name))
    for impl in impls:
        info = infos[impl.plugin_name]
        call = _HookCall(
            kind,
            entries,
            alias_map,
            clashes,
            impl.plugin_name,
            info.provider if info else impl.plugin_name,
        )
        try:
            impl.function(register=call.register)
        except Exception as exc:  # a broken plugin is reported, not fatal (unless strict)
            call.roll_back()
            if info is not None and info.builtin:
                raise PluginError(
                    f"built-in plugin {impl.plugin_name} failed in {hook_name}: {exc}"
                ) from exc
            plugins.record_failure(impl.plugin_name, exc, hook=hook_name)
    return Registry(kind, entries, alias_map, clashes)


def get_registry(kind: Kind, *, allow_clashes: bool = False) -> Registry:
    """The registry of one kind of component, built from every loaded plugin.

    A clash (one name, two providers) is raised as a DuplicateComponentError unless
    ``allow_clashes`` (listings that must show it rather than fail on it).
    """
    global _cache_generation
    plugins.get_plugin_manager()  # loading plugins bumps the generation
    if _cache_generation != plugins.generation():
        _cache.clear()
        _cache_generation = plugins.generation()
    registry = _cache.get(kind)
    if registry is None:
        registry = _cache[kind] = _build(kind)
    if not allow_clashes:
        registry.check_clashes()
    return registry


def get(kind: Kind, name: str) -> Any:
    return get_registry(kind).get(name)
