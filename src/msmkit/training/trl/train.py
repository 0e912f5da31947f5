"""Running the TRL ``SFTTrainer`` for one job and saving what it trained.

Output goes into a staging folder (see ``msmkit.training.data.atomic_output_dir``) with a
``msmkit_training.json`` manifest: the options, token counts before and after TRL prepared
the data, steps, loss and library versions. Trainer checkpoints go to a stable folder beside
the output and a new attempt of the same job resumes from the newest one (see ``checkpoints``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
import warnings
from importlib import metadata
from pathlib import Path

from msmkit.components import TrainJob
from msmkit.hashing import sha256_file
from msmkit.training.sources import job_data_ref
from msmkit.training.trackers import default_run_name, tracking_dir, training_env
from msmkit.training.trl.attention import resolve_attention
from msmkit.training.trl.card import write_model_card
from msmkit.training.trl.checkpoints import (
    checkpoint_dir,
    checkpoint_step,
    claim,
    job_fingerprint,
    latest_checkpoint,
    release_if_unused,
)
from msmkit.training.trl.configs import build_sft_config
from msmkit.training.trl.models import ModelRef, load_model, load_tokenizer
from msmkit.training.trl.options import TRLOptions
from msmkit.training.trl.precision import plan_precision
from msmkit.training.trl.templates import aft_eos_token
from msmkit.training.trl.tokens import build_dataset, check_counts, packed_counts

log = logging.getLogger("msmkit.training")

MANIFEST_NAME = "msmkit_training.json"


def make_callbacks(progress):
    from transformers import TrainerCallback

    class _Report(TrainerCallback):
        """Forwards progress to msmkit and logs losses (instead of printing them)."""

        def on_train_begin(self, args, state, control, **kwargs):
            if progress is not None:
                progress(0, state.max_steps)

        def on_step_end(self, args, state, control, **kwargs):
            if progress is not None:
                progress(state.global_step, state.max_steps)

        def on_log(self, args, state, control, logs=None, **kwargs):
            if logs:
                log.info("step %s/%s %s", state.global_step, state.max_steps, logs)

    return [_Report()]


def process_rank() -> int:
    """This process's global rank under ``accelerate launch``/torchrun (0 when alone)."""
    return int(os.environ.get("RANK", "0") or 0)


def train_into(
    job: TrainJob, options: TRLOptions, ref: ModelRef, lora_config, staging: Path | None
) -> None:
    """Train ``job`` and write the model, tokenizer and manifest into ``staging``.

    ``staging`` is None on the ranks other than 0 of a distributed run: they train (the
    Trainer runs DDP/FSDP/ZeRO) and write nothing; checkpoints are the Trainer's business."""
    import transformers

    started = time.monotonic()
    checkpoints = checkpoint_dir(job)  # the Trainer's own output_dir, kept between attempts
    tokenizer = load_tokenizer(ref)
    init_kwargs, precision = plan_precision(options, ref)
    init_kwargs["attn_implementation"] = resolve_attention(options.attn_implementation)
    config = build_sft_config(
        job,
        options,
        output_dir=checkpoints,
        eos_token=aft_eos_token(job.stage, options, tokenizer),
        precision=precision,
    )
    tracking = tracking_dir(job.checkpoint_dir, job.output_dir)  # report_to's local logs
    default_run_name(config, tracking)
    dataset, info = build_dataset(job, options, tokenizer)  # data errors before the weights
    transformers.set_seed(job.seed)
    model = load_model(ref, init_kwargs)
    fingerprint = job_fingerprint(job, options.model_dump(mode="json"))
    main = staging is not None
    existed = checkpoints.exists()
    try:
        with quiet_datasets(), training_env(config.report_to, tracking):
            trainer = make_trainer(job, model, config, dataset, tokenizer, lora_config)
            after = packed_counts(trainer.train_dataset)
            distributed = distributed_info(trainer)
            check_counts(job, info, after, config.max_length)
            resume = claim(checkpoints, fingerprint) if main else latest_checkpoint(checkpoints)
            resumed_step = checkpoint_step(resume) if resume is not None else 0
            if resume is not None:
                log.info("resuming %s from %s (step %d)", job.stage, resume, resumed_step)
            result = trainer.train(resume_from_checkpoint=str(resume) if resume else None)
    except BaseException:
        if main and not existed:  # the Trainer may have made the folder; keep it only with a
            release_if_unused(checkpoints)  # checkpoint
        raise
    output_kind = save_outputs(trainer, options, ref, staging)
    if staging is None:
        return
    manifest = {
        "stage": job.stage,
        "backend": "trl",
        "base_model": job.base_model,
        "base_model_kind": ref.kind,
        "output": output_kind,
        "data": str(job.data),
        "data_sha256": sha256_file(job.data) if Path(job.data).is_file() else None,
        "data_ref": job_data_ref(job.data),
        "seed": job.seed,
        "options": options.model_dump(mode="json"),
        "effective": effective_settings(config, lora_config),
        "precision": {
            "load_dtype": str(init_kwargs.get("dtype", "checkpoint")),
            "bf16": bool(config.bf16),
            "fp16": bool(config.fp16),
        },
        "max_length": config.max_length,
        "attn_implementation": init_kwargs["attn_implementation"],
        "gradient_checkpointing": bool(config.gradient_checkpointing),
        "cross_document_attention": job.stage == "midtrain"
        and options.packing_strategy == "wrapped",
        "packing_strategy": options.packing_strategy if job.stage == "midtrain" else None,
        "tokens": {
            "before": {
                "rows": info["rows"],
                "tokens": info["tokens_before"],
                "trainable_tokens": info["trainable_before"],
            },
            "after": after,
        },
        **{k: info[k] for k in ("doc_eos", "chat_template", "doc_prefix", "mix") if k in info},
        "steps": result.global_step,
        "checkpoints": {
            "dir": str(checkpoints),
            "resumed_from": str(resume) if resume is not None else None,
            "resumed_from_step": resumed_step if resume is not None else None,
            "steps_this_attempt": result.global_step - resumed_step,
        },
        "distributed": distributed,
        "device": str(getattr(trainer.args.device, "type", trainer.args.device)),
        "train_loss": result.training_loss,
        "wall_time_s": round(time.monotonic() - started, 3),
        "versions": versions(),
    }
    (staging / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2, default=str) + "\n")
    write_model_card(staging, json.loads((staging / MANIFEST_NAME).read_text()))


def effective_settings(config, lora_config) -> dict:
    """The LoRA and SFT settings that differ from the libraries' defaults (for the card)."""
    from trl import SFTConfig

    defaults = SFTConfig(output_dir=config.output_dir, use_cpu=True).to_dict()
    skip = {"output_dir", "logging_dir"}
    sft = {
        key: value
        for key, value in config.to_dict().items()
        if key not in skip and defaults.get(key, object()) != value
    }
    lora = None
    if lora_config is not None:
        keys = ("r", "lora_alpha", "lora_dropout", "target_modules", "bias", "use_rslora")
        lora = {key: getattr(lora_config, key, None) for key in keys}
        if isinstance(lora["target_modules"], set):
            lora["target_modules"] = sorted(lora["target_modules"])
    return {"lora": lora, "sft": sft}


@contextlib.contextmanager
def quiet_datasets():
    """Hide datasets' map/pack progress bars while TRL prepares the data."""
    import datasets

    were_on = datasets.is_progress_bar_enabled()
    datasets.disable_progress_bars()
    try:
        yield
    finally:
        if were_on:
            datasets.enable_progress_bars()


def make_trainer(job: TrainJob, model, config, dataset, tokenizer, lora_config):
    import transformers
    from trl import SFTTrainer

    with warnings.catch_warnings():
        # peft probes a deprecated transformers attribute; nothing for users to act on.
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*")
        trainer = SFTTrainer(
            model=model,
            args=config,
            train_dataset=dataset,
            processing_class=tokenizer,
            peft_config=lora_config,
            callbacks=make_callbacks(job.progress),
        )
    trainer.remove_callback(transformers.PrinterCallback)  # losses go to the msmkit logger
    return trainer


def distributed_info(trainer) -> dict:
    args = trainer.args
    world = int(args.world_size)
    per_device = int(args.per_device_train_batch_size)
    accumulation = int(args.gradient_accumulation_steps)
    return {
        "type": str(args.distributed_state.distributed_type).rsplit(".", 1)[-1],
        "world_size": world,
        "per_device_train_batch_size": per_device,
        "gradient_accumulation_steps": accumulation,
        "global_batch_size": world * per_device * accumulation,
    }


def _sharded(trainer) -> bool:
    """FSDP or DeepSpeed ZeRO-3: no rank holds the full weights after training."""
    if getattr(trainer, "is_fsdp_enabled", False):
        return True
    plugin = getattr(trainer.accelerator.state, "deepspeed_plugin", None)
    return bool(
        getattr(trainer, "is_deepspeed_enabled", False)
        and plugin is not None
        and getattr(plugin, "zero_stage", 0) == 3
    )


def save_outputs(trainer, options: TRLOptions, ref: ModelRef, staging: Path | None) -> str | None:
    """Save from rank 0 (``staging`` set) only. Sharded runs (FSDP, ZeRO-3) save through
    ``trainer.save_model`` on every rank (it gathers the weights; only rank 0 writes); a LoRA
    run to be merged is then merged by rank 0 from the saved adapter on a fresh base."""
    if _sharded(trainer):
        trainer.save_model(str(staging) if staging is not None else None)
        if staging is None:
            return None
        trainer.processing_class.save_pretrained(staging)
        if (staging / "adapter_config.json").is_file():
            return merge_saved_adapter(ref, staging) if options.merge else "adapter"
        return "full"
    if staging is None:
        return None
    return save_model(trainer, options, staging)


def merge_saved_adapter(ref: ModelRef, staging: Path) -> str:
    from peft import PeftModel

    from msmkit.training.trl.models import adapter_base

    base_ref = ModelRef("local", adapter_base(ref.path)) if ref.kind == "adapter" else ref
    base = load_model(base_ref, {})
    merged = PeftModel.from_pretrained(base, str(staging)).merge_and_unload()
    for name in ("adapter_config.json", "adapter_model.safetensors", "adapter_model.bin"):
        (staging / name).unlink(missing_ok=True)
    merged.save_pretrained(staging)
    return "merged"


def save_model(trainer, options: TRLOptions, staging: Path) -> str:
    """Write the model (merged, full or adapter) and the tokenizer into ``staging``."""
    from peft import PeftModel

    model = trainer.model
    kind = "full"
    if isinstance(model, PeftModel):
        if options.merge:
            model = model.merge_and_unload()
            kind = "merged"
        else:
            kind = "adapter"
    model.save_pretrained(staging)
    trainer.processing_class.save_pretrained(staging)
    return kind


def versions() -> dict[str, str]:
    versions = {}
    for name in ("msmkit", "torch", "transformers", "trl", "peft", "datasets", "accelerate"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions
