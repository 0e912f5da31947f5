"""Recipes, the dtype rule, the memory estimate and the model card of the ``trl`` backend."""

from __future__ import annotations

import json
import shutil

import pytest
import yaml
from fixtures_models import make_documents, write_corpus

from msmkit.components import TrainJob
from msmkit.errors import OptionError
from msmkit.resources import bundled
from msmkit.training import MANIFEST_NAME, TRLBackend, TRLOptions, build_tiny_model
from msmkit.training.trl import memory
from msmkit.training.trl.memory import (
    GIB,
    MemoryEstimate,
    ModelShape,
    check_fits,
    check_memory,
    estimate_training_memory,
    load_shape,
)
from msmkit.training.trl.models import resolve_model_ref
from msmkit.training.trl.precision import choose_dtypes, plan_precision
from msmkit.training.trl.recipes import apply_recipe, bundled_recipes, load_recipe

FAST = {"max_length": 64, "max_steps": 2, "per_device_train_batch_size": 4}
PROJECTIONS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    return tmp_path_factory.mktemp("recipes")


@pytest.fixture(scope="module")
def base(work):
    return build_tiny_model(work / "base", make_documents(12))


def fails(options, base_model=None, stage="midtrain") -> OptionError:
    with pytest.raises(OptionError) as info:
        TRLBackend().validate(stage, TRLOptions(**options), base_model)
    return info.value


# -- recipes -----------------------------------------------------------------------------------


def test_bundled_recipes_hold_the_paper_and_full_ft_settings():
    assert {"paper-lora", "full-ft"} <= set(bundled_recipes())
    assert (bundled("recipes") / "README.md").is_file()
    paper = load_recipe("paper-lora")
    assert paper["lora"] == {
        "r": 64,
        "lora_alpha": 128,
        "lora_dropout": 0.0,
        "target_modules": PROJECTIONS,
    }
    assert paper["sft"] == {
        "learning_rate": 1e-4,
        "lr_scheduler_type": "cosine",
        "warmup_steps": 0.05,
        "weight_decay": 0.01,
        "num_train_epochs": 1,
        "max_length": 8192,
    }
    full = load_recipe("full-ft")
    assert full["lora"] is None
    assert full["sft"]["model_init_kwargs"] == {"dtype": "float32"}
    assert full["sft"]["bf16"] is True and full["sft"]["learning_rate"] == 1e-5


def test_user_options_override_the_recipe_key_by_key():
    opts = apply_recipe(TRLOptions(recipe="paper-lora", sft={"max_length": 128}, lora={"r": 8}))
    assert opts.sft["max_length"] == 128 and opts.sft["learning_rate"] == 1e-4
    assert opts.lora["r"] == 8 and opts.lora["lora_alpha"] == 128
    assert opts.merge is False and opts.recipe == "paper-lora"
    assert apply_recipe(TRLOptions(recipe="paper-lora", lora=None)).lora is None
    assert apply_recipe(TRLOptions(recipe="paper-lora", merge=True)).merge is True
    continued = apply_recipe(TRLOptions(recipe="paper-lora"), continues_adapter=True)
    assert continued.lora is None and continued.sft["max_length"] == 8192
    assert apply_recipe(TRLOptions(sft={"max_length": 9})).sft == {"max_length": 9}


def test_a_recipe_path_validates_and_bad_recipes_fail_at_recipe(tmp_path):
    mine = tmp_path / "mine.yaml"
    mine.write_text(yaml.safe_dump({"description": "x", "sft": {"learning_rate": 3e-4}}))
    TRLBackend().validate("midtrain", TRLOptions(recipe=str(mine)), None)
    assert fails({"recipe": "no-such-recipe"}).loc == ("recipe",)
    broken = tmp_path / "broken.yaml"
    broken.write_text("sft: [unclosed\n")
    assert fails({"recipe": str(broken)}).loc == ("recipe",)
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text(yaml.safe_dump({"lr": 1e-4}))
    error = fails({"recipe": str(unknown)})
    assert error.loc == ("recipe",) and "lr" in error.message
    bad_type = tmp_path / "bad-type.yaml"
    bad_type.write_text(yaml.safe_dump({"merge": "sometimes"}))
    assert fails({"recipe": str(bad_type)}).loc == ("recipe", "merge")
    bad_sft = tmp_path / "bad-sft.yaml"
    bad_sft.write_text(yaml.safe_dump({"sft": {"learning_rte": 1e-4}}))
    assert fails({"recipe": str(bad_sft)}).loc == ("sft", "learning_rte")


def test_bundled_recipes_validate_on_a_model(base):
    TRLBackend().validate("midtrain", TRLOptions(recipe="paper-lora"), str(base))
    TRLBackend().validate("midtrain", TRLOptions(recipe="full-ft"), str(base))


# -- precision ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lora", "checkpoint", "bf16_gpu", "expected"),
    [
        (False, "bfloat16", True, ("float32", {"bf16": True})),
        (False, "float16", False, ("float32", {})),
        (False, "float32", True, (None, {"bf16": True})),
        (False, None, False, (None, {})),
        (True, "bfloat16", True, (None, {"bf16": True})),
        (True, "bfloat16", False, (None, {})),
    ],
)
def test_choose_dtypes(lora, checkpoint, bf16_gpu, expected):
    assert choose_dtypes(lora, checkpoint, bf16_gpu) == expected


def test_full_ft_of_a_bf16_checkpoint_loads_float32_unless_the_user_chose(work, base):
    half = work / "bf16-base"
    shutil.copytree(base, half)
    config = json.loads((half / "config.json").read_text())
    config["dtype"] = "bfloat16"
    (half / "config.json").write_text(json.dumps(config))
    ref = resolve_model_ref(str(half))
    assert plan_precision(TRLOptions(), ref) == ({"dtype": "float32"}, {})
    assert plan_precision(TRLOptions(lora={"r": 4}), ref) == ({}, {})
    chosen = TRLOptions(sft={"model_init_kwargs": {"dtype": "bfloat16"}})
    assert plan_precision(chosen, ref) == ({"dtype": "bfloat16"}, {})
    assert plan_precision(TRLOptions(sft={"bf16": False}), ref) == ({}, {})


# -- memory ------------------------------------------------------------------------------------

ONE_B = ModelShape(params=10**9, lora_params=0, hidden_size=1000, num_layers=10, vocab_size=1000)


def test_memory_estimate_full_ft_by_hand():
    est = estimate_training_memory(
        ONE_B, weight_bytes=4, batch_size=2, seq_len=500, checkpointing=False, act_bytes=2
    )
    assert (est.weights, est.gradients, est.optimizer) == (4 * 10**9, 4 * 10**9, 8 * 10**9)
    # 1000 tokens * 1000 hidden * 10 layers * 34 bytes + 1000 tokens * 1000 vocab * 4 bytes
    assert est.activations == 340_000_000 + 4_000_000
    assert est.total == 16 * 10**9 + 344_000_000


def test_memory_estimate_lora_and_checkpointing_by_hand():
    shape = ModelShape(
        params=10**9, lora_params=10**6, hidden_size=1000, num_layers=10, vocab_size=1000
    )
    est = estimate_training_memory(
        shape, weight_bytes=2, batch_size=1, seq_len=1000, checkpointing=True, act_bytes=2
    )
    assert est.weights == 2 * 10**9 + 4 * 10**6
    assert (est.gradients, est.optimizer) == (4 * 10**6, 8 * 10**6)
    # checkpointing: 2 bytes per layer input + one layer recomputed (34)
    assert est.activations == 1000 * 1000 * (2 * 10 + 34) + 1000 * 1000 * 4


def test_shape_from_config_without_weights(base):
    light = base.parent / "shape-no-weights"
    if not light.exists():
        shutil.copytree(base, light, ignore=shutil.ignore_patterns("*.safetensors", "*.bin"))
    ref = resolve_model_ref(str(light))
    full = load_shape(ref, None)
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(base)
    assert full.params == sum(p.numel() for p in model.parameters())
    lora = load_shape(ref, {"r": 4, "target_modules": ["q_proj"]})
    config = model.config
    q_out = config.num_attention_heads * getattr(config, "head_dim", 0) or config.hidden_size
    expected = config.num_hidden_layers * 4 * (config.hidden_size + q_out)
    assert lora.lora_params == expected and lora.params == full.params


def test_refusal_when_it_cannot_fit(base):
    est = MemoryEstimate(weights=10 * GIB, gradients=GIB, optimizer=GIB, activations=GIB)
    check_fits(est, 13 * GIB)
    check_fits(est, None)
    with pytest.raises(OptionError) as info:
        check_fits(est, 12 * GIB)
    assert "13.0 GiB" in info.value.message and "12.0 GiB" in info.value.message
    assert "LoRA" in info.value.hint and "max_length" in info.value.hint
    from trl import SFTConfig

    ref = resolve_model_ref(str(base))
    config = SFTConfig(output_dir="/tmp/msmkit-mem", use_cpu=True, max_length=64)
    assert check_memory(TRLOptions(), ref, config, available=None) is None  # no CUDA here
    assert check_memory(TRLOptions(), ref, config, available=100 * GIB).total > 0
    with pytest.raises(OptionError):
        check_memory(TRLOptions(), ref, config, available=1024)
    assert check_memory(TRLOptions(memory_check=False), ref, config, available=1024) is None


def test_validate_and_plan_refuse_when_the_gpu_is_too_small(base, work, monkeypatch):
    monkeypatch.setattr(memory, "visible_gpu_memory", lambda: 1024)
    error = fails({"sft": FAST}, str(base))
    assert error.loc == ("sft",) and "GiB" in error.message
    corpus = write_corpus(work / "mem-corpus.jsonl", make_documents(4))
    job = TrainJob("midtrain", str(base), corpus, work / "mem-out", TRLOptions(sft=FAST))
    with pytest.raises(OptionError):
        TRLBackend().plan(job)
    TRLBackend().validate("midtrain", TRLOptions(sft=FAST, memory_check=False), str(base))


# -- model card --------------------------------------------------------------------------------


def test_trained_folder_has_a_model_card(work, base):
    corpus = write_corpus(work / "corpus.jsonl", make_documents(16))
    options = TRLOptions(recipe="paper-lora", lora={"r": 4}, sft=FAST)
    out = TRLBackend().train(TrainJob("midtrain", str(base), corpus, work / "out", options))
    manifest = json.loads((out / MANIFEST_NAME).read_text())
    card = (out / "README.md").read_text()
    header = yaml.safe_load(card.split("---\n")[1])
    assert header["base_model"] == str(base) and header["library_name"] == "peft"
    assert "msmkit" in header["tags"]
    assert "recipe: `paper-lora`" in card and "stage: `midtrain`" in card
    assert manifest["data_sha256"] in card and str(corpus) in card
    assert manifest["effective"]["lora"]["r"] == 4
    assert manifest["effective"]["lora"]["lora_alpha"] == 128
    assert manifest["effective"]["sft"]["max_length"] == 64
    assert '"learning_rate": 0.0001' in card and '"lora_alpha": 128' in card
    before, after = manifest["tokens"]["before"], manifest["tokens"]["after"]
    assert f"| documents (before TRL) | {before['rows']} | {before['tokens']} |" in card
    assert f"| trained (after TRL) | {after['rows']} | {after['tokens']} |" in card
    assert f"- transformers {manifest['versions']['transformers']}" in card
    assert manifest["precision"]["load_dtype"] == "checkpoint"
