"""GPU-hour estimates in the plan: model sizes from config.json or a hub id's name, and the
6NT / 4NT FLOP counts at the stated throughput."""

from __future__ import annotations

import json

import pytest

from msmkit.training.estimate import H100_BF16, MFU, gpu_hours, params_from_config, params_of


def test_params_from_a_llama_shaped_config(tmp_path):
    config = {  # Llama-3.1-8B's published shape
        "hidden_size": 4096,
        "num_hidden_layers": 32,
        "vocab_size": 128256,
        "intermediate_size": 14336,
        "num_attention_heads": 32,
        "num_key_value_heads": 8,
        "tie_word_embeddings": False,
    }
    n = params_from_config(config)
    assert n is not None and 7.9e9 < n < 8.1e9
    (tmp_path / "config.json").write_text(json.dumps(config))
    assert params_of(str(tmp_path)) == n


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Qwen/Qwen2.5-32B", 32e9),
        ("meta-llama/Llama-3.1-8B@main", 8e9),
        ("Qwen/Qwen2.5-0.5B-Instruct", 0.5e9),
        ("HuggingFaceTB/SmolLM2-135M", 135e6),
        ("org/model-without-size", None),
    ],
)
def test_params_from_a_hub_name(name, expected):
    assert params_of(name) == expected


def test_gpu_hours_count_flops_at_the_stated_throughput():
    hours = gpu_hours(8_000_000_000, 40_000_000, lora=False)
    assert hours == pytest.approx(6 * 8e9 * 4e7 / (H100_BF16 * MFU) / 3600)
    assert gpu_hours(8_000_000_000, 40_000_000, lora=True) == pytest.approx(hours * 4 / 6)
    assert gpu_hours(10, 10, epochs=3) == pytest.approx(3 * gpu_hours(10, 10))


def test_the_plan_shows_gpu_hours_for_a_real_base(plugin, tmp_path):
    import msmkit

    exp = tmp_path / "exp.yaml"
    exp.write_text(
        "name: big\nbase_model: Qwen/Qwen2.5-32B\n"
        "defaults:\n  generate: {name: echo, options: {n: 2}}\n"
        "  midtrain: {backend: copy}\n  aft: {backend: copy, data: cheese}\n"
        "arms:\n  - {name: a, spec: pro-america}\n"
    )
    graph = msmkit.Run(exp, log_dir=tmp_path / "l").plan()
    aft = next(n for n in graph.ordered() if n.kind.name == "aft")
    assert aft.estimate.extra["params"] == 32e9
    tokens = aft.estimate.tokens
    assert tokens > 0
    assert aft.estimate.extra["gpu_hours"] == pytest.approx(
        gpu_hours(32_000_000_000, tokens), rel=1e-3
    )
