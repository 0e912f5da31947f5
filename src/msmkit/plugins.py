"""Finding and loading plugins.

Third-party plugins are modules named by entry points in the ``msmkit`` group. A plugin that
fails to import is recorded (``msmkit plugins`` shows it as ``error``) and a one-line warning is
printed; the rest of msmkit keeps working. ``MSMKIT_STRICT_PLUGINS=1`` turns load failures into
errors, ``MSMKIT_BLOCK_PLUGINS=a,b`` skips plugins by entry-point name.

A plugin whose ``register_*`` hook raises is marked broken the same way (status ``error``, one
warning per plugin). Only what *that hook call* registered is dropped: the plugin's other hooks
are independent calls and their components stay registered, whichever order the registries are
built in. In strict mode a raising hook is a PluginError naming the plugin and the hook.

Built-in components are ordinary plugins too (``DEFAULT_PLUGINS``), registered after the
installed ones through the same hooks.

This module sits below the registries (``msmkit.registry``) and never imports them: every
change to the set of plugins bumps :func:`generation`, which the registries compare against to
drop their caches.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any

import pluggy

from msmkit import hookspecs
from msmkit.errors import PluginError

DEFAULT_PLUGINS = (
    "msmkit.default_plugins.variants",
    "msmkit.default_plugins.generators",
    "msmkit.default_plugins.backends",
    "msmkit.default_plugins.tasks",
    "msmkit.default_plugins.stages",
    "msmkit.default_plugins.toyworld",
    "msmkit.default_plugins.executors",
)


@dataclass
class PluginInfo:
    """What ``msmkit plugins`` reports about one plugin."""

    name: str
    version: str
    package: str
    builtin: bool
    status: str = "ok"  # ok | error | blocked
    error: str | None = None
    hooks: list[str] = field(default_factory=list)

    @property
    def provider(self) -> str:
        """How errors name this plugin: ``msmkit-attribution 0.1.0 (plugin 'attribution')``."""
        if self.builtin:
            return f"msmkit {self.version} (built-in '{self.name}')"
        return f"{self.package} {self.version} (plugin '{self.name}')"

    @property
    def source(self) -> str:
        """Short form for tables: ``msmkit-attribution 0.1.0``."""
        return f"{self.package} {self.version}" + (" (built-in)" if self.builtin else "")

    def add_error(self, message: str) -> bool:
        """Mark this plugin as failed; True if it was not marked before."""
        first = self.status != "error"
        self.status = "error"
        if self.error is None:
            self.error = message
        elif message not in self.error.split("; "):
            self.error += f"; {message}"
        return first

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "package": self.package,
            "version": self.version,
            "builtin": self.builtin,
            "status": self.status,
            "error": self.error,
            "hooks": self.hooks,
        }


_pm: pluggy.PluginManager | None = None
_infos: dict[str, PluginInfo] = {}
_generation = 0
_loading = False


def generation() -> int:
    """A counter bumped whenever plugins are (re)loaded, registered or unregistered."""
    return _generation


def _changed() -> None:
    global _generation
    _generation += 1


def strict() -> bool:
    """``MSMKIT_STRICT_PLUGINS`` is set: plugin failures are errors, not warnings."""
    return os.environ.get("MSMKIT_STRICT_PLUGINS", "") not in ("", "0")


def _blocked() -> set[str]:
    raw = os.environ.get("MSMKIT_BLOCK_PLUGINS", "")
    return {n.strip() for n in raw.split(",") if n.strip()}


def _warn(message: str) -> None:
    from msmkit.console import err_console

    err_console().print(f"[yellow]warning:[/] {message}", highlight=False)


def record_failure(name: str, exc: BaseException, *, hook: str | None = None) -> None:
    """Mark a plugin as broken: an import failure (``hook=None``) or a hook that raised.

    Warns once per plugin. In strict mode a raising hook is a PluginError instead.
    """
    info = _infos.get(name)
    reason = f"{type(exc).__name__}: {exc}"
    if hook is not None and strict():
        package = info.package if info else name
        raise PluginError(
            f"plugin '{name}' ({package}) failed in hook {hook}: {reason}",
            hint="fix or uninstall it, or unset MSMKIT_STRICT_PLUGINS to skip it",
        ) from exc
    if info is None:
        return
    if hook is None:
        first = info.add_error(reason)
        message = f"plugin '{name}' ({info.package}) is broken and was skipped: {reason}"
    else:
        first = info.add_error(f"{hook} raised {reason}")
        message = (
            f"plugin '{name}' ({info.package}) is broken: its hook {hook} raised {reason}; "
            "what that hook registered was skipped"
        )
    if first:
        _warn(message)


def record_clash(name: str, message: str) -> None:
    """Mark a plugin whose registration clashed with another provider's (no warning: using
    the clashing kind raises the clash as an error, and ``msmkit plugins`` shows it)."""
    info = _infos.get(name)
    if info is not None:
        info.add_error(message)


def get_plugin_manager() -> pluggy.PluginManager:
    """The process-wide plugin manager, loading plugins on first use."""
    global _pm, _loading
    if _pm is not None:
        return _pm
    if _loading:  # a plugin module asked for components while it was being imported
        raise PluginError(
            "a plugin module used msmkit's plugins or registries while being imported",
            hint="look components up inside functions or hooks, not at module import time",
        )
    _loading = True
    try:
        _pm = _load()
    except BaseException:
        _infos.clear()  # a later call starts over (strict mode, interrupts)
        raise
    finally:
        _loading = False
    _changed()
    return _pm


def _load() -> pluggy.PluginManager:
    from msmkit import __version__

    pm = pluggy.PluginManager("msmkit")
    pm.add_hookspecs(hookspecs)
    blocked = _blocked()
    for ep in sorted(entry_points(group="msmkit"), key=lambda e: e.name):
        dist = getattr(ep, "dist", None)
        info = PluginInfo(
            name=ep.name,
            version=dist.version if dist else "?",
            package=dist.name if dist else ep.value,
            builtin=False,
        )
        if ep.name in _infos:  # the same entry point seen twice (duplicate installs)
            continue
        _infos[ep.name] = info
        if ep.name in blocked:
            info.status = "blocked"
            pm.set_blocked(ep.name)
            continue
        try:
            module = ep.load()
            pm.register(module, name=ep.name)
        except Exception as exc:
            if strict():
                raise PluginError(
                    f"plugin '{ep.name}' ({info.package}) failed to load: {exc}",
                    hint="fix or uninstall it, or unset MSMKIT_STRICT_PLUGINS to skip it",
                ) from exc
            record_failure(ep.name, exc)
    for modname in DEFAULT_PLUGINS:
        short = modname.rsplit(".", 1)[-1]
        name = f"msmkit.{short}"
        _infos[name] = PluginInfo(name=name, version=__version__, package="msmkit", builtin=True)
        pm.register(importlib.import_module(modname), name=name)
    pm.check_pending()
    for name, info in _infos.items():
        plugin = pm.get_plugin(name)
        if plugin is not None:
            info.hooks = sorted(h.name for h in pm.get_hookcallers(plugin) or [])
    return pm


def register_plugin(plugin: object, name: str, *, version: str = "0", package: str = "") -> None:
    """Register an in-process plugin object (tests, notebooks). Drops cached registries."""
    pm = get_plugin_manager()
    pm.register(plugin, name=name)
    _infos[name] = PluginInfo(name=name, version=version, package=package or name, builtin=False)
    _infos[name].hooks = sorted(h.name for h in pm.get_hookcallers(plugin) or [])
    _changed()


def unregister_plugin(name: str) -> None:
    pm = get_plugin_manager()
    plugin = pm.get_plugin(name)
    if plugin is not None:
        pm.unregister(plugin)
    _infos.pop(name, None)
    _changed()


def plugin_infos() -> list[PluginInfo]:
    get_plugin_manager()
    return sorted(_infos.values(), key=lambda i: (i.builtin, i.name))


def plugin_info(name: str) -> PluginInfo | None:
    get_plugin_manager()
    return _infos.get(name)


def reset() -> None:
    """Forget everything loaded (tests)."""
    global _pm
    _pm = None
    _infos.clear()
    _changed()
