"""``msmkit run --controller``: the run itself as a small CPU job on the cluster.

The controller job runs the same ``msmkit run`` (absolute paths), which submits every stage
whose inputs are done, polls, and submits the next ones, so the login node need not stay up.
Its job id is kept in the run folder's ``controller.json``; a second ``--controller`` while
that job is queued or running is refused (the stage locks would keep two controllers from
running a stage twice anyway; this only saves a job).
"""

from __future__ import annotations

import json
import time
from typing import Any

from msmkit.errors import ConfigError

RECORD = "controller.json"


def submit_controller(run: Any, argv: list[str]) -> dict[str, Any]:
    from msmkit.registry import get_registry

    execution = run.ef.experiment.executor
    executor = get_registry("executors").get(execution.name)
    submit = getattr(executor, "submit_controller", None)
    if not callable(submit):
        raise ConfigError(
            f"--controller needs a cluster executor; the run's executor is {execution.name!r}",
            hint="set the experiment's executor: {name: slurm}, or add --executor slurm",
        )
    from msmkit.executors.slurm import TERMINAL

    options = executor.Options.model_validate(execution.options)
    folder = run.folder.path
    record = folder / RECORD
    if record.is_file():
        old = json.loads(record.read_text(encoding="utf-8"))
        state_of = getattr(executor, "job_state", None)
        state = state_of(str(old["job_id"])) if callable(state_of) else "UNKNOWN"
        if state not in TERMINAL and state != "UNKNOWN":
            raise ConfigError(
                f"this run's controller, job {old['job_id']}, is still {state}",
                hint=f"scancel {old['job_id']} first to replace it",
            )
    from msmkit.run.manifest import build_manifest

    graph = run.plan(full=True)
    run.folder.claim(graph.exp.name)  # as the run would, before anything is written there
    run.folder.write(build_manifest(run.folder, graph, {}, None, argv=run.argv))
    job_folder = folder / "controller"
    job_id = submit(argv, options, job_folder)
    info = {
        "executor": executor.name,
        "job_id": job_id,
        "command": argv,
        "folder": str(job_folder),
        "submitted": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    record.write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    return info
