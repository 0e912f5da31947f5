"""The stage store: finished stages, content-addressed and shared by every run.

``<log dir>/store/<kind>-<fingerprint[:16]>/`` holds one stage: its files and ``stage.json``
(kind, full fingerprint, options, status, outputs, and the size and sha256 of every file it
wrote). A stage counts as done only when ``stage.json`` says so *and* its files are still the
ones it wrote: sizes are checked every time, contents of small files too (``CHEAP_HASH``),
and every file by ``msmkit store verify``. A folder cut short by a crash, a truncated file or
an output path edited to lead out of the folder is never read as done: the stage is *corrupt*
and the next run recomputes it, saying why.

Two processes that need the same stage never both compute it: each takes an exclusive lock
on ``.locks/<name>.lock`` (``flock``, released by the OS even after ``kill -9``; or, for a
store on NFS, ``MSMKIT_LOCK=file``: O_EXCL lock files with a stale-lock rule, see
:mod:`msmkit.run.locks`); the second waits, saying who holds it, then finds the stage done.

Which runs use which stages is kept in ``store/refs/``, one file per run folder, so the
store can be listed with its users and pruned of what no run references.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from msmkit.errors import RunError
from msmkit.files import confined, read_json, write_json_atomic
from msmkit.hashing import cached_sha256_file, sha256_text

STATES = ("running", "waiting", "done", "failed")
CHEAP_HASH = 4 << 20
"""Files up to this size are re-hashed whenever a stage's state is read; larger ones are
checked by size (``msmkit store verify`` hashes them all)."""

__all__ = ["StageDir", "Store", "now", "read_json", "write_json_atomic"]


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def file_sha(path: Path) -> str:
    return sha256_text(path.read_text(encoding="utf-8"))


def list_files(root: Path, skip: tuple[str, ...] = ()) -> dict[str, dict[str, Any]]:
    """Every regular file under ``root`` (but ``stage.json``, hidden temporary files and the
    top-level folders in ``skip``): relative path -> size and sha256."""
    out: dict[str, dict[str, Any]] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if rel.parts[0] in skip or rel.as_posix() == "stage.json" or not path.is_file():
            continue
        if path.name.endswith(".tmp") and path.name.startswith("."):
            continue
        st = path.stat()
        out[rel.as_posix()] = {"size": st.st_size, "sha256": cached_sha256_file(path)}
    return out


@dataclass
class StageDir:
    """One stage's folder in the store and its ``stage.json`` record.

    ``lock_file`` overrides where the stage's lock lives (a folder outside the store, such
    as ``msmkit generate docs -o DIR``, locks ``.DIR.lock`` beside it)."""

    kind: str
    key: str
    dir: Path
    lock_file: Path | None = None

    @property
    def name(self) -> str:
        return self.dir.name

    @property
    def record_path(self) -> Path:
        return self.dir / "stage.json"

    @property
    def lock_path(self) -> Path:
        if self.lock_file is not None:
            return self.lock_file
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
        ``corrupt`` (finished, but its files are no longer what it wrote), ``stale`` (done,
        but an intermediate file was edited since), or ``done``."""
        rec = self.record()
        state = rec.get("status")
        if state == "done":
            if rec.get("fingerprint") != self.key:
                return "todo"
            if self.problems(rec):
                return "corrupt"
            return "stale" if self.edited_intermediates(rec) else "done"
        return state if state in STATES else "todo"

    @property
    def done(self) -> bool:
        return self.status == "done"

    def problems(self, rec: dict[str, Any] | None = None, *, full: bool = False) -> list[str]:
        """Why a finished stage can't be trusted: files missing, resized or (when small, or
        ``full``) changed since it finished; outputs that lead out of the folder."""
        rec = rec if rec is not None else self.record()
        out: list[str] = []
        files = rec.get("files", {})
        editable = set(rec.get("intermediates", {}))
        if isinstance(files, list):  # written before sizes and hashes were recorded
            files = {name: {} for name in files}
        for name, meta in files.items():
            if name in editable:
                continue
            path = self.dir / name
            try:
                st = path.stat()
            except OSError:
                out.append(f"{name} is missing")
                continue
            size = meta.get("size")
            if size is not None and st.st_size != size:
                out.append(f"{name} is {st.st_size:,} bytes, was {size:,} when it finished")
                continue
            sha = meta.get("sha256")
            if sha and (full or st.st_size <= CHEAP_HASH) and cached_sha256_file(path) != sha:
                out.append(f"{name} changed since the stage finished (sha256 differs)")
        for key in rec.get("paths", []):
            value = rec.get("outputs", {}).get(key)
            if not isinstance(value, str):
                out.append(f"output {key!r} is no longer a path")
                continue
            try:
                confined(self.dir, value, what=f"output {key!r}")
            except RunError:
                out.append(f"output {key!r} points outside the stage folder ({value!r})")
        for problem in rec.get("verify", {}).get("problems", []):
            if problem not in out and not full:
                out.append(problem)
        return out

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
        for stale in ("error", "verify", "files", "paths"):
            rec.pop(stale, None)
        write_json_atomic(self.record_path, rec)
        self._t0 = time.monotonic()

    def set_waiting(self, state: dict[str, Any]) -> None:
        self._update(status="waiting", waiting=state, waiting_since=now())

    def end_waiting(self, final: dict[str, Any]) -> None:
        """The external work ended without a result (a cluster job failed or was cancelled):
        keep what it was as ``last_waiting`` and stop waiting, so the stage can fail and a
        rerun submits it anew."""
        rec = self.record()
        rec["last_waiting"] = {**rec.pop("waiting", {}), **final, "ended": now()}
        rec["status"] = "running"
        write_json_atomic(self.record_path, rec)

    def finish(self, outputs: dict[str, Any], *, scratch: tuple[str, ...] = ()) -> None:
        """Record the stage as done: its outputs, and the size and sha256 of every file in
        the folder (but the top-level ``scratch`` folders, e.g. training checkpoints).
        Raises RunError, recording nothing, when an output path leads out of the folder."""
        paths = self._output_paths(outputs)
        rec = self.record()
        inter = rec.get("intermediates", {})
        for name, entry in inter.items():
            if (self.dir / name).exists():
                entry["used"] = file_sha(self.dir / name)
        rec.update(
            status="done",
            outputs=outputs,
            paths=paths,
            files=list_files(self.dir, skip=scratch),
            intermediates=inter,
            finished=now(),
            seconds=self._seconds(),
        )
        rec.pop("waiting", None)
        write_json_atomic(self.record_path, rec)

    def _seconds(self) -> float:
        """The stage's time: what the process that ran it measured (``worked_seconds``, set
        when an executor ran it elsewhere, so time queued or polled is not counted), else
        the time since this process started it."""
        worked = getattr(self, "worked_seconds", None)
        if worked is not None:
            return round(worked, 2)
        return round(time.monotonic() - getattr(self, "_t0", time.monotonic()), 2)

    def _output_paths(self, outputs: dict[str, Any]) -> list[str]:
        """The outputs that name a file or folder of this stage (checked on every reuse)."""
        root = self.dir.resolve()
        keys = []
        for key, value in outputs.items():
            if not isinstance(value, str) or not value:
                continue
            target = (self.dir / value).resolve()
            inside = target == root or root in target.parents
            if not inside and (Path(value).is_absolute() or ".." in Path(value).parts):
                if target.exists():
                    raise RunError(
                        f"stage {self.name}: output {key!r} = {value!r} is outside the "
                        "stage folder",
                        hint="a stage kind must write only inside ctx.dir and return paths "
                        "relative to it",
                    )
                continue
            if inside and target != root and target.exists():
                keys.append(key)
        return keys

    def fail(self, error: str) -> None:
        if self.record_path.exists():
            rec = self.record()
            if rec.get("status") != "waiting":  # a waiting stage keeps what it submitted
                rec["status"] = "failed"
            rec["error"] = error
            write_json_atomic(self.record_path, rec)

    def verify(self) -> list[str]:
        """Hash every file of a finished stage; the verdict is recorded in ``stage.json``, so
        a stage found corrupt is recomputed by the next run that needs it."""
        rec = self.record()
        if rec.get("status") != "done":
            return []
        problems = self.problems(rec, full=True)
        rec["verify"] = {"at": now(), "problems": problems}
        write_json_atomic(self.record_path, rec)
        return problems

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
        return sha256_text(json.dumps({"key": self.key, "edited": changed}, sort_keys=True))

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
    def lock(self, *, run: str, wait: bool = True, on_wait=None):
        """Hold this stage exclusively (see :func:`hold_lock`)."""
        return hold_lock(
            self.lock_path, what=f"stage {self.name}", run=run, wait=wait, on_wait=on_wait
        )


def hold_lock(
    lock_path: Path, *, what: str, run: str, wait: bool = True, on_wait=None
) -> contextlib.AbstractContextManager[None]:
    """Hold ``lock_path`` exclusively: ``flock`` (released by the OS even after ``kill -9``),
    or lock files on a shared file system (``MSMKIT_LOCK=file``; see :mod:`msmkit.run.locks`).
    ``on_wait(holder)`` is called once if another process has it; with ``wait=False`` that is
    a RunError naming the holder instead."""
    from msmkit.run import locks

    return locks.hold_lock(lock_path, what=what, run=run, wait=wait, on_wait=on_wait)


def _is_locked(lock_path: Path) -> bool:
    from msmkit.run.locks import is_locked

    return is_locked(lock_path)


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
        return self.refs_dir / f"{sha256_text(str(Path(run_dir).resolve()))[:16]}.json"

    def add_refs(self, run_dir: Path, stages: list[str]) -> None:
        """Record that the run at ``run_dir`` uses these stage folders (adds, never drops:
        every version of an experiment that ran keeps its stages referenced)."""
        self.refs_dir.mkdir(parents=True, exist_ok=True)
        path = self._ref_path(run_dir)
        with hold_lock(path.with_suffix(".lock"), what="the store's references", run="refs"):
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

    def verify(self) -> list[dict[str, Any]]:
        """Hash every file of every finished stage; one row per stage with its problems."""
        rows = []
        for row in self.entries():
            if row["status"] in ("leftover", "todo", "running", "failed", "waiting"):
                continue
            path = self.root / row["name"]
            stage = StageDir(row["kind"], row["fingerprint"] or "", path)
            rows.append({"name": row["name"], "kind": row["kind"], "problems": stage.verify()})
        return rows
