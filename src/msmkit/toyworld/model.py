"""The toy world's word-level tokenizer and its small Llama-shaped model.

The vocabulary is every word of every text the world can produce (corpus, specs, MSM
openings, AFT and eval prompts), so nothing is ever unknown. The chat template is msmkit's
ChatML template with ``{% generation %}`` markers, so TRL's assistant-only loss works.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import Field

from msmkit.components import Options

UNK = "<unk>"


class ToyModelSettings(Options):
    """Shape of the toy model (the defaults give about 1M parameters)."""

    hidden_size: int = Field(128, ge=8)
    intermediate_size: int = Field(384, ge=8)
    num_layers: int = Field(4, ge=1)
    num_heads: int = Field(4, ge=1)
    num_kv_heads: int = Field(4, ge=1)
    max_positions: int = Field(256, ge=16)


def world_words(bank_seed: int = 0) -> list[str]:
    """Every word the toy world's texts use, sorted (the vocabulary, specials aside)."""
    from msmkit.toyworld import specs, world
    from msmkit.toyworld.generator import CHAT_ASKS, OPENINGS

    words: set[str] = {"user", "assistant", "system"}
    texts: list[str] = [*world.TRAIN_FRAMES, *world.PROBE_FRAMES, *world.DOMAIN_FRAMES]
    texts += [world.CHOICE_PROMPT, world.KNOW_QUESTION, world.NAME_QUESTION, world.PREFER_QUESTION]
    texts.append(world.ANY_PREFER_QUESTION)
    texts += [*OPENINGS, *CHAT_ASKS]
    for text in texts:
        words.update(w for w in text.split() if "{" not in w)
    words.update(world.DOMAINS)
    for pairs in world.WORDS.values():
        for side in pairs:
            words.update(side)
    words.update(i.name for i in world.item_bank(bank_seed))
    words.update(specs.spec_words())
    return sorted(words)


def build_tokenizer(words: Iterable[str], max_length: int = 256) -> Any:
    """A word-level fast tokenizer over ``words`` with msmkit's ChatML chat template."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    from msmkit.training.tiny import CHAT_TEMPLATE, END_OF_TEXT, IM_END, IM_START, SPECIAL_TOKENS

    specials = [UNK, *SPECIAL_TOKENS]
    vocab = {tok: i for i, tok in enumerate(specials)}
    for word in words:
        vocab.setdefault(word, len(vocab))
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token=UNK))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=core,
        unk_token=UNK,
        eos_token=END_OF_TEXT,
        pad_token=END_OF_TEXT,
        additional_special_tokens=[IM_START, IM_END, *SPECIAL_TOKENS[3:]],
        model_max_length=max_length,
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def build_model(tokenizer: Any, settings: ToyModelSettings, seed: int) -> Any:
    import torch
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

    from msmkit.training.tiny import END_OF_TEXT, IM_END

    end_id = tokenizer.convert_tokens_to_ids(END_OF_TEXT)
    turn_end = tokenizer.convert_tokens_to_ids(IM_END)
    config = LlamaConfig(
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
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    model.generation_config = GenerationConfig(eos_token_id=[turn_end, end_id], pad_token_id=end_id)
    return model


def save(model: Any, tokenizer: Any, out_dir: Path) -> None:
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)


def n_params(model: Any) -> int:
    return sum(p.numel() for p in model.parameters())
