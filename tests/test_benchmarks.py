"""benchmarks/train_throughput.py: the counts it reports are consistent (no timing thresholds)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "train_throughput.py"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("train_throughput", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


@pytest.mark.slow
def test_tiny_counts_are_consistent(bench: ModuleType, capsys: pytest.CaptureFixture) -> None:
    report = bench.main(
        ["--shape", "tiny", "--steps", "2", "--batch-tokens", "1024", "--max-length", "512"]
    )
    out = capsys.readouterr().out
    assert "packed / padded real tokens/s" in out
    arms = {a.name: a for a in report.arms}
    packed, padded = arms["packed"], arms["padded"]
    assert packed.steps == padded.steps == 2
    assert packed.docs == padded.docs
    assert packed.real_tokens == padded.real_tokens > 0
    for arm in (packed, padded):
        assert arm.padded_tokens >= arm.real_tokens
        expected = 100 * (arm.padded_tokens - arm.real_tokens) / arm.padded_tokens
        assert arm.waste_pct == pytest.approx(expected)
        assert arm.real_tokens_per_s == pytest.approx(arm.real_tokens / arm.seconds)
        assert arm.mfu is None  # CPU without --peak-tflops
    assert packed.padded_tokens <= 2 * 1024  # at most steps * batch_tokens
    assert report.ratio_packed_over_padded == pytest.approx(
        packed.real_tokens_per_s / padded.real_tokens_per_s
    )


def test_batches_cover_the_same_documents(bench: ModuleType) -> None:
    import numpy as np

    rng = np.random.default_rng(1)
    docs = bench.make_documents(rng, 3000, median=100, sigma=0.6, cap=256, vocab=64)
    assert all(8 <= len(d) <= 256 and d[-1] == 63 for d in docs)
    rows = bench.pack_rows(docs, 256)
    assert sorted(map(tuple, (d for row in rows for d in row))) == sorted(map(tuple, docs))
    batch, real, padded = bench.packed_batch(rows[:2], pad_id=0)
    assert real == sum(len(d) for row in rows[:2] for d in row)
    assert padded == batch["input_ids"].numel()
    assert int((batch["labels"] != -100).sum()) == real - sum(len(row) for row in rows[:2])
    assert "attention_mask" not in batch  # isolation comes from position_ids
    batch, real, padded = bench.padded_batch(docs[:3], pad_id=0)
    assert int(batch["attention_mask"].sum()) == real == sum(len(d) for d in docs[:3])


def test_packed_documents_do_not_attend_to_each_other(bench: ModuleType) -> None:
    import torch

    shape = bench.SHAPES["tiny"]
    model = bench.build_model(shape, "sdpa", seed=0).eval()
    a, b = [5, 6, 7, 8, 9, 1023], [11, 12, 13, 1023]
    batch, _, _ = bench.packed_batch([[a, b]], pad_id=0)
    with torch.no_grad():
        together = model(input_ids=batch["input_ids"], position_ids=batch["position_ids"]).logits
        alone = model(input_ids=torch.tensor([b])).logits
    assert torch.allclose(together[0, len(a) :], alone[0], atol=1e-5)
