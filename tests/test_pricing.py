"""Price files in Inspect's model-cost format and the plan cost calculator."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from inspect_ai.model import ModelCost, ModelUsage, compute_model_cost

from msmkit.pricing import (
    DEFAULT_PRICE_FILE,
    PriceFileError,
    StepPlan,
    get_price,
    load_prices,
    plan_cost,
    step_cost,
)

PRICE = ModelCost(input=2.0, output=10.0, input_cache_write=2.5, input_cache_read=0.2)
# 10 calls of 1,000 input tokens (600 of them a repeated prefix) and 200 output tokens.
STEP = StepPlan(
    "documents", calls=10, input_tokens=1000, output_tokens=200, cached_prefix_tokens=600
)
KW = {"calls_per_cache_window": 5, "batch_size": 10}


def test_bundled_price_file_loads_and_is_inspect_compatible() -> None:
    prices = load_prices()
    assert "anthropic/claude-sonnet-4-5" in prices and "openai/gpt-5" in prices
    assert "CHECK BEFORE USE" in DEFAULT_PRICE_FILE.read_text()
    import yaml

    for cost in yaml.safe_load(DEFAULT_PRICE_FILE.read_text()).values():
        ModelCost(**cost)  # what `inspect eval --model-cost-config` does per entry


def test_load_yaml_and_json(tmp_path: Path) -> None:
    entry = {"input": 1, "output": 4, "input_cache_write": 1.25, "input_cache_read": 0.1}
    (tmp_path / "p.json").write_text(json.dumps({"openai/m": entry}))
    (tmp_path / "p.yaml").write_text(
        "anthropic/m:\n  input: 1\n  output: 4\n"
        "  input_cache_write: 1.25\n  input_cache_read: 0.1\n"
    )
    assert load_prices(tmp_path / "p.json")["openai/m"] == ModelCost(**entry)
    assert load_prices(tmp_path / "p.yaml")["anthropic/m"].input_cache_read == 0.1
    assert get_price(load_prices(tmp_path / "p.yaml"), "m").output == 4


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("m:\n  input: 1\n  output: 4\n  input_cache_write: 1\n", "input_cache_read"),
        ("m:\n  input: x\n  output: 4\n  input_cache_write: 1\n  input_cache_read: 0\n", "input"),
        ("m:\n  input: 1\n  output: 4\n  input_cache_write: 1\n  input_cache_reads: 0\n", "reads"),
        ("m:\n  input: -1\n  output: 4\n  input_cache_write: 1\n  input_cache_read: 0\n", "input"),
        ("- 1\n- 2\n", "mapping"),
        ("m: 3\n", "mapping"),
    ],
)
def test_malformed_file_names_file_and_field(tmp_path: Path, text: str, needle: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(PriceFileError) as err:
        load_prices(path)
    assert str(path) in str(err.value) and needle in str(err.value)


def test_missing_file_and_unknown_model(tmp_path: Path) -> None:
    with pytest.raises(PriceFileError, match=r"nope\.yaml"):
        load_prices(tmp_path / "nope.yaml")
    with pytest.raises(KeyError, match="gpt-9"):
        get_price(load_prices(), "openai/gpt-9")


def test_four_configurations_by_hand() -> None:
    plain = step_cost(STEP, PRICE, **KW)
    assert (plain.input_tokens, plain.cache_write_tokens, plain.cache_read_tokens) == (10000, 0, 0)
    assert plain.output_tokens == 2000
    assert plain.dollars == pytest.approx(10000 * 2e-6 + 2000 * 10e-6)  # 0.04

    # caching: ceil(10/5) = 2 writes of 600, 8 reads of 600, 10 x 400 uncached
    cached = step_cost(STEP, PRICE, caching=True, **KW)
    assert (cached.input_tokens, cached.cache_write_tokens, cached.cache_read_tokens) == (
        4000,
        1200,
        4800,
    )
    assert cached.total_input_tokens == 10000
    assert cached.dollars == pytest.approx(0.008 + 0.003 + 0.00096 + 0.02)  # 0.03196

    batched = step_cost(STEP, PRICE, batch=True, **KW)
    assert batched.dollars == pytest.approx(0.02) and batched.batched

    # batch + caching: one write per batch of 10, 9 reads, then the 50% discount
    both = step_cost(STEP, PRICE, batch=True, caching=True, **KW)
    assert (both.cache_write_tokens, both.cache_read_tokens) == (600, 5400)
    assert both.dollars == pytest.approx((0.008 + 0.0015 + 0.00108 + 0.02) / 2)  # 0.01529


def test_matches_inspect_compute_model_cost() -> None:
    c = step_cost(STEP, PRICE, caching=True, **KW)
    usage = ModelUsage(
        input_tokens=c.input_tokens,
        output_tokens=c.output_tokens,
        input_tokens_cache_write=c.cache_write_tokens,
        input_tokens_cache_read=c.cache_read_tokens,
    )
    assert c.dollars == pytest.approx(compute_model_cost(PRICE, usage))


def test_batch_discount_and_selected_steps() -> None:
    other = StepPlan("ideas", calls=2, input_tokens=100, output_tokens=50)
    plan = plan_cost([other, STEP], PRICE, batch={"documents"})
    assert [s.batched for s in plan.steps] == [False, True]
    assert plan.steps[0].dollars == pytest.approx((200 * 2 + 100 * 10) / 1e6)
    assert plan.dollars == pytest.approx(plan.steps[0].dollars + 0.02)
    assert step_cost(STEP, PRICE, batch=True, batch_discount=0.25).dollars == pytest.approx(0.03)
    assert plan.output_tokens == 2100 and plan.input_tokens == 10200
    with pytest.raises(ValueError):
        step_cost(STEP, PRICE, batch_discount=1.0)


def test_cache_edge_cases() -> None:
    # no prefix or no calls: caching changes nothing
    bare = StepPlan("domains", calls=1, input_tokens=500, output_tokens=100)
    assert step_cost(bare, PRICE, caching=True).dollars == step_cost(bare, PRICE).dollars
    none = StepPlan("x", calls=0, input_tokens=500, output_tokens=100, cached_prefix_tokens=100)
    assert step_cost(none, PRICE, caching=True).dollars == 0
    # a single call writes the prefix and reads nothing: dearer than no caching
    one = StepPlan("y", calls=1, input_tokens=500, output_tokens=0, cached_prefix_tokens=400)
    c = step_cost(one, PRICE, caching=True)
    assert (c.cache_write_tokens, c.cache_read_tokens) == (400, 0)
    assert c.dollars > step_cost(one, PRICE).dollars
    with pytest.raises(ValueError, match="prefix"):
        StepPlan("z", calls=1, input_tokens=10, output_tokens=1, cached_prefix_tokens=11)
