"""``python -m msmkit.training.worker JOB.json``: run one serialized training job.

Started by :mod:`msmkit.training.launch`, alone or once per rank under ``accelerate launch``
(which sets ``RANK``/``WORLD_SIZE``). The backend comes from msmkit's registry (plugins
included) and trains in this process; with several ranks the HF Trainer runs DDP/FSDP/ZeRO
and the backend writes outputs from rank 0 only. Rank 0 appends ``{"step", "total"}`` JSON
lines to the progress file; a failure in any rank is written as its error record. The worker
exits when the msmkit process that started it is gone.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

from msmkit.components import TrainJob
from msmkit.training.launch import write_error


def rank() -> int:
    return int(os.environ.get("RANK", "0") or 0)


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1") or 1)


def _watch_parent(pid: int) -> None:
    """Exit at once when the msmkit process is gone (killed runs leave no orphan training)."""

    def watch() -> None:
        while True:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                os._exit(3)
            except PermissionError:
                pass
            time.sleep(0.5)

    threading.Thread(target=watch, name="msmkit-parent-watch", daemon=True).start()


def _progress_writer(path: Path):
    def progress(step: int, total: int) -> None:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps({"step": step, "total": total, "t": time.time()}) + "\n")

    return progress


def job_from_payload(payload: dict[str, Any], options: Any, progress=None) -> TrainJob:
    checkpoints = payload.get("checkpoint_dir")
    return TrainJob(
        stage=payload["stage"],
        base_model=payload["base_model"],
        data=Path(payload["data"]),
        output_dir=Path(payload["output_dir"]),
        options=options,
        seed=int(payload.get("seed", 0)),
        progress=progress,
        checkpoint_dir=None if checkpoints is None else Path(checkpoints),
    )


def run(job_file: Path) -> None:
    from msmkit.registry import get_registry

    payload = json.loads(Path(job_file).read_text(encoding="utf-8"))
    if payload.get("parent_pid"):
        _watch_parent(int(payload["parent_pid"]))
    entry = get_registry("backends").entry(payload["backend"])
    options = entry.component.Options.model_validate(payload["backend_options"])
    progress = None
    if rank() == 0 and payload.get("progress_file"):
        progress = _progress_writer(Path(payload["progress_file"]))
    job = job_from_payload(payload, options, progress)
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
    except ImportError:
        pass
    entry.component.train(job)


def main(argv: list[str] | None = None) -> int:
    import logging

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m msmkit.training.worker JOB.json", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=logging.INFO, format=f"[rank {rank()}] %(asctime)s %(name)s: %(message)s"
    )
    job_file = Path(args[0])
    try:
        run(job_file)
    except BaseException as exc:  # every failure reaches the parent with its message
        write_error(job_file, rank(), exc)
        logging.getLogger("msmkit.training").exception("training failed")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
