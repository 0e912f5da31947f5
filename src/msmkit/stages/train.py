"""``midtrain`` and ``aft``: one training run through a registered training backend.

``midtrain`` trains on a corpus with plain next-token loss; ``aft`` on chat demonstrations
with assistant-only loss. The backend and its validated options are the stage's inputs; the
model comes from the ``model`` slot (a base model, or the stage before).

Each training runs, by default, in its own process from a job serialized into the stage folder
(``train_job.json``; ``launch: {launcher: process}``), or under ``accelerate launch``
(``launcher: accelerate``), or in the msmkit process (``launcher: none``, for debugging), or
through a plugin's executor: see ``msmkit.training.launch`` and ``msmkit.executors``. The
executor is a runtime setting; the number of processes it trains on (``world_size``) enters
the fingerprint. Planning (every check short of training) runs here first.
Only backends that declare ``launchable = True`` (the ``trl`` backend) run in a worker;
others always train in the msmkit process.

Both kinds are resumable: a rerun after a crash keeps the stage folder, so the backend can
continue from ``checkpoints/`` (the ``trl`` backend does). A ``model/`` left by an unfinished
attempt is never read as done nor overwritten: the folder's contents but ``checkpoints/`` are
set aside to ``<stage>.incomplete-<t>`` (with the atomic rename of the ``trl`` backend there is
no such ``model/``); stale ``.model.tmp-*`` staging folders of killed attempts are removed.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field

from msmkit.components import Estimate, Options, TrainJob
from msmkit.stagekit import RUNTIME, StageContext
from msmkit.training.launch import LaunchSettings, is_launchable

CHECKPOINTS = "checkpoints"  # in the stage folder; kept when a rerun resumes
JOB_FILE = "train_job.json"  # the serialized job the training process runs
TRACKING = "tracking"  # report_to's local logs (TensorBoard, offline W&B, MLflow)


class TrainOptions(Options):
    backend: str
    backend_options: dict[str, Any] = Field(default_factory=dict)
    seed: int = 0
    items: int = 0
    tokens: int = 0
    launch: LaunchSettings | None = Field(
        None, json_schema_extra=RUNTIME, description="the executor; None: one child process"
    )
    world_size: int = Field(1, ge=1, description="processes the job trains on")
    corpus_source: dict[str, Any] | None = None  # midtrain: an external corpus (DataSource)
    data_refs: dict[str, str] | None = None  # content of other data the options name (mixes)


class _TrainKind:
    name: ClassVar[str]
    data_slot: ClassVar[str]
    data_output: ClassVar[str]
    version = "1"
    Options: ClassVar[type[Options]] = TrainOptions
    produces: ClassVar[str] = "model"
    resumable: ClassVar[bool] = True  # a rerun continues from the stage's checkpoints/
    scratch: ClassVar[tuple[str, ...]] = (CHECKPOINTS, TRACKING)
    """Not part of the result: checkpoints are for resuming and tracker logs for reading,
    not for the stages after."""

    def estimate(self, options: TrainOptions, upstream: dict[str, Estimate]) -> Estimate:
        """Rows and tokens from the data, and GPU-hours when the model's size is known
        (``msmkit.training.estimate``); the model it makes has the same size."""
        from msmkit.training.estimate import describe, gpu_hours

        data = upstream.get(self.data_slot)
        model = upstream.get("model")
        items = options.items or (data.items if data else 0)
        tokens = options.tokens or (data.tokens if data else 0)
        params = model.extra.get("params") if model is not None else None
        estimate = Estimate(self.name, items=items, tokens=tokens)
        if not params:
            return estimate
        estimate.extra["params"] = params
        sft = options.backend_options.get("sft") or {}
        epochs = float(sft.get("num_train_epochs", 1) or 1)
        recipe = str(options.backend_options.get("recipe") or "")
        lora = options.backend_options.get("lora") is not None or "lora" in recipe
        if tokens:
            hours = gpu_hours(params, tokens, epochs=epochs, lora=lora)
            estimate.extra["gpu_hours"] = hours
            estimate.notes.append(
                f"~{hours:.2f} GPU-h ({describe(params)} parameters, {tokens:,} tokens x "
                f"{epochs:g} epochs, {'LoRA' if lora else 'full'}; H100 bf16 at 40% MFU)"
            )
        return estimate

    def _data(self, ctx: StageContext, opts: TrainOptions) -> Path:
        """The job's data: the slot's file, or an external corpus source written down as a
        ``corpus.source.json`` in the stage folder (see ``msmkit.training.sources``)."""
        if opts.corpus_source is None:
            return ctx.inputs[self.data_slot].path(self.data_output)
        from msmkit.training.sources import DataSource, write_source

        source = DataSource.model_validate(opts.corpus_source)
        return write_source(source, ctx.dir / "corpus.source.json")

    def run(self, ctx: StageContext) -> dict[str, Any]:
        from msmkit.registry import get_registry

        opts: TrainOptions = ctx.options
        entry = get_registry("backends").entry(opts.backend)
        backend_options = entry.component.Options.model_validate(opts.backend_options)
        _quiet_transformers()
        out = ctx.dir / "model"
        aside = _clear_unfinished(ctx, out)
        if aside is not None:
            ctx.note(f"[yellow]{ctx.label}: an unfinished model/ was set aside ({aside})[/]")
        with ctx.progress(total=None) as advance:
            job = TrainJob(
                stage=self.name,  # type: ignore[arg-type]
                base_model=ctx.inputs["model"].value("model"),
                data=self._data(ctx, opts),
                output_dir=out,
                options=backend_options,
                seed=opts.seed,
                progress=lambda step, total: advance(step, total=total, absolute=True),
                checkpoint_dir=ctx.dir / CHECKPOINTS,
            )
            entry.call("planning training", entry.component.plan, job)
            launch = opts.launch or LaunchSettings()
            if launch.launcher in ("none", "inline") or not is_launchable(entry.component):
                result = entry.call("training", entry.component.train, job)
            else:
                from msmkit.training.launch import (
                    executor_of,
                    executor_options,
                    job_payload,
                    training_job,
                )

                executor = executor_of(launch)
                payload = job_payload(job, entry.name, opts.backend_options)
                work = training_job(
                    job,
                    ctx.dir / JOB_FILE,
                    payload,
                    inline=lambda: entry.call("training", entry.component.train, job),
                )
                result = executor.run(work, launch, executor_options(launch, executor), ctx)
        outputs: dict[str, Any] = {
            "model": str(result.relative_to(ctx.dir)) if result.is_absolute() else "model"
        }
        outputs.update(_devices(ctx.dir / outputs["model"]))
        return outputs


class MidtrainKind(_TrainKind):
    name = "midtrain"
    description = "Midtrain a model on a document corpus (next-token loss)"
    consumes: ClassVar[dict[str, str]] = {"model": "model", "corpus": "corpus"}
    data_slot = "corpus"
    data_output = "corpus"

    def label(self, options: TrainOptions) -> str:
        return f"midtrain ({options.backend}, seed {options.seed})"


class AFTKind(_TrainKind):
    name = "aft"
    description = "Fine-tune a model on chat demonstrations (assistant-only loss)"
    consumes: ClassVar[dict[str, str]] = {"model": "model", "data": "chats"}
    data_slot = "data"
    data_output = "data"

    def label(self, options: TrainOptions) -> str:
        return f"AFT ({options.backend}, seed {options.seed})"


def _devices(model_dir: Path) -> dict[str, Any]:
    """Where the backend trained (``device``, ``world_size``), from its training record when
    it wrote one (the ``trl`` backend's ``msmkit_training.json``): the run manifest turns it
    into GPU time."""
    import json

    try:
        record = json.loads((model_dir / "msmkit_training.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    world = (record.get("distributed") or {}).get("world_size", 1)
    return {"device": record.get("device"), "world_size": world}


def _clear_unfinished(ctx: StageContext, out: Path) -> Path | None:
    """Before an attempt: remove stale staging folders beside ``out``; if an unfinished attempt
    left ``out`` itself (the stage is not done, so it is not a result), set the folder's
    contents aside as the runner does for kinds that cannot resume, keeping ``checkpoints/``.
    Returns where they went, or None."""
    for stale in out.parent.glob(f".{out.name}.tmp-*"):
        shutil.rmtree(stale, ignore_errors=True)
    if not out.exists():
        return None
    keep = (*ctx.stage.record().get("intermediates", {}), CHECKPOINTS)
    return ctx.stage.set_aside(keep=keep)


def _quiet_transformers() -> None:
    """transformers draws a progress bar for every tiny load and save; msmkit draws its own."""
    try:
        from transformers.utils import logging as hf_logging
    except ImportError:  # a backend plugin that does without transformers
        return
    hf_logging.disable_progress_bar()
