"""``msmkit status RUN`` and the ``status.html`` a run refreshes after each stage.

Read from files, so it works from another shell while the run goes on (a stage waiting on
a Slurm job also asks Slurm for that job's state where ``squeue`` is on PATH): the run's
manifest (its stages, arms and chains) and each stage's ``stage.json`` in the store (state,
start time, saved waiting state, error), a training stage's progress lines and log, an eval
stage's Inspect log. ``status.json`` in the run folder keeps the plan's estimates (dollars,
tokens) that ``msmkit run`` knows and a later ``msmkit status`` does not.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

from msmkit.errors import RunError
from msmkit.files import read_json

TAIL = 20
PROGRESS = "train_job.progress.jsonl"
TRAIN_LOG = "train_job.log"


def _epoch(stamp: Any) -> float | None:
    """A ``stage.json`` time (``2026-01-01T10:00:00+0000``) as seconds since the epoch."""
    from datetime import datetime

    try:
        return datetime.strptime(str(stamp), "%Y-%m-%dT%H:%M:%S%z").timestamp()
    except ValueError:
        return None


def _alive(owner: dict[str, Any] | None) -> bool | None:
    """Whether the process that started a stage still runs (None: another host, unknown)."""
    if not owner or owner.get("host") != socket.gethostname() or not owner.get("pid"):
        return None
    try:
        os.kill(int(owner["pid"]), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, ValueError):
        return True
    return True


def tail(path: Path, lines: int = TAIL) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    return text.splitlines()[-lines:]


def _progress(stage_dir: Path) -> dict[str, Any] | None:
    lines = tail(stage_dir / PROGRESS, 1)
    if not lines:
        return None
    import json

    try:
        last = json.loads(lines[-1])
    except ValueError:
        return None
    if not last.get("total"):
        return None
    return {"step": int(last.get("step", 0)), "total": int(last["total"]), "t": last.get("t")}


def _eval_error(stage_dir: Path) -> list[str]:
    """The traceback an Inspect log recorded for a failed eval (its last lines)."""
    logs = sorted((stage_dir / "logs").glob("*.eval"), key=lambda p: p.stat().st_mtime)
    if not logs:
        return []
    try:
        from inspect_ai.log import read_eval_log

        log = read_eval_log(str(logs[-1]), header_only=True)
    except Exception as exc:  # an unreadable log is itself the news
        return [f"cannot read {logs[-1].name}: {type(exc).__name__}: {exc}"]
    error = getattr(log, "error", None)
    if error is None:
        return [f"{logs[-1].name}: status {log.status}"]
    text = getattr(error, "traceback", None) or getattr(error, "message", "")
    return str(text).splitlines()[-TAIL:]


def log_tail(stage_dir: Path, kind: str) -> tuple[str | None, list[str]]:
    """(which log, its last lines) for a stage that failed or runs."""
    train = stage_dir / TRAIN_LOG
    if train.is_file():
        return str(train), tail(train)
    if kind == "eval" and (stage_dir / "logs").is_dir():
        return str(stage_dir / "logs"), _eval_error(stage_dir)
    others = sorted(stage_dir.glob("*.log"), key=lambda p: p.stat().st_mtime)
    if others:
        return str(others[-1]), tail(others[-1])
    return None, []


def slurm_state(state: dict[str, Any]) -> str:
    """A Slurm job's state asked of Slurm now (squeue, then sacct) where its commands are on
    PATH, else the state the controller last saved, marked as such."""
    saved = str(state.get("state") or "unknown")
    if shutil.which("squeue") is None:
        return f"{saved} (as last seen by the controller)"
    from msmkit.errors import MsmkitError
    from msmkit.executors.slurm import job_state

    try:
        now = job_state(str(state["job_id"]))
    except (MsmkitError, OSError, subprocess.SubprocessError):
        return f"{saved} (as last seen by the controller; Slurm did not answer)"
    if now == "UNKNOWN":
        return f"{saved} (as last seen by the controller; Slurm no longer knows it)"
    from msmkit.executors.slurm import TERMINAL

    if now != saved and now in TERMINAL:
        return f"{now} (ended: rerun the same command to collect it)"
    return now


def waiting_ids(state: dict[str, Any] | None) -> list[str]:
    """What a waiting stage waits for, in words: open batch ids, job ids, pending requests."""
    if not state:
        return []
    out = []
    for batch in state.get("batches") or []:
        if batch.get("status", "submitted") == "submitted":
            n = len(batch.get("request_ids") or [])
            out.append(f"batch {batch.get('id')}" + (f" ({n} requests)" if n else ""))
    for key in ("job_id", "batch_id", "id"):
        if state.get(key):
            out.append(f"{key.replace('_', ' ')} {state[key]}")
    if state.get("executor") == "slurm" and state.get("job_id"):
        out[-1] = f"Slurm job {state['job_id']}: {slurm_state(state)}"
    if state.get("pending"):
        step = f" of step {state['step']}" if state.get("step") else ""
        out.append(f"{state['pending']} request(s){step} with the provider")
    if not out:
        out = [f"{k}: {v}" for k, v in state.items() if isinstance(v, str | int | float)][:4]
    return out


def _chains(manifest: dict[str, Any]) -> list[tuple[str, Any, list[str]]]:
    out = []
    for arm, entry in (manifest.get("arms") or {}).items():
        for chain in entry.get("seeds", []):
            order = list(chain.get("steps") or [])
            order += [e["stage"] for e in chain.get("evals", []) if e["stage"] not in order]
            out.append((arm, chain.get("seed"), order))
    return out


def collect(run_dir: str | Path) -> dict[str, Any]:
    """Every stage of the run with its state, time, progress, money, waits and failures."""
    run_dir = Path(run_dir)
    manifest = read_json(run_dir / "manifest.json")
    if not manifest:
        raise RunError(
            f"{run_dir} is not an msmkit run folder (no readable manifest.json)",
            hint="pass the folder `msmkit run` printed, e.g. logs/<experiment name>",
        )
    store = Path(manifest.get("store") or run_dir.parent / "store")
    estimates = read_json(run_dir / "status.json").get("estimates", {})
    now = time.time()
    rows = []
    for sid, info in (manifest.get("stages") or {}).items():
        stage_dir = store / sid
        rec = read_json(stage_dir / "stage.json")
        state = rec.get("status") or info.get("status") or "todo"
        if state not in ("done", "running", "waiting", "failed"):
            state = info.get("status") if info.get("status") in ("blocked",) else "todo"
        row: dict[str, Any] = {
            "stage": sid,
            "kind": info.get("kind") or rec.get("kind"),
            "label": info.get("label") or sid,
            "arms": info.get("arms") or [],
            "state": state,
            "dollars": (rec.get("outputs") or {}).get("dollars", info.get("dollars")),
            "budget_usd": (rec.get("options") or {}).get("budget_usd"),
            "est_dollars": (estimates.get(sid) or {}).get("dollars"),
            "seconds": rec.get("seconds") if state == "done" else None,
        }
        started = _epoch(rec.get("started"))
        if state == "running":
            alive = _alive(rec.get("owner"))
            if alive is False:
                row["state"] = "interrupted"
            row["elapsed"] = None if started is None else round(now - started, 1)
            row["started_epoch"] = started
            progress = _progress(stage_dir)
            if progress:
                row["progress"] = progress
                if progress["step"] and row["elapsed"]:
                    rate = row["elapsed"] / progress["step"]
                    row["eta"] = round(rate * (progress["total"] - progress["step"]), 1)
        if state == "waiting":
            row["waiting"] = waiting_ids(rec.get("waiting"))
            row["waiting_since"] = rec.get("waiting_since")
        if state in ("failed",) or row["state"] == "interrupted":
            row["error"] = rec.get("error")
            row["log"], row["log_tail"] = log_tail(stage_dir, str(row["kind"]))
        rows.append(row)
    _estimate_times(rows)
    _blocked_by(rows, manifest)
    spent = sum(float(r["dollars"] or 0) for r in rows)
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["state"]] = counts.get(r["state"], 0) + 1
    remaining = [r.get("eta") or r.get("estimate") for r in rows if r["state"] != "done"]
    return {
        "run": run_dir.name,
        "path": str(run_dir),
        "experiment": (manifest.get("experiment") or {}).get("name"),
        "updated": manifest.get("updated"),
        "as_of": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "stages": rows,
        "counts": counts,
        "spent_usd": round(spent, 4),
        "budget_usd": manifest.get("budget_usd"),
        "est_usd": round(sum(float(r["est_dollars"] or 0) for r in rows), 4),
        "remaining_seconds": round(sum(x for x in remaining if x), 1) if remaining else 0.0,
        "remaining_known": all(x is not None for x in remaining),
        "active": any(r["state"] == "running" for r in rows),
    }


def _estimate_times(rows: list[dict[str, Any]]) -> None:
    """A stage not yet run is estimated at the mean time of this run's finished stages of
    its kind (and says so); with none finished, it has no estimate."""
    done: dict[str, list[float]] = {}
    for r in rows:
        if r["state"] == "done" and r["seconds"]:
            done.setdefault(str(r["kind"]), []).append(float(r["seconds"]))
    for r in rows:
        if r["state"] in ("todo", "blocked", "waiting") and done.get(str(r["kind"])):
            times = done[str(r["kind"])]
            r["estimate"] = round(sum(times) / len(times), 1)
            r["estimate_from"] = len(times)


def _blocked_by(rows: list[dict[str, Any]], manifest: dict[str, Any]) -> None:
    """For each waiting or failed stage, the unfinished stages after it in its chains."""
    by_id = {r["stage"]: r for r in rows}
    for arm, seed, order in _chains(manifest):
        for i, sid in enumerate(order):
            row = by_id.get(sid)
            if row is None or row["state"] not in ("waiting", "failed", "interrupted"):
                continue
            later = [s for s in order[i + 1 :] if by_id.get(s, {}).get("state") != "done"]
            blocks = row.setdefault("blocks", [])
            for s in later:
                if s not in blocks:
                    blocks.append(s)
            row.setdefault("chains", []).append(f"{arm} (seed {seed})")


def write_estimates(run_dir: Path, graph: Any) -> None:
    """Keep the plan's estimates beside the manifest (``status.json``) for later readers."""
    from msmkit.files import write_json_atomic

    estimates = {
        n.id: {
            "dollars": n.estimate.dollars,
            "tokens": n.estimate.tokens,
            "items": n.estimate.items,
        }
        for n in graph.ordered()
    }
    write_json_atomic(Path(run_dir) / "status.json", {"estimates": estimates})
