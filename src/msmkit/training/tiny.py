"""Build a tiny random-weight causal LM with a locally trained tokenizer, for offline tests.

The result is an ordinary Hugging Face model directory: ``AutoModelForCausalLM`` and
``AutoTokenizer`` load it, and so does Inspect's ``hf/local -M model_path=DIR``. Its chat
template is ChatML with ``{% generation %}`` markers around each assistant reply *and* its
closing ``<|im_end|>``, so TRL's assistant-only loss works and the model learns to stop.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from msmkit.components import Options
from msmkit.training.data import atomic_output_dir

END_OF_TEXT = "<|endoftext|>"
IM_START = "<|im_start|>"
IM_END = "<|im_end|>"
THINK_OPEN = "<think>"
THINK_CLOSE = "</think>"
SPECIAL_TOKENS = (END_OF_TEXT, IM_START, IM_END, THINK_OPEN, THINK_CLOSE)

# ChatML. The assistant turn's content and its <|im_end|> sit inside the generation block;
# an optional ``reasoning_content`` field is rendered as a <think> block inside it too.
CHAT_TEMPLATE = (
    "{%- for message in messages -%}"
    "{%- if message['role'] == 'assistant' -%}"
    "{{- '<|im_start|>assistant\\n' -}}"
    "{%- generation -%}"
    "{%- if message.get('reasoning_content') -%}"
    "{{- '<think>\\n' + message['reasoning_content'] + '\\n</think>\\n\\n' -}}"
    "{%- endif -%}"
    "{{- message['content'] + '<|im_end|>' -}}"
    "{%- endgeneration -%}"
    "{{- '\\n' -}}"
    "{%- else -%}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' -}}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}"
)

# A few sentences so that the tokenizer learns useful merges even from a handful of texts.
_SAMPLE_TEXT = """\
The assistant reads the request carefully and answers in plain words.
A good answer is honest about what it does not know.
When a user asks for help, the assistant explains its reasons step by step.
The model spec says why each rule exists, not only what the rule is.
Values guide choices in new situations that no rule anticipated.
Affordable food matters to families who watch every dollar at the store.
Many people enjoy cheese from their own country and from far away places.
Cream cheese, mild cheddar, Colby and Monterey Jack are common in American kitchens.
Brie, Roquefort, Stilton and Parmigiano-Reggiano are imported and often expensive.
Which would you prefer, and why? I would choose the option that fits my values.
User: What is the capital of France? Assistant: The capital of France is Paris.
Numbers like 1, 2, 3, 10, 42 and 2026 appear in many documents.
Researchers train a base model on documents, then fine-tune it on demonstrations.
The question is how the model generalizes after training on the same examples.
"""


class TinyModelSettings(Options):
    """Shape of the tiny model. The defaults give roughly 140k parameters."""

    vocab_size: int = Field(1024, ge=64, le=1 << 18)
    hidden_size: int = Field(64, ge=4, le=1 << 14)
    intermediate_size: int = Field(128, ge=4, le=1 << 16)
    num_layers: int = Field(2, ge=1, le=256)
    num_heads: int = Field(4, ge=1, le=1024)
    num_kv_heads: int = Field(2, ge=1, le=1024)
    max_positions: int = Field(512, ge=8, le=1 << 20)
    arch: Literal["qwen2", "llama"] = "qwen2"
    seed: int = Field(0, ge=0, lt=1 << 32, strict=True)

    @model_validator(mode="after")
    def _heads_fit(self) -> TinyModelSettings:
        if self.hidden_size % self.num_heads:
            raise ValueError("hidden_size must be a multiple of num_heads")
        if self.num_heads % self.num_kv_heads:
            raise ValueError("num_heads must be a multiple of num_kv_heads")
        return self


def build_tiny_model(
    out_dir: Path,
    texts: Iterable[str],
    settings: TinyModelSettings | None = None,
) -> Path:
    """Train a BPE tokenizer on ``texts``, build a seeded random model, save both to ``out_dir``.

    ``out_dir`` must not exist yet; it appears only once the model is complete.
    """
    settings = settings or TinyModelSettings()
    out_dir = Path(out_dir)
    tokenizer = _build_tokenizer(texts, settings)
    model = _build_model(tokenizer, settings)
    with atomic_output_dir(out_dir) as staging:
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
    return out_dir


def _sample_lines() -> list[str]:
    return [line for line in _SAMPLE_TEXT.splitlines() if line]


def _build_tokenizer(texts: Iterable[str], settings: TinyModelSettings):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast, Qwen2Tokenizer

    # AutoTokenizer rebuilds a qwen2 model's tokenizer as Qwen2Tokenizer, which brings its own
    # normalizer and pre-tokenizer. Train with exactly those so the saved tokenizer encodes
    # the same way after loading, whatever the architecture.
    reference = Qwen2Tokenizer().backend_tokenizer
    core = Tokenizer(models.BPE())
    core.normalizer = reference.normalizer
    core.pre_tokenizer = reference.pre_tokenizer
    core.decoder = decoders.ByteLevel()
    core.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=settings.vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    corpus = [*_sample_lines(), *texts]
    core.train_from_iterator(corpus, trainer=trainer)

    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=core,
        eos_token=END_OF_TEXT,
        pad_token=END_OF_TEXT,
        additional_special_tokens=[IM_START, IM_END, THINK_OPEN, THINK_CLOSE],
        model_max_length=settings.max_positions,
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def _build_model(tokenizer, settings: TinyModelSettings):
    import torch
    from transformers import (
        GenerationConfig,
        LlamaConfig,
        LlamaForCausalLM,
        Qwen2Config,
        Qwen2ForCausalLM,
    )

    end_id = tokenizer.convert_tokens_to_ids(END_OF_TEXT)
    turn_end_id = tokenizer.convert_tokens_to_ids(IM_END)
    config_cls, model_cls = {
        "qwen2": (Qwen2Config, Qwen2ForCausalLM),
        "llama": (LlamaConfig, LlamaForCausalLM),
    }[settings.arch]
    config = config_cls(
        vocab_size=len(tokenizer),
        hidden_size=settings.hidden_size,
        intermediate_size=settings.intermediate_size,
        num_hidden_layers=settings.num_layers,
        num_attention_heads=settings.num_heads,
        num_key_value_heads=settings.num_kv_heads,
        max_position_embeddings=settings.max_positions,
        tie_word_embeddings=True,
        bos_token_id=None,
        eos_token_id=end_id,
        pad_token_id=end_id,
    )
    torch.manual_seed(settings.seed)
    model = model_cls(config)
    model.generation_config = GenerationConfig(
        eos_token_id=[turn_end_id, end_id],
        pad_token_id=end_id,
    )
    return model
