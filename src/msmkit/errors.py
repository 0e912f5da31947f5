"""The errors msmkit raises on purpose.

Every one of them is rendered once, at the CLI boundary, as a short message plus a hint,
without a traceback (``msmkit --debug`` shows it). Anything else escaping is a bug.

    MsmkitError
    ├── SpecError              a spec file is malformed (names file, line, field)
    ├── ConfigError            an experiment file or option block is invalid
    │   └── OptionError        one option is invalid; ``loc`` is its path inside the block
    ├── PluginError            a plugin failed to load or broke its contract
    │   └── DuplicateComponentError   two plugins registered the same name
    ├── UnknownComponentError  a name that no plugin registered (suggests close matches)
    ├── PrerequisiteError      an optional dependency is missing (says what to install)
    ├── ModelPathError         a model directory or hub id cannot be used
    └── RunError               a run cannot proceed without losing or mixing work
"""

from __future__ import annotations

from pathlib import Path


class MsmkitError(Exception):
    """Base class. ``hint`` tells the user what to do about it."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class SpecError(MsmkitError):
    """A spec file could not be parsed or validated."""

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        line: int | None = None,
        field: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.path = str(path) if path is not None else None
        self.line = line
        self.field = field
        where = self.path or ""
        if line is not None:
            where += f":{line}"
        if field:
            where += f" [{field}]" if where else f"[{field}]"
        super().__init__(f"{where}: {message}" if where else message, hint=hint)


class ConfigError(MsmkitError):
    """An experiment file, option block or command-line setting is invalid."""


class OptionError(ConfigError):
    """One invalid option inside a component's option block.

    ``loc`` is the path of the field inside the block (``("sft", "num_train_epochs")``), so
    the caller that knows where the block sits in the experiment file can name the line.
    """

    def __init__(self, message: str, *, loc: tuple = (), hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.loc = tuple(loc)


class PluginError(MsmkitError):
    """A plugin failed to load or registered something that breaks the contract."""


class DuplicateComponentError(PluginError):
    """The same component name was registered by two providers."""


class UnknownComponentError(MsmkitError):
    """A component name that nothing registered."""


class PrerequisiteError(MsmkitError):
    """An optional dependency is not installed."""


class ModelPathError(MsmkitError):
    """A model path or hub id that cannot be loaded."""


class RunError(MsmkitError):
    """A run that cannot go on without losing or mixing earlier work."""
