"""Exclusive locks on the store: ``flock`` on local disks, lock files on shared ones.

Two schemes, chosen by ``MSMKIT_LOCK`` (``flock``, the default, or ``file``):

* ``flock``: an exclusive ``flock`` on the lock file, released by the kernel even after
  ``kill -9``. Exact on a local disk; on NFS it depends on the server and client (lockd,
  ``local_lock`` mount options) and may silently lock only this machine.
* ``file``: the lock is a file ``<lock>.held`` created with ``O_CREAT | O_EXCL`` (atomic on
  NFSv3 and later, and on every local file system), holding the holder's host, pid, Slurm job
  id and a nonce. While held, a thread touches it every ``HEARTBEAT_S`` seconds. A lock is
  *stale*, and broken, when its holder is on this host and its pid is gone, or when its
  heartbeat is older than ``MSMKIT_LOCK_STALE_S`` (default 300 s: a holder on another host
  that stopped touching it, e.g. a node that died). Breaking happens under a second O_EXCL
  file (``<lock>.break``), re-reading the lock there, so two processes never both break it
  and take it. Use it for a store on a shared file system (``export MSMKIT_LOCK=file`` on
  every machine that runs stages of the store).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from msmkit.errors import ConfigError, RunError

SCHEMES = ("flock", "file")
HEARTBEAT_S = 30.0
POLL_S = 0.2


def scheme() -> str:
    value = os.environ.get("MSMKIT_LOCK", "flock").strip() or "flock"
    if value not in SCHEMES:
        raise ConfigError(
            f"MSMKIT_LOCK={value!r} is not a lock scheme",
            hint="flock (local disks, the default) or file (a store on NFS or another shared "
            "file system)",
        )
    return value


def stale_after() -> float:
    return float(os.environ.get("MSMKIT_LOCK_STALE_S", "300"))


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def holder_info(run: str) -> dict[str, Any]:
    return {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "run": run,
        "job_id": os.environ.get("SLURM_JOB_ID"),
        "since": now(),
    }


def describe(info: dict[str, Any]) -> str:
    if not info:
        return "another process"
    job = f", Slurm job {info['job_id']}" if info.get("job_id") else ""
    return (
        f"process {info.get('pid')} on {info.get('host')}{job} "
        f"(run {info.get('run')!r}, since {info.get('since')})"
    )


def _read(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


# -- the flock scheme ----------------------------------------------------------------------


@contextlib.contextmanager
def _flock(path: Path, run: str, wait: bool, on_busy: Callable[[str], None]) -> Iterator[None]:
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            on_busy(describe(_read(path)))
            fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps(holder_info(run)))
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# -- the lock-file scheme ------------------------------------------------------------------


def held_path(path: Path) -> Path:
    return path.with_name(path.name + ".held")


def _pid_alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    return stat.rsplit(")", 1)[1].split()[0] != "Z"  # a zombie holds nothing


def is_stale(held: Path) -> bool:
    """The holder is gone: a dead pid on this host, or no heartbeat for stale_after()."""
    info = _read(held)
    try:
        age = time.time() - held.stat().st_mtime
    except FileNotFoundError:
        return False  # released meanwhile: not stale, just free
    if info.get("host") == socket.gethostname() and isinstance(info.get("pid"), int):
        return not _pid_alive(info["pid"])
    if not info and age < 5:
        return False  # being written by its creator
    return age > stale_after()


def _create(path: Path, info: dict[str, Any]) -> bool:
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w") as handle:
        handle.write(json.dumps(info))
        handle.flush()
        os.fsync(handle.fileno())
    return True


def _break_stale(held: Path) -> bool:
    """Remove ``held`` if it is stale, deciding under the break lock; True if removed."""
    guard = held.with_name(held.name.removesuffix(".held") + ".break")
    if not _create(guard, holder_info("break")):
        with contextlib.suppress(FileNotFoundError):
            if time.time() - guard.stat().st_mtime > 60:  # a breaker that died mid-break
                guard.unlink()
        return False
    try:
        before = _read(held)
        if not is_stale(held):
            return False
        aside = held.with_name(f"{held.name}.stale-{uuid.uuid4().hex[:8]}")
        try:
            os.rename(held, aside)
        except FileNotFoundError:
            return True  # released meanwhile
        if _read(aside).get("nonce") != before.get("nonce"):  # a fresh lock slipped in
            with contextlib.suppress(OSError):
                os.link(aside, held)  # give it back (fails only if yet another took it)
            aside.unlink()
            return False
        aside.unlink()
        return True
    finally:
        with contextlib.suppress(FileNotFoundError):
            guard.unlink()


def _heartbeat(held: Path, nonce: str, stop: threading.Event) -> None:
    while not stop.wait(HEARTBEAT_S):
        if _read(held).get("nonce") != nonce:
            return  # broken by someone who judged us dead: nothing more to refresh
        with contextlib.suppress(OSError):
            os.utime(held)


@contextlib.contextmanager
def _filelock(path: Path, run: str, wait: bool, on_busy: Callable[[str], None]) -> Iterator[None]:
    held = held_path(path)
    info = {**holder_info(run), "nonce": uuid.uuid4().hex}
    told = False
    while not _create(held, info):
        if is_stale(held) and _break_stale(held):
            continue
        if not told:
            on_busy(describe(_read(held)))
            told = True
        time.sleep(POLL_S)
    stop = threading.Event()
    beat = threading.Thread(target=_heartbeat, args=(held, info["nonce"], stop), daemon=True)
    beat.start()
    try:
        yield
    finally:
        stop.set()
        if _read(held).get("nonce") == info["nonce"]:
            with contextlib.suppress(FileNotFoundError):
                held.unlink()


# -- the entry points ----------------------------------------------------------------------


@contextlib.contextmanager
def hold_lock(
    lock_path: Path, *, what: str, run: str, wait: bool = True, on_wait=None
) -> Iterator[None]:
    """Hold ``lock_path`` exclusively, by the scheme ``MSMKIT_LOCK`` names. ``on_wait(holder)``
    is called once if another process has it; with ``wait=False`` that is a RunError naming
    the holder instead."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)

    def busy(holder: str) -> None:
        if not wait:
            raise RunError(
                f"{what} is being computed by {holder}",
                hint="wait for it to finish (rerun without --no-wait to wait)",
            )
        if on_wait is not None:
            on_wait(holder)

    impl = _filelock if scheme() == "file" else _flock
    with impl(lock_path, run, wait, busy):
        yield


def holder(lock_path: Path) -> str:
    """Who holds (or last held) the lock, in words."""
    held = held_path(lock_path)
    return describe(_read(held) if held.exists() else _read(lock_path))


def is_locked(lock_path: Path) -> bool:
    """Held right now, by either scheme (a stale lock file counts as free)."""
    held = held_path(lock_path)
    if held.exists() and not is_stale(held):
        return True
    if not lock_path.exists():
        return False
    with open(lock_path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
    return False
