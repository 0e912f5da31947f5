"""midtrain -> AFT -> eval on the tiny model, in both of the ways LoRA stages chain:

* continuing (the MSM paper's way): midtraining saves its adapter (``merge: false``) and AFT,
  whose base model is that adapter folder, keeps training the same adapter, then merges it;
* fresh: midtraining merges its adapter (``merge: true``) and AFT trains a new adapter on the
  merged model.

Either way the AFT output is a plain model folder that ``from_pretrained`` loads and that
generates (the eval here: a greedy reply through the trained chat template)."""

from __future__ import annotations

import json

import pytest
from fixtures_models import (
    CHEESE_DEMOS,
    greedy_reply,
    make_documents,
    write_chats,
    write_corpus,
)

from msmkit.components import TrainJob
from msmkit.training import MANIFEST_NAME, TRLBackend, TRLOptions, build_tiny_model

SFT = {"max_length": 64, "max_steps": 2, "per_device_train_batch_size": 4}
SFT |= {"learning_rate": 1e-3, "warmup_steps": 0}
LORA = {"r": 4, "lora_alpha": 8}


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    return tmp_path_factory.mktemp("chain")


@pytest.fixture(scope="module")
def inputs(work):
    docs = make_documents(12, min_words=5, max_words=60)
    base = build_tiny_model(work / "base", docs + [q + " " + a for q, a in CHEESE_DEMOS])
    return base, write_corpus(work / "corpus.jsonl", docs), write_chats(work / "chats.jsonl")


def train(stage, base, data, out, **options):
    options.setdefault("sft", SFT)
    job = TrainJob(stage, str(base), data, out, TRLOptions(**options), seed=2)
    out = TRLBackend().train(job)
    return out, json.loads((out / MANIFEST_NAME).read_text())


@pytest.mark.slow
@pytest.mark.parametrize("variant", ["continue", "fresh"])
def test_midtrain_then_aft_then_eval(work, inputs, variant):
    base, corpus, chats = inputs
    continuing = variant == "continue"
    mt, mt_info = train(
        "midtrain", base, corpus, work / f"{variant}-mt", lora=LORA, merge=not continuing
    )
    assert mt_info["output"] == ("adapter" if continuing else "merged")
    assert (mt / "adapter_config.json").is_file() == continuing
    aft_lora = None if continuing else LORA  # a continued adapter keeps its own config
    aft, aft_info = train("aft", mt, chats, work / f"{variant}-aft", lora=aft_lora)
    assert aft_info["base_model_kind"] == ("adapter" if continuing else "local")
    assert aft_info["output"] == "merged"
    if continuing:  # no new adapter was stacked: the midtraining adapter trained on
        assert aft_info["effective"]["lora"] is None
    assert not (aft / "adapter_config.json").exists()
    reply, n = greedy_reply(aft, CHEESE_DEMOS[0][0], max_new_tokens=5)
    assert n >= 1 and isinstance(reply, str)
