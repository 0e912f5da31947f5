"""The store's locks across processes: flock, and the lock files for shared file systems
(``MSMKIT_LOCK=file``: O_EXCL, holder's host/pid/job id, stale-lock rule)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from msmkit.errors import ConfigError, RunError
from msmkit.run import locks
from msmkit.run.store import hold_lock

SRC = Path(__file__).resolve().parents[1] / "src"

COUNTER = """
import sys, time
from pathlib import Path
from msmkit.run.store import hold_lock
lock, counter, n = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
for _ in range(n):
    with hold_lock(lock, what="counter", run="t"):
        value = int(counter.read_text())
        time.sleep(0.002)  # widen the read-modify-write window
        counter.write_text(str(value + 1))
"""


def _env(scheme: str) -> dict[str, str]:
    return {**os.environ, "MSMKIT_LOCK": scheme, "PYTHONPATH": str(SRC)}


@pytest.mark.parametrize("scheme", ["flock", "file"])
def test_processes_never_hold_the_lock_together(tmp_path, scheme):
    counter = tmp_path / "counter"
    counter.write_text("0")
    lock = tmp_path / "locks" / "x.lock"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", COUNTER, str(lock), str(counter), "40"], env=_env(scheme)
        )
        for _ in range(4)
    ]
    assert [p.wait(timeout=300) for p in procs] == [0, 0, 0, 0]
    assert int(counter.read_text()) == 160  # no increment lost: never two holders at once
    if scheme == "file":
        assert not locks.held_path(lock).exists()  # released


def test_a_killed_holder_is_detected_and_its_lock_broken(tmp_path, monkeypatch):
    monkeypatch.setenv("MSMKIT_LOCK", "file")
    lock = tmp_path / "x.lock"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from msmkit.run.store import hold_lock\n"
            "with hold_lock(Path(sys.argv[1]), what='x', run='held'):\n"
            "    print('held', flush=True); time.sleep(600)",
            str(lock),
        ],
        env=_env("file"),
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "held"
    held = json.loads(locks.held_path(lock).read_text())
    assert held["pid"] == holder.pid and held["host"] == socket.gethostname()
    with (
        pytest.raises(RunError, match=rf"process {holder.pid} on"),
        hold_lock(lock, what="x", run="t", wait=False),
    ):
        pass
    assert locks.is_locked(lock)
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    assert not locks.is_locked(lock)  # a dead pid on this host holds nothing
    with hold_lock(lock, what="x", run="t", wait=False):
        assert json.loads(locks.held_path(lock).read_text())["pid"] == os.getpid()


def _foreign(lock: Path, age_s: float) -> None:
    """A lock file written by a process on another machine, last touched age_s ago."""
    held = locks.held_path(lock)
    held.parent.mkdir(parents=True, exist_ok=True)
    info = {"pid": 1, "host": "node-elsewhere", "run": "r", "job_id": "77", "nonce": "n"}
    held.write_text(json.dumps(info))
    past = time.time() - age_s
    os.utime(held, (past, past))


def test_a_lock_from_another_host_holds_until_its_heartbeat_stops(tmp_path, monkeypatch):
    monkeypatch.setenv("MSMKIT_LOCK", "file")
    monkeypatch.setenv("MSMKIT_LOCK_STALE_S", "120")
    lock = tmp_path / "y.lock"
    _foreign(lock, age_s=10)  # touched recently: alive, whatever its pid means here
    with (
        pytest.raises(RunError, match=r"node-elsewhere, Slurm job 77"),
        hold_lock(lock, what="y", run="t", wait=False),
    ):
        pass
    _foreign(lock, age_s=600)  # no heartbeat for 10 minutes: the node is gone
    with hold_lock(lock, what="y", run="t", wait=False):
        assert json.loads(locks.held_path(lock).read_text())["host"] == socket.gethostname()
    assert not locks.held_path(lock).exists()


def test_the_heartbeat_keeps_a_long_hold_fresh(tmp_path, monkeypatch):
    monkeypatch.setenv("MSMKIT_LOCK", "file")
    monkeypatch.setattr(locks, "HEARTBEAT_S", 0.05)
    lock = tmp_path / "z.lock"
    with hold_lock(lock, what="z", run="t"):
        held = locks.held_path(lock)
        past = time.time() - 1000
        os.utime(held, (past, past))
        deadline = time.monotonic() + 10
        while time.time() - held.stat().st_mtime > 100 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert time.time() - held.stat().st_mtime < 100


def test_an_unknown_scheme_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("MSMKIT_LOCK", "nfs")
    with (
        pytest.raises(ConfigError, match="MSMKIT_LOCK='nfs' is not a lock scheme"),
        hold_lock(tmp_path / "a.lock", what="a", run="t"),
    ):
        pass
