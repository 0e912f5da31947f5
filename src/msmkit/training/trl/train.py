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
import time
import warnings
from importlib import metadata
from pathlib import Path

from msmkit.components import TrainJob
from msmkit.hashing import sha256_file
from msmkit.training.trl.card import write_model_card
from msmkit.training.trl.checkpoints import (
    checkpoint_dir,
    checkpoint_step,
    claim,
    job_fingerprint,
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


def train_into(
    job: TrainJob, options: TRLOptions, ref: ModelRef, lora_config, staging: Path
) -> None:
    """Train ``job`` and write the model, tokenizer and manifest into ``staging``."""
    import transformers

    started = time.monotonic()
    checkpoints = checkpoint_dir(job)  # the Trainer's own output_dir, kept between attempts
    tokenizer = load_tokenizer(ref)
    init_kwargs, precision = plan_precision(options, ref)
    config = build_sft_config(
        job,
        options,
        output_dir=checkpoints,
        eos_token=aft_eos_token(job.stage, options, tokenizer),
        precision=precision,
    )
    dataset, info = build_dataset(job, options, tokenizer)  # data errors before the weights
    transformers.set_seed(job.seed)
    model = load_model(ref, init_kwargs)
    fingerprint = job_fingerprint(job, options.model_dump(mode="json"))
    existed = checkpoints.exists()
    try:
        with quiet_datasets():
            trainer = make_trainer(job, model, config, dataset, tokenizer, lora_config)
            after = packed_counts(trainer.train_dataset)
            check_counts(job, info, after, config.max_length)
            resume = claim(checkpoints, fingerprint)
            resumed_step = checkpoint_step(resume) if resume is not None else 0
            if resume is not None:
                log.info("resuming %s from %s (step %d)", job.stage, resume, resumed_step)
            result = trainer.train(resume_from_checkpoint=str(resume) if resume else None)
    except BaseException:
        if not existed:  # the Trainer may have made the folder; keep it only with a checkpoint
            release_if_unused(checkpoints)
        raise
    output_kind = save_model(trainer, options, staging)
    manifest = {
        "stage": job.stage,
        "backend": "trl",
        "base_model": job.base_model,
        "base_model_kind": ref.kind,
        "output": output_kind,
        "data": str(job.data),
        "data_sha256": sha256_file(job.data),
        "seed": job.seed,
        "options": options.model_dump(mode="json"),
        "effective": effective_settings(config, lora_config),
        "precision": {
            "load_dtype": str(init_kwargs.get("dtype", "checkpoint")),
            "bf16": bool(config.bf16),
            "fp16": bool(config.fp16),
        },
        "max_length": config.max_length,
        "packing_strategy": options.packing_strategy if job.stage == "midtrain" else None,
        "tokens": {
            "before": {
                "rows": info["rows"],
                "tokens": info["tokens_before"],
                "trainable_tokens": info["trainable_before"],
            },
            "after": after,
        },
        **{k: info[k] for k in ("doc_eos", "chat_template") if k in info},
        "steps": result.global_step,
        "checkpoints": {
            "dir": str(checkpoints),
            "resumed_from": str(resume) if resume is not None else None,
            "resumed_from_step": resumed_step if resume is not None else None,
            "steps_this_attempt": result.global_step - resumed_step,
        },
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
