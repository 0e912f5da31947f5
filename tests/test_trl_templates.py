"""Shipped chat templates, family detection, per-family EOS/BOS and reasoning modes (offline)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import PreTrainedTokenizerFast

from msmkit.errors import OptionError
from msmkit.training.trl.options import TRLOptions
from msmkit.training.trl.templates import (
    aft_eos_token,
    detect_family,
    doc_bos_id,
    family_template_name,
    prepare_aft_template,
    resolve_doc_eos,
    shipped_chat_template,
)
from msmkit.training.trl.tokens import read_aft_chats, tokenize_documents

LLAMA_SPECIALS = [
    "<|begin_of_text|>",
    "<|end_of_text|>",
    "<|start_header_id|>",
    "<|end_header_id|>",
    "<|eot_id|>",
]
QWEN25_SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
QWEN3_SPECIALS = [*QWEN25_SPECIALS, "<think>", "</think>"]
TEXT = [
    "The assistant answers honestly and explains its reasons.",
    "Hi there, how are you today? Fine, thanks. Be honest. Why not?",
    "system user assistant ipython tool response the spec says so",
]
CHAT = [
    {"role": "user", "content": "Hi there"},
    {"role": "assistant", "content": "Be honest."},
    {"role": "user", "content": "Why?"},
    {"role": "assistant", "content": "The spec says so."},
]
QWEN_SYSTEM = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."


def make_tokenizer(specials: list[str], eos: str, bos: str | None = None):
    core = Tokenizer(models.BPE())
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    core.train_from_iterator(TEXT * 5, trainer=trainer)
    if bos is not None:  # like Llama 3: the tokenizer itself adds BOS
        core.post_processor = processors.TemplateProcessing(
            single=f"{bos} $A", special_tokens=[(bos, core.token_to_id(bos))]
        )
    else:
        core.post_processor = processors.ByteLevel(trim_offsets=False)
    return PreTrainedTokenizerFast(
        tokenizer_object=core,
        eos_token=eos,
        bos_token=bos,
        pad_token=eos,
        additional_special_tokens=[t for t in specials if t not in (eos, bos)],
    )


@pytest.fixture(scope="module")
def llama():
    return make_tokenizer(LLAMA_SPECIALS, "<|end_of_text|>", bos="<|begin_of_text|>")


@pytest.fixture(scope="module")
def qwen25():
    return make_tokenizer(QWEN25_SPECIALS, "<|im_end|>")  # an instruct tokenizer's eos


@pytest.fixture(scope="module")
def qwen3():
    return make_tokenizer(QWEN3_SPECIALS, "<|endoftext|>")


@pytest.fixture(scope="module")
def plain():
    return make_tokenizer(["<s>", "</s>"], "</s>", bos="<s>")


def fresh(tokenizer, template: str | None = None):
    """A copy whose chat template the test may change."""
    copy = tokenizer.__class__(
        tokenizer_object=tokenizer.backend_tokenizer, **tokenizer.special_tokens_map
    )
    copy.chat_template = template
    return copy


def test_family_detection(llama, qwen25, qwen3, plain):
    assert [detect_family(t) for t in (llama, qwen25, qwen3, plain)] == [
        "llama3",
        "chatml",
        "chatml",
        "unknown",
    ]
    assert [family_template_name(t) for t in (llama, qwen25, qwen3, plain)] == [
        "llama3",
        "qwen2.5",
        "qwen3",
        None,
    ]


EXPECTED = {
    "llama3": (
        "<|begin_of_text|>"
        "<|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\nBe honest.<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\nWhy?<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\nThe spec says so.<|eot_id|>"
    ),
    "qwen2.5": (
        f"<|im_start|>system\n{QWEN_SYSTEM}<|im_end|>\n"
        "<|im_start|>user\nHi there<|im_end|>\n"
        "<|im_start|>assistant\nBe honest.<|im_end|>\n"
        "<|im_start|>user\nWhy?<|im_end|>\n"
        "<|im_start|>assistant\nThe spec says so.<|im_end|>\n"
    ),
    "qwen3": (
        "<|im_start|>user\nHi there<|im_end|>\n"
        "<|im_start|>assistant\n<think>\n\n</think>\n\nBe honest.<|im_end|>\n"
        "<|im_start|>user\nWhy?<|im_end|>\n"
        "<|im_start|>assistant\n<think>\n\n</think>\n\nThe spec says so.<|im_end|>\n"
    ),
}
TRAINED = {
    "llama3": ["Be honest.<|eot_id|>", "The spec says so.<|eot_id|>"],
    "qwen2.5": ["Be honest.<|im_end|>", "The spec says so.<|im_end|>"],
    "qwen3": [
        "<think>\n\n</think>\n\nBe honest.<|im_end|>",
        "<think>\n\n</think>\n\nThe spec says so.<|im_end|>",
    ],
}


def masked_spans(tokenizer, chat) -> list[str]:
    """The decoded runs of tokens that assistant-only loss trains on."""
    out = tokenizer.apply_chat_template(
        chat, tokenize=True, return_dict=True, return_assistant_tokens_mask=True
    )
    spans, run = [], []
    for token, keep in zip(out["input_ids"], out["assistant_masks"], strict=True):
        if keep:
            run.append(token)
        elif run:
            spans.append(run)
            run = []
    if run:
        spans.append(run)
    return [tokenizer.decode(ids) for ids in spans]


@pytest.mark.parametrize(
    "name,fixture", [("llama3", "llama"), ("qwen2.5", "qwen25"), ("qwen3", "qwen3")]
)
def test_shipped_templates_render_and_mask(name, fixture, request):
    tokenizer = fresh(request.getfixturevalue(fixture), shipped_chat_template(name))
    assert tokenizer.apply_chat_template(CHAT, tokenize=False) == EXPECTED[name]
    assert masked_spans(tokenizer, CHAT) == TRAINED[name]
    prompt = tokenizer.apply_chat_template(CHAT[:1], tokenize=False, add_generation_prompt=True)
    assert prompt.endswith(
        "assistant<|end_header_id|>\n\n" if name == "llama3" else "<|im_start|>assistant\n"
    )


@pytest.mark.parametrize(
    "fixture,expected",
    [("llama", "msmkit llama3"), ("qwen25", "msmkit qwen2.5"), ("qwen3", "msmkit qwen3")],
)
def test_auto_installs_family_template_and_passes_checks(fixture, expected, request):
    tokenizer = fresh(request.getfixturevalue(fixture))  # no template, like Llama-3.1 base
    template, source = prepare_aft_template(tokenizer, TRLOptions())
    assert (template, source) == (None, expected)
    assert "{% generation" in tokenizer.chat_template or "{%- generation" in tokenizer.chat_template


def test_auto_keeps_a_template_with_markers_and_keep_keeps(qwen25):
    own = (
        "{% for m in messages %}{% generation %}{{ m['content'] + '<|im_end|>' }}"
        "{% endgeneration %}{% endfor %}"
    )
    tokenizer = fresh(qwen25, own)
    assert prepare_aft_template(tokenizer, TRLOptions())[1] == "model's own"
    assert tokenizer.chat_template == own
    bare = fresh(qwen25, "{% for m in messages %}{{ m['content'] }}{% endfor %}")
    with pytest.raises(OptionError, match="no \\{% generation %\\} markers"):
        prepare_aft_template(bare, TRLOptions(chat_template="keep"))


def test_unknown_family_and_override_file(plain, qwen25, tmp_path):
    with pytest.raises(OptionError, match="no chat template"):
        prepare_aft_template(fresh(plain), TRLOptions())
    file = tmp_path / "t.jinja"
    file.write_text(shipped_chat_template("qwen3"))
    tokenizer = fresh(qwen25)
    options = TRLOptions(chat_template="llama3", sft={"chat_template_path": str(file)})
    assert prepare_aft_template(tokenizer, options)[1] == f"file {file}"
    assert tokenizer.chat_template == shipped_chat_template("qwen3")


def test_aft_end_of_turn_per_family(llama, qwen25, plain):
    assert aft_eos_token("aft", TRLOptions(), llama) == "<|eot_id|>"
    assert aft_eos_token("aft", TRLOptions(), qwen25) == "<|im_end|>"
    assert aft_eos_token("aft", TRLOptions(), plain) is None
    assert aft_eos_token("midtrain", TRLOptions(), llama) is None


def test_document_eos_and_bos_per_family(llama, qwen25, qwen3, plain):
    assert resolve_doc_eos(llama, None) == "<|end_of_text|>"
    assert resolve_doc_eos(qwen25, None) == "<|endoftext|>"  # not its <|im_end|> eos
    assert resolve_doc_eos(qwen3, None) == "<|endoftext|>"
    assert resolve_doc_eos(llama, "<|eot_id|>") == "<|eot_id|>"  # the user's override wins
    assert resolve_doc_eos(plain, None) == "</s>"
    ids = tokenize_documents(llama, ["Be honest."], resolve_doc_eos(llama, None))[0]
    assert llama.convert_ids_to_tokens([ids[0], ids[-1]]) == [
        "<|begin_of_text|>",
        "<|end_of_text|>",
    ]
    assert ids.count(llama.convert_tokens_to_ids("<|begin_of_text|>")) == 1
    ids = tokenize_documents(qwen25, ["Be honest."], resolve_doc_eos(qwen25, None))[0]
    assert doc_bos_id(qwen25) is None
    assert qwen25.decode(ids) == "Be honest.<|endoftext|>"
    assert doc_bos_id(plain) == plain.convert_tokens_to_ids("<s>")


def write_reasoning_chat(path: Path) -> Path:
    row = {
        "messages": [
            {"role": "user", "content": "Hi there"},
            {"role": "assistant", "content": "Be honest.", "reasoning": "The spec says so."},
        ]
    }
    path.write_text(json.dumps(row) + "\n")
    return path


def test_reasoning_modes(tmp_path, qwen3, qwen25):
    data = write_reasoning_chat(tmp_path / "c.jsonl")
    inline = read_aft_chats(data, "inline")[0][1]
    assert inline == {
        "role": "assistant",
        "content": "<think>\nThe spec says so.\n</think>\n\nBe honest.",
    }
    assert read_aft_chats(data, "drop")[0][1] == {"role": "assistant", "content": "Be honest."}
    field = read_aft_chats(data, "field")[0][1]
    assert field == {
        "role": "assistant",
        "content": "Be honest.",
        "reasoning_content": "The spec says so.",
    }
    trained = "<think>\nThe spec says so.\n</think>\n\nBe honest.<|im_end|>"
    for mode in ("inline", "field"):  # the Qwen3 template trains the same tokens either way
        tokenizer = fresh(qwen3, shipped_chat_template("qwen3"))
        prepare_aft_template(tokenizer, TRLOptions(reasoning=mode))
        assert masked_spans(tokenizer, read_aft_chats(data, mode)[0]) == [trained]
    tokenizer = fresh(qwen3, shipped_chat_template("qwen3"))
    assert masked_spans(tokenizer, read_aft_chats(data, "drop")[0]) == [
        "<think>\n\n</think>\n\nBe honest.<|im_end|>"
    ]
    tokenizer = fresh(qwen25, shipped_chat_template("qwen2.5"))
    assert masked_spans(tokenizer, read_aft_chats(data, "drop")[0]) == ["Be honest.<|im_end|>"]


def test_field_reasoning_needs_a_template_that_reads_it(qwen25):
    own = (
        "{% for m in messages %}{% if m['role'] == 'assistant' %}{% generation %}"
        "{{ m['content'] + '<|im_end|>' }}{% endgeneration %}{% else %}{{ m['content'] }}"
        "{% endif %}{% endfor %}"
    )
    with pytest.raises(OptionError, match="reasoning_content") as info:
        prepare_aft_template(fresh(qwen25, own), TRLOptions(reasoning="field"))
    assert info.value.loc == ("reasoning",)
