"""The ``trl`` training backend: both stages run as a TRL ``SFTTrainer`` in this process
(the training stages start that process: see ``msmkit.training.launch``).

* ``midtrain``: msmkit tokenizes the documents itself (explicit BOS/EOS policy), hands TRL
  pre-tokenized ``input_ids``/``labels`` and packs them with ``bfd_split`` (or ``wrapped``),
  which never truncates. It checks that packing kept every token before training starts.
* ``aft``: chat rows with ``assistant_only_loss=True``; the chat template must mark assistant
  turns with ``{% generation %}`` (or be one TRL knows a training version of) and must put
  the end-of-turn token inside the mark, else an OptionError is raised before training.

``validate`` runs every check that needs neither the data nor the weights, at plan time;
``plan`` and ``train`` repeat them (same helpers) so a backend used directly fails early too.
torch, transformers, trl, peft and datasets are imported inside functions only.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, ClassVar

from msmkit.components import Estimate, Options, TrainJob
from msmkit.training.data import atomic_output_dir, ensure_output_free
from msmkit.training.sources import source_ref
from msmkit.training.trl.configs import (
    build_lora_config,
    build_sft_config,
    check_lora_vs_ref,
    make_sft_config,
)
from msmkit.training.trl.memory import check_memory
from msmkit.training.trl.mixing import mix_source
from msmkit.training.trl.models import (
    ModelRef,
    load_hub_config,
    load_tokenizer,
    resolve_model_ref,
    tokenizer_source,
)
from msmkit.training.trl.options import TRLOptions, check_stage
from msmkit.training.trl.quick import check_stage_options
from msmkit.training.trl.recipes import effective_options
from msmkit.training.trl.templates import (
    check_aft_template,
    check_sft_eos_token,
    resolve_doc_eos,
)
from msmkit.training.trl.tokens import (
    estimate_chat_tokens,
    estimate_doc_tokens,
    read_aft_chats,
    read_documents,
)
from msmkit.training.trl.train import process_rank, train_into


class TRLBackend:
    """Midtraining and AFT with TRL's SFTTrainer (LoRA or full fine-tuning)."""

    name = "trl"
    description = "TRL SFTTrainer in-process: packed document midtraining and assistant-only AFT"
    Options: ClassVar[type[Options]] = TRLOptions
    requires: tuple[str, ...] = ("torch", "transformers", "trl", "peft", "datasets")
    # The training stages may run it in a worker process (python -m msmkit.training.worker),
    # alone or under accelerate launch: it finds itself in the registry there, and writes
    # outputs from rank 0 only.
    launchable: ClassVar[bool] = True

    def validate(self, stage: str, options: Any, base_model: str | None) -> None:
        """Check ``options`` for ``stage`` without data, weights or training (plan time).

        Builds the real SFTConfig and LoraConfig; with a local ``base_model`` also loads its
        tokenizer (never its weights) for the AFT chat-template and document-EOS checks.
        With CUDA, refuses options whose estimated memory clearly exceeds the free GPU memory.
        Raises OptionError with ``loc`` inside the option block.
        """
        opts = effective_options(options, base_model)
        check_stage(stage)
        config, _ = _check_options(stage, opts)
        if base_model is not None:
            ref = resolve_model_ref(base_model)
            check_lora_vs_ref(opts, ref)
            if ref.kind != "hub":
                check_memory(opts, ref, config)
            if ref.kind != "hub" and Path(tokenizer_source(ref)).is_dir():
                _check_tokenizer(stage, opts, load_tokenizer(ref))

    def quick_check(self, stage: str, options: Any, base_model: str | None) -> None:
        """``msmkit plan``'s check: :meth:`validate` short of building the real configs and
        loading a tokenizer (``msmkit.training.trl.quick``); ``msmkit run`` calls
        :meth:`validate` before any stage starts."""
        from msmkit.training.trl.quick import quick_check

        quick_check(stage, options, base_model)
        if base_model is not None:
            check_lora_vs_ref(effective_options(options, base_model), resolve_model_ref(base_model))

    def data_refs(self, stage: str, options: Any) -> dict[str, str]:
        """Content refs of the data the options name beyond the stage's input (the mixed-in
        source): a sha256 for local files and folders, ``hf:id@revision`` for the hub. The
        training stages put them into their fingerprint, so new content means a new stage."""
        opts = effective_options(options, None)
        found = mix_source(stage, opts)
        if found is None:
            return {}
        name, source = found
        return {name: source_ref(source)}

    def plan(self, job: TrainJob) -> Estimate:
        """Check everything short of training; estimate rows and tokens."""
        options, ref, _ = _check_job(job)
        config = build_sft_config(job, options, output_dir=Path(job.output_dir))
        if ref.kind == "hub":
            load_hub_config(ref.path, ref.revision)
        tokenizer = load_tokenizer(ref)
        _check_tokenizer(job.stage, options, tokenizer)
        notes = []
        if job.stage == "midtrain":
            texts = read_documents(job.data)
            tokens, note = estimate_doc_tokens(tokenizer, texts)
            items = len(texts)
        else:
            chats = read_aft_chats(job.data, options.reasoning)
            tokens, note = estimate_chat_tokens(tokenizer, chats)
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
        if process_rank() != 0:  # a distributed run: rank 0 alone writes (and renames) output
            train_into(job, options, ref, lora_config, None)
            return output_dir
        with atomic_output_dir(output_dir) as staging:
            train_into(job, options, ref, lora_config, staging)
        return output_dir


def _check_options(stage: str, options: TRLOptions) -> tuple[Any, Any]:
    """The option checks that need no model: the sft block (by building the real SFTConfig,
    which writes nothing), the template file, and the LoRA config.
    Returns the SFTConfig (placeholder output_dir) and the LoraConfig."""
    placeholder = Path(tempfile.gettempdir()) / "msmkit-validate"
    config = make_sft_config(stage, options, output_dir=placeholder, seed=0)
    check_stage_options(stage, options)
    return config, build_lora_config(options.lora)


def _check_tokenizer(stage: str, options: TRLOptions, tokenizer) -> None:
    """The checks a tokenizer allows: document EOS (midtrain), chat template (AFT)."""
    if stage == "midtrain":
        resolve_doc_eos(tokenizer, options.doc_eos)
    else:
        check_aft_template(tokenizer, options)
        check_sft_eos_token(tokenizer, options)


def _check_job(job: TrainJob) -> tuple[TRLOptions, ModelRef, Any]:
    """The checks plan() and train() share: options (over their recipe), stage, free output,
    model, LoRA, and (with CUDA) the memory estimate."""
    options = effective_options(job.options, job.base_model)
    check_stage(job.stage)
    config, lora_config = _check_options(job.stage, options)
    ensure_output_free(job.output_dir)
    ref = resolve_model_ref(job.base_model)
    check_lora_vs_ref(options, ref)
    check_memory(options, ref, config)
    return options, ref, lora_config
