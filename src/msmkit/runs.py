"""A run is a folder under ``logs/``: a manifest plus one folder per stage.

Stage folders are content-addressed (``stages/<kind>-<fingerprint>``): the fingerprint covers
everything that determines the stage's output, including its inputs' fingerprints. So a rerun
finds finished stages and skips them, arms that share a stage share its folder, and a changed
setting gets a new folder instead of overwriting an old one.
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from msmkit.errors import ConfigError, RunError

RUN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def default_log_dir() -> Path:
    return Path(os.environ.get("MSMKIT_LOG_DIR", "logs"))


def run_dir_for(name: str, *, log_dir: Path | None = None, output: Path | None = None) -> Path:
    """The folder a run writes to. A run name can never point outside the log dir; an
    explicit ``output`` path is the only way to write elsewhere."""
    if output is not None:
        return Path(output)
    if not RUN_NAME.match(name) or name in (".", ".."):
        raise ConfigError(
            f"invalid run name {name!r}",
            hint="use letters, digits, '.', '_' and '-' only (no slashes), "
            "or pass --output PATH to write somewhere else",
        )
    return (log_dir or default_log_dir()) / name


def write_json_atomic(path: Path, data: Any) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")
    os.replace(tmp, path)


@dataclass
class Stage:
    """One stage's folder and its ``stage.json`` record."""

    kind: str
    key: str
    dir: Path

    @property
    def record_path(self) -> Path:
        return self.dir / "stage.json"

    def record(self) -> dict[str, Any]:
        try:
            return json.loads(self.record_path.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return {}

    @property
    def done(self) -> bool:
        return self.record().get("status") == "done"

    def start(self, inputs: dict[str, Any]) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        rec = self.record()
        rec.update(
            kind=self.kind,
            fingerprint=self.key,
            status="running",
            inputs=inputs,
            started=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            attempts=rec.get("attempts", 0) + 1,
        )
        write_json_atomic(self.record_path, rec)
        self._t0 = time.monotonic()

    def finish(self, outputs: dict[str, Any]) -> None:
        rec = self.record()
        rec.update(
            status="done",
            outputs=outputs,
            finished=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            seconds=round(time.monotonic() - getattr(self, "_t0", time.monotonic()), 2),
        )
        write_json_atomic(self.record_path, rec)

    def fail(self, error: str) -> None:
        if not self.dir.exists():
            return
        rec = self.record()
        rec.update(status="failed", error=error)
        write_json_atomic(self.record_path, rec)

    def outputs(self) -> dict[str, Any]:
        return self.record().get("outputs", {})


class RunDir:
    def __init__(self, path: Path) -> None:
        self.path = path

    @property
    def manifest_path(self) -> Path:
        return self.path / "manifest.json"

    def stage(self, kind: str, key: str) -> Stage:
        return Stage(kind, key, self.path / "stages" / f"{kind}-{key[:12]}")

    def manifest(self) -> dict[str, Any] | None:
        try:
            return json.loads(self.manifest_path.read_text())
        except FileNotFoundError:
            return None

    def claim(self, config_hash: str, experiment_name: str) -> None:
        """Refuse to continue a run made from a different experiment config."""
        existing = self.manifest()
        if existing is None:
            if self.path.exists() and any(self.path.iterdir()):
                raise RunError(
                    f"{self.path} exists and is not an msmkit run (no manifest.json)",
                    hint="choose another --run-name or --output",
                )
            return
        if existing.get("config_hash") != config_hash:
            raise RunError(
                f"{self.path} holds a run of a different experiment config "
                f"({existing.get('experiment', {}).get('name', '?')}, config "
                f"{str(existing.get('config_hash'))[:12]}; this one is {config_hash[:12]})",
                hint="nothing was changed. Start a new run with --run-name NEW "
                f"(e.g. --run-name {experiment_name}-2), or restore the experiment file",
            )

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        write_json_atomic(self.manifest_path, manifest)
