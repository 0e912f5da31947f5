"""Will the run fit? A training-memory estimate checked against the visible GPU memory.

The estimate (bytes, one device, no sharding):

* weights: ``params * weight_bytes`` (+ ``4 * lora_params`` for fp32 adapters);
* gradients: one per trainable parameter, ``4`` bytes for LoRA adapters, ``weight_bytes``
  for full fine-tuning;
* AdamW: two fp32 states, ``8`` bytes per trainable parameter;
* activations (rough): ``tokens * hidden * layers * c * act_bytes / 2`` with ``c = 34``
  (Korthikanti et al. 2022, flash attention) or, with activation checkpointing, ``c = 2``
  plus one layer's ``34``; plus one fp32 copy of the logits, ``tokens * vocab * 4``.
  ``tokens`` is ``per_device_train_batch_size * max_length``.

The parameter counts come from the model's config on the meta device: no weights load.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from msmkit.errors import OptionError
from msmkit.training.trl.models import ModelRef, adapter_base
from msmkit.training.trl.options import TRLOptions
from msmkit.training.trl.precision import plan_precision, weight_bytes

GIB = 1024**3
ACT_PER_LAYER = 34  # bytes per token per hidden unit for one layer, 16-bit activations


@dataclass(frozen=True)
class ModelShape:
    params: int
    lora_params: int  # 0 for full fine-tuning
    hidden_size: int
    num_layers: int
    vocab_size: int


@dataclass(frozen=True)
class MemoryEstimate:
    weights: int
    gradients: int
    optimizer: int
    activations: int

    @property
    def total(self) -> int:
        return self.weights + self.gradients + self.optimizer + self.activations

    def describe(self) -> str:
        parts = ("weights", "gradients", "optimizer", "activations")
        return ", ".join(f"{name} {getattr(self, name) / GIB:.1f}" for name in parts)


def estimate_training_memory(
    shape: ModelShape,
    *,
    weight_bytes: int,
    batch_size: int,
    seq_len: int,
    checkpointing: bool,
    act_bytes: int = 2,
) -> MemoryEstimate:
    """Bytes to train ``shape`` with AdamW (see the module docstring for the formula)."""
    lora = shape.lora_params > 0
    trainable = shape.lora_params if lora else shape.params
    weights = shape.params * weight_bytes + (4 * shape.lora_params if lora else 0)
    gradients = trainable * (4 if lora else weight_bytes)
    optimizer = trainable * 8
    tokens = batch_size * seq_len
    per_token_unit = (
        2 * shape.num_layers + ACT_PER_LAYER
        if checkpointing
        else (ACT_PER_LAYER * shape.num_layers)
    )
    activations = tokens * shape.hidden_size * per_token_unit * act_bytes // 2
    activations += tokens * shape.vocab_size * 4
    return MemoryEstimate(weights, gradients, optimizer, activations)


def _targets_match(name: str, targets: Any) -> bool:
    if targets in (None, "all-linear"):
        return name.rsplit(".", 1)[-1] != "lm_head"
    if isinstance(targets, str):
        return re.fullmatch(targets, name) is not None
    return any(name == t or name.endswith("." + str(t)) for t in targets)


def model_shape(config: Any, lora: Mapping[str, Any] | None) -> ModelShape:
    """Parameter counts of ``config``'s causal LM, built on the meta device."""
    import torch
    from accelerate import init_empty_weights
    from transformers import AutoModelForCausalLM

    with init_empty_weights():
        model = AutoModelForCausalLM.from_config(config)
    model.tie_weights()  # not done on the meta device; tied embeddings count once
    params = sum(p.numel() for p in model.parameters())
    lora_params = 0
    if lora is not None:
        rank = int(lora.get("r", 8))
        targets = lora.get("target_modules", "all-linear")
        for name, module in model.named_modules():
            if isinstance(module, torch.nn.Linear) and _targets_match(name, targets):
                lora_params += rank * (module.in_features + module.out_features)
    text = config.get_text_config() if hasattr(config, "get_text_config") else config
    return ModelShape(
        params=params,
        lora_params=lora_params,
        hidden_size=int(getattr(text, "hidden_size", 0) or 0),
        num_layers=int(getattr(text, "num_hidden_layers", 0) or 0),
        vocab_size=int(getattr(text, "vocab_size", 0) or 0),
    )


def load_shape(ref: ModelRef, lora: Mapping[str, Any] | None) -> ModelShape | None:
    """The shape of the model ``ref`` trains (its adapter's r/targets when continuing one);
    None when its config cannot be read."""
    import json

    from transformers import AutoConfig

    source = ref.path
    if ref.kind == "adapter":
        adapter = json.loads((Path(ref.path) / "adapter_config.json").read_text("utf-8"))
        lora = {"r": adapter.get("r", 8), "target_modules": adapter.get("target_modules")}
        source = adapter_base(ref.path)
    try:
        extra = ref.hub_kwargs if ref.kind == "hub" else {}
        config = AutoConfig.from_pretrained(source, **extra)
        return model_shape(config, lora)
    except Exception:  # an unreadable config fails where the model is loaded
        return None


def visible_gpu_memory() -> int | None:
    """Free bytes on the first visible CUDA device; None without CUDA.

    Asked of ``nvidia-smi`` when it is there, so that the msmkit process (which checks at plan
    time, then starts the training process) opens no CUDA context of its own."""
    import torch

    if not torch.cuda.is_available():
        return None
    free = _nvidia_smi_free()
    if free is not None:
        return free
    free, _total = torch.cuda.mem_get_info()
    return int(free)


def _nvidia_smi_free() -> int | None:
    import os
    import shutil
    import subprocess

    first = os.environ.get("CUDA_VISIBLE_DEVICES", "0").split(",")[0].strip() or "0"
    if shutil.which("nvidia-smi") is None or not first.isdigit():
        return None
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=memory.free", "--format=csv,noheader,nounits", "-i", first],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
        return int(float(out.strip().splitlines()[0])) * 1024**2
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return None


def check_fits(estimate: MemoryEstimate, available: int | None) -> None:
    """Raise OptionError when ``estimate`` exceeds ``available`` bytes (None: no check)."""
    if available is None or estimate.total <= available:
        return
    raise OptionError(
        f"training needs an estimated {estimate.total / GIB:.1f} GiB "
        f"({estimate.describe()} GiB) but the GPU has {available / GIB:.1f} GiB free",
        loc=("sft",),
        hint="Train a LoRA adapter (lora: {r: 64}), keep activation checkpointing on, lower "
        "sft.per_device_train_batch_size (raise gradient_accumulation_steps to keep the "
        "batch) or sft.max_length, or shard the model (then set memory_check: false).",
    )


def check_memory(
    options: TRLOptions, ref: ModelRef, config: Any, *, available: int | None = None
) -> MemoryEstimate | None:
    """Estimate this run's memory from ``config`` (the built SFTConfig) and refuse it when it
    clearly cannot fit in ``available`` bytes (default: the free memory of the current CUDA
    device). Returns the estimate, or None when skipped (no CUDA, memory_check off, no config).
    """
    if not options.memory_check:
        return None
    if available is None:
        available = visible_gpu_memory()
    if available is None:
        return None
    shape = load_shape(ref, options.lora)
    if shape is None:
        return None
    init, precision = plan_precision(options, ref)
    autocast = bool(config.bf16 or config.fp16 or precision)
    weights = weight_bytes(options, ref, init)
    checkpointing = getattr(config, "activation_checkpointing", None)
    if checkpointing is None:
        checkpointing = config.gradient_checkpointing
    estimate = estimate_training_memory(
        shape,
        weight_bytes=weights,
        batch_size=int(config.per_device_train_batch_size),
        seq_len=int(config.max_length),
        checkpointing=bool(checkpointing),
        act_bytes=2 if autocast else weights,
    )
    check_fits(estimate, available)
    return estimate
