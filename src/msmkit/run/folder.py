"""A run folder: ``logs/<run>/manifest.json`` plus the comparison. Its stages live in the store.

Which log dirs and run names are allowed, and the claim on a folder (never another
experiment's, never a folder that is not a run). The manifest itself: ``msmkit.run.manifest``.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

from msmkit.errors import ConfigError, RunError
from msmkit.naming import MAX_NAME, SLUG_RE
from msmkit.run.store import read_json, write_json_atomic

LIBRARIES = ("torch", "transformers", "trl", "peft", "datasets", "accelerate", "inspect-ai")


def default_log_dir() -> Path:
    return Path(os.environ.get("MSMKIT_LOG_DIR", "logs"))


def run_dir_for(name: str, *, log_dir: Path | None = None, output: Path | None = None) -> Path:
    """The folder a run writes to. A run name can never point outside the log dir; an
    explicit ``output`` path is the only way to write elsewhere."""
    if output is not None:
        return Path(output)
    if name == "":
        raise ConfigError("--run-name is empty", hint="give a name, or leave the option out")
    if len(name) > MAX_NAME:
        raise ConfigError(
            f"run name is {len(name)} characters long (at most {MAX_NAME})",
            hint="use a shorter --run-name",
        )
    if not SLUG_RE.match(name) or name in (".", ".."):
        raise ConfigError(
            f"invalid run name {name!r}",
            hint="use letters, digits, '.', '_' and '-' only (no slashes), "
            "or pass --output PATH to write somewhere else",
        )
    return (log_dir or default_log_dir()) / name


def library_versions() -> dict[str, str | None]:
    """The installed versions of the libraries a run depends on (read once per process:
    the manifest is rewritten often, and reading package metadata is slow)."""
    return dict(_library_versions())


@functools.cache
def _library_versions() -> dict[str, str | None]:
    from msmkit.schemas import dist_versions

    return dist_versions(*LIBRARIES)


class RunFolder:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @property
    def manifest_path(self) -> Path:
        return self.path / "manifest.json"

    def manifest(self) -> dict[str, Any] | None:
        data = read_json(self.manifest_path)
        return data or None

    def claim(self, experiment_name: str) -> None:
        """Refuse a folder that is not an msmkit run, or is a run of another experiment."""
        existing = self.manifest()
        if existing is None:
            if self.path.exists() and any(self.path.iterdir()):
                raise RunError(
                    f"{self.path} exists and is not an msmkit run (no manifest.json)",
                    hint="choose another --run-name or --output",
                )
            return
        other = existing.get("experiment", {}).get("name")
        if other and other != experiment_name:
            raise RunError(
                f"{self.path} holds a run of experiment {other!r}, not {experiment_name!r}",
                hint="nothing was changed; choose another --run-name",
            )

    def write(self, manifest: dict[str, Any]) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        write_json_atomic(self.manifest_path, manifest)


def check_log_dir(log_dir: Path) -> None:
    """Plan-time check that runs and stages can be written under ``log_dir``: it (or the
    nearest folder above it that exists) is a folder this process can write in. Nothing is
    left behind."""
    import tempfile

    path = Path(log_dir).expanduser().absolute()
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        raise ConfigError(
            f"log dir {path}: {probe} is a file, not a folder",
            hint="pass --log-dir (or MSMKIT_LOG_DIR) a folder path",
        )
    try:
        with tempfile.TemporaryFile(dir=probe, prefix=".msmkit-probe-"):
            pass
    except OSError as exc:
        raise ConfigError(
            f"log dir {path}: cannot write in {probe} ({exc.strerror or exc})",
            hint="choose a writable --log-dir (or MSMKIT_LOG_DIR)",
        ) from None
