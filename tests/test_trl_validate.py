"""``TRLBackend.validate``: every bad option fails at plan time, with the field's ``loc``, and
without training or loading model weights."""

from __future__ import annotations

import json
import shutil

import pytest
from fixtures_models import make_documents, write_corpus

from msmkit.components import TrainJob
from msmkit.errors import ConfigError, ModelPathError, OptionError
from msmkit.training import TRLBackend, TRLOptions, build_tiny_model
from msmkit.training.tiny import CHAT_TEMPLATE

GOOD_SFT = {
    "learning_rate": 1.0e-3,
    "num_train_epochs": 2,
    "max_length": 256,
    "per_device_train_batch_size": 8,
    "lr_scheduler_type": "cosine",
}


def validate(stage="midtrain", base_model=None, **options):
    TRLBackend().validate(stage, TRLOptions(**options), base_model)


def fails(stage="midtrain", base_model=None, **options) -> OptionError:
    with pytest.raises(OptionError) as info:
        validate(stage, base_model, **options)
    return info.value


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """A tiny model directory *without its weights*: validate must never need them."""
    folder = tmp_path_factory.mktemp("validate")
    model = build_tiny_model(folder / "full", make_documents(8))
    light = folder / "no-weights"
    shutil.copytree(model, light, ignore=shutil.ignore_patterns("*.safetensors", "*.bin"))
    return light


def with_template(base, target, template: str | None):
    shutil.copytree(base, target)
    path = target / "chat_template.jinja"
    assert path.is_file()  # where this transformers version saves the template
    if template is None:
        path.unlink()
    else:
        path.write_text(template)
    return target


WITHOUT_MARKERS = CHAT_TEMPLATE.replace("{%- generation -%}", "").replace(
    "{%- endgeneration -%}", ""
)
END_OUTSIDE_MARK = CHAT_TEMPLATE.replace(
    "{{- message['content'] + '<|im_end|>' -}}{%- endgeneration -%}",
    "{{- message['content'] -}}{%- endgeneration -%}{{- '<|im_end|>' -}}",
)


# -- good options ------------------------------------------------------------------------------


@pytest.mark.parametrize("stage", ["midtrain", "aft"])
def test_good_options_pass(stage):
    validate(stage, sft=GOOD_SFT)
    validate(stage)  # msmkit's defaults
    validate(stage, sft={"max_steps": 10, "num_train_epochs": 0}, lora={"r": 8, "lora_alpha": 16})
    validate(stage, sft={"warmup_steps": 0, "report_to": "none", "optim": "adamw_torch"})


@pytest.mark.parametrize("stage", ["midtrain", "aft"])
def test_good_options_pass_with_a_local_base(base, stage):
    validate(stage, str(base), sft=GOOD_SFT)


def test_a_hub_base_is_not_contacted(monkeypatch):
    import transformers

    def no_network(*args, **kwargs):
        raise AssertionError("validate contacted the hub")

    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", no_network)
    validate("aft", "some-org/some-model", sft=GOOD_SFT)


def test_validate_needs_no_weights_and_writes_nothing(base, tmp_path, monkeypatch):
    import transformers

    def no_weights(*args, **kwargs):
        raise AssertionError("validate loaded model weights")

    monkeypatch.setattr(transformers.AutoModelForCausalLM, "from_pretrained", no_weights)
    monkeypatch.chdir(tmp_path)
    validate("aft", str(base), sft=GOOD_SFT)
    validate("midtrain", str(base), sft=GOOD_SFT, lora={"r": 4})
    assert list(tmp_path.iterdir()) == []


# -- the sft block -----------------------------------------------------------------------------


def test_unknown_sft_key_suggests_the_close_match():
    error = fails(sft={"learnin_rate": 1e-4})
    assert error.loc == ("sft", "learnin_rate")
    assert "unknown sft option" in error.message and "learnin_rate" in error.message
    assert "'learning_rate'" in error.hint


@pytest.mark.parametrize("key", ["output_dir", "seed", "packing", "assistant_only_loss"])
def test_reserved_sft_key(key):
    error = fails(sft={key: "x" if key == "output_dir" else 1})
    assert error.loc == ("sft", key)
    assert "is set by msmkit" in error.message and key in error.message


@pytest.mark.parametrize(
    ("key", "value", "words"),
    [
        ("num_train_epochs", "two", "valid number"),
        ("max_steps", "ten", "valid integer"),
        ("per_device_train_batch_size", 2.5, "integer"),
        ("bf16", "maybe", "valid boolean"),
        ("report_to", 5, "'report_to'"),
        ("lr_scheduler_type", "zigzag", "'cosine'"),
        ("optim", "sgd-ish", "'adamw_torch'"),
        ("learning_rate", None, "valid number"),
    ],
)
def test_wrong_type_names_the_field(key, value, words):
    error = fails(sft={key: value})
    assert error.loc == ("sft", key)
    assert words in error.message and repr(value) in error.message


def test_a_number_written_as_yaml_text_is_caught():
    import yaml

    sft = yaml.safe_load("learning_rate: 1e-4")  # PyYAML reads this as the string '1e-4'
    error = fails(sft=sft)
    assert error.loc == ("sft", "learning_rate")
    assert "is the text '1e-4'" in error.message and "1.0e-4" in error.hint


def test_model_init_kwargs_must_be_a_mapping():
    assert fails(sft={"model_init_kwargs": "bf16"}).loc == ("sft", "model_init_kwargs")


@pytest.mark.parametrize(
    ("sft", "key", "words"),
    [
        ({"learning_rate": 0}, "learning_rate", "must be > 0"),
        ({"learning_rate": -1e-4}, "learning_rate", "must be > 0"),
        ({"num_train_epochs": 0}, "num_train_epochs", "must be > 0"),
        ({"num_train_epochs": -1, "max_steps": -1}, "num_train_epochs", "must be > 0"),
        ({"per_device_train_batch_size": 0}, "per_device_train_batch_size", "must be >= 1"),
        ({"gradient_accumulation_steps": 0}, "gradient_accumulation_steps", "must be >= 1"),
        ({"max_length": 0}, "max_length", "must be >= 1"),
        ({"max_length": None}, "max_length", "must be set"),
        ({"warmup_steps": -1}, "warmup_steps", "must be >= 0"),
        ({"warmup_steps": -0.1}, "warmup_steps", "must be >= 0"),
    ],
)
def test_out_of_range_values(sft, key, words):
    error = fails(sft=sft)
    assert error.loc == ("sft", key)
    assert words in error.message and key in error.message


def test_zero_epochs_are_fine_when_max_steps_is_set():
    validate(sft={"num_train_epochs": 0, "max_steps": 5})


def test_the_real_sft_config_is_built():
    """A combination only SFTConfig's own checks reject is reported on the whole block."""
    error = fails(sft={"load_best_model_at_end": True, "eval_strategy": "steps"})
    assert error.loc == ("sft",)
    assert "invalid sft options" in error.message and "load_best_model_at_end" in error.message


def test_bad_top_level_option_given_as_a_mapping():
    with pytest.raises(OptionError) as info:
        TRLBackend().validate("midtrain", {"packing_strategy": "bfd"}, None)
    assert info.value.loc == ("packing_strategy",)


def test_unknown_stage():
    with pytest.raises(ConfigError, match="unknown training stage"):
        TRLBackend().validate("pretrain", TRLOptions(), None)


# -- the lora block ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lora", "loc", "words"),
    [
        ({"rank": 8}, ("lora", "rank"), "unknown lora option"),
        ({"dropout": 0.1}, ("lora", "dropout"), "unknown lora option"),
        ({"r": 0}, ("lora", "r"), "must be >= 1"),
        ({"r": -4}, ("lora", "r"), "must be >= 1"),
        ({"r": "eight"}, ("lora", "r"), "valid integer"),
        ({"lora_alpha": 0}, ("lora", "lora_alpha"), "must be > 0"),
        ({"lora_dropout": 1.5}, ("lora", "lora_dropout"), "[0, 1)"),
        ({"bias": "bogus"}, ("lora", "bias"), "'lora_only'"),
        ({"target_modules": ["q_proj", "lm_head"]}, ("lora", "target_modules"), "lm_head"),
    ],
)
def test_bad_lora_options(lora, loc, words):
    error = fails(lora=lora)
    assert error.loc == loc
    assert words in error.message


def test_lora_suggests_the_close_match():
    assert "'lora_dropout'" in fails(lora={"dropout": 0.1}).hint


def test_a_new_lora_cannot_stack_on_an_adapter_base(base, tmp_path):
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text(
        json.dumps({"base_model_name_or_path": str(base), "peft_type": "LORA"})
    )
    error = fails("aft", str(adapter), lora={"r": 4})
    assert error.loc == ("lora",) and "cannot be stacked" in error.message
    validate("aft", str(adapter))  # continuing the adapter itself is fine


def test_a_missing_local_base_is_a_model_path_error(tmp_path):
    with pytest.raises(ModelPathError):
        validate("aft", str(tmp_path / "nope"))


# -- checks that need the base model's tokenizer -----------------------------------------------


@pytest.mark.parametrize(
    ("template", "words"),
    [
        (WITHOUT_MARKERS, "no {% generation %} markers"),
        (END_OUTSIDE_MARK, "never learn to stop"),
        (None, "no chat template"),
    ],
)
def test_aft_chat_template_is_checked_at_validate_time(base, tmp_path, template, words):
    model = with_template(base, tmp_path / "model", template)
    error = fails("aft", str(model), sft=GOOD_SFT, chat_template="keep")
    assert error.loc == ()
    assert words in error.message
    validate("midtrain", str(model), sft=GOOD_SFT)  # midtraining does not use the template
    if template != END_OUTSIDE_MARK:  # a marked template is kept (and refused) as it is
        # by default a ChatML model whose template lacks markers gets msmkit's shipped one
        validate("aft", str(model), sft=GOOD_SFT)


def test_the_stripped_template_really_lacks_markers():
    assert "{%- generation" in CHAT_TEMPLATE and "{%- generation" not in WITHOUT_MARKERS
    assert END_OUTSIDE_MARK != CHAT_TEMPLATE


def test_a_template_override_is_honoured(base, tmp_path):
    model = with_template(base, tmp_path / "model", WITHOUT_MARKERS)
    good = tmp_path / "good.jinja"
    good.write_text(CHAT_TEMPLATE)
    validate("aft", str(model), sft={**GOOD_SFT, "chat_template_path": str(good)})

    bad = tmp_path / "bad.jinja"
    bad.write_text(WITHOUT_MARKERS)
    error = fails("aft", str(base), sft={"chat_template_path": str(bad)})
    assert error.loc == ("sft", "chat_template_path")
    assert "no {% generation %} markers" in error.message


@pytest.mark.parametrize("path", ["missing.jinja", "template.txt"])
def test_the_template_override_must_be_a_jinja_file(tmp_path, path):
    (tmp_path / "template.txt").write_text(CHAT_TEMPLATE)
    error = fails("aft", sft={"chat_template_path": str(tmp_path / path)})
    assert error.loc == ("sft", "chat_template_path") and ".jinja" in error.message


def test_aft_eos_token_must_be_a_token(base):
    error = fails("aft", str(base), sft={"eos_token": "<eos>"})
    assert error.loc == ("sft", "eos_token")
    validate("aft", str(base), sft={"eos_token": "<|im_end|>"})


def test_midtrain_document_eos_must_resolve(base):
    error = fails("midtrain", str(base), doc_eos="<eos>")
    assert error.loc == ("doc_eos",) and "not a token" in error.message
    validate("midtrain", str(base), doc_eos="<|endoftext|>")


# -- plan() and train() share the checks -------------------------------------------------------


def test_plan_and_train_fail_with_the_same_loc(base, tmp_path):
    corpus = write_corpus(tmp_path / "corpus.jsonl", make_documents(4))
    options = TRLOptions(sft={"num_train_epochs": "two"})
    job = TrainJob("midtrain", str(base), corpus, tmp_path / "out", options)
    for method in (TRLBackend().plan, TRLBackend().train):
        with pytest.raises(OptionError) as info:
            method(job)
        assert info.value.loc == ("sft", "num_train_epochs")
    assert not (tmp_path / "out").exists()
