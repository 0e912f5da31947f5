"""GPU time a training stage will take, estimated before anything runs (``msmkit plan``).

FLOPs are the usual transformer counts: 6·N·T for full fine-tuning of N parameters on T
tokens, 4·N·T with LoRA (forward 2NT, and the backward pass computes activation gradients
but no gradients for the frozen weights). GPU-hours divide that by an assumed sustained
throughput: ``H100_BF16`` peak at ``MFU`` (0.40, typical of packed LoRA and full
fine-tuning at 8B-32B). Estimates, and the plan says so; measured GPU time is in the manifest.

N comes from a local model's ``config.json`` (embeddings, attention with grouped KV heads,
gated MLP per layer) or, for a hub id, the size in its name (``Qwen2.5-32B`` → 32e9).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

H100_BF16 = 989e12
"""Dense bf16 peak of one H100 SXM, FLOP/s."""
MFU = 0.40
"""Assumed model FLOPs utilization."""
_SIZE = re.compile(r"(?<![\d.])(\d+(?:\.\d+)?)\s*([BM])(?![a-z])", re.IGNORECASE)


def params_from_config(config: dict[str, Any]) -> int | None:
    """Parameters of a decoder-only transformer from its Hugging Face config."""
    try:
        hidden = int(config["hidden_size"])
        layers = int(config["num_hidden_layers"])
        vocab = int(config["vocab_size"])
    except (KeyError, TypeError, ValueError):
        return None
    inter = int(config.get("intermediate_size") or 4 * hidden)
    heads = int(config.get("num_attention_heads") or 1)
    kv_heads = int(config.get("num_key_value_heads") or heads)
    head_dim = int(config.get("head_dim") or hidden // max(heads, 1))
    attention = 2 * hidden * heads * head_dim + 2 * hidden * kv_heads * head_dim
    mlp = 3 * hidden * inter
    embeddings = vocab * hidden * (1 if config.get("tie_word_embeddings") else 2)
    return embeddings + layers * (attention + mlp)


def params_of(model: str) -> int | None:
    """Parameters of a local model folder (its config.json) or a hub id (its name)."""
    path = Path(model.partition("@")[0]).expanduser()
    if (path / "config.json").is_file():
        try:
            return params_from_config(json.loads((path / "config.json").read_text()))
        except (OSError, ValueError):
            return None
    found = _SIZE.findall(Path(model).name)
    if not found:
        return None
    number, unit = found[-1]
    return int(float(number) * (1e9 if unit.upper() == "B" else 1e6))


def gpu_hours(params: int, tokens: int, *, epochs: float = 1.0, lora: bool = False) -> float:
    """Estimated GPU-hours (H100-class, MFU 0.40) to train ``params`` on ``tokens``."""
    flops = (4 if lora else 6) * params * tokens * epochs
    return flops / (H100_BF16 * MFU) / 3600


def describe(params: int | None) -> str:
    if params is None:
        return "unknown size"
    return f"{params / 1e9:.1f}B" if params >= 1e9 else f"{params / 1e6:.1f}M"
