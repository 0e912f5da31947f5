"""Finding and loading plugins.

Third-party plugins are modules named by entry points in the ``msmkit`` group, plus the
modules listed in ``MSMKIT_PLUGINS=mod,name=pkg.mod`` (like ``PYTEST_PLUGINS``: no install
needed). A plugin that fails to import is recorded (``msmkit plugins`` shows it as ``error``)
and a one-line warning is printed; the rest of msmkit keeps working. So is a plugin that
pluggy cannot register as it is: a ``@hookimpl`` whose name is no msmkit hook (a misspelling,
reported with the close hook name) or that takes an argument its hook does not pass. Such a
plugin is not loaded at all (none of its hooks run). ``MSMKIT_STRICT_PLUGINS=1`` turns all of
these into errors, ``MSMKIT_BLOCK_PLUGINS=a,b`` skips plugins by name.

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

import difflib
import importlib
import os
import re
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
        return f"{self._release} (plugin '{self.name}')"

    @property
    def source(self) -> str:
        """Short form for tables: ``msmkit-attribution 0.1.0``."""
        return self._release + (" (built-in)" if self.builtin else "")

    @property
    def _release(self) -> str:
        return self.package if self.version == "?" else f"{self.package} {self.version}"

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
    from rich.markup import escape

    from msmkit.console import err_console

    err_console().print(f"[yellow]warning:[/] {escape(message)}", highlight=False, soft_wrap=True)


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
        _add(pm, info, ep.load, blocked)
    for name, modname in env_plugins():
        if name in _infos:
            continue  # also an entry point (installed): loaded above
        info = PluginInfo(name=name, version="?", package=modname.split(".", 1)[0], builtin=False)
        _add(pm, info, lambda m=modname: importlib.import_module(m), blocked)
    for modname in DEFAULT_PLUGINS:
        short = modname.rsplit(".", 1)[-1]
        name = f"msmkit.{short}"
        _infos[name] = PluginInfo(name=name, version=__version__, package="msmkit", builtin=True)
        module = importlib.import_module(modname)
        pm.register(module, name=name)
        problem = hook_problem(pm, module)
        if problem:
            raise PluginError(f"built-in plugin {name}: {problem}")
    for name, info in _infos.items():
        plugin = pm.get_plugin(name)
        if plugin is not None:
            info.hooks = sorted(h.name for h in pm.get_hookcallers(plugin) or [])
    return pm


def env_plugins() -> list[tuple[str, str]]:
    """``MSMKIT_PLUGINS`` as (plugin name, module) pairs: ``mod`` or ``name=mod`` entries."""
    pairs = []
    for item in os.environ.get("MSMKIT_PLUGINS", "").split(","):
        name, _, module = item.strip().rpartition("=")
        module = module.strip()
        if module:
            pairs.append((name.strip() or module, module))
    return pairs


def _add(pm: pluggy.PluginManager, info: PluginInfo, load: Any, blocked: set[str]) -> None:
    """Import one third-party plugin and register it; a failure is recorded, not raised
    (unless strict)."""
    _infos[info.name] = info
    if info.name in blocked:
        info.status = "blocked"
        pm.set_blocked(info.name)
        return
    try:
        module = load()
    except Exception as exc:
        if strict():
            raise PluginError(
                f"plugin '{info.name}' ({info.package}) failed to load: {exc}",
                hint="fix or uninstall it, or unset MSMKIT_STRICT_PLUGINS to skip it",
            ) from exc
        record_failure(info.name, exc)
        return
    if info.version == "?":
        info.version = str(getattr(module, "__version__", "?"))
    if pm.is_registered(module):  # listed in MSMKIT_PLUGINS under a second name
        _infos.pop(info.name)
        return
    _register_checked(pm, module, info)


def _register_checked(pm: pluggy.PluginManager, plugin: object, info: PluginInfo) -> bool:
    """Register ``plugin``, refusing it whole when a hookimpl does not fit msmkit's hooks
    (unknown name, argument not passed): reported like an import failure."""
    try:
        pm.register(plugin, name=info.name)
        problem = hook_problem(pm, plugin)
    except pluggy.PluginValidationError as exc:
        problem = _describe_validation(pm, exc)
    except ValueError as exc:  # pluggy: the name or the object is registered already
        problem = str(exc).splitlines()[0]
    if problem is None:
        return True
    if pm.get_plugin(info.name) is plugin:
        pm.unregister(plugin)
    hint = "fix or uninstall it, or unset MSMKIT_STRICT_PLUGINS to skip it"
    if strict():
        raise PluginError(f"plugin '{info.name}' ({info.package}): {problem}", hint=hint)
    if info.add_error(problem):
        _warn(f"plugin '{info.name}' ({info.package}) is broken and was skipped: {problem}")
    return False


def hook_problem(pm: pluggy.PluginManager, plugin: object) -> str | None:
    """What is wrong with a registered plugin's hookimpls: names that are no hook (pluggy's
    ``check_pending``, but for one plugin and with a suggestion), or None."""
    known = [n for n in vars(pm.hook) if not n.startswith("_") and getattr(pm.hook, n).has_spec()]
    problems = []
    for caller in pm.get_hookcallers(plugin) or []:
        if caller.has_spec():
            continue
        impls = [i for i in caller.get_hookimpls() if i.plugin is plugin]
        if all(i.optionalhook for i in impls):
            continue
        close = difflib.get_close_matches(caller.name, known, n=1, cutoff=0.6)
        if close:
            problems.append(f"unknown hook '{caller.name}' (did you mean '{close[0]}'?)")
        else:
            problems.append(f"unknown hook '{caller.name}' (hooks: {', '.join(sorted(known))})")
    return "; ".join(sorted(problems)) or None


def _describe_validation(pm: pluggy.PluginManager, exc: pluggy.PluginValidationError) -> str:
    """pluggy's multi-line PluginValidationError as one line naming the hook."""
    text = str(exc)
    hook = re.search(r"for hook '(\w+)'", text)
    args = re.search(r"Argument\(s\) \{(.*?)\} are declared", text)
    if hook and args:
        caller = getattr(pm.hook, hook.group(1), None)
        passes = ", ".join(caller.spec.argnames) if caller and caller.spec else "?"
        return (
            f"hook {hook.group(1)} takes argument(s) {args.group(1)} that msmkit does not "
            f"pass (it passes: {passes})"
        )
    return " ".join(text.split())


def register_plugin(plugin: object, name: str, *, version: str = "0", package: str = "") -> None:
    """Register an in-process plugin object (tests, notebooks). Drops cached registries.

    A plugin whose hookimpls do not fit is reported and skipped as an installed one would be.
    """
    pm = get_plugin_manager()
    if pm.has_plugin(name):
        raise ValueError(f"a plugin named {name!r} is registered already")
    info = PluginInfo(name=name, version=version, package=package or name, builtin=False)
    _infos[name] = info
    if _register_checked(pm, plugin, info):
        info.hooks = sorted(h.name for h in pm.get_hookcallers(plugin) or [])
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
