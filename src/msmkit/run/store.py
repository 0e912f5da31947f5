"""The stage store: finished stages, content-addressed and shared by every run.

``<log dir>/store/<kind>-<fingerprint[:16]>/`` holds one stage: its files and ``stage.json``
(kind, full fingerprint, options, status, outputs, the files it wrote). A stage counts as
done only when ``stage.json`` says so *and* every file it listed is still there, so a folder
cut short by a crash is redone, never read as done.

Two processes that need the same stage never both compute it: each takes an exclusive
``flock`` on ``.locks/<name>.lock`` (released by the OS even after ``kill -9``);
the second waits, saying who holds it, then finds the stage done.

Which runs use which stages is kept in ``store/refs/``, one file per run folder, so the
store can be listed with its users and pruned of what no run references.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from msmkit.errors import RunError

STATES = ("running", "waiting", "done", "failed")


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON through a unique temporary file and rename: readers never see half a file,
    and two writers never share a temporary name."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str) + "\n")
    os.replace(tmp, path)


def read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def file_sha(path: Path) -> str:
    return _sha(path.read_text(encoding="utf-8"))


@dataclass
class StageDir:
    """One stage's folder in the store and its ``stage.json`` record."""

    kind: str
    key: str
    dir: Path

    @property
    def name(self) -> str:
        return self.dir.name

    @property
    def record_path(self) -> Path:
        return self.dir / "stage.json"

    @property
    def lock_path(self) -> Path:
        return self.dir.parent / ".locks" / f"{self.dir.name}.lock"

    def record(self) -> dict[str, Any]:
        return read_json(self.record_path)

    def _update(self, **changes: Any) -> dict[str, Any]:
        rec = self.record()
        rec.update(changes)
        write_json_atomic(self.record_path, rec)
        return rec

    # -- state
    @property
    def status(self) -> str:
        """``todo`` (nothing usable), ``running``/``failed`` (half-written), ``waiting``,
        ``stale`` (done, but an intermediate file was edited since), or ``done``."""
        rec = self.record()
        state = rec.get("status")
        if state == "done":
            missing = [f for f in rec.get("files", []) if not (self.dir / f).exists()]
            if missing or rec.get("fingerprint") != self.key:
                return "todo"
            return "stale" if self.edited_intermediates(rec) else "done"
        return state if state in STATES else "todo"

    @property
    def done(self) -> bool:
        return self.status == "done"

    def outputs(self) -> dict[str, Any]:
        return self.record().get("outputs", {})

    def start(self, options: dict[str, Any], slots: dict[str, str], run: str) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        rec = self.record()
        waiting = rec.get("waiting") if rec.get("status") == "waiting" else None
        rec.update(
            kind=self.kind,
            fingerprint=self.key,
            status="waiting" if waiting else "running",
            options=options,
            slots=slots,
            started=now(),
            attempts=rec.get("attempts", 0) + 1,
            owner={"pid": os.getpid(), "host": socket.gethostname(), "run": run},
        )
        rec.pop("error", None)
        write_json_atomic(self.record_path, rec)
        self._t0 = time.monotonic()

    def set_waiting(self, state: dict[str, Any]) -> None:
        self._update(status="waiting", waiting=state, waiting_since=now())

    def finish(self, outputs: dict[str, Any]) -> None:
        rec = self.record()
        files = sorted(p.name for p in self.dir.iterdir() if p.name != "stage.json")
        inter = rec.get("intermediates", {})
        for name, entry in inter.items():
            if (self.dir / name).exists():
                entry["used"] = file_sha(self.dir / name)
        rec.update(
            status="done",
            outputs=outputs,
            files=files,
            intermediates=inter,
            finished=now(),
            seconds=round(time.monotonic() - getattr(self, "_t0", time.monotonic()), 2),
        )
        write_json_atomic(self.record_path, rec)

    def fail(self, error: str) -> None:
        if self.record_path.exists():
            rec = self.record()
            if rec.get("status") != "waiting":  # a waiting stage keeps what it submitted
                rec["status"] = "failed"
            rec["error"] = error
            write_json_atomic(self.record_path, rec)

    # -- intermediates a user may edit
    def record_intermediate(self, name: str, sha: str) -> None:
        rec = self.record()
        inter = rec.setdefault("intermediates", {})
        inter.setdefault(name, {"made": sha})["used"] = sha
        write_json_atomic(self.record_path, rec)

    def edited_intermediates(self, rec: dict[str, Any] | None = None) -> dict[str, str]:
        """Intermediates whose content differs from what the last finished attempt used."""
        rec = rec if rec is not None else self.record()
        out = {}
        for name, entry in rec.get("intermediates", {}).items():
            path = self.dir / name
            if path.exists() and file_sha(path) != entry.get("used"):
                out[name] = file_sha(path)
        return out

    def content_key(self) -> str:
        """The key downstream stages see: the fingerprint, or, once a user has edited an
        intermediate away from what the stage first made, the fingerprint plus the edits."""
        rec = self.record()
        changed = {}
        for name, entry in sorted(rec.get("intermediates", {}).items()):
            path = self.dir / name
            if path.exists() and file_sha(path) != entry.get("made"):
                changed[name] = file_sha(path)
        if not changed:
            return self.key
        return _sha(json.dumps({"key": self.key, "edited": changed}, sort_keys=True))

    # -- clearing half-written work
    def set_aside(self, keep: tuple[str, ...] = ()) -> Path | None:
        """Move everything but ``keep`` (and the record) out of the folder; return where."""
        if not self.dir.exists():
            return None
        kept = {Path(k).parts[0] for k in keep if k}  # "steps/a.json" keeps the folder steps/
        movable = [p for p in self.dir.iterdir() if p.name not in (*kept, "stage.json")]
        if not movable:
            return None
        aside = self.dir.with_name(f"{self.dir.name}.incomplete-{int(time.time())}")
        n = 0
        while aside.exists():
            n += 1
            aside = aside.with_name(f"{aside.name}-{n}")
        aside.mkdir(parents=True)
        for p in movable:
            p.rename(aside / p.name)
        return aside

    # -- the lock
    @contextlib.contextmanager
    def lock(self, *, run: str, wait: bool = True, on_wait=None) -> Iterator[None]:
        """Hold this stage exclusively. ``on_wait(holder)`` is called once if another process
        has it; with ``wait=False`` that is a RunError naming the holder instead."""
        self.lock_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.lock_path, "a+") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _holder(self.lock_path)
                if not wait:
                    raise RunError(
                        f"stage {self.name} is being computed by {holder}",
                        hint="wait for it to finish (rerun without --no-wait to wait)",
                    ) from None
                if on_wait is not None:
                    on_wait(holder)
                fcntl.flock(handle, fcntl.LOCK_EX)
            handle.seek(0)
            handle.truncate()
            handle.write(
                json.dumps(
                    {"pid": os.getpid(), "host": socket.gethostname(), "run": run, "since": now()}
                )
            )
            handle.flush()
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def _holder(lock_path: Path) -> str:
    info = read_json(lock_path)
    if not info:
        return "another process"
    return (
        f"process {info.get('pid')} on {info.get('host')} "
        f"(run {info.get('run')!r}, since {info.get('since')})"
    )


def _is_locked(lock_path: Path) -> bool:
    if not lock_path.exists():
        return False
    with open(lock_path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
    return False


def dir_size(path: Path) -> int:
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            with contextlib.suppress(OSError):
                total += (Path(root) / f).stat().st_size
    return total


class Store:
    """All stages under ``<log dir>/store``, and the runs that reference them."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    @classmethod
    def under(cls, log_dir: Path) -> Store:
        return cls(Path(log_dir) / "store")

    def stage(self, kind: str, key: str) -> StageDir:
        return StageDir(kind, key, self.root / f"{kind}-{key[:16]}")

    # -- references
    @property
    def refs_dir(self) -> Path:
        return self.root / "refs"

    def _ref_path(self, run_dir: Path) -> Path:
        return self.refs_dir / f"{_sha(str(Path(run_dir).resolve()))[:16]}.json"

    def add_refs(self, run_dir: Path, stages: list[str]) -> None:
        """Record that the run at ``run_dir`` uses these stage folders (adds, never drops:
        every version of an experiment that ran keeps its stages referenced)."""
        self.refs_dir.mkdir(parents=True, exist_ok=True)
        path = self._ref_path(run_dir)
        with open(path.with_suffix(".lock"), "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            ref = read_json(path)
            names = sorted(set(ref.get("stages", [])) | set(stages))
            write_json_atomic(
                path, {"run": str(Path(run_dir).resolve()), "stages": names, "updated": now()}
            )

    def references(self) -> dict[str, list[str]]:
        """stage folder name -> run folders using it (runs whose folder is gone don't count)."""
        users: dict[str, list[str]] = {}
        if not self.refs_dir.exists():
            return users
        for path in sorted(self.refs_dir.glob("*.json")):
            ref = read_json(path)
            run = ref.get("run")
            if not run or not (Path(run) / "manifest.json").exists():
                continue
            for name in ref.get("stages", []):
                users.setdefault(name, []).append(run)
        return users

    # -- listing and pruning
    def entries(self) -> list[dict[str, Any]]:
        if not self.root.exists():
            return []
        users = self.references()
        rows = []
        for path in sorted(self.root.iterdir()):
            if not path.is_dir() or path.name in ("refs", ".locks"):
                continue
            rec = read_json(path / "stage.json")
            leftover = ".incomplete-" in path.name
            kind = rec.get("kind") or path.name.split("-")[0]
            stage = StageDir(kind, rec.get("fingerprint", ""), path)
            rows.append(
                {
                    "name": path.name,
                    "kind": kind,
                    "fingerprint": rec.get("fingerprint"),
                    "status": "leftover" if leftover else stage.status,
                    "bytes": dir_size(path),
                    "runs": users.get(path.name, []),
                    "finished": rec.get("finished"),
                }
            )
        return rows

    def prune(self, *, dry_run: bool = False) -> list[dict[str, Any]]:
        """Remove stage folders (and leftovers) no run references; skip locked ones."""
        removed = []
        for row in self.entries():
            if row["runs"]:
                continue
            path = self.root / row["name"]
            lock = self.root / ".locks" / f"{path.name}.lock"
            if _is_locked(lock):
                continue
            removed.append(row)
            if not dry_run:
                shutil.rmtree(path, ignore_errors=True)
                with contextlib.suppress(FileNotFoundError):
                    lock.unlink()
        return removed
