"""What a Slurm job runs (pickled by submitit; imported on the compute node).

:class:`StageTask` runs ``python -m msmkit.run.worker STAGE_JOB.json`` in a child process
whose output goes to the job's log. It is *checkpointable* in submitit's sense: when Slurm
signals the job before its time limit or preempts it (``USR2``), submitit requeues the same
task, and the rerun of the stage continues from what the stage folder holds (a training
stage from its ``checkpoints/``). A requeue by ``scontrol requeue`` restarts it the same way.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any


class StageTask:
    def __call__(self, job_file: str) -> int:
        from msmkit.executors.jobfiles import error_files

        for stale in error_files(Path(job_file)):  # a requeued attempt starts clean
            stale.unlink(missing_ok=True)
        print(f"msmkit: running the stage of {job_file}", flush=True)
        code = subprocess.run([sys.executable, "-m", "msmkit.run.worker", job_file]).returncode
        if code != 0:
            raise RuntimeError(f"the stage worker exited with status {code}")
        return code

    def checkpoint(self, job_file: str) -> Any:
        """Requeue as is: the stage's own files are its checkpoint."""
        from submitit.helpers import DelayedSubmission

        return DelayedSubmission(StageTask(), job_file)


class Command:
    """A command line as a job (the ``--controller``), its output in the job's log."""

    def __init__(self, argv: list[str]) -> None:
        self.argv = list(argv)

    def __call__(self) -> int:
        print("$ " + " ".join(self.argv), flush=True)
        code = subprocess.run(self.argv).returncode
        if code != 0:
            raise RuntimeError(f"{self.argv[0]} exited with status {code}")
        return code
