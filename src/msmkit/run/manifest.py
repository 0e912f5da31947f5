"""The run manifest (``<run folder>/manifest.json``): what a researcher needs to reproduce a
result and read where it came from.

It records which store stages the run used, every version of the experiment file that ran in
it (an experiment may grow an arm and keep its history), the resolved experiment, msmkit's
version and, run from a checkout, its git commit and whether the tree was dirty, the command
line, plugin and library versions, the base model and data revisions, each arm's spec and
stages (each eval by its stage id and name), each stage's wall time, GPU time and dollars,
and the results.
"""

from __future__ import annotations

import functools
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from msmkit import __version__
from msmkit.hashing import sha256_file
from msmkit.run.folder import RunFolder, library_versions
from msmkit.run.store import now


@functools.cache
def source_revision() -> dict[str, Any] | None:
    """msmkit's git commit and dirty flag when it runs from a checkout (else None)."""
    root = Path(__file__).resolve().parents[3]
    if not (root / ".git").exists() or not (root / "pyproject.toml").is_file():
        return None
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        status = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit, "dirty": bool(status.strip()), "checkout": str(root)}


def stage_costs(node: Any) -> dict[str, Any]:
    """Wall time, GPU time and dollars of a finished stage, from its record."""
    rec = node.stage.record()
    outputs = rec.get("outputs", {})
    seconds = rec.get("seconds")
    row: dict[str, Any] = {"seconds": seconds, "dollars": outputs.get("dollars")}
    if outputs.get("unscored"):
        row["unscored"] = outputs["unscored"]
    if outputs.get("device") == "cuda" and seconds is not None:
        row["gpu_seconds"] = round(float(seconds) * int(outputs.get("world_size") or 1), 2)
    return row


def build_manifest(
    folder: RunFolder,
    graph: Any,
    statuses: dict[str, str],
    results: Any = None,
    *,
    argv: list[str] | None = None,
) -> dict[str, Any]:
    """The run's manifest: this experiment version added to the history, stages by arm."""
    previous = folder.manifest() or {}
    exp = graph.exp
    ef = graph.ef
    config_hash = exp.config_hash()
    stage_names = [n.id for n in graph.ordered()]
    old = previous.get("versions", [])
    versions = [v for v in old if v.get("config_hash") != config_hash]
    this = next((v for v in old if v.get("config_hash") == config_hash), {})
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
    stages = {}
    for n in graph.ordered():
        stages[n.id] = {
            "kind": n.kind.name,
            "label": n.label,
            "arms": n.arms,
            "status": statuses.get(n.id, n.stage.status),
            "fingerprint": n.key,
            **stage_costs(n),
        }
    spent = [s.get("dollars") or 0 for s in stages.values()]
    gpu = [s.get("gpu_seconds") or 0 for s in stages.values()]
    return {
        "msmkit_version": __version__,
        "source": source_revision(),
        "argv": list(argv if argv is not None else sys.argv),
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
        "across_arms": [n.id for n in graph.across],
        "stages": stages,
        "totals": {"dollars": round(sum(spent), 4), "gpu_seconds": round(sum(gpu), 2)},
        "results": results if results is not None else previous.get("results"),
    }


def _arm_entry(info: Any) -> dict[str, Any]:
    spec = info.spec
    corpus = info.filters[-1] if info.filters else info.corpus
    return {
        "axes": dict(info.axes),
        "in_context": info.arm.in_context,
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
                "spec": getattr(c.spec, "id", None),
                "corpus": c.corpus.id if c.corpus else None,
                "filters": [f.id for f in c.filters],
                "midtrain": c.midtrain.id if c.midtrain else None,
                "aft": c.aft.id if c.aft else None,
                "steps": [n.id for n in c.steps],
                "evals": [
                    {
                        "stage": e.node.id,
                        "name": e.name,
                        "task": e.task,
                        "args": e.args,
                        "phase": e.phase,
                    }
                    for e in c.eval_steps
                ],
            }
            for c in info.chains
        ],
    }
