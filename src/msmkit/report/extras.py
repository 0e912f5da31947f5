"""What a report shows besides the comparison: AFT sizes, agentic-misalignment rates per
condition, spec diffs, the eval logs and the manifests' summary."""

from __future__ import annotations

import json
import math
from functools import lru_cache
from pathlib import Path
from typing import Any

from msmkit.files import read_json
from msmkit.report.runs import FINAL, ReportArm, RunData

# Axes that give an arm's AFT size, and what they count.
SIZE_AXES = (("aft_tokens", "tokens"), ("aft_samples", "samples"), ("aft_size", "samples"))
AM_FIELDS = ("scenario", "goal", "goal_type", "urgency")
VERDICT = "classifier_verdict"


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) and number > 0 else None


def aft_size(arm: ReportArm) -> dict[str, Any] | None:
    """The arm's AFT size: ``tokens`` and/or ``samples`` and where they were read.

    From the axes (``aft_tokens``, ``aft_samples``, ``aft_size`` = samples), else from the
    AFT stage: its outputs (``tokens``, ``items``), the trained model's
    ``msmkit_training.json`` (tokens as tokenized, rows), then its options (the plan's
    estimate). None when the arm has no AFT."""
    found: dict[str, Any] = {}
    for axis, unit in SIZE_AXES:
        value = _number(arm.axes.get(axis))
        if value is not None and unit not in found:
            found[unit] = value
            found.setdefault("source", f"axis {axis}")
    if found:
        return found
    for chain, store in zip(arm.chains, arm.stores, strict=True):
        stage = chain.get("aft")
        if not stage:
            continue
        rec = read_json(Path(store) / stage / "stage.json")
        outputs, options = rec.get("outputs", {}), rec.get("options", {})
        tokens, samples = _number(outputs.get("tokens")), _number(outputs.get("items"))
        source = "AFT stage outputs"
        if tokens is None and outputs.get("model"):
            training = read_json(Path(store) / stage / outputs["model"] / "msmkit_training.json")
            before = (training.get("tokens") or {}).get("before") or {}
            tokens, samples = _number(before.get("tokens")), samples or _number(before.get("rows"))
            source = "the AFT model's msmkit_training.json"
        if tokens is None and samples is None:
            tokens, samples = _number(options.get("tokens")), _number(options.get("items"))
            source = "the AFT stage's plan estimate"
        if tokens is not None or samples is not None:
            return {"tokens": tokens, "samples": samples, "source": source}
    return None


# ----------------------------------------------------------------- agentic misalignment


def is_am_log(log: str) -> bool:
    """Whether a log's header names the AM metrics (``misalignment_rate`` or a per-condition
    ``*_classifier_verdict``): only those logs are read sample by sample."""
    from inspect_ai.log import read_eval_log

    try:
        header = read_eval_log(log, header_only=True)
    except Exception:
        return False
    for score in header.results.scores if header.results else []:
        if any(m == "misalignment_rate" or m.endswith(VERDICT) for m in score.metrics):
            return True
    return False


@lru_cache(maxsize=64)
def _am_rows(log: str) -> tuple[tuple[str, dict[str, str], float, str], ...]:
    """(scorer, condition fields, verdict, sample key) of every scored AM sample in a log."""
    from inspect_ai.log import read_eval_log

    if not is_am_log(log):
        return ()
    try:
        data = read_eval_log(log, exclude_fields={"messages", "events", "store", "attachments"})
    except Exception:  # an unreadable log shows as missing, with the others
        return ()
    rows = []
    for sample in data.samples or []:
        meta = sample.metadata or {}
        if "scenario" not in meta:
            continue
        fields = {k: str(meta.get(k, "")) for k in AM_FIELDS}
        fields["condition"] = str(meta.get("condition") or meta.get("item_id") or "?")
        for scorer, score in (sample.scores or {}).items():
            value = score.value
            if isinstance(value, dict) and value.get(VERDICT) is not None:
                key = f"{sample.id}#{sample.epoch}"
                rows.append((scorer, fields, float(value[VERDICT]), key))
    return tuple(rows)


def am_conditions(arms: list[ReportArm]) -> list[dict[str, Any]]:
    """Per AM eval, arm and condition: the misalignment rate (classifier verdict) with a 95%
    interval. Within a condition every sample is its own unit (replicates of one prompt);
    with several seeds the seed is the unit (t over seeds), as in the comparison."""
    from msmkit.compare import task_name
    from msmkit.stats import clustered_mean

    rows: dict[tuple[str, str, str], dict[str, Any]] = {}
    for arm in arms:
        seen: set[str] = set()
        for ref in arm.evals:
            if ref.phase != FINAL or not ref.scored or ref.stage in seen:
                continue
            seen.add(ref.stage)
            for scorer, fields, verdict, key in _am_rows(str(ref.log)):
                column = f"{task_name(ref.name)}/{scorer}/{VERDICT}"
                row = rows.setdefault(
                    (column, arm.label, fields["condition"]),
                    {"column": column, "arm": arm.label, **fields, "samples": []},
                )
                row["samples"].append((verdict, f"{ref.replicate}:{key}", ref.replicate))
    out = []
    for row in rows.values():
        values, clusters, reps = zip(*row.pop("samples"), strict=True)
        est = clustered_mean(values, clusters, reps)
        lo, hi = est.ci95
        out.append(
            {
                **row,
                "value": est.mean,
                "ci95": [lo, hi] if math.isfinite(lo) and math.isfinite(hi) else None,
                "n_samples": est.n_samples,
                "n_seeds": est.n_replicates,
                "method": est.method,
            }
        )
    return out


# ----------------------------------------------------------------------- spec diffs


def _spec_text(arm: ReportArm) -> tuple[str | None, bool]:
    """The arm's spec after variants (from its spec stage), else its file when no variant
    changed it; and whether it is a free-prose spec."""
    for chain, store in zip(arm.chains, arm.stores, strict=True):
        stage = chain.get("spec")
        if stage:
            options = read_json(Path(store) / stage / "stage.json").get("options", {})
            if isinstance(options.get("text"), str):
                return options["text"], bool(options.get("prose"))
    spec = arm.spec or {}
    path = spec.get("path")
    if path and not spec.get("lineage") and Path(path).is_file():
        return Path(path).read_text(encoding="utf-8"), Path(path).suffix in (".md", ".txt")
    return None, False


def _parse(text: str, prose: bool, name: str) -> Any:
    from msmkit.spec import parse_spec
    from msmkit.spec.parse import has_front_matter, parse_prose_spec

    if prose and not has_front_matter(text):
        return parse_prose_spec(text, path=f"{name}.md", name=name)
    return parse_spec(text)


def spec_diffs(arms: list[ReportArm]) -> list[dict[str, Any]]:
    """Each distinct spec (after variants) against the first one: its arms and the diff."""
    from msmkit.errors import MsmkitError
    from msmkit.spec.diff import diff_specs

    distinct: dict[str, dict[str, Any]] = {}
    for arm in arms:
        spec = arm.spec
        if not spec or not spec.get("hash"):
            continue
        entry = distinct.setdefault(
            spec["hash"], {"name": spec.get("name"), "hash": spec["hash"], "arms": [], "arm": arm}
        )
        entry["arms"].append(arm.label)
    if len(distinct) < 2:
        return []
    specs = list(distinct.values())
    ref_text, ref_prose = _spec_text(specs[0]["arm"])
    out = []
    for other in specs[1:]:
        text, prose = _spec_text(other["arm"])
        row = {
            "a": {"name": specs[0]["name"], "hash": specs[0]["hash"], "arms": specs[0]["arms"]},
            "b": {"name": other["name"], "hash": other["hash"], "arms": other["arms"]},
            "lineage": list((other["arm"].spec or {}).get("lineage") or []),
        }
        if ref_text is None or text is None:
            row["diff"] = None
            row["note"] = "the spec text after variants is not in the store (spec stage not run)"
        else:
            try:
                a = _parse(ref_text, ref_prose, specs[0]["name"] or "a")
                b = _parse(text, prose, other["name"] or "b")
                row["diff"] = diff_specs(a, b)
            except MsmkitError as exc:
                row["diff"], row["note"] = None, f"could not parse a spec: {exc.message}"
        out.append(row)
    return out


# --------------------------------------------------------------------- logs, manifest


def eval_logs(arms: list[ReportArm]) -> list[dict[str, Any]]:
    """Every eval of every arm (before-AFT ones too) with its state and `inspect view`."""
    import shlex

    out = []
    seen: set[str] = set()
    for arm in arms:
        for ref in arm.evals:
            if ref.stage in seen:
                continue
            seen.add(ref.stage)
            out.append(
                {
                    "arm": arm.label,
                    "replicate": ref.replicate,
                    "eval": ref.name,
                    "phase": ref.phase,
                    "stage": ref.stage,
                    "status": ref.status,
                    "unscored": ref.unscored,
                    "log": str(ref.log) if ref.log else None,
                    "view": f"inspect view --log-dir {shlex.quote(str(ref.log_dir))}",
                }
            )
    return out


def manifest_summary(run: RunData) -> dict[str, Any]:
    """What a reader needs to trust the numbers: versions, commit, experiment, base model,
    data, and time and money per stage."""
    m = run.manifest
    stages = []
    for stage, s in (m.get("stages") or {}).items():
        stages.append(
            {
                "stage": stage,
                "kind": s.get("kind"),
                "label": s.get("label"),
                "arms": s.get("arms"),
                "status": s.get("status"),
                "seconds": s.get("seconds"),
                "gpu_seconds": s.get("gpu_seconds"),
                "dollars": s.get("dollars"),
            }
        )
    data = {
        name: {**(entry.get("data") or {}), "spec": (entry.get("spec") or {}).get("name")}
        for name, entry in (m.get("arms") or {}).items()
    }
    return {
        "run": run.name,
        "path": str(run.path),
        "experiment": m.get("experiment"),
        "config_hash": m.get("config_hash"),
        "msmkit_version": m.get("msmkit_version"),
        "source": m.get("source"),
        "argv": m.get("argv"),
        "created": m.get("created"),
        "updated": m.get("updated"),
        "base_model": m.get("base_model"),
        "libraries": m.get("libraries"),
        "plugins": m.get("plugins"),
        "data": data,
        "stages": stages,
        "totals": m.get("totals"),
        "budget_usd": m.get("budget_usd"),
        "config": json.dumps(m.get("config"), indent=2, default=str),
    }
