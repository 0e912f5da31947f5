"""Which dtype the weights load in and which autocast the trainer uses.

The rule (:func:`choose_dtypes`), applied only when the user set neither
``sft.model_init_kwargs.dtype`` nor ``sft.bf16``/``sft.fp16``:

* full fine-tuning of a bf16/fp16 checkpoint loads it in float32, so AdamW updates fp32
  master weights (pure bf16 weights lose small updates to rounding);
* LoRA keeps the base in the checkpoint's dtype (it is frozen; peft keeps adapters in fp32);
* either way, ``bf16: true`` (autocast) when the GPU supports bf16, else no autocast.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from msmkit.training.trl.models import ModelRef, adapter_base
from msmkit.training.trl.options import TRLOptions

HALF = ("bfloat16", "float16")
DTYPE_BYTES = {"float32": 4, "bfloat16": 2, "float16": 2, "float64": 8}


def choose_dtypes(
    lora: bool, checkpoint_dtype: str | None, cuda_bf16: bool
) -> tuple[str | None, dict[str, Any]]:
    """``(load_dtype, sft_precision_kwargs)``; ``load_dtype`` None keeps the checkpoint's."""
    load = None if lora or checkpoint_dtype not in HALF else "float32"
    return load, ({"bf16": True} if cuda_bf16 else {})


def user_sets_precision(options: TRLOptions) -> bool:
    init = options.sft.get("model_init_kwargs") or {}
    has_dtype = any(init.get(key) is not None for key in ("dtype", "torch_dtype"))
    return has_dtype or any(key in options.sft for key in ("bf16", "fp16"))


def user_dtype(options: TRLOptions) -> str | None:
    init = options.sft.get("model_init_kwargs") or {}
    value = init.get("dtype", init.get("torch_dtype"))
    return None if value is None else str(value).removeprefix("torch.")


def _config_dtype(config: dict[str, Any]) -> str | None:
    value = config.get("dtype") or config.get("torch_dtype")
    if value is None and isinstance(config.get("text_config"), dict):
        return _config_dtype(config["text_config"])
    return None if value is None else str(value).removeprefix("torch.")


def checkpoint_dtype(ref: ModelRef) -> str | None:
    """The dtype the checkpoint's config.json records (None if unknown)."""
    source = adapter_base(ref.path) if ref.kind == "adapter" else ref.path
    config_file = Path(source) / "config.json"
    if config_file.is_file():
        try:
            return _config_dtype(json.loads(config_file.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            return None
    if ref.kind == "local":
        return None
    try:
        from transformers import AutoConfig

        extra = ref.hub_kwargs if source == ref.path else {}
        config = AutoConfig.from_pretrained(source, **extra)
    except Exception:  # an unreadable hub config fails later, where it is loaded
        return None
    return _config_dtype(config.to_dict())


def cuda_bf16() -> bool:
    import torch

    return bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())


def plan_precision(options: TRLOptions, ref: ModelRef) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(from_pretrained kwargs, sft precision kwargs)`` for this run."""
    init = dict(options.sft.get("model_init_kwargs") or {})
    if user_sets_precision(options):
        return init, {}
    lora = options.lora is not None or ref.kind == "adapter"
    load, sft = choose_dtypes(lora, checkpoint_dtype(ref), cuda_bf16())
    if load is not None:
        init["dtype"] = load
    return init, sft


def weight_bytes(options: TRLOptions, ref: ModelRef, init: dict[str, Any] | None = None) -> int:
    """Bytes per weight as loaded (float32 when unknown)."""
    chosen = user_dtype(options) or (init or {}).get("dtype")
    if chosen in (None, "auto"):
        chosen = checkpoint_dtype(ref)
    return DTYPE_BYTES.get(str(chosen), 4)
