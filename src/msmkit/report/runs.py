"""Run folders read for a report: manifests, comparisons, and the report's arms.

An *arm of the report* is what one bar stands for: a run's arm, or, when arms carry a
``seed`` axis (a matrix that makes one arm per seed), the arms that differ only in their
seed, pooled with the seed as the replicate. Several runs merge when they share an arm's
definition (spec, components, AFT data, evals and axes): re-runs and extra seeds add
replicates, a stage two runs share counts once, and an arm name that two runs define
differently is kept apart as ``arm@run``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from msmkit.errors import RunError
from msmkit.files import read_json

SEED_AXIS = "seed"
FINAL = "final"


@dataclass
class EvalRef:
    """One eval stage of one arm at one seed, with where its Inspect log is."""

    run: str
    arm: str  # the run's arm name
    seed: Any  # the chain's training seed
    replicate: str  # the replicate label in the report's arm
    stage: str
    name: str
    task: str
    phase: str
    args: dict[str, Any]
    stage_dir: Path
    status: str  # stage.json's status, or todo
    log: Path | None  # the Inspect log, once the stage is done
    unscored: str | None = None

    @property
    def log_dir(self) -> Path:
        return self.stage_dir / "logs"

    @property
    def scored(self) -> bool:
        return self.status == "done" and self.log is not None and not self.unscored


@dataclass
class ReportArm:
    """One bar of the report: a label, its axes (the seed axis taken out), and its evals."""

    label: str
    axes: dict[str, Any]
    members: list[tuple[str, str]]  # (run, arm name)
    spec: dict[str, Any] | None
    evals: list[EvalRef] = field(default_factory=list)
    chains: list[dict[str, Any]] = field(default_factory=list)  # manifest seed entries
    stores: list[Path] = field(default_factory=list)  # one per chain

    def final_logs(self) -> list[tuple[str, Path, str]]:
        """(replicate, log, eval name) of every scored final eval, each stage once."""
        seen: set[str] = set()
        out = []
        for ref in self.evals:
            if ref.phase == FINAL and ref.scored and ref.stage not in seen:
                seen.add(ref.stage)
                out.append((ref.replicate, ref.log, ref.name))
        return out  # type: ignore[return-value]

    @property
    def replicates(self) -> list[str]:
        return list(dict.fromkeys(ref.replicate for ref in self.evals))


@dataclass
class RunData:
    path: Path
    manifest: dict[str, Any]
    comparison: dict[str, Any] | None
    demo: dict[str, Any] | None

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def store(self) -> Path:
        return Path(self.manifest.get("store") or self.path.parent / "store")

    def stage_dir(self, stage: str) -> Path:
        return self.store / stage

    def stage_record(self, stage: str) -> dict[str, Any]:
        return read_json(self.stage_dir(stage) / "stage.json")


def load_run(path: str | Path) -> RunData:
    """A run folder (``manifest.json``, and ``comparison.json``/``demo.json`` when written)."""
    path = Path(path)
    manifest = read_json(path / "manifest.json")
    if not manifest:
        raise RunError(
            f"{path} is not an msmkit run folder (no readable manifest.json)",
            hint="pass the folder `msmkit run` printed, e.g. logs/<experiment name>",
        )
    comparison = read_json(path / "comparison.json") or None
    demo = read_json(path / "demo.json") or None
    return RunData(path, manifest, comparison, demo)


def _eval_refs(run: RunData, arm: str, chain: dict[str, Any], replicate: str) -> list[EvalRef]:
    refs = []
    for ev in chain.get("evals", []):
        stage = ev["stage"]
        rec = run.stage_record(stage)
        status = str(rec.get("status") or "todo")
        outputs = rec.get("outputs", {}) if status == "done" else {}
        stage_dir = run.stage_dir(stage)
        log = stage_dir / outputs["log"] if outputs.get("log") else None
        refs.append(
            EvalRef(
                run=run.name,
                arm=arm,
                seed=chain.get("seed"),
                replicate=replicate,
                stage=stage,
                name=ev.get("name") or ev.get("task", "?"),
                task=ev.get("task", "?"),
                phase=ev.get("phase", FINAL),
                args=dict(ev.get("args") or {}),
                stage_dir=stage_dir,
                status=status,
                log=log,
                unscored=outputs.get("unscored") or None,
            )
        )
    return refs


def definition(entry: dict[str, Any]) -> str:
    """What makes two runs' arms the same arm (seeds aside): spec, components, AFT data,
    evals and axes but the seed."""
    evals = sorted(
        {
            json.dumps([e.get("name"), e.get("task"), e.get("args"), e.get("phase")], default=str)
            for chain in entry.get("seeds", [])
            for e in chain.get("evals", [])
        }
    )
    spec = entry.get("spec") or {}
    key = {
        "spec": spec.get("hash"),
        "components": entry.get("components"),
        "aft": (entry.get("data") or {}).get("aft_sha256"),
        "in_context": entry.get("in_context"),
        "evals": evals,
        "axes": {k: v for k, v in (entry.get("axes") or {}).items() if k != SEED_AXIS},
    }
    return json.dumps(key, sort_keys=True, default=str)


def axes_label(axes: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in axes.items())


def report_arms(runs: list[RunData]) -> tuple[list[ReportArm], list[str]]:
    """The report's arms, in first-seen order, and notes on how runs were merged."""
    notes: list[str] = []
    defined: dict[str, str] = {}  # run arm name -> definition seen first
    pooled = any(
        SEED_AXIS in (entry.get("axes") or {})
        for run in runs
        for entry in run.manifest.get("arms", {}).values()
    )
    arms: dict[str, ReportArm] = {}
    for run in runs:
        for name, entry in run.manifest.get("arms", {}).items():
            key = definition(entry)
            if defined.setdefault(name, key) != key:
                label = f"{name}@{run.name}"
                notes.append(
                    f"arm {name} of run {run.name} is defined differently from the arm of that "
                    f"name in an earlier run; it is shown apart as {label}"
                )
            else:
                label = name
            axes = dict(entry.get("axes") or {})
            seed_axis = axes.pop(SEED_AXIS, None)
            if pooled and axes and seed_axis is not None:
                label = axes_label(axes)
            arm = arms.get(label)
            if arm is None:
                arm = arms[label] = ReportArm(label, axes, [], entry.get("spec"))
            if (run.name, name) not in arm.members:
                arm.members.append((run.name, name))
            chains = entry.get("seeds", [])
            for chain in chains:
                if seed_axis is not None and pooled:
                    replicate = f"seed={seed_axis}"
                    if len(chains) > 1:
                        replicate += f"/{chain.get('seed')}"
                else:
                    replicate = f"seed={chain.get('seed')}"
                arm.chains.append({**chain, "run": run.name, "arm": name})
                arm.stores.append(run.store)
                arm.evals.extend(_eval_refs(run, name, chain, replicate))
    if len(runs) > 1:
        shared = [a.label for a in arms.values() if len({r for r, _ in a.members}) > 1]
        if shared:
            notes.append(
                f"{len(runs)} runs merged; arms found in more than one run: {', '.join(shared)} "
                "(a stage two runs share counts once)"
            )
    return list(arms.values()), notes


def uses_run_comparison(runs: list[RunData], arms: list[ReportArm]) -> bool:
    """Whether the report can show the run's own ``comparison.json`` as is: one run, each
    report arm one run arm under its own name."""
    if len(runs) != 1 or runs[0].comparison is None:
        return False
    return all(len(a.members) == 1 and a.members[0][1] == a.label for a in arms)


def declared_contrasts(
    runs: list[RunData], arms: list[ReportArm]
) -> tuple[list[tuple[str, str]] | None, str]:
    """The runs' contrasts and correction, kept when the report's arms are the runs' arms
    (merged runs, same names); else every pair (None) without correction."""
    labels = {a.label for a in arms}
    seen = [r.comparison for r in runs if r.comparison]
    names = {arm for table in seen for arm in table.get("arms", {})}
    corrections = {table.get("correction", "none") for table in seen}
    if not seen or names != labels or len(corrections) != 1:
        return None, "none"
    pairs = list(dict.fromkeys((p["a"], p["b"]) for table in seen for p in table["pairs"]))
    return (pairs or None), corrections.pop()


def comparison_for(runs: list[RunData], arms: list[ReportArm]) -> tuple[dict[str, Any], str]:
    """The comparison every table and bar of the report shows, and where it came from."""
    from msmkit import compare

    if uses_run_comparison(runs, arms):
        table = runs[0].comparison
        assert table is not None
        return table, f"{runs[0].path / 'comparison.json'}"
    pairs, correction = declared_contrasts(runs, arms)
    table = compare.comparison(
        {a.label: a.final_logs() for a in arms}, pairs=pairs, correction=correction
    )
    for a in arms:
        for ref in a.evals:
            if ref.phase == FINAL and ref.status == "done" and ref.unscored:
                table["notes"].append(
                    f"{a.label} ({ref.replicate}) {ref.name}: no result: {ref.unscored}"
                )
    why = "runs merged" if len(runs) > 1 else "arms pooled over their seed axis"
    if len(runs) == 1 and runs[0].comparison is None:
        why = "the run wrote no comparison.json yet"
    return table, f"recomputed from the eval logs ({why})"


def per_seed_cells(
    arms: list[ReportArm], comparison: dict[str, Any]
) -> dict[str, dict[str, dict[str, Any]]]:
    """arm -> replicate -> column -> cell: each seed's own estimate (the dots under a bar).

    An arm with one replicate has the comparison's cell as its only dot (the same samples,
    the same estimate), so only arms with several seeds read their logs again."""
    from msmkit import compare

    logs: dict[str, list[tuple[str, Path, str]]] = {}
    index: dict[str, tuple[str, str]] = {}
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for a in arms:
        rows = a.final_logs()
        replicates = list(dict.fromkeys(rep for rep, _, _ in rows))
        if len(replicates) == 1 and a.label in comparison["arms"]:
            cells = comparison["arms"][a.label]
            out[a.label] = {replicates[0]: {k: c for k, c in cells.items() if c is not None}}
            continue
        for replicate, log, name in rows:
            key = f"{a.label}\x1f{replicate}"
            index[key] = (a.label, replicate)
            logs.setdefault(key, []).append((replicate, log, name))
    if logs:
        for key, row in compare.arm_cells(logs)["arms"].items():
            label, replicate = index[key]
            out.setdefault(label, {})[replicate] = {k: c for k, c in row.items() if c is not None}
    return out
