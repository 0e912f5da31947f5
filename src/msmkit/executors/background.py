"""``background``: each stage in its own local process, several at once.

Like the Slurm executor it *detaches*: ``run`` starts the stage's process and returns
(:class:`~msmkit.stagekit.StillWaiting`), and the run's controller
(:func:`msmkit.run.runner.control`) passes over the graph again, starting every stage whose
inputs are done — up to ``max_jobs`` at a time — and collecting each when its process ends.
Independent stages (seeds, arms) then share the machine's cores, each process with
``threads`` torch/OpenMP threads: for tiny CPU models one thread a process is as fast as two
on an idle machine and much faster on a busy one.

A stage's process is a child of the controller and is killed with it (Linux
``PR_SET_PDEATHSIG``); the pid is saved in the stage before the controller waits, so a rerun
finds the process gone and starts the stage again, and a second controller on the same
machine waits for a live one instead of starting it twice. Nothing here imports torch.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field

from msmkit.components import Options
from msmkit.errors import RunError
from msmkit.executors import Job
from msmkit.executors.jobfiles import error_files, job_paths, log_tail, raise_recorded
from msmkit.executors.local import _die_with_parent, _only_accelerate_fields, write_job
from msmkit.stagekit import StillWaiting

THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")

_RUNNING: dict[str, subprocess.Popen] = {}
"""This controller's stage processes, by job file (kept so that they are reaped)."""


class BackgroundOptions(Options):
    """How many stages run at once, and with how many threads each."""

    max_jobs: int = Field(2, ge=1, le=256, description="stage processes running at once")
    threads: int | None = Field(
        1, ge=1, le=1024, description="torch/OpenMP threads per process (null: inherit)"
    )


def _running() -> int:
    return sum(1 for child in _RUNNING.values() if child.poll() is None)


def _alive_elsewhere(state: dict[str, Any], job_file: Path) -> bool:
    """Whether the saved pid is a live process on this host running this job (a pid reused
    by another program does not count)."""
    if state.get("host") != socket.gethostname():
        return False
    try:
        cmdline = Path(f"/proc/{int(state['pid'])}/cmdline").read_bytes()
    except (OSError, ValueError, KeyError):
        return False
    return str(job_file).encode() in cmdline


class BackgroundExecutor:
    name = "background"
    description = "Each stage in its own local process, max_jobs at once (the controller polls)"
    Options: ClassVar[type[Options]] = BackgroundOptions
    runs_stages = True
    detaches = True  # run() starts the process and returns: the run's controller polls
    poll_s = 0.5  # local processes: the controller looks again this soon

    def check(self, settings: Any, options: Any, backend: Any) -> None:
        _only_accelerate_fields(settings)

    def world_size(self, settings: Any, options: Any) -> int:
        return 1

    def run(self, job: Job, settings: Any, options: BackgroundOptions, ctx: Any) -> Path:
        key = str(job.job_file)
        state = ctx.waiting_state() or {}
        mine = state.get("executor") == self.name
        if key in _RUNNING or (mine and _alive_elsewhere(state, job.job_file)):
            return self._poll(job, state, ctx)
        if mine:  # a process started by a controller that is gone: collect what it left
            if Path(job.output).is_file() and not error_files(job.job_file):
                ctx.end_waiting({"pid": state.get("pid"), "collected": True})
                return Path(job.output)
            ctx.end_waiting({"pid": state.get("pid"), "gone": True})
        self._start(job, options, ctx)
        raise StillWaiting(f"started in process {_RUNNING[key].pid}")

    def _start(self, job: Job, options: BackgroundOptions, ctx: Any) -> None:
        if _running() >= options.max_jobs:
            raise StillWaiting(f"held back: {_running()} stage processes running (max_jobs)")
        write_job(job)
        paths = job_paths(job.job_file)
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        if options.threads is not None:
            env.update(dict.fromkeys(THREAD_VARS, str(options.threads)))
        command = [sys.executable, "-m", job.module, str(job.job_file)]
        with open(paths["log"], "wb") as log:
            log.write(("$ " + " ".join(command) + "\n").encode())
            log.flush()
            child = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                preexec_fn=_die_with_parent(signal.SIGKILL),
            )
        _RUNNING[str(job.job_file)] = child
        ctx.set_waiting(
            {
                "executor": self.name,
                "pid": child.pid,
                "host": socket.gethostname(),
                "log": str(paths["log"]),
                "started": time.time(),
            }
        )
        ctx.note(f"{job.name}: started in process {child.pid}")

    def _poll(self, job: Job, state: dict[str, Any], ctx: Any) -> Path:
        key = str(job.job_file)
        child = _RUNNING.get(key)
        code = child.poll() if child is not None else None
        if (child is not None and code is None) or (
            child is None and _alive_elsewhere(state, job.job_file)
        ):
            pid = child.pid if child is not None else state.get("pid")
            raise StillWaiting(f"running in process {pid}")  # the same words each poll
        _RUNNING.pop(key, None)
        ctx.end_waiting({"pid": state.get("pid"), "returncode": code})
        paths = job_paths(job.job_file)
        for path in error_files(job.job_file):
            raise_recorded(json.loads(path.read_text(encoding="utf-8")), paths["log"])
        if code not in (0, None) or not Path(job.output).is_file():
            raise RunError(
                f"the {job.name} process exited with status {code}:\n" + log_tail(paths["log"]),
                hint=f"The full log is {paths['log']}.",
            )
        return Path(job.output)
