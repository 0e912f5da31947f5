"""The ``trl`` training backend: both stages run as a TRL ``SFTTrainer`` in this process.

* ``midtrain``: msmkit tokenizes the documents itself (explicit BOS/EOS policy), hands TRL
  pre-tokenized ``input_ids``/``labels`` and packs them with ``bfd_split`` (or ``wrapped``),
  which never truncates. It checks that packing kept every token before training starts.
* ``aft``: chat rows with ``assistant_only_loss=True``; the chat template must mark assistant
  turns with ``{% generation %}`` (or be one TRL knows a training version of) and must put
  the end-of-turn token inside the mark, else a ConfigError is raised before training.

Output is written to a staging folder beside ``output_dir`` and renamed into place, with a
``msmkit_training.json`` manifest. torch, transformers, trl, peft and datasets are imported
inside functions only.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import json
import logging
import re
import shutil
import time
import warnings
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field, ValidationError

from msmkit.components import Estimate, Options, TrainJob
from msmkit.errors import ConfigError, ModelPathError, RunError
from msmkit.hashing import sha256_file
from msmkit.training.data import (
    atomic_output_dir,
    ensure_output_free,
    read_chats,
    read_corpus_texts,
)

if TYPE_CHECKING:
    from datasets import Dataset
    from transformers import PreTrainedTokenizerBase, TrainingArguments

log = logging.getLogger("msmkit.training")

MANIFEST_NAME = "msmkit_training.json"
SFT_DOCS = "https://huggingface.co/docs/trl/sft_trainer#trl.SFTConfig"

# Chat end-of-turn tokens that should not end a *document*, and what to use instead.
_TURN_END_TOKENS = frozenset({"<|im_end|>", "<|eot_id|>", "<end_of_turn>", "<|end|>"})
_DOC_END_TOKENS = ("<|endoftext|>", "<|end_of_text|>")
_CHAT_TURN_END = "<|im_end|>"

# SFTConfig keys msmkit sets itself; passing them in ``sft`` is an error.
_RESERVED_SFT_KEYS = {
    "output_dir": "msmkit writes into the job's output directory",
    "seed": "the seed comes from the experiment (job.seed)",
    "packing": "midtraining always packs and AFT never does",
    "packing_strategy": "use the backend option packing_strategy",
    "assistant_only_loss": "AFT always uses assistant-only loss",
    "completion_only_loss": "midtraining trains on every document token",
    "dataset_text_field": "msmkit passes tokenized documents and chat messages itself",
    "dataset_kwargs": "msmkit prepares the dataset itself",
}

_DEFAULT_SFT: dict[str, Any] = {
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

_HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?$")


class TRLOptions(Options):
    """Options of the ``trl`` backend. ``sft`` takes any ``trl.SFTConfig`` field."""

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
        description="midtraining packing; both keep every token (TRL's 'bfd' truncates).",
    )
    doc_eos: str | None = Field(
        default=None,
        description="token appended to each document; default: the tokenizer's eos, or "
        "<|endoftext|> when the eos is a chat end-of-turn token.",
    )
    merge: bool = Field(
        default=True,
        description="LoRA only: save the merged full model (true) or the adapter (false).",
    )
    reasoning: Literal["inline", "drop"] = Field(
        default="inline",
        description="AFT: an assistant message's 'reasoning' is put before its content as "
        "<think>...</think> (inline, trained on) or removed (drop).",
    )


@dataclass(frozen=True)
class ModelRef:
    """Where a base model comes from: a local model dir, a local adapter dir, or a hub id."""

    kind: Literal["local", "adapter", "hub"]
    path: str


class TRLBackend:
    """Midtraining and AFT with TRL's SFTTrainer (LoRA or full fine-tuning)."""

    name = "trl"
    description = "TRL SFTTrainer in-process: packed document midtraining and assistant-only AFT"
    Options: ClassVar[type[Options]] = TRLOptions
    requires: tuple[str, ...] = ("torch", "transformers", "trl", "peft", "datasets")

    def plan(self, job: TrainJob) -> Estimate:
        """Check everything short of training; estimate rows and tokens."""
        options, ref, _ = _check_job(job)
        config = build_sft_config(job, options, output_dir=Path(job.output_dir))
        if ref.kind == "hub":
            _load_hub_config(ref.path)
        tokenizer = load_tokenizer(ref)
        notes = []
        if job.stage == "midtrain":
            texts = read_corpus_texts(job.data)
            resolve_doc_eos(tokenizer, options.doc_eos)
            tokens, note = _estimate_doc_tokens(tokenizer, texts)
            items = len(texts)
        else:
            chats = read_chats(job.data, reasoning=options.reasoning)
            apply_chat_template_override(tokenizer, options)
            check_chat_template(tokenizer)
            tokens, note = _estimate_chat_tokens(tokenizer, chats)
            items = len(chats)
        notes.append(note)
        if ref.kind == "adapter":
            notes.append("continues the LoRA adapter in the base_model directory")
        notes.append(f"max_length {config.max_length}")
        return Estimate(stage=job.stage, items=items, tokens=tokens, notes=notes)

    def train(self, job: TrainJob) -> Path:
        """Train and return ``job.output_dir`` (a model dir, or an adapter dir if merge=False)."""
        options, ref, lora_config = _check_job(job)
        output_dir = Path(job.output_dir)
        with atomic_output_dir(output_dir) as staging:
            _train_into(job, options, ref, lora_config, staging)
        return output_dir


# -- options and validation -------------------------------------------------------------------


def _check_job(job: TrainJob) -> tuple[TRLOptions, ModelRef, Any]:
    """The checks plan() and train() share: options, stage, free output, model, LoRA."""
    options = coerce_options(job.options)
    check_stage(job.stage)
    ensure_output_free(job.output_dir)
    ref = resolve_model_ref(job.base_model)
    check_lora_vs_ref(options, ref)
    return options, ref, build_lora_config(options.lora)


def coerce_options(options: Any) -> TRLOptions:
    """Accept a TRLOptions, a mapping, or None."""
    if isinstance(options, TRLOptions):
        return options
    try:
        return TRLOptions.model_validate(options or {})
    except ValidationError as exc:
        raise ConfigError(
            f"invalid trl backend options: {exc}",
            hint="Allowed keys: " + ", ".join(TRLOptions.model_fields),
        ) from None


def check_stage(stage: str) -> None:
    if stage not in ("midtrain", "aft"):
        raise ConfigError(
            f"unknown training stage {stage!r}", hint="Use 'midtrain' (documents) or 'aft' (chats)."
        )


def _unknown_keys_error(kind: str, unknown: list[str], known: set[str], docs: str) -> ConfigError:
    suggestions = []
    for key in unknown:
        close = difflib.get_close_matches(key, sorted(known), n=1)
        if close:
            suggestions.append(f"{key!r} -> {close[0]!r}?")
    hint = ("Did you mean " + ", ".join(suggestions) + " ") if suggestions else ""
    return ConfigError(
        f"unknown {kind} option(s): {', '.join(unknown)}",
        hint=hint + f"See {docs} for the valid keys.",
    )


def build_sft_config(
    job: TrainJob, options: TRLOptions, *, output_dir: Path, eos_token: str | None = None
) -> TrainingArguments:
    """The real ``trl.SFTConfig`` for this job (defaults, user keys, then msmkit's own keys)."""
    import torch
    from trl import SFTConfig

    user = dict(options.sft)
    known = {f.name for f in dataclasses.fields(SFTConfig) if f.init}
    unknown = [key for key in user if key not in known]
    if unknown:
        raise _unknown_keys_error("sft", unknown, known, SFT_DOCS)
    reserved = [key for key in user if key in _RESERVED_SFT_KEYS]
    if reserved:
        key = reserved[0]
        raise ConfigError(
            f"sft option {key!r} is set by msmkit", hint=f"Remove it: {_RESERVED_SFT_KEYS[key]}."
        )
    # Loading is done by msmkit, so these apply to our from_pretrained call, not to TRL.
    user.pop("model_init_kwargs", None)
    user.pop("chat_template_path", None)

    kwargs = {**_DEFAULT_SFT, **user}
    if not torch.cuda.is_available():
        kwargs.setdefault("use_cpu", True)
        kwargs.setdefault("bf16", False)
        if "gradient_checkpointing" not in user and "activation_checkpointing" not in user:
            kwargs["activation_checkpointing"] = False
    kwargs["output_dir"] = str(output_dir)
    kwargs["seed"] = job.seed
    if job.stage == "midtrain":
        kwargs["packing"] = True
        kwargs["packing_strategy"] = options.packing_strategy
    else:
        kwargs["packing"] = False
        kwargs["assistant_only_loss"] = True
        if eos_token is not None:
            kwargs["eos_token"] = eos_token
    if kwargs.get("max_length") is None:
        raise ConfigError(
            "sft.max_length must be set", hint="Packing and truncation need a block length."
        )
    try:
        return SFTConfig(**kwargs)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"invalid sft options: {exc}", hint=f"See {SFT_DOCS}.") from None


def build_lora_config(lora: dict[str, Any] | None):
    """A peft ``LoraConfig`` from the ``lora`` option, or None for full fine-tuning."""
    if lora is None:
        return None
    from peft import LoraConfig

    known = {f.name for f in dataclasses.fields(LoraConfig) if f.init}
    unknown = [key for key in lora if key not in known]
    if unknown:
        raise _unknown_keys_error(
            "lora", unknown, known, "https://huggingface.co/docs/peft/package_reference/lora"
        )
    kwargs = {"task_type": "CAUSAL_LM", "target_modules": "all-linear", **lora}
    targets = kwargs["target_modules"]
    names = [targets] if isinstance(targets, str) else list(targets or [])
    if any(name == "lm_head" or str(name).endswith(".lm_head") for name in names):
        raise ConfigError(
            "lora.target_modules includes lm_head, which TRL's fused loss head cannot train",
            hint="Leave target_modules as 'all-linear' (it excludes the output head).",
        )
    try:
        return LoraConfig(**kwargs)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"invalid lora options: {exc}") from None


def check_lora_vs_ref(options: TRLOptions, ref: ModelRef) -> None:
    if ref.kind == "adapter" and options.lora is not None:
        raise ConfigError(
            f"base_model {ref.path} is a LoRA adapter, which is continued as is; "
            "a new lora config cannot be stacked on it",
            hint="Remove the lora option to keep training the adapter, or start from a merged "
            "model directory to train a fresh adapter.",
        )


# -- models and tokenizers --------------------------------------------------------------------


def resolve_model_ref(base_model: str) -> ModelRef:
    """Classify ``base_model`` without loading anything; bad local paths fail here."""
    text = str(base_model).strip()
    path = Path(text).expanduser()
    if path.exists():
        if path.is_dir() and (path / "config.json").is_file():
            return ModelRef("local", str(path.resolve()))
        if path.is_dir() and (path / "adapter_config.json").is_file():
            return ModelRef("adapter", str(path.resolve()))
        raise ModelPathError(
            f"{text} is not a model directory (no config.json)",
            hint="Point base_model at a directory saved with save_pretrained, or a hub id.",
        )
    if _HUB_ID.match(text) and ".." not in text:
        return ModelRef("hub", text)
    raise ModelPathError(
        f"model path does not exist: {text}",
        hint="Check the path, run the stage that produces it, or use a hub id like 'org/name'.",
    )


def _hub_error(ref_path: str, exc: Exception) -> ModelPathError:
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return ModelPathError(
        f"{ref_path!r} is not a local directory and could not be loaded from the hub: {first_line}",
        hint="Check the id and your network or HF_TOKEN, or download the model and pass its "
        "local directory.",
    )


def _load_hub_config(hub_id: str) -> None:
    from transformers import AutoConfig

    try:
        AutoConfig.from_pretrained(hub_id)
    except Exception as exc:  # hub, network and parse errors all mean "unusable"
        raise _hub_error(hub_id, exc) from None


def _adapter_base(adapter_dir: str) -> str:
    config = json.loads((Path(adapter_dir) / "adapter_config.json").read_text(encoding="utf-8"))
    base = config.get("base_model_name_or_path")
    if not base:
        raise ModelPathError(
            f"adapter {adapter_dir} does not name its base model",
            hint="Set base_model_name_or_path in adapter_config.json.",
        )
    return base


def load_tokenizer(ref: ModelRef) -> PreTrainedTokenizerBase:
    from transformers import AutoTokenizer

    source = ref.path
    if ref.kind == "adapter" and not (Path(ref.path) / "tokenizer_config.json").is_file():
        source = _adapter_base(ref.path)
    try:
        return AutoTokenizer.from_pretrained(source)
    except Exception as exc:
        if ref.kind == "hub":
            raise _hub_error(ref.path, exc) from None
        raise ModelPathError(
            f"cannot load a tokenizer from {source}: {exc}",
            hint="The model directory needs its tokenizer files (save_pretrained the tokenizer).",
        ) from None


def load_model(ref: ModelRef, init_kwargs: dict[str, Any]):
    """Load the model with ``from_pretrained``; an adapter dir is loaded trainable on its base."""
    from transformers import AutoModelForCausalLM

    source = _adapter_base(ref.path) if ref.kind == "adapter" else ref.path
    try:
        model = AutoModelForCausalLM.from_pretrained(source, **init_kwargs)
    except Exception as exc:
        if ref.kind == "hub" or not Path(source).exists():
            raise _hub_error(source, exc) from None
        raise ModelPathError(f"cannot load the model in {source}: {exc}") from None
    if ref.kind == "adapter":
        from peft import PeftModel

        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*")
            model = PeftModel.from_pretrained(model, ref.path, is_trainable=True)
    return model


# -- data preparation -------------------------------------------------------------------------


def resolve_doc_eos(tokenizer: PreTrainedTokenizerBase, doc_eos: str | None) -> str:
    """The token that ends each document (see ``TRLOptions.doc_eos``)."""
    vocab = tokenizer.get_vocab()
    if doc_eos is not None:
        if doc_eos not in vocab:
            raise ConfigError(
                f"doc_eos {doc_eos!r} is not a token of this tokenizer",
                hint=f"Pick a token the tokenizer has, e.g. its eos token {tokenizer.eos_token!r}.",
            )
        return doc_eos
    eos = tokenizer.eos_token
    if eos is None or eos in _TURN_END_TOKENS:
        for candidate in _DOC_END_TOKENS:
            if candidate in vocab:
                return candidate
    if eos is None:
        raise ConfigError(
            "the tokenizer has no eos token to end documents with",
            hint="Set the trl option doc_eos to a token of this tokenizer.",
        )
    return eos


def tokenize_documents(
    tokenizer: PreTrainedTokenizerBase, texts: list[str], eos: str
) -> list[list[int]]:
    """``[bos] + tokens + [eos]`` per document; BOS only if the tokenizer has and adds one."""
    eos_id = tokenizer.convert_tokens_to_ids(eos)
    prefix = []
    bos_id = tokenizer.bos_token_id
    if bos_id is not None:
        probe = tokenizer("a", add_special_tokens=True)["input_ids"]
        if probe[:1] == [bos_id]:
            prefix = [bos_id]
    encoded = tokenizer(texts, add_special_tokens=False, verbose=False)["input_ids"]
    return [[*prefix, *ids, eos_id] for ids in encoded]


def apply_chat_template_override(tokenizer: PreTrainedTokenizerBase, options: TRLOptions) -> None:
    """Honour ``sft.chat_template_path`` (a .jinja file) before the template checks."""
    path = options.sft.get("chat_template_path")
    if path is None:
        return
    file = Path(str(path)).expanduser()
    if not (file.is_file() and file.suffix in (".jinja", ".j2")):
        raise ConfigError(
            f"sft.chat_template_path must be a .jinja file, got {path}",
            hint="Write the template to a .jinja file; cloning from another tokenizer is not "
            "supported by msmkit.",
        )
    tokenizer.chat_template = file.read_text(encoding="utf-8")


def check_chat_template(tokenizer: PreTrainedTokenizerBase) -> str | None:
    """Fail early unless assistant-only loss will work and train the end-of-turn token.

    Returns None if the tokenizer's own template is used, or TRL's training variant of a
    template it knows (TRL swaps that in itself; we only check it exists).
    """
    from trl.chat_template_utils import (
        get_training_chat_template,
        has_generation_markers,
        is_chat_template_stop_token_trained,
    )

    marker_hint = (
        "Use a chat template that wraps each assistant reply and its end-of-turn token in "
        "{% generation %}...{% endgeneration %}, e.g. via sft.chat_template_path=<file.jinja>."
    )
    if not tokenizer.chat_template:
        raise ConfigError(
            "the model's tokenizer has no chat template, which AFT needs", hint=marker_hint
        )
    template = None
    if not has_generation_markers(tokenizer.chat_template):
        try:
            template = get_training_chat_template(tokenizer)
        except ValueError:
            raise ConfigError(
                "the chat template has no {% generation %} markers and TRL knows no training "
                "version of it, so assistant-only loss cannot find the assistant tokens",
                hint=marker_hint,
            ) from None
    if not is_chat_template_stop_token_trained(tokenizer, chat_template=template):
        raise ConfigError(
            "the chat template leaves the assistant's end-of-turn token out of the "
            "{% generation %} block, so the model would never learn to stop",
            hint=marker_hint,
        )
    return template


def _chat_token_counts(
    tokenizer: PreTrainedTokenizerBase, chats: list[list[dict[str, str]]], template: str | None
) -> tuple[int, int]:
    total = trainable = 0
    for chat in chats:
        out = tokenizer.apply_chat_template(
            chat,
            tokenize=True,
            return_dict=True,
            return_assistant_tokens_mask=True,
            chat_template=template,
        )
        total += len(out["input_ids"])
        trainable += sum(out["assistant_masks"])
    return total, trainable


def _estimate_doc_tokens(tokenizer, texts: list[str], sample: int = 256) -> tuple[int, str]:
    picked = texts[:: max(1, len(texts) // sample)][:sample]
    picked_tokens = sum(len(ids) + 1 for ids in tokenizer(picked, verbose=False)["input_ids"])
    if len(picked) == len(texts):
        return picked_tokens, "token count is exact"
    ratio = picked_tokens / max(1, sum(len(t) + 1 for t in picked))
    tokens = round(ratio * sum(len(t) + 1 for t in texts))
    return tokens, f"tokens estimated from {len(picked)} of {len(texts)} documents"


def _estimate_chat_tokens(tokenizer, chats, sample: int = 256) -> tuple[int, str]:
    picked = chats[:: max(1, len(chats) // sample)][:sample]
    total = sum(
        len(tokenizer.apply_chat_template(chat, tokenize=True, return_dict=True)["input_ids"])
        for chat in picked
    )
    if len(picked) == len(chats):
        return total, "token count is exact"
    return round(total * len(chats) / len(picked)), (
        f"tokens estimated from {len(picked)} of {len(chats)} chats"
    )


def _packed_counts(dataset: Dataset) -> dict[str, int]:
    """Tokens, trainable tokens and segments in a prepared (packed or not) TRL dataset."""
    import pyarrow.compute as pc

    table = dataset.data
    labels = pc.list_flatten(table.column("labels"))
    counts = {
        "rows": dataset.num_rows,
        "tokens": int(pc.sum(pc.list_value_length(table.column("input_ids"))).as_py() or 0),
        "trainable_tokens": int(pc.sum(pc.not_equal(labels, -100)).as_py() or 0),
    }
    if "seq_lengths" in table.column_names:
        counts["segments"] = int(pc.sum(pc.list_value_length(table.column("seq_lengths"))).as_py())
    return counts


# -- training ---------------------------------------------------------------------------------


def _aft_eos_token(job: TrainJob, options: TRLOptions, tokenizer) -> str | None:
    """AFT stops at end of turn: use <|im_end|> as eos when the tokenizer has it."""
    if job.stage != "aft" or "eos_token" in options.sft:
        return None
    return _CHAT_TURN_END if _CHAT_TURN_END in tokenizer.get_vocab() else None


def _make_callbacks(progress):
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


def _build_dataset(job, options, tokenizer) -> tuple[Dataset, dict[str, Any]]:
    from datasets import Dataset

    info: dict[str, Any] = {}
    if job.stage == "midtrain":
        texts = read_corpus_texts(job.data)
        eos = resolve_doc_eos(tokenizer, options.doc_eos)
        ids = tokenize_documents(tokenizer, texts, eos)
        rows = [{"input_ids": row, "labels": list(row)} for row in ids]
        n = sum(len(row) for row in ids)
        info.update(rows=len(rows), doc_eos=eos, tokens_before=n, trainable_before=n)
    else:
        chats = read_chats(job.data, reasoning=options.reasoning)
        apply_chat_template_override(tokenizer, options)
        template = check_chat_template(tokenizer)
        total, trainable = _chat_token_counts(tokenizer, chats, template)
        rows = [{"messages": chat} for chat in chats]
        info.update(
            rows=len(rows),
            chat_template="trl training variant" if template else "model's own",
            tokens_before=total,
            trainable_before=trainable,
        )
    return Dataset.from_list(rows), info


def _check_counts(
    job: TrainJob, info: dict[str, Any], after: dict[str, int], max_length: int | None = None
) -> None:
    lost = info["trainable_before"] - after["trainable_tokens"]
    if lost == 0:
        return
    if job.stage == "midtrain":
        raise RunError(
            f"packing dropped {lost} of {info['trainable_before']} document tokens",
            hint="This is a bug: msmkit packs with bfd_split/wrapped, which should keep every "
            "token. Please report it with the manifest options.",
        )
    if after["rows"] == 0 or after["trainable_tokens"] == 0:
        raise ConfigError(
            f"every chat loses all its assistant tokens at max_length {max_length}",
            hint="Raise sft.max_length above the length of your chats.",
        )
    message = (
        f"{lost} of {info['trainable_before']} assistant tokens are cut by max_length "
        f"({info['rows'] - after['rows']} chats dropped entirely)"
    )
    warnings.warn(message + "; raise sft.max_length to keep them", stacklevel=3)
    log.warning(message)


def _train_into(job: TrainJob, options: TRLOptions, ref: ModelRef, lora_config, staging: Path):
    import transformers

    started = time.monotonic()
    scratch = staging / "_trainer"  # Trainer's own output_dir; removed before the rename
    tokenizer = load_tokenizer(ref)
    config = build_sft_config(
        job, options, output_dir=scratch, eos_token=_aft_eos_token(job, options, tokenizer)
    )
    transformers.set_seed(job.seed)
    model = load_model(ref, dict(options.sft.get("model_init_kwargs") or {}))
    dataset, info = _build_dataset(job, options, tokenizer)
    with _quiet_datasets():
        trainer = _make_trainer(job, model, config, dataset, tokenizer, lora_config)
        after = _packed_counts(trainer.train_dataset)
        _check_counts(job, info, after, config.max_length)
        result = trainer.train()
    shutil.rmtree(scratch, ignore_errors=True)
    output_kind = _save(trainer, options, staging)
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
        "train_loss": result.training_loss,
        "wall_time_s": round(time.monotonic() - started, 3),
        "versions": _versions(),
    }
    (staging / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2, default=str) + "\n")


@contextlib.contextmanager
def _quiet_datasets():
    """Hide datasets' map/pack progress bars while TRL prepares the data."""
    import datasets

    were_on = datasets.is_progress_bar_enabled()
    datasets.disable_progress_bars()
    try:
        yield
    finally:
        if were_on:
            datasets.enable_progress_bars()


def _make_trainer(job: TrainJob, model, config, dataset, tokenizer, lora_config):
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
            callbacks=_make_callbacks(job.progress),
        )
    trainer.remove_callback(transformers.PrinterCallback)  # losses go to the msmkit logger
    return trainer


def _save(trainer, options: TRLOptions, staging: Path) -> str:
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


def _versions() -> dict[str, str]:
    versions = {}
    for name in ("msmkit", "torch", "transformers", "trl", "peft", "datasets", "accelerate"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions
