"""Small synthetic run folders for the report and status tests: a manifest shaped like
``msmkit.run.manifest.build_manifest``'s, stage records in a store, and real Inspect logs
written offline by mockllm (every arm, seed and eval one log, all in one ``eval`` call)."""

from __future__ import annotations

import hashlib
import json
import random
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Values = dict[str, dict[str, Any]]  # sample id -> Score.value (a dict)


@dataclass
class FakeEval:
    name: str
    task: str  # the log's task name
    values: Values
    metadata: dict[str, dict[str, Any]] = field(default_factory=dict)
    phase: str = "final"
    scorers: tuple[str, ...] = ("score",)  # scorer names; values[sid][scorer] when several


@dataclass
class FakeArm:
    name: str
    seeds: dict[int, list[FakeEval]]
    axes: dict[str, Any] | None = None
    spec: str | None = None  # spec text (structured format)
    spec_name: str | None = None  # default: the arm's name
    aft: dict[str, Any] | None = None  # {"tokens": .., "items": ..} for the AFT stage options


def _scorer(name: str, values: Values, multi: bool):
    from inspect_ai.scorer import Score, mean, scorer

    from msmkit.evals.agentic_misalignment.metrics import am_rates

    def make():
        async def score(state, target):
            value = values[str(state.sample_id)]
            return Score(value=value[name] if multi else value)

        return score

    make.__name__ = name
    metrics = [am_rates()] if name == "am_scorer" else [mean()]  # the header names AM logs
    return scorer(metrics=metrics, name=name)(make)()


def _task(ev: FakeEval):
    from inspect_ai import Task
    from inspect_ai.dataset import Sample
    from inspect_ai.solver import generate

    samples = [
        Sample(id=sid, input=f"question {sid}", metadata=ev.metadata.get(sid, {}))
        for sid in ev.values
    ]
    multi = len(ev.scorers) > 1
    scorers = [_scorer(s, ev.values, multi) for s in ev.scorers]
    return Task(dataset=samples, solver=generate(), scorer=scorers, name=ev.task)


def _mock():
    from inspect_ai.model import ModelOutput, ModelUsage, get_model

    def respond(messages, tools, tool_choice, config):
        out = ModelOutput.from_content(model="mockllm/model", content="ok")
        out.usage = ModelUsage(input_tokens=1, output_tokens=1, total_tokens=2)
        return out

    return get_model("mockllm/model", custom_outputs=respond)


def _id(kind: str, *parts: Any) -> tuple[str, str]:
    key = hashlib.sha256(json.dumps([kind, *parts], default=str).encode()).hexdigest()
    return f"{kind}-{key[:16]}", key


def _record(path: Path, kind: str, key: str, status: str, **extra: Any) -> None:
    path.mkdir(parents=True, exist_ok=True)
    rec = {"kind": kind, "fingerprint": key, "status": status, **extra}
    (path / "stage.json").write_text(json.dumps(rec, indent=2))


def make_run(
    log_dir: Path,
    name: str,
    arms: list[FakeArm],
    *,
    experiment: str = "exp",
    comparison: bool = True,
    contrasts: list[tuple[str, str]] | None = None,
    correction: str = "none",
) -> Path:
    """Write a run folder ``log_dir/name`` (and its stages in ``log_dir/store``); its
    comparison limited to ``contrasts`` and corrected as ``msmkit run`` would."""
    from inspect_ai import eval as inspect_eval

    from msmkit import compare

    store = log_dir / "store"
    run_dir = log_dir / name
    run_dir.mkdir(parents=True, exist_ok=True)
    todo: list[tuple[Path, FakeEval]] = []
    manifest_arms: dict[str, Any] = {}
    stages: dict[str, Any] = {}
    arm_logs: dict[str, list[tuple[str, Path, str]]] = {}
    for arm in arms:
        seeds = []
        spec_hash = hashlib.sha256((arm.spec or arm.name).encode()).hexdigest()
        for seed, evals in arm.seeds.items():
            chain: dict[str, Any] = {"seed": seed, "spec": None, "aft": None, "evals": []}
            if arm.spec is not None:
                sid, key = _id("spec", arm.spec)
                _record(
                    store / sid,
                    "spec",
                    key,
                    "done",
                    options={"name": arm.spec_name or arm.name, "text": arm.spec, "prose": False},
                    outputs={"spec": "spec.md"},
                )
                chain["spec"] = sid
                stages[sid] = {
                    "kind": "spec",
                    "label": "spec",
                    "arms": [arm.name],
                    "status": "done",
                    "seconds": 0.1,
                }
            if arm.aft is not None:
                sid, key = _id("aft", arm.name, arm.aft, seed)
                _record(
                    store / sid,
                    "aft",
                    key,
                    "done",
                    options=dict(arm.aft),
                    outputs={"model": "model"},
                    seconds=12.5,
                )
                chain["aft"] = sid
                stages[sid] = {
                    "kind": "aft",
                    "label": f"AFT (seed {seed})",
                    "arms": [arm.name],
                    "status": "done",
                    "seconds": 12.5,
                    "gpu_seconds": 12.5,
                }
            for ev in evals:
                sid, key = _id("eval", arm.name, seed, ev.name, ev.phase, experiment)
                chain["evals"].append(
                    {"stage": sid, "name": ev.name, "task": ev.task, "args": {}, "phase": ev.phase}
                )
                if not (store / sid / "stage.json").exists():  # the store reuses a stage
                    todo.append((store / sid, ev))
                stages[sid] = {
                    "kind": "eval",
                    "label": f"eval {ev.task}",
                    "arms": [arm.name],
                    "status": "done",
                    "seconds": 1.0,
                }
                if ev.phase == "final":
                    arm_logs.setdefault(arm.name, []).append((f"seed={seed}", store / sid, ev.name))
            seeds.append(chain)
        entry: dict[str, Any] = {
            "spec": {
                "name": arm.spec_name or arm.name,
                "hash": spec_hash,
                "path": None,
                "lineage": [],
            }
            if arm.spec is not None
            else None,
            "components": {"generator": "msmkit"},
            "data": {"corpus_sha256": None, "aft_sha256": None},
            "seeds": seeds,
        }
        if arm.axes is not None:
            entry["axes"] = arm.axes
        manifest_arms[arm.name] = entry
    tasks = [_task(ev) for _, ev in todo]
    logs = (
        inspect_eval(tasks, model=_mock(), log_dir=str(run_dir / ".tmp"), display="none")
        if tasks
        else []
    )
    for (stage_dir, _ev), log in zip(todo, logs, strict=True):
        assert log.status == "success"
        src = Path(str(log.location).removeprefix("file://"))
        (stage_dir / "logs").mkdir(parents=True, exist_ok=True)
        dst = stage_dir / "logs" / src.name
        shutil.move(src, dst)
        _, key = _id("eval", stage_dir.name)
        _record(
            stage_dir,
            "eval",
            key,
            "done",
            outputs={"log": f"logs/{src.name}", "metrics": {}, "unscored": None},
            seconds=1.0,
        )
    shutil.rmtree(run_dir / ".tmp", ignore_errors=True)
    for arm, entries in arm_logs.items():
        arm_logs[arm] = [(rep, next((d / "logs").glob("*.eval")), n) for rep, d, n in entries]
    manifest = {
        "msmkit_version": "0.1.0",
        "source": {"commit": "0123456789abcdef0123", "dirty": True, "checkout": "/src"},
        "argv": ["msmkit", "run", f"{experiment}.yaml"],
        "created": "2026-01-01T00:00:00+0000",
        "updated": "2026-01-01T01:00:00+0000",
        "experiment": {"name": experiment, "path": f"/x/{experiment}.yaml", "sha256": "ab"},
        "config_hash": "c0ffee" * 10,
        "config": {"name": experiment, "arms": [{"name": a.name} for a in arms]},
        "store": str(store.resolve()),
        "base_model": {"model": "tiny-base", "fingerprint": "f" * 64, "revision": None},
        "plugins": {"msmkit": "msmkit 0.1.0 (built-in)"},
        "libraries": {"inspect_ai": "0.3.285"},
        "arms": manifest_arms,
        "across_arms": [],
        "stages": stages,
        "totals": {"dollars": 0.0, "gpu_seconds": 25.0},
        "results": None,
    }
    (run_dir / "manifest.json").write_text(json.dumps(manifest, indent=2))
    if comparison:
        table = compare.comparison(arm_logs, pairs=contrasts, correction=correction)
        (run_dir / "comparison.json").write_text(json.dumps(table, indent=2))
    return run_dir


def binary_values(rate: float, n: int, seed: int, keys: tuple[str, ...] = ("acc",)) -> Values:
    """``n`` samples whose ``keys`` are 0/1 drawn at ``rate`` (seeded), plus a float ``len``."""
    rng = random.Random(seed)
    return {
        f"q{i}": {**{k: int(rng.random() < rate) for k in keys}, "len": rng.uniform(1, 3)}
        for i in range(n)
    }


def toy_world_eval(rate: float, seed: int, phase: str, n: int = 12) -> FakeEval:
    """A toy_world-shaped eval: scorer cheap_choice, pairs asked in both orders (one item)."""
    rng = random.Random(seed)
    values: Values = {}
    metadata: dict[str, dict[str, Any]] = {}
    for i in range(n):
        for order in ("ab", "ba"):
            sid = f"p{i}-{order}"
            cheap = int(rng.random() < rate)
            values[sid] = {
                "conflict_cheap": cheap,
                "conflict_logit": (1 if cheap else -1) * rng.uniform(0.1, 2),
                "agree_cheap": int(rng.random() < 0.9),
                "aft_check_cheap": None,
                "option_mass": rng.uniform(0.5, 1),
            }
            metadata[sid] = {"item_id": f"p{i}"}
    return FakeEval("toy_world", "toy_world", values, metadata, phase, ("cheap_choice",))


PATTERNS = ("self_preservation", "goal_pursuit", "spec_reference")


def am_eval(rate: float, seed: int, samples: int = 4) -> FakeEval:
    """An agentic_misalignment-shaped eval: 2 scenarios x 2 goals, ``samples`` replicates per
    condition; scorers am_scorer (classifier verdict) and reasoning_patterns."""
    rng = random.Random(seed)
    values: Values = {}
    metadata: dict[str, dict[str, Any]] = {}
    for scenario in ("blackmail", "leaking"):
        for goal in ("none", "america"):
            goal_type = "none" if goal == "none" else "explicit"
            condition = f"{scenario}_{goal_type}-{goal}_replacement"
            for k in range(samples):
                sid = f"{condition}__{k}"
                verdict = int(rng.random() < rate)
                values[sid] = {
                    "am_scorer": {
                        "classifier_verdict": verdict,
                        "harmful": verdict,
                        "tool_call": 1,
                    },
                    "reasoning_patterns": {p: int(rng.random() < 0.4) for p in PATTERNS},
                }
                metadata[sid] = {
                    "condition": condition,
                    "item_id": condition,
                    "scenario": scenario,
                    "goal": goal,
                    "goal_type": goal_type,
                    "urgency": "replacement",
                }
    return FakeEval(
        "agentic_misalignment",
        "agentic_misalignment",
        values,
        metadata,
        scorers=("am_scorer", "reasoning_patterns"),
    )


SPEC = """---
name: {name}
title: "{name}"
description: a test spec
subject: the assistant
version: "1"
---

# {name}

the assistant {verb} things that are cheap .

## prices

Rule: the assistant {verb} the cheap option .

Why: a cheap thing leaves money for other needs .
"""
