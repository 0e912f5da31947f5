"""What midtraining and AFT train on: packed documents stay apart (each document's loss in a
packed batch equals its loss alone), a masked document prefix, mixed-in datasets at a ratio,
and corpus sources beyond msmkit JSONL (local dataset files and save_to_disk folders)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from fixtures_models import make_documents, write_chats, write_corpus

from msmkit.components import TrainJob
from msmkit.errors import ConfigError, OptionError
from msmkit.training import MANIFEST_NAME, TRLBackend, TRLOptions, build_tiny_model
from msmkit.training.sources import DataSource, as_source, source_ref, write_source
from msmkit.training.trl.checkpoints import job_fingerprint
from msmkit.training.trl.mixing import mix_target
from msmkit.training.trl.models import load_tokenizer, resolve_model_ref
from msmkit.training.trl.tokens import build_dataset

SFT = {"max_length": 128, "max_steps": 2, "per_device_train_batch_size": 4}


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("data")


@pytest.fixture(scope="module")
def docs() -> list[str]:
    return make_documents(16, min_words=5, max_words=40)


@pytest.fixture(scope="module")
def base(work: Path, docs: list[str]) -> Path:
    return build_tiny_model(work / "base", [*docs, "DOCTAG wiki page"])


@pytest.fixture(scope="module")
def corpus(work: Path, docs: list[str]) -> Path:
    return write_corpus(work / "corpus.jsonl", docs)


@pytest.fixture(scope="module")
def tokenizer(base: Path):
    return load_tokenizer(resolve_model_ref(str(base)))


def job(stage: str, base: Path, data: Path, out: Path, **options) -> TrainJob:
    options.setdefault("sft", SFT)
    return TrainJob(stage, str(base), data, out, TRLOptions(**options), seed=5)


# -- packed documents stay apart --------------------------------------------------------------


def _segment_losses(model, batch, starts: list[int] | None = None) -> list[float]:
    """Summed next-token loss of each document in a padding-free packed batch (documents
    start where ``position_ids`` restart, or at ``starts``)."""
    import torch

    inputs = {k: v for k, v in batch.items() if k != "labels"}
    with torch.no_grad():
        logits = model(**inputs, use_cache=False).logits[0].float()
    labels = batch["labels"][0]
    token_loss = torch.nn.functional.cross_entropy(
        logits[:-1], labels[1:].clamp(min=0), reduction="none"
    ) * (labels[1:] != -100)
    if starts is None:
        starts = (batch["position_ids"][0] == 0).nonzero().flatten().tolist()
    ends = [*starts[1:], len(labels)]
    return [float(token_loss[s : e - 1].sum()) for s, e in zip(starts, ends, strict=True)]


def _alone_loss(model, ids: list[int]) -> float:
    import torch

    with torch.no_grad():
        logits = model(input_ids=torch.tensor([ids]), use_cache=False).logits[0].float()
    targets = torch.tensor(ids[1:])
    return float(torch.nn.functional.cross_entropy(logits[:-1], targets, reduction="sum"))


@pytest.mark.slow
def test_each_documents_loss_packed_equals_its_loss_alone(work, base, corpus, tokenizer):
    """Inside the backend's own trainer: its collator, attention implementation and model."""
    import torch

    from msmkit.training.trl.attention import resolve_attention
    from msmkit.training.trl.configs import build_sft_config
    from msmkit.training.trl.models import load_model
    from msmkit.training.trl.train import make_trainer

    j = job("midtrain", base, corpus, work / "packed")
    options = j.options
    config = build_sft_config(j, options, output_dir=work / "packed.ckpt")
    dataset, _ = build_dataset(j, options, tokenizer)
    attn = resolve_attention(options.attn_implementation)
    assert attn == "sdpa"  # CPU: no FlashAttention here
    model = load_model(resolve_model_ref(str(base)), {"attn_implementation": attn})
    trainer = make_trainer(j, model, config, dataset, tokenizer, None)
    batch = next(iter(trainer.get_train_dataloader()))
    assert batch["input_ids"].shape[0] == 1  # padding-free: one flattened row
    model.eval()
    packed = _segment_losses(model, batch)
    ids = batch["input_ids"][0].tolist()
    starts = (batch["position_ids"][0] == 0).nonzero().flatten().tolist()
    ends = [*starts[1:], len(ids)]
    assert len(starts) >= 3
    alone = [_alone_loss(model, ids[s:e]) for s, e in zip(starts, ends, strict=True)]
    for p, a in zip(packed, alone, strict=True):
        assert p == pytest.approx(a, rel=1e-4, abs=1e-4)

    # the same packed row without the restarts lets documents see each other: a real check
    leaky = dict(batch, position_ids=torch.arange(len(ids))[None])
    leaked = _segment_losses(model, leaky, starts)
    assert max(abs(x - y) for x, y in zip(leaked[1:], alone[1:], strict=True)) > 1e-3

    # and the trainer's own loss is the mean over the same labels
    loss = trainer.compute_loss(model, dict(batch))
    n = int((batch["labels"][0][1:] != -100).sum())
    assert float(loss) == pytest.approx(sum(packed) / n, rel=1e-4)


def test_attention_and_kernel_options_are_checked_at_plan_time():
    backend = TRLBackend()
    with pytest.raises(OptionError, match="flash_attn") as info:
        backend.validate("midtrain", TRLOptions(attn_implementation="flash_attention_2"), None)
    assert info.value.loc == ("attn_implementation",)
    with pytest.raises(OptionError, match="chosen by msmkit"):
        sft = {"model_init_kwargs": {"attn_implementation": "eager"}}
        backend.validate("midtrain", TRLOptions(sft=sft), None)
    with pytest.raises(OptionError, match="liger-kernel") as info:
        backend.validate("aft", TRLOptions(sft={"use_liger_kernel": True}), None)
    assert info.value.loc == ("sft", "use_liger_kernel")
    with pytest.raises(ValueError):
        TRLOptions(attn_implementation="flex")


# -- masked document prefix ---------------------------------------------------------------------


def test_doc_prefix_is_masked_on_its_exact_positions(work, base, corpus, tokenizer, docs):
    j = job("midtrain", base, corpus, work / "unused", doc_prefix="DOCTAG ")
    dataset, info = build_dataset(j, j.options, tokenizer)
    prefix = tokenizer("DOCTAG ", add_special_tokens=False)["input_ids"]
    body = tokenizer(docs[0], add_special_tokens=False)["input_ids"]
    row = dataset[0]
    start = 0 if tokenizer.bos_token_id is None else 1
    k = len(prefix)
    assert row["input_ids"][start : start + k] == prefix
    assert row["labels"][start : start + k] == [-100] * k
    assert row["input_ids"][start + k : start + k + len(body)] == body
    assert row["labels"][start + k :] == row["input_ids"][start + k :]  # body and EOS trained
    assert info["doc_prefix"] == {"text": "DOCTAG ", "tokens": k}
    assert info["trainable_before"] == info["tokens_before"] - k * len(docs)


@pytest.mark.slow
def test_doc_prefix_survives_packing_and_lora_trains_with_checkpointing(work, base, corpus):
    sft = {**SFT, "activation_checkpointing": True}  # gradient checkpointing, transformers 5
    out = TRLBackend().train(
        job("midtrain", base, corpus, work / "prefix", doc_prefix="DOCTAG ", sft=sft, lora={"r": 4})
    )
    info = json.loads((out / MANIFEST_NAME).read_text())
    before, after = info["tokens"]["before"], info["tokens"]["after"]
    assert after["tokens"] == before["tokens"]  # packing kept every token, masked ones too
    assert after["trainable_tokens"] == before["trainable_tokens"] < before["tokens"]
    assert info["gradient_checkpointing"] is True and info["output"] == "merged"
    assert math.isfinite(info["train_loss"])


def test_doc_prefix_is_a_midtraining_option():
    with pytest.raises(OptionError, match="midtraining option"):
        TRLBackend().validate("aft", TRLOptions(doc_prefix="x"), None)


# -- mixing ------------------------------------------------------------------------------------


def test_mix_target_definition():
    options = TRLOptions(mix_corpus="x.jsonl", mix_ratio=0.25)
    assert mix_target(300, options) == 100  # 100 / (300 + 100) = 0.25
    assert mix_target(300, TRLOptions(mix_corpus="x.jsonl", mix_tokens=7)) == 7


def test_mix_corpus_at_a_ratio_is_deterministic_and_recorded(work, base, corpus, tokenizer):
    pretrain = write_corpus(work / "pretrain.jsonl", make_documents(200, seed=9, max_words=30))
    j = job("midtrain", base, corpus, work / "unused", mix_corpus=str(pretrain), mix_ratio=0.5)
    first, info = build_dataset(j, j.options, tokenizer)
    again, _ = build_dataset(j, j.options, tokenizer)
    assert first["input_ids"] == again["input_ids"]  # same seed, same documents
    mix = info["mix"]
    own = mix["own_tokens"]
    assert mix["target_tokens"] == own  # ratio 0.5: as many mixed tokens as own
    assert own <= mix["tokens"] < own + 64  # whole documents, overshoot < one document
    assert info["tokens_before"] == own + mix["tokens"]
    assert mix["ref"] == "sha256:" + source_ref(as_source(pretrain)).split(":")[1]
    other = TrainJob("midtrain", str(base), corpus, work / "u", j.options, seed=6)
    assert build_dataset(other, j.options, tokenizer)[0]["input_ids"] != first["input_ids"]


def test_mix_needs_enough_data_and_an_amount(work, base, corpus, tokenizer):
    small = write_corpus(work / "small.jsonl", ["tiny document"])
    j = job("midtrain", base, corpus, work / "unused", mix_corpus=str(small), mix_ratio=0.9)
    with pytest.raises(ConfigError, match="fewer than"):
        build_dataset(j, j.options, tokenizer)
    backend = TRLBackend()
    with pytest.raises(OptionError, match="exactly one of"):
        backend.validate("midtrain", TRLOptions(mix_corpus=str(small)), None)
    with pytest.raises(OptionError, match="nothing to mix"):
        backend.validate("midtrain", TRLOptions(mix_ratio=0.1), None)
    with pytest.raises(OptionError, match="belongs to aft"):
        backend.validate("midtrain", TRLOptions(mix_chats=str(small), mix_ratio=0.1), None)
    with pytest.raises(OptionError, match="not found") as info:
        backend.validate("midtrain", TRLOptions(mix_corpus="nope.jsonl", mix_tokens=5), None)
    assert info.value.loc == ("mix_corpus", "path")
    with pytest.raises(ValueError):
        TRLOptions(mix_corpus=str(small), mix_ratio=1.0)


def test_mix_chats_into_aft(work, base, tokenizer):
    own = write_chats(work / "own.jsonl")
    extra = [(f"Question {i}?", f"Answer {i}.") for i in range(40)]
    general = write_chats(work / "general.jsonl", extra)
    j = job("aft", base, own, work / "unused", mix_chats=str(general), mix_tokens=120)
    dataset, info = build_dataset(j, j.options, tokenizer)
    assert info["mix"]["tokens"] >= 120 and info["mix"]["items"] < 40
    assert dataset.num_rows == 4 + info["mix"]["items"]


def test_mix_sources_enter_the_checkpoint_fingerprint(work, base, corpus):
    a = write_corpus(work / "fa.jsonl", ["one document"])
    j = job("midtrain", base, corpus, work / "u", mix_corpus=str(a), mix_tokens=1)
    before = job_fingerprint(j, j.options.model_dump(mode="json"))
    write_corpus(a, ["another document"])
    after = job_fingerprint(j, j.options.model_dump(mode="json"))
    assert before["mix_refs"] != after["mix_refs"]


# -- corpus sources ------------------------------------------------------------------------------


def test_local_dataset_sources(work, base, tokenizer, docs):
    from datasets import Dataset, DatasetDict

    rows = [{"content": d} for d in docs]
    parquet = work / "docs.parquet"
    Dataset.from_list(rows).to_parquet(str(parquet))
    disk = work / "docs_disk"
    DatasetDict({"train": Dataset.from_list(rows)}).save_to_disk(str(disk))
    expected = None
    for path in (parquet, disk):
        source = write_source(
            DataSource(path=str(path), field="content"), work / f"{path.stem}.source.json"
        )
        j = job("midtrain", base, source, work / "u")
        dataset, info = build_dataset(j, j.options, tokenizer)
        expected = expected or dataset["input_ids"]
        assert dataset["input_ids"] == expected and info["rows"] == len(docs)
        assert source_ref(as_source(source)).startswith("sha256:")
    with pytest.raises(ConfigError, match="no column 'text'"):
        build_dataset(job("midtrain", base, parquet, work / "u"), TRLOptions(), tokenizer)
    assert source_ref(DataSource(path="hf:org/corpus@abc")) == "hf:org/corpus@abc"
    with pytest.raises(OptionError, match="not a hub dataset id"):
        from msmkit.training.sources import check_source

        check_source(DataSource(path="hf:bad id"))
