"""The tiny offline model: it loads through the ordinary from_pretrained path and its chat
template supports TRL's assistant-only loss."""

from __future__ import annotations

import pytest
from fixtures_models import make_documents

from msmkit.errors import RunError
from msmkit.training.tiny import (
    CHAT_TEMPLATE,
    END_OF_TEXT,
    IM_END,
    SPECIAL_TOKENS,
    TinyModelSettings,
    build_tiny_model,
)

CHAT = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Do you like Colby?"},
    {"role": "assistant", "content": "Yes, it is cheap."},
]


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "model", make_documents(8))


@pytest.fixture(scope="module")
def loaded(tiny_dir):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    return AutoModelForCausalLM.from_pretrained(tiny_dir), AutoTokenizer.from_pretrained(tiny_dir)


def test_round_trip_with_from_pretrained(tiny_dir, loaded):
    model, tokenizer = loaded
    assert (tiny_dir / "config.json").is_file()
    assert type(model).__name__ == "Qwen2ForCausalLM"
    assert sum(p.numel() for p in model.parameters()) < 1_000_000
    assert model.config.vocab_size == len(tokenizer)
    special_ids = {tokenizer.convert_tokens_to_ids(token) for token in SPECIAL_TOKENS}
    assert len(special_ids) == len(SPECIAL_TOKENS)
    for token in SPECIAL_TOKENS:
        assert token in tokenizer.get_vocab()
        assert len(tokenizer(token, add_special_tokens=False)["input_ids"]) == 1
    assert tokenizer.eos_token == END_OF_TEXT
    assert tokenizer.bos_token is None
    end, turn_end = (tokenizer.convert_tokens_to_ids(t) for t in (END_OF_TEXT, IM_END))
    assert model.generation_config.eos_token_id == [turn_end, end]


def test_tokenizer_round_trips_text(loaded):
    _, tokenizer = loaded
    text = "Roquefort costs 12 dollars.\n\nÉpoisses too!  <|im_start|>user"
    ids = tokenizer(text)["input_ids"]
    assert tokenizer.decode(ids) == text
    assert tokenizer.convert_tokens_to_ids("<|im_start|>") in ids


def test_chat_template_marks_assistant_reply_and_end_of_turn(loaded):
    from trl.chat_template_utils import has_generation_markers, is_chat_template_stop_token_trained

    _, tokenizer = loaded
    assert tokenizer.chat_template == CHAT_TEMPLATE
    assert has_generation_markers(tokenizer.chat_template)
    assert is_chat_template_stop_token_trained(tokenizer)
    text = tokenizer.apply_chat_template(CHAT, tokenize=False)
    assert text == (
        "<|im_start|>system\nBe brief.<|im_end|>\n"
        "<|im_start|>user\nDo you like Colby?<|im_end|>\n"
        "<|im_start|>assistant\nYes, it is cheap.<|im_end|>\n"
    )
    out = tokenizer.apply_chat_template(
        CHAT, tokenize=True, return_dict=True, return_assistant_tokens_mask=True
    )
    masked = [t for t, m in zip(out["input_ids"], out["assistant_masks"], strict=True) if m]
    assert tokenizer.decode(masked) == "Yes, it is cheap.<|im_end|>"


def test_chat_template_generation_prompt_and_reasoning(loaded):
    _, tokenizer = loaded
    prompt = tokenizer.apply_chat_template(CHAT[:2], tokenize=False, add_generation_prompt=True)
    assert prompt.endswith(
        "<|im_start|>user\nDo you like Colby?<|im_end|>\n<|im_start|>assistant\n"
    )
    with_thought = [*CHAT[:2], {**CHAT[2], "reasoning_content": "Price first."}]
    text = tokenizer.apply_chat_template(with_thought, tokenize=False)
    assert text.endswith(
        "assistant\n<think>\nPrice first.\n</think>\n\nYes, it is cheap.<|im_end|>\n"
    )


def test_generate_runs_and_honours_max_new_tokens(loaded):
    model, tokenizer = loaded
    inputs = tokenizer.apply_chat_template(
        CHAT[:2], add_generation_prompt=True, return_tensors="pt", return_dict=True
    )
    output = model.generate(**inputs, max_new_tokens=5, do_sample=False)
    assert 1 <= output.shape[1] - inputs["input_ids"].shape[1] <= 5


def test_same_seed_same_weights_other_seed_differs(tmp_path):
    import torch
    from transformers import AutoModelForCausalLM

    texts = make_documents(4)
    dirs = [
        build_tiny_model(tmp_path / name, texts, TinyModelSettings(seed=seed))
        for name, seed in (("a", 1), ("b", 1), ("c", 2))
    ]
    a, b, c = (AutoModelForCausalLM.from_pretrained(d).state_dict() for d in dirs)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)


def test_llama_arch_and_no_texts(tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out = build_tiny_model(tmp_path / "llama", [], TinyModelSettings(arch="llama", num_layers=1))
    model = AutoModelForCausalLM.from_pretrained(out)
    tokenizer = AutoTokenizer.from_pretrained(out)
    assert type(model).__name__ == "LlamaForCausalLM"
    assert model.config.num_hidden_layers == 1
    assert tokenizer.decode(tokenizer("Stilton and Brie")["input_ids"]) == "Stilton and Brie"


def test_existing_output_is_never_overwritten(tmp_path):
    target = tmp_path / "model"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    with pytest.raises(RunError, match="already exists"):
        build_tiny_model(target, ["a b c"])
    assert (target / "keep.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]  # no staging left behind


def test_settings_forbid_unknown_keys():
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        TinyModelSettings(hidden=32)
