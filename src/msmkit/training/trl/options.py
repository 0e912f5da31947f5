"""The ``trl`` backend's options: the pydantic model, msmkit's SFT defaults, reserved keys."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator

from msmkit.components import Options
from msmkit.errors import ConfigError, OptionError
from msmkit.training.sources import DataSource

SFT_DOCS = "https://huggingface.co/docs/trl/sft_trainer#trl.SFTConfig"
LORA_DOCS = "https://huggingface.co/docs/peft/package_reference/lora"

# SFTConfig keys msmkit sets itself; passing them in ``sft`` is an error.
RESERVED_SFT_KEYS = {
    "output_dir": "msmkit writes into the job's output directory",
    "seed": "the seed comes from the experiment (job.seed)",
    "packing": "midtraining always packs and AFT never does",
    "packing_strategy": "use the backend option packing_strategy",
    "assistant_only_loss": "AFT always uses assistant-only loss",
    "completion_only_loss": "midtraining trains on every document token",
    "dataset_text_field": "msmkit passes tokenized documents and chat messages itself",
    "dataset_kwargs": "msmkit prepares the dataset itself",
}

# ``sft`` keys that msmkit consumes itself (its own from_pretrained, the template override)
# instead of passing them to TRL.
MSMKIT_SFT_KEYS = ("model_init_kwargs", "chat_template_path")

DEFAULT_SFT: dict[str, Any] = {
    "learning_rate": 1e-4,
    "lr_scheduler_type": "cosine",
    "warmup_steps": 0.05,  # a float below 1 is a ratio in transformers 5
    "weight_decay": 0.01,
    "num_train_epochs": 1,
    "max_length": 1024,
    "report_to": "none",
    "save_strategy": "no",
    "disable_tqdm": True,
    "logging_steps": 10,
}


class TRLOptions(Options):
    """Options of the ``trl`` backend. ``sft`` takes any ``trl.SFTConfig`` field."""

    recipe: str | None = Field(
        default=None,
        description="a bundled recipe name (paper-lora, full-ft) or a YAML file of these "
        "options; its keys are the base and the options given here override them (sft and "
        "lora key by key). See recipes/README.md.",
    )
    lora: dict[str, Any] | None = Field(
        default=None,
        description="peft LoraConfig kwargs, e.g. {r: 64, lora_alpha: 128}; null = full "
        "fine-tuning. task_type CAUSAL_LM and target_modules all-linear are filled in.",
    )
    sft: dict[str, Any] = Field(
        default_factory=dict,
        description="trl SFTConfig kwargs (learning_rate, num_train_epochs, max_steps, "
        "per_device_train_batch_size, max_length, ...); checked by building the real SFTConfig. "
        "model_init_kwargs go to msmkit's from_pretrained; chat_template_path must be a .jinja "
        "file (AFT).",
    )
    packing_strategy: Literal["bfd_split", "wrapped"] = Field(
        default="bfd_split",
        description="midtraining packing; both keep every token (TRL's 'bfd' truncates). "
        "bfd_split is padding-free and keeps documents apart; wrapped concatenates documents "
        "into rows whose documents attend to each other (pretraining style).",
    )
    attn_implementation: Literal[
        "auto", "sdpa", "eager", "flash_attention_2", "flash_attention_3"
    ] = Field(
        default="auto",
        description="attention kernel: auto = flash_attention_2 when flash-attn is installed "
        "and CUDA is there, else sdpa. Every choice keeps packed (bfd_split) documents from "
        "attending to each other.",
    )
    doc_prefix: str | None = Field(
        default=None,
        description="midtraining: text put before every document (after BOS), e.g. "
        "'<DOCTAG>'; its tokens are masked from the loss (labels -100) but kept in packing.",
    )
    doc_eos: str | None = Field(
        default=None,
        description="token appended to each document; default: the tokenizer's eos, or "
        "<|endoftext|> when the eos is a chat end-of-turn token.",
    )
    mix_corpus: DataSource | None = Field(
        default=None,
        description="midtraining: a pretraining corpus mixed in (a path, hf:org/name[@rev], "
        "or {path, split, field, name}); amount by mix_ratio or mix_tokens. See "
        "docs/training.md.",
    )
    mix_chats: DataSource | None = Field(
        default=None,
        description="AFT: an instruction-tuning set mixed in (messages column), like mix_corpus.",
    )
    mix_ratio: float | None = Field(
        default=None,
        gt=0,
        lt=1,
        description="fraction of the training tokens that come from the mix: "
        "mixed / (own + mixed); whole documents or chats, picked in a seeded order.",
    )
    mix_tokens: int | None = Field(
        default=None, ge=1, description="tokens to mix in (instead of mix_ratio)"
    )
    merge: bool = Field(
        default=True,
        description="LoRA only: save the merged full model (true) or the adapter (false).",
    )
    reasoning: Literal["inline", "drop", "field"] = Field(
        default="inline",
        description="AFT: an assistant message's 'reasoning' is put before its content as "
        "<think>...</think> (inline, trained on), removed (drop), or passed to the chat "
        "template as the message's reasoning_content (field; the qwen3 template renders it).",
    )
    chat_template: Literal["auto", "keep", "llama3", "qwen2.5", "qwen3"] = Field(
        default="auto",
        description="AFT chat template: auto keeps the model's if it has {% generation %} "
        "markers, else uses msmkit's template for the detected family (Llama 3 by "
        "<|eot_id|>, ChatML/Qwen by <|im_end|>; qwen3 if <think> is a token); keep = the "
        "model's; or a shipped template by name. sft.chat_template_path wins over this.",
    )
    memory_check: bool = Field(
        default=True,
        description="refuse, before any step, a run whose estimated training memory clearly "
        "exceeds the visible GPU memory (skipped without CUDA). Turn off for sharded runs "
        "(DeepSpeed ZeRO, FSDP), which the single-device estimate does not model.",
    )

    @field_validator("mix_corpus", "mix_chats", mode="before")
    @classmethod
    def _source_shorthand(cls, value: Any) -> Any:
        return {"path": value} if isinstance(value, str) else value


def coerce_options(options: Any) -> TRLOptions:
    """Accept a TRLOptions, a mapping, or None; a bad mapping names the first bad field."""
    if isinstance(options, TRLOptions):
        return options
    try:
        return TRLOptions.model_validate(options or {})
    except ValidationError as exc:
        first = exc.errors()[0]
        raise OptionError(
            f"invalid trl backend options: {exc}",
            loc=tuple(first["loc"]),
            hint="Allowed keys: " + ", ".join(TRLOptions.model_fields),
        ) from None


def check_stage(stage: str) -> None:
    if stage not in ("midtrain", "aft"):
        raise ConfigError(
            f"unknown training stage {stage!r}", hint="Use 'midtrain' (documents) or 'aft' (chats)."
        )
