"""Building and checking the real ``trl.SFTConfig`` and ``peft.LoraConfig`` for a stage.

:func:`check_sft_options` and :func:`build_lora_config` are what plan-time validation, plan()
and train() share: they need trl/peft importable but load no model.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from msmkit.components import TrainJob
from msmkit.errors import OptionError
from msmkit.training.trl.checkpoints import CHECKPOINT_SFT
from msmkit.training.trl.fields import check_known, check_types, init_fields
from msmkit.training.trl.models import ModelRef
from msmkit.training.trl.options import (
    DEFAULT_SFT,
    LORA_DOCS,
    MSMKIT_SFT_KEYS,
    RESERVED_SFT_KEYS,
    SFT_DOCS,
    TRLOptions,
)

if TYPE_CHECKING:
    from transformers import TrainingArguments


def check_user_sft(options: TRLOptions, fields: Mapping[str, str] | None = None) -> None:
    """Unknown, reserved and wrongly typed ``sft`` keys, each at ``("sft", key)``: against
    ``trl.SFTConfig`` itself, or against its cached ``fields`` (``msmkit.schemas``)."""
    if fields is None:
        from trl import SFTConfig

        known, types_of = init_fields(SFTConfig), SFTConfig
    else:
        known, types_of = set(fields), fields
    user = options.sft
    check_known("sft", user, known, SFT_DOCS)
    for key in user:
        if key in RESERVED_SFT_KEYS:
            raise OptionError(
                f"sft option {key!r} is set by msmkit",
                loc=("sft", key),
                hint=f"Remove it: {RESERVED_SFT_KEYS[key]}.",
            )
    check_types("sft", types_of, user, SFT_DOCS)
    init_kwargs = user.get("model_init_kwargs")
    if init_kwargs is not None and not isinstance(init_kwargs, Mapping):
        raise OptionError(
            "sft option 'model_init_kwargs' must be a mapping of from_pretrained arguments",
            loc=("sft", "model_init_kwargs"),
            hint="e.g. model_init_kwargs: {dtype: bfloat16}",
        )


def _at_least(kwargs: Mapping[str, Any], key: str, low: float, *, strict: bool = False) -> None:
    value = kwargs.get(key)
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return
    if value < low or (strict and value == low):
        bound = f"> {low:g}" if strict else f">= {low:g}"
        raise OptionError(
            f"sft option {key!r} must be {bound}, got {value!r}", loc=("sft", key), hint=SFT_DOCS
        )


UPPER_BOUNDS = {
    "learning_rate": 1.0,
    "num_train_epochs": 1000,
    "max_steps": 100_000_000,
    "max_length": 1 << 24,
    "per_device_train_batch_size": 1 << 16,
    "gradient_accumulation_steps": 1 << 16,
}
"""Values past these are mistakes (a learning rate of 1e10, a billion epochs, a 10^12-token
block), refused at plan time rather than discovered hours into a run."""


def check_ranges(kwargs: Mapping[str, Any]) -> None:
    """Values TRL/transformers accept but that cannot train (or fail only mid-run)."""
    import math

    for key, value in kwargs.items():
        if isinstance(value, float) and not math.isfinite(value):
            raise OptionError(
                f"sft option {key!r} must be a finite number, got {value!r}",
                loc=("sft", key),
                hint=SFT_DOCS,
            )
        high = UPPER_BOUNDS.get(key)
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if number and high is not None and value > high:
            raise OptionError(
                f"sft option {key!r} is {value:g}, beyond any sensible run (at most {high:g})",
                loc=("sft", key),
                hint=SFT_DOCS,
            )
    if kwargs.get("max_length") is None:
        raise OptionError(
            "sft.max_length must be set",
            loc=("sft", "max_length"),
            hint="Packing and truncation need a block length.",
        )
    _at_least(kwargs, "learning_rate", 0, strict=True)
    max_steps = kwargs.get("max_steps", -1)
    if not (isinstance(max_steps, int) and max_steps > 0):
        _at_least(kwargs, "num_train_epochs", 0, strict=True)
    for key in ("per_device_train_batch_size", "gradient_accumulation_steps", "max_length"):
        _at_least(kwargs, key, 1)
    _at_least(kwargs, "warmup_steps", 0)
    evaluating = {
        key: kwargs[key]
        for key in ("eval_strategy", "load_best_model_at_end")
        if kwargs.get(key) not in (None, False, "no")
    }
    if evaluating:
        shown = ", ".join(f"{key}={value!r}" for key, value in evaluating.items())
        raise OptionError(
            f"invalid sft options: {shown} need an eval dataset, and msmkit trains without one",
            loc=("sft", *evaluating) if len(evaluating) == 1 else ("sft",),
            hint="Remove them; evaluate the trained model with the run's evals instead.",
        )


def sft_kwargs(
    stage: str,
    options: TRLOptions,
    *,
    output_dir: Path,
    seed: int,
    eos_token: str | None = None,
    precision: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The SFTConfig kwargs: msmkit's defaults (checkpoints: see ``checkpoints``), the chosen
    precision (see ``precision``), the user's keys, then msmkit's own keys."""
    import torch

    user = {k: v for k, v in options.sft.items() if k not in MSMKIT_SFT_KEYS}
    kwargs = {**DEFAULT_SFT, **CHECKPOINT_SFT, **(precision or {}), **user}
    if not torch.cuda.is_available():
        kwargs.setdefault("use_cpu", True)
        kwargs.setdefault("bf16", False)
        if "gradient_checkpointing" not in user and "activation_checkpointing" not in user:
            kwargs["activation_checkpointing"] = False
    kwargs["output_dir"] = str(output_dir)
    kwargs["seed"] = seed
    if stage == "midtrain":
        kwargs["packing"] = True
        kwargs["packing_strategy"] = options.packing_strategy
    else:
        kwargs["packing"] = False
        kwargs["assistant_only_loss"] = True
        if eos_token is not None:
            kwargs["eos_token"] = eos_token
    return kwargs


def make_sft_config(
    stage: str,
    options: TRLOptions,
    *,
    output_dir: Path,
    seed: int,
    eos_token: str | None = None,
    precision: Mapping[str, Any] | None = None,
) -> TrainingArguments:
    """Check the ``sft`` block and build the real SFTConfig (which writes nothing to disk)."""
    from trl import SFTConfig

    check_user_sft(options)
    kwargs = sft_kwargs(
        stage,
        options,
        output_dir=output_dir,
        seed=seed,
        eos_token=eos_token,
        precision=precision,
    )
    check_ranges(kwargs)
    try:
        return SFTConfig(**kwargs)
    except (TypeError, ValueError) as exc:
        raise OptionError(
            f"invalid sft options: {exc}", loc=("sft",), hint=f"See {SFT_DOCS}."
        ) from None


def build_sft_config(
    job: TrainJob,
    options: TRLOptions,
    *,
    output_dir: Path,
    eos_token: str | None = None,
    precision: Mapping[str, Any] | None = None,
) -> TrainingArguments:
    """The real ``trl.SFTConfig`` for this job."""
    return make_sft_config(
        job.stage,
        options,
        output_dir=output_dir,
        seed=job.seed,
        eos_token=eos_token,
        precision=precision,
    )


def _check_lora_ranges(kwargs: Mapping[str, Any]) -> None:
    checks = [
        ("r", lambda v: v >= 1, "must be >= 1"),
        ("lora_alpha", lambda v: v > 0, "must be > 0"),
        ("lora_dropout", lambda v: 0 <= v < 1, "must be in [0, 1)"),
    ]
    for key, ok, rule in checks:
        value = kwargs.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool) and not ok(value):
            raise OptionError(
                f"lora option {key!r} {rule}, got {value!r}", loc=("lora", key), hint=LORA_DOCS
            )


def check_lora(lora: dict[str, Any], fields: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The ``lora`` block checked (against ``peft.LoraConfig``, or its cached ``fields``);
    returns the LoraConfig kwargs msmkit uses."""
    if fields is None:
        from peft import LoraConfig

        known, types_of = init_fields(LoraConfig), LoraConfig
    else:
        known, types_of = set(fields), fields
    check_known("lora", lora, known, LORA_DOCS)
    check_types("lora", types_of, lora, LORA_DOCS)
    kwargs = {"task_type": "CAUSAL_LM", "target_modules": "all-linear", **lora}
    targets = kwargs["target_modules"]
    names = [targets] if isinstance(targets, str) else list(targets or [])
    if any(name == "lm_head" or str(name).endswith(".lm_head") for name in names):
        raise OptionError(
            "lora.target_modules includes lm_head, which TRL's fused loss head cannot train",
            loc=("lora", "target_modules"),
            hint="Leave target_modules as 'all-linear' (it excludes the output head).",
        )
    _check_lora_ranges(kwargs)
    return kwargs


def build_lora_config(lora: dict[str, Any] | None):
    """A peft ``LoraConfig`` from the ``lora`` option, or None for full fine-tuning."""
    if lora is None:
        return None
    from peft import LoraConfig

    kwargs = check_lora(lora)
    try:
        return LoraConfig(**kwargs)
    except (TypeError, ValueError) as exc:
        raise OptionError(f"invalid lora options: {exc}", loc=("lora",), hint=LORA_DOCS) from None


def check_lora_vs_ref(options: TRLOptions, ref: ModelRef) -> None:
    if ref.kind == "adapter" and options.lora is not None:
        raise OptionError(
            f"base_model {ref.path} is a LoRA adapter, which is continued as is; "
            "a new lora config cannot be stacked on it",
            loc=("lora",),
            hint="Remove the lora option to keep training the adapter, or start from a merged "
            "model directory to train a fresh adapter.",
        )
