"""Trainer checkpoints of the ``trl`` backend: where they live, which one to resume from.

The Trainer's ``output_dir`` is a stable folder beside the output: ``job.checkpoint_dir`` when
set (the training stages use ``<stage dir>/checkpoints``), else ``<output_dir>.checkpoints``.
By default a checkpoint (weights, optimizer, scheduler, RNG and data position) is written every
``save_steps`` (500) steps and at the last step, keeping the newest ``save_total_limit`` (2);
the user's ``sft`` keys win (``save_strategy: "no"`` turns checkpoints off). A new attempt of
the same job resumes from the newest *complete* checkpoint (one whose ``trainer_state.json``,
written last, exists). Checkpoints are kept after the final model is saved.

A fingerprint of the job (stage, base model, data hash, seed, options) is written into the
folder; a folder made for a different job is refused, never resumed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

from msmkit.components import TrainJob
from msmkit.errors import RunError
from msmkit.hashing import sha256_file

# Under msmkit's SFT defaults, over the precision plan and the user's ``sft`` keys.
CHECKPOINT_SFT: dict[str, Any] = {
    "save_strategy": "steps",
    "save_steps": 500,
    "save_total_limit": 2,
}

JOB_FILE = "msmkit_job.json"
_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")


def checkpoint_dir(job: TrainJob) -> Path:
    """Where ``job``'s Trainer checkpoints live."""
    if job.checkpoint_dir is not None:
        return Path(job.checkpoint_dir)
    out = Path(job.output_dir)
    return out.with_name(f"{out.name}.checkpoints")


def checkpoint_step(path: Path) -> int:
    match = _CHECKPOINT.match(Path(path).name)
    if match is None:
        raise ValueError(f"not a checkpoint folder: {path}")
    return int(match.group(1))


def latest_checkpoint(folder: Path) -> Path | None:
    """The newest complete ``checkpoint-<step>`` in ``folder``, or None."""
    folder = Path(folder)
    if not folder.is_dir():
        return None
    complete = [
        p
        for p in folder.iterdir()
        if p.is_dir() and _CHECKPOINT.match(p.name) and (p / "trainer_state.json").is_file()
    ]
    return max(complete, key=checkpoint_step, default=None)


def job_fingerprint(job: TrainJob, options: dict[str, Any]) -> dict[str, Any]:
    """What makes two attempts the same job: stage, base model, data content (and any mixed
    source's content), seed and options."""
    from msmkit.training.sources import SOURCE_SUFFIX, as_source, job_data_ref, source_ref

    data = Path(job.data)
    plain_file = data.is_file() and not data.name.endswith(SOURCE_SUFFIX)
    fingerprint = {
        "stage": job.stage,
        "base_model": str(job.base_model),
        "data_sha256": sha256_file(data) if plain_file else job_data_ref(data),
        "seed": job.seed,
        "options": options,
    }
    mixes = {
        key: source_ref(as_source(options[key]))
        for key in ("mix_corpus", "mix_chats")
        if options.get(key)
    }
    if mixes:
        fingerprint["mix_refs"] = mixes
    world = int(os.environ.get("WORLD_SIZE", "1") or 1)
    if world > 1:  # another process count means another global batch: not the same run
        fingerprint["world_size"] = world
    return fingerprint


def claim(folder: Path, fingerprint: dict[str, Any]) -> Path | None:
    """Make ``folder`` this job's checkpoint folder; return the checkpoint to resume from.

    Raises RunError when the folder holds checkpoints of a different job.
    """
    folder = Path(folder)
    record = folder / JOB_FILE
    resume = latest_checkpoint(folder)
    if record.is_file():
        earlier = json.loads(record.read_text())
        if earlier != json.loads(json.dumps(fingerprint, default=str)):
            raise RunError(
                f"{folder} holds checkpoints of a different training job",
                hint="Delete that folder to start over, or rerun the job that made it.",
            )
    elif resume is not None:
        raise RunError(
            f"{folder} holds checkpoints msmkit did not record",
            hint="Delete that folder to start over.",
        )
    folder.mkdir(parents=True, exist_ok=True)
    record.write_text(json.dumps(fingerprint, indent=2, default=str) + "\n")
    return resume


def release_if_unused(folder: Path) -> None:
    """After a failed attempt: remove ``folder`` if it holds no complete checkpoint."""
    folder = Path(folder)
    if folder.is_dir() and latest_checkpoint(folder) is None:
        shutil.rmtree(folder, ignore_errors=True)
