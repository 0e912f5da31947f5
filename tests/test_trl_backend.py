"""The ``trl`` training backend on the tiny offline model: packing keeps every token, AFT
teaches (and stops at) the demonstrated answers, LoRA outputs load, bad inputs fail early."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

import pytest
from fixtures_models import (
    CHEESE_DEMOS,
    greedy_reply,
    make_documents,
    state_dict_of,
    write_chats,
    write_corpus,
)

from msmkit.components import TrainingBackend, TrainJob
from msmkit.errors import ConfigError, ModelPathError, RunError
from msmkit.training import MANIFEST_NAME, TRLBackend, TRLOptions, build_tiny_model
from msmkit.training.data import read_chats
from msmkit.training.trl import (
    ModelRef,
    check_counts,
    load_tokenizer,
    resolve_doc_eos,
    tokenize_documents,
)

MAX_LENGTH = 64
FAST = {"max_length": MAX_LENGTH, "max_steps": 4, "per_device_train_batch_size": 4}


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    return tmp_path_factory.mktemp("trl")


@pytest.fixture(scope="module")
def docs():
    return make_documents(24, min_words=5, max_words=300)


@pytest.fixture(scope="module")
def base(work, docs):
    texts = docs + [q + " " + a for q, a in CHEESE_DEMOS]
    return build_tiny_model(work / "base", texts)


@pytest.fixture(scope="module")
def corpus(work, docs):
    return write_corpus(work / "corpus.jsonl", docs)


@pytest.fixture(scope="module")
def chats(work):
    return write_chats(work / "chats.jsonl")


@pytest.fixture(scope="module")
def aft_model(work, base, chats):
    """Full fine-tune, 100 steps at lr 1e-3 on four cheese demonstrations."""
    sft = {"max_length": MAX_LENGTH, "max_steps": 100, "per_device_train_batch_size": 4}
    sft |= {"learning_rate": 1e-3, "warmup_steps": 0}
    job = TrainJob("aft", str(base), chats, work / "aft", TRLOptions(sft=sft), seed=0)
    return TRLBackend().train(job)


def job(stage, base_model, data, out, **options) -> TrainJob:
    options.setdefault("sft", FAST)
    return TrainJob(stage, str(base_model), data, out, TRLOptions(**options))


def manifest(path):
    return json.loads((path / MANIFEST_NAME).read_text())


def leftovers(folder):
    return [p.name for p in folder.iterdir() if p.name.startswith(".")]


# -- contract and cheap import -----------------------------------------------------------------


def test_backend_contract():
    backend = TRLBackend()
    assert isinstance(backend, TrainingBackend)
    assert backend.name == "trl"
    assert backend.requires == ("torch", "transformers", "trl", "peft", "datasets")
    assert backend.Options is TRLOptions
    schema = TRLOptions.model_json_schema()
    assert schema["properties"]["packing_strategy"]["enum"] == ["bfd_split", "wrapped"]


def test_importing_the_backend_pulls_no_heavy_library():
    code = (
        "import sys, msmkit.training, msmkit.training.trl, msmkit.default_plugins.backends;"
        "import msmkit.training.trl.train, msmkit.training.trl.fields;"
        "heavy = {'torch','transformers','trl','peft','datasets','inspect_ai'} & set(sys.modules);"
        "print(sorted(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_options_forbid_unknown_keys_and_bfd():
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        TRLOptions(lr=1e-4)
    with pytest.raises(ValidationError):
        TRLOptions(packing_strategy="bfd")


# -- midtraining -------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("strategy", ["bfd_split", "wrapped"])
def test_midtrain_keeps_every_token_and_changes_weights(work, base, corpus, docs, strategy):
    out = work / f"mid-{strategy}"
    calls = []
    the_job = job("midtrain", base, corpus, out, packing_strategy=strategy)
    the_job.progress = lambda step, total: calls.append((step, total))
    estimate = TRLBackend().plan(the_job)
    assert TRLBackend().train(the_job) == out

    tokenizer = load_tokenizer(ModelRef("local", str(base)))
    lengths = [len(ids) for ids in tokenize_documents(tokenizer, docs, "<|endoftext|>")]
    assert max(lengths) > 3 * MAX_LENGTH  # some documents span several blocks

    info = manifest(out)
    before, after = info["tokens"]["before"], info["tokens"]["after"]
    assert before["tokens"] == before["trainable_tokens"] == sum(lengths) == estimate.tokens
    assert after["tokens"] == after["trainable_tokens"] == sum(lengths)  # nothing dropped
    assert after["rows"] >= sum(lengths) // MAX_LENGTH
    assert estimate.items == before["rows"] == len(docs)
    assert info["stage"] == "midtrain" and info["output"] == "full"
    assert info["packing_strategy"] == strategy and info["doc_eos"] == "<|endoftext|>"
    assert info["steps"] == 4 and info["train_loss"] > 0
    assert set(info["versions"]) >= {"torch", "transformers", "trl", "peft"}
    assert calls[0] == (0, 4) and calls[-1] == (4, 4)

    old, new = state_dict_of(base), state_dict_of(out)
    assert old.keys() == new.keys()
    assert any(not (old[k] == new[k]).all() for k in old)
    assert leftovers(work) == []


def test_document_end_token_policy(base):
    tokenizer = load_tokenizer(ModelRef("local", str(base)))
    assert resolve_doc_eos(tokenizer, None) == "<|endoftext|>"
    tokenizer.eos_token = "<|im_end|>"  # like a chat model's tokenizer
    assert resolve_doc_eos(tokenizer, None) == "<|endoftext|>"
    assert resolve_doc_eos(tokenizer, "<|im_end|>") == "<|im_end|>"
    with pytest.raises(ConfigError, match="not a token"):
        resolve_doc_eos(tokenizer, "<eos>")
    ids = tokenize_documents(tokenizer, ["brie", ""], "<|endoftext|>")
    end = tokenizer.convert_tokens_to_ids("<|endoftext|>")
    assert ids[0][-1] == end and ids[1] == [end]  # no BOS: this tokenizer has none


def test_a_packing_loss_is_an_error_not_a_warning():
    the_job = TrainJob("midtrain", "m", "d", "o", None)
    with pytest.raises(RunError, match="dropped 5 of 100"):
        check_counts(the_job, {"trainable_before": 100, "rows": 3}, {"trainable_tokens": 95})


# -- AFT ---------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(("question", "answer"), CHEESE_DEMOS)
def test_aft_reproduces_trained_answer_and_stops(aft_model, question, answer):
    reply, n_new = greedy_reply(aft_model, question, max_new_tokens=30)
    assert reply == answer + "<|im_end|>"
    assert n_new < 30


@pytest.mark.slow
def test_aft_manifest_and_stop_token(aft_model, chats):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    info = manifest(aft_model)
    before = info["tokens"]["before"]
    assert 0 < before["trainable_tokens"] < before["tokens"]  # only assistant tokens train
    assert info["tokens"]["after"]["trainable_tokens"] == before["trainable_tokens"]
    assert info["steps"] == 100 and info["chat_template"] == "model's own"
    tokenizer = AutoTokenizer.from_pretrained(aft_model)
    model = AutoModelForCausalLM.from_pretrained(aft_model)
    assert tokenizer.eos_token == "<|im_end|>"
    assert tokenizer.convert_tokens_to_ids("<|im_end|>") in model.generation_config.eos_token_id
    assert tokenizer.chat_template is not None


def test_reasoning_is_inlined_or_dropped(tmp_path):
    data = write_chats(tmp_path / "c.jsonl", CHEESE_DEMOS[:1], reasoning="Price first.")
    inline = read_chats(data)[0][1]["content"]
    assert inline == "<think>\nPrice first.\n</think>\n\n" + CHEESE_DEMOS[0][1]
    assert read_chats(data, reasoning="drop")[0][1]["content"] == CHEESE_DEMOS[0][1]


@pytest.mark.slow
def test_aft_truncation_is_reported(work, base, chats):
    sft = {**FAST, "max_length": 20, "max_steps": 1}
    with pytest.warns(UserWarning, match="assistant tokens are cut by max_length"):
        out = TRLBackend().train(job("aft", base, chats, work / "aft-cut", sft=sft))
    tokens = manifest(out)["tokens"]
    assert 0 < tokens["after"]["trainable_tokens"] < tokens["before"]["trainable_tokens"]


def test_aft_with_nothing_left_to_train_fails_before_training(tmp_path, base, chats):
    sft = {**FAST, "max_length": 6}
    with pytest.raises(ConfigError, match="every chat loses all its assistant tokens"):
        TRLBackend().train(job("aft", base, chats, tmp_path / "out", sft=sft))
    assert list(tmp_path.iterdir()) == []


# -- LoRA --------------------------------------------------------------------------------------


@pytest.mark.slow
def test_lora_merge_writes_a_loadable_full_model(work, base, corpus):
    out = work / "lora-merged"
    TRLBackend().train(
        job(
            "midtrain",
            base,
            corpus,
            out,
            lora={"r": 4, "lora_alpha": 8},
            sft={**FAST, "learning_rate": 1e-2},
        )
    )
    assert (out / "config.json").is_file() and not (out / "adapter_config.json").exists()
    assert manifest(out)["output"] == "merged"
    old, new = state_dict_of(base), state_dict_of(out)
    assert old.keys() == new.keys()  # plain model, no lora_ tensors left
    assert any(not (old[k] == new[k]).all() for k in old)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:.*is_gradient_checkpointing:FutureWarning")
def test_lora_adapter_output_and_continuing_it(work, base, chats):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    adapter = work / "adapter"
    TRLBackend().train(job("aft", base, chats, adapter, lora={"r": 4}, merge=False))
    assert (adapter / "adapter_config.json").is_file()
    assert (adapter / "adapter_model.safetensors").is_file()
    assert not (adapter / "config.json").exists()
    assert manifest(adapter)["output"] == "adapter"
    PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base), adapter)

    with pytest.raises(ConfigError, match="cannot be stacked"):
        TRLBackend().plan(job("aft", adapter, chats, work / "x", lora={"r": 4}))
    merged = TRLBackend().train(job("aft", adapter, chats, work / "continued"))
    assert manifest(merged)["base_model_kind"] == "adapter"
    assert manifest(merged)["output"] == "merged"
    AutoModelForCausalLM.from_pretrained(merged)


# -- bad inputs --------------------------------------------------------------------------------


def test_missing_model_path(tmp_path, corpus):
    for missing in (tmp_path / "nope", "./models/nope", "/abs/a/b/c"):
        the_job = job("midtrain", missing, corpus, tmp_path / "out")
        with pytest.raises(ModelPathError):
            TRLBackend().plan(the_job)
        with pytest.raises(ModelPathError):
            TRLBackend().train(the_job)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelPathError, match=r"no config\.json"):
        TRLBackend().plan(job("midtrain", tmp_path / "empty", corpus, tmp_path / "out"))
    assert not (tmp_path / "out").exists()


def test_unreachable_hub_id_is_a_model_path_error(tmp_path, corpus, monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(ModelPathError, match="could not be loaded from the hub"):
        TRLBackend().plan(job("midtrain", "no-such-org/no-such-model", corpus, tmp_path / "o"))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"sft": {"learnin_rate": 1e-4}}, "learnin_rate"),
        ({"sft": {"packing_strategy": "bfd"}}, "packing_strategy"),
        ({"sft": {"output_dir": "/tmp/x"}}, "output_dir"),
        ({"sft": {"max_length": None}}, "max_length"),
        ({"sft": {"lr_scheduler_type": "zigzag"}}, "lr_scheduler_type"),
        ({"sft": {"load_best_model_at_end": True, "eval_strategy": "steps"}}, "invalid sft"),
        ({"lora": {"rank": 8}}, "rank"),
        ({"lora": {"target_modules": ["q_proj", "lm_head"]}}, "lm_head"),
    ],
)
def test_bad_options_are_config_errors_naming_the_key(tmp_path, base, corpus, options, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        TRLBackend().plan(job("midtrain", base, corpus, tmp_path / "out", **options))


def test_unknown_sft_key_suggests_the_real_one(tmp_path, base, corpus):
    with pytest.raises(ConfigError) as info:
        TRLBackend().plan(job("midtrain", base, corpus, tmp_path / "o", sft={"learnin_rate": 1}))
    assert "learning_rate" in info.value.hint


def _with_template(base, target, template):
    shutil.copytree(base, target)
    path = target / "chat_template.jinja"
    if template is None:
        path.unlink()
    else:
        path.write_text(template)
    return target


@pytest.mark.parametrize(
    ("template", "message"),
    [
        (None, "no chat template"),
        (
            "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n"
            "{% endfor %}",
            "no {% generation %} markers",
        ),
        (
            "{% for m in messages %}<|im_start|>{{ m.role }}\n"
            "{% if m.role == 'assistant' %}{% generation %}{{ m.content }}{% endgeneration %}"
            "{% else %}{{ m.content }}{% endif %}<|im_end|>\n{% endfor %}",
            "never learn to stop",
        ),
    ],
)
def test_aft_needs_a_training_chat_template(tmp_path, base, chats, template, message):
    model_dir = _with_template(base, tmp_path / "model", template)
    # "keep": the model's own template, checked as it is (auto would ship a ChatML one)
    the_job = job("aft", model_dir, chats, tmp_path / "out", chat_template="keep")
    with pytest.raises(ConfigError, match=re.escape(message)):
        TRLBackend().plan(the_job)
    with pytest.raises(ConfigError, match=re.escape(message)):
        TRLBackend().train(the_job)
    assert not (tmp_path / "out").exists() and leftovers(tmp_path) == []


def test_a_jinja_template_file_can_supply_the_chat_template(tmp_path, base, chats):
    from msmkit.training.tiny import CHAT_TEMPLATE

    model_dir = _with_template(base, tmp_path / "model", None)
    template = tmp_path / "chatml.jinja"
    template.write_text(CHAT_TEMPLATE)
    sft = {**FAST, "chat_template_path": str(template)}
    estimate = TRLBackend().plan(job("aft", model_dir, chats, tmp_path / "out", sft=sft))
    assert estimate.items == len(CHEESE_DEMOS) and estimate.tokens > 0


@pytest.mark.parametrize(
    ("stage", "rows", "message"),
    [
        ("midtrain", [{"content": "no text field"}], "'text' field"),
        ("aft", [{"messages": [{"role": "user", "content": "hi"}]}], "no assistant message"),
        ("aft", [{"messages": [{"role": "bot", "content": "hi"}]}], "role 'bot'"),
        ("aft", [{"text": "a document"}], "'messages' must be"),
    ],
)
def test_malformed_data_is_a_config_error(tmp_path, base, stage, rows, message):
    data = tmp_path / "data.jsonl"
    data.write_text("".join(json.dumps(row) + "\n" for row in rows))
    with pytest.raises(ConfigError, match=re.escape(message)):
        TRLBackend().plan(job(stage, base, data, tmp_path / "out"))


def test_missing_data_file(tmp_path, base):
    with pytest.raises(ConfigError, match="data file not found"):
        TRLBackend().plan(job("midtrain", base, tmp_path / "none.jsonl", tmp_path / "out"))


# -- atomic output -----------------------------------------------------------------------------


def test_existing_output_dir_is_never_overwritten(tmp_path, base, corpus):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("earlier work")
    the_job = job("midtrain", base, corpus, out)
    with pytest.raises(RunError, match="already exists"):
        TRLBackend().plan(the_job)
    with pytest.raises(RunError, match="already exists"):
        TRLBackend().train(the_job)
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


@pytest.mark.slow
def test_interrupted_training_leaves_no_output(tmp_path, base, corpus):
    def interrupt(step, total):
        if step == 2:
            raise KeyboardInterrupt

    the_job = job("midtrain", base, corpus, tmp_path / "out")
    the_job.progress = interrupt
    with pytest.raises(KeyboardInterrupt):
        TRLBackend().train(the_job)
    assert list(tmp_path.iterdir()) == []
