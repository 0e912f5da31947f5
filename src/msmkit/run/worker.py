"""``python -m msmkit.run.worker STAGE_JOB.json``: run one stage where an executor put it.

An executor that runs whole stages elsewhere (``process``: a child process; a cluster
plugin's: a job on another machine sharing the store's filesystem) writes the stage's job
file and starts this module. The worker rebuilds the stage's context from the file (its
kind, options and filled slots), runs the kind, and writes the outputs to
``stage_result.json``; the msmkit process that submitted it reads them and records the stage
as done. A failure is written as an error record the submitter raises with its message.
Progress goes to the job's progress file.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from msmkit.executors.jobfiles import write_error
from msmkit.files import write_json_atomic

MODULE = "msmkit.run.worker"
RESULT = "stage_result.json"


class FileReporter:
    """A StageContext reporter that appends progress lines for the submitter to forward."""

    quiet = False
    inspect_display = "none"

    def __init__(self, progress_file: str | None) -> None:
        self.path = Path(progress_file) if progress_file else None

    def note(self, message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    @contextmanager
    def progress(self, label: str, arms: list[str], total: int | None) -> Iterator[Callable]:
        state = {"done": 0, "total": total or 0}

        def advance(n: int = 1, total: int | None = None, absolute: bool = False) -> None:
            if total is not None:
                state["total"] = total
            state["done"] = n if absolute else state["done"] + n
            if self.path is not None:
                with open(self.path, "a", encoding="utf-8") as handle:
                    line = {"step": state["done"], "total": state["total"], "t": time.time()}
                    handle.write(json.dumps(line) + "\n")

        yield advance


def stage_payload(job: Any, run: str, budget_usd: float | None) -> dict[str, Any]:
    """What the worker needs to rebuild a StageJob's context (see msmkit.run.runner)."""
    return {
        "kind": job.entry.name,
        "options": job.options.model_dump(mode="json"),
        "inputs": {
            slot: {
                "artifact": up.artifact,
                "key": up.key,
                "outputs": dict(up.outputs),
                "dir": None if up.dir is None else str(up.dir),
            }
            for slot, up in job.inputs.items()
        },
        "stage": {"kind": job.stage.kind, "key": job.stage.key, "dir": str(job.stage.dir)},
        "label": job.label,
        "arms": list(job.arms),
        "run": run,
        "budget_usd": budget_usd,
        "result": str(job.stage.dir / RESULT),
    }


def run(job_file: Path) -> None:
    from msmkit.registry import get_registry
    from msmkit.run.store import StageDir
    from msmkit.stagekit import StageContext, Upstream

    payload = json.loads(Path(job_file).read_text(encoding="utf-8"))
    entry = get_registry("stages").entry(payload["kind"])
    kind = entry.component
    options = kind.Options.model_validate(payload["options"])
    inputs = {
        slot: Upstream(
            value["artifact"],
            value["key"],
            value["outputs"],
            None if value["dir"] is None else Path(value["dir"]),
        )
        for slot, value in payload["inputs"].items()
    }
    stage = payload["stage"]
    sd = StageDir(stage["kind"], stage["key"], Path(stage["dir"]))
    ctx = StageContext(
        dir=sd.dir,
        options=options,
        inputs=inputs,
        stage=sd,
        label=payload["label"],
        arms=payload["arms"],
        reporter=FileReporter(payload.get("progress_file")),
        budget_usd=payload.get("budget_usd"),
        run=payload["run"],
    )
    started = time.monotonic()
    outputs = entry.call("running", kind.run, ctx)
    seconds = round(time.monotonic() - started, 2)  # the work's own time, not queue or polling
    write_json_atomic(
        Path(payload["result"]), {"outputs": outputs, "seconds": seconds}, durable=True
    )


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print(f"usage: python -m {MODULE} STAGE_JOB.json", file=sys.stderr)
        return 2
    job_file = Path(args[0])
    try:
        run(job_file)
    except BaseException as exc:  # every failure reaches the submitter with its message
        write_error(job_file, 0, exc)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
