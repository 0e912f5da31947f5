"""A run folder: ``logs/<run>/manifest.json`` plus the comparison. Its stages live in the store.

The manifest records which store stages the run used, every version of the experiment file
that ran in it (so an experiment may grow an arm and keep its history), the spec, plugin and
library versions, and the results.
"""

from __future__ import annotations

import os
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from msmkit import __version__
from msmkit.errors import ConfigError, RunError
from msmkit.hashing import sha256_file
from msmkit.naming import MAX_NAME, SLUG_RE
from msmkit.run.store import now, read_json, write_json_atomic

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
    out: dict[str, str | None] = {}
    for lib in LIBRARIES:
        try:
            out[lib] = version(lib)
        except PackageNotFoundError:
            out[lib] = None
    return out


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


def build_manifest(
    folder: RunFolder, graph: Any, statuses: dict[str, str], results: Any = None
) -> dict[str, Any]:
    """The run's manifest: this experiment version added to the history, stages by arm."""
    previous = folder.manifest() or {}
    exp = graph.exp
    ef = graph.ef
    config_hash = exp.config_hash()
    stage_names = [n.id for n in graph.ordered()]
    versions = [v for v in previous.get("versions", []) if v.get("config_hash") != config_hash]
    this = next(
        (v for v in previous.get("versions", []) if v.get("config_hash") == config_hash), {}
    )
    versions.append(
        {
            "config_hash": config_hash,
            "sha256": sha256_file(ef.path),
            "config": exp.model_dump(mode="json"),
            "stages": stage_names,
            "first_run": this.get("first_run", now()),
            "last_run": now(),
        }
    )
    plugins: dict[str, str] = {}
    for info in graph.arms.values():
        for entry in info.components:
            plugins[entry.plugin] = entry.provider
    for node in graph.ordered():
        plugins[node.entry.plugin] = node.entry.provider
    return {
        "msmkit_version": __version__,
        "created": previous.get("created", time.strftime("%Y-%m-%dT%H:%M:%S%z")),
        "updated": now(),
        "experiment": {"name": exp.name, "path": str(ef.path), "sha256": sha256_file(ef.path)},
        "config_hash": config_hash,
        "config": exp.model_dump(mode="json"),
        "versions": versions,
        "store": str(graph.store.root.resolve()),
        "base_model": None
        if graph.base is None
        else {
            "model": graph.base.model,
            "fingerprint": graph.base.key,
            "revision": graph.base.revision,
        },
        "plugins": plugins,
        "libraries": library_versions(),
        "arms": {name: _arm_entry(info) for name, info in graph.arms.items()},
        "stages": {
            n.id: {
                "kind": n.kind.name,
                "label": n.label,
                "arms": n.arms,
                "status": statuses.get(n.id, n.stage.status),
                "fingerprint": n.key,
            }
            for n in graph.ordered()
        },
        "results": results if results is not None else previous.get("results"),
    }


def _arm_entry(info: Any) -> dict[str, Any]:
    spec = info.spec
    corpus = info.filters[-1] if info.filters else info.corpus
    return {
        "spec": None
        if spec is None
        else {
            "name": spec.name,
            "hash": spec.hash,
            "path": str(spec.path) if spec.path else None,
            "lineage": list(spec.lineage),
        },
        "components": {e.name: e.provider for e in info.components},
        "data": {
            "corpus_sha256": corpus.stage.outputs().get("sha256") if corpus else None,
            "aft_sha256": info.aft_data.sha256 if info.aft_data else None,
        },
        "seeds": [
            {
                "seed": c.seed,
                "corpus": c.corpus.id if c.corpus else None,
                "filters": [f.id for f in c.filters],
                "midtrain": c.midtrain.id if c.midtrain else None,
                "aft": c.aft.id if c.aft else None,
                "evals": {task: n.id for task, n in c.evals.items()},
            }
            for c in info.chains
        ],
    }
