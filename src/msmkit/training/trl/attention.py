"""The attention implementation and the optional kernels a training run uses.

Midtraining packs documents padding-free (``bfd_split``): TRL's collator flattens a batch into
one row with ``position_ids`` restarting at every document (and ``cu_seq_lens`` for the
FlashAttention varlen kernels). Each implementation allowed here keeps documents apart: with
``sdpa`` and ``eager`` transformers 5 builds a block-diagonal causal mask from the restarting
``position_ids`` (only without a KV cache, which training never uses); FlashAttention 2/3 use
the sequence boundaries. ``auto`` picks ``flash_attention_2`` when ``flash_attn`` is installed
and CUDA is there, else ``sdpa``. The ``wrapped`` packing strategy is different on purpose:
rows are plain concatenations with an all-ones attention mask, so documents in a row attend
to each other (classic pretraining style).

Liger kernels (``sft.use_liger_kernel``) need the ``liger-kernel`` package; plan time says so.
"""

from __future__ import annotations

import importlib.util

from msmkit.errors import OptionError
from msmkit.training.trl.options import TRLOptions

# implementation -> the module it needs (None: part of torch/transformers)
IMPLEMENTATIONS: dict[str, str | None] = {
    "sdpa": None,
    "eager": None,
    "flash_attention_2": "flash_attn",
    "flash_attention_3": "flash_attn_interface",
}


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def resolve_attention(choice: str) -> str:
    """The implementation to load the model with (``auto`` decided on this machine)."""
    if choice != "auto":
        return choice
    import torch

    if torch.cuda.is_available() and _installed("flash_attn"):
        return "flash_attention_2"
    return "sdpa"


def check_attention(options: TRLOptions) -> None:
    """Plan-time checks of the attention and kernel options."""
    init = options.sft.get("model_init_kwargs") or {}
    if isinstance(init, dict) and "attn_implementation" in init:
        raise OptionError(
            "sft.model_init_kwargs.attn_implementation is chosen by msmkit",
            loc=("sft", "model_init_kwargs"),
            hint="Use the backend option attn_implementation ("
            + ", ".join(["auto", *IMPLEMENTATIONS])
            + "): each of them keeps packed documents apart.",
        )
    needed = IMPLEMENTATIONS.get(options.attn_implementation)
    if needed is not None and not _installed(needed):
        raise OptionError(
            f"attn_implementation {options.attn_implementation!r} needs the {needed} package, "
            "which is not installed",
            loc=("attn_implementation",),
            hint="Install it (CUDA only), or use attn_implementation: auto (FlashAttention when "
            "installed, else sdpa).",
        )
    if options.sft.get("use_liger_kernel") and not _installed("liger_kernel"):
        raise OptionError(
            "sft.use_liger_kernel needs the liger-kernel package, which is not installed",
            loc=("sft", "use_liger_kernel"),
            hint="pip install liger-kernel (CUDA), or remove use_liger_kernel.",
        )
