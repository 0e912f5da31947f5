"""Training throughput of packed midtraining batches against padded batches of the same documents.

    python benchmarks/train_throughput.py [--shape tiny|small|0.5b|7b] [--device cpu|cuda]
        [--dtype float32|bfloat16|float16] [--batch-tokens N] [--max-length L] [--steps S]
        [--seed N] [--attn sdpa|eager|flash_attention_2] [--optimizer adamw|sgd]
        [--grad-checkpointing] [--peak-tflops T] [--json]

A random-weight Qwen2 model of the chosen shape (no hub access) trains with a plain torch loop
on synthetic documents: random token ids with lognormal lengths (median ``--doc-median``
tokens, capped at ``--max-length``), each ending with an EOS id, as msmkit tokenizes them.

* **packed**: the documents are packed the way msmkit's TRL backend packs them, TRL's
  ``pack_dataset(..., strategy="bfd_split")`` into rows of ``--max-length`` tokens. A step
  takes ``--batch-tokens // --max-length`` rows as a ``[rows, max_length]`` batch with
  ``position_ids`` restarting at every document, so transformers builds a block-diagonal
  (per-document) causal mask and no document attends to another. The unfilled tail of a row
  is padding: its own pseudo-document, label -100, counted as padded tokens.
* **padded**: the same documents in their generated (random) order, split into as many
  batches as the packed arm has steps, each padded to its longest document with an
  ``attention_mask`` and label -100 on the padding.

Both arms start from the same weights, take the same number of optimizer steps and see the
same documents, so their real (non-pad) token counts are identical. Tokens/s counts only
real tokens. Before timing, each arm runs one untimed forward/backward on its first batch
(no optimizer step). MFU = 6 * N * real tokens/s / peak FLOPs, with N the parameters that
do matmuls (everything but the input embedding; the LM head counts even when tied), so
attention-score FLOPs are not counted.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch

SHAPES: dict[str, dict[str, int]] = {
    "tiny": dict(hidden=64, layers=2, heads=4, kv_heads=2, intermediate=256, vocab=1024),
    "small": dict(hidden=256, layers=4, heads=8, kv_heads=2, intermediate=1024, vocab=8192),
    "0.5b": dict(hidden=896, layers=24, heads=14, kv_heads=2, intermediate=4864, vocab=151936),
    "7b": dict(hidden=3584, layers=28, heads=28, kv_heads=4, intermediate=18944, vocab=152064),
}

# Dense (non-sparse) bf16 tensor-core peaks, TFLOPs; matched as substrings of the device name.
PEAK_BF16_TFLOPS: dict[str, float] = {
    "H200": 989.0,
    "H100": 989.0,
    "H800": 989.0,
    "B200": 2250.0,
    "A100": 312.0,
    "A800": 312.0,
    "L40S": 362.0,
    "L4": 121.0,
    "A10G": 70.0,
}

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


@dataclass
class ArmResult:
    name: str
    steps: int
    docs: int
    real_tokens: int
    padded_tokens: int
    waste_pct: float
    seconds: float
    real_tokens_per_s: float
    mfu: float | None = None
    peak_memory_gb: float | None = None
    final_loss: float = float("nan")


@dataclass
class Report:
    shape: dict[str, int]
    params_matmul: int
    device: str
    device_name: str
    dtype: str
    attn: str
    max_length: int
    batch_tokens: int
    seed: int
    peak_tflops: float | None
    arms: list[ArmResult] = field(default_factory=list)
    ratio_packed_over_padded: float = float("nan")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# ---------------------------------------------------------------------------------------------
# Data


def make_documents(
    rng: np.random.Generator, total_tokens: int, median: int, sigma: float, cap: int, vocab: int
) -> list[list[int]]:
    """Random-token documents (lognormal lengths, ``[8, cap]``, EOS last) summing to at most
    ``total_tokens`` (within 8). Token ids avoid 0 (pad) and ``vocab - 1`` (EOS)."""
    eos = vocab - 1
    docs: list[list[int]] = []
    total = 0
    while total_tokens - total >= 8:
        length = int(np.clip(round(rng.lognormal(math.log(median), sigma)), 8, cap))
        length = min(length, total_tokens - total)
        body = rng.integers(1, vocab - 1, size=length - 1).tolist()
        docs.append([*body, eos])
        total += length
    return docs


def pack_rows(docs: list[list[int]], max_length: int) -> list[list[list[int]]]:
    """TRL's bfd_split packing (what msmkit's TRL backend uses): each row is a list of documents."""
    from datasets import Dataset, disable_progress_bars
    from trl.data_utils import pack_dataset

    disable_progress_bars()

    packed = pack_dataset(
        Dataset.from_dict({"input_ids": docs}), seq_length=max_length, strategy="bfd_split"
    )
    rows: list[list[list[int]]] = []
    for ids, lengths in zip(packed["input_ids"], packed["seq_lengths"], strict=True):
        start, row = 0, []
        for n in lengths:
            row.append(ids[start : start + n])
            start += n
        rows.append(row)
    return rows


Batch = dict[str, torch.Tensor]


def packed_batch(rows: list[list[list[int]]], pad_id: int) -> tuple[Batch, int, int]:
    """``[rows, longest row]`` with per-document ``position_ids``; the tail of a short row is a
    padding pseudo-document (positions from 0, label -100). Returns (batch, real, padded)."""
    width = max(sum(len(d) for d in row) for row in rows)
    ids, pos, labels = [], [], []
    real = 0
    for row in rows:
        r_ids, r_pos, r_lab = [], [], []
        for doc in row:
            r_ids += doc
            r_pos += range(len(doc))
            r_lab += [-100, *doc[1:]]  # no document predicts its first token from the last one
            real += len(doc)
        tail = width - len(r_ids)
        r_ids += [pad_id] * tail
        r_pos += range(tail)
        r_lab += [-100] * tail
        ids.append(r_ids)
        pos.append(r_pos)
        labels.append(r_lab)
    batch = {
        "input_ids": torch.tensor(ids),
        "position_ids": torch.tensor(pos),
        "labels": torch.tensor(labels),
    }
    return batch, real, width * len(rows)


def padded_batch(docs: list[list[int]], pad_id: int) -> tuple[Batch, int, int]:
    """Documents right-padded to the longest, with an attention mask.

    Returns (batch, real tokens, padded tokens)."""
    width = max(len(d) for d in docs)
    ids = [d + [pad_id] * (width - len(d)) for d in docs]
    mask = [[1] * len(d) + [0] * (width - len(d)) for d in docs]
    labels = [[-100, *d[1:]] + [-100] * (width - len(d)) for d in docs]
    batch = {
        "input_ids": torch.tensor(ids),
        "attention_mask": torch.tensor(mask),
        "labels": torch.tensor(labels),
    }
    return batch, sum(len(d) for d in docs), width * len(docs)


# ---------------------------------------------------------------------------------------------
# Model and loop


def resolve_shape(args: argparse.Namespace) -> dict[str, int]:
    shape = dict(SHAPES[args.shape])
    for key in shape:
        value = getattr(args, key, None)
        if value is not None:
            shape[key] = value
    return shape


def build_model(shape: dict[str, int], attn: str, seed: int) -> torch.nn.Module:
    from transformers import Qwen2Config, Qwen2ForCausalLM

    config = Qwen2Config(
        hidden_size=shape["hidden"],
        num_hidden_layers=shape["layers"],
        num_attention_heads=shape["heads"],
        num_key_value_heads=shape["kv_heads"],
        intermediate_size=shape["intermediate"],
        vocab_size=shape["vocab"],
        max_position_embeddings=32768,
        tie_word_embeddings=shape["hidden"] < 2048,  # Qwen2.5 ties below 3B
        pad_token_id=0,
        eos_token_id=shape["vocab"] - 1,
        bos_token_id=None,
        use_cache=False,
        attn_implementation=attn,
    )
    torch.manual_seed(seed)
    return Qwen2ForCausalLM(config)


def matmul_params(model: torch.nn.Module) -> int:
    """Parameters that take part in matmuls: all but the input embedding, plus the LM head."""
    total = sum(p.numel() for p in model.parameters())
    embed = model.get_input_embeddings().weight
    head = model.get_output_embeddings().weight
    tied = embed.data_ptr() == head.data_ptr()
    return total - embed.numel() + (head.numel() if tied else 0)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def run_arm(
    name: str,
    batches: list[tuple[Batch, int, int]],
    docs: int,
    args: argparse.Namespace,
    shape: dict[str, int],
    device: torch.device,
) -> ArmResult:
    model = build_model(shape, args.attn, args.seed).to(device=device, dtype=DTYPES[args.dtype])
    if args.grad_checkpointing:
        model.gradient_checkpointing_enable()
    model.train()
    if args.optimizer == "sgd":
        opt: torch.optim.Optimizer = torch.optim.SGD(model.parameters(), lr=1e-4)
    else:
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.01)

    def to_device(batch: Batch) -> Batch:
        return {k: v.to(device, non_blocking=True) for k, v in batch.items()}

    warm = to_device(batches[0][0])  # untimed: kernels, allocator, lazy init
    model(**warm).loss.backward()
    opt.zero_grad(set_to_none=True)
    del warm
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    sync(device)
    loss = torch.tensor(float("nan"))
    start = time.perf_counter()
    for batch, _, _ in batches:
        loss = model(**to_device(batch)).loss
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
    sync(device)
    seconds = time.perf_counter() - start
    real = sum(b[1] for b in batches)
    padded = sum(b[2] for b in batches)
    result = ArmResult(
        name=name,
        steps=len(batches),
        docs=docs,
        real_tokens=real,
        padded_tokens=padded,
        waste_pct=100.0 * (padded - real) / padded,
        seconds=seconds,
        real_tokens_per_s=real / seconds,
        final_loss=float(loss.detach().float().item()),
    )
    if device.type == "cuda":
        result.peak_memory_gb = torch.cuda.max_memory_allocated(device) / 2**30
    del model, opt
    if device.type == "cuda":
        torch.cuda.empty_cache()
    return result


def peak_tflops(device: torch.device, override: float | None) -> tuple[str, float | None]:
    if device.type != "cuda":
        return "cpu", override
    name = torch.cuda.get_device_name(device)
    if override is not None:
        return name, override
    for key, tflops in PEAK_BF16_TFLOPS.items():
        if key in name.upper():
            return name, tflops
    return name, None


# ---------------------------------------------------------------------------------------------
# CLI


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--shape", choices=sorted(SHAPES), default="tiny")
    for key in SHAPES["tiny"]:
        flag = "--kv-heads" if key == "kv_heads" else f"--{key}"
        p.add_argument(flag, dest=key, type=int, default=None, help=f"override the shape's {key}")
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    p.add_argument(
        "--dtype",
        choices=sorted(DTYPES),
        default=None,
        help="default: float32 on cpu, bfloat16 on cuda",
    )
    p.add_argument(
        "--batch-tokens",
        type=int,
        default=8192,
        help="packed tokens per optimizer step (rows = batch_tokens // max_length)",
    )
    p.add_argument("--max-length", type=int, default=2048, help="packed row length; doc cap")
    p.add_argument("--steps", type=int, default=8, help="optimizer steps per arm")
    p.add_argument("--doc-median", type=int, default=600, help="median document length")
    p.add_argument("--doc-sigma", type=float, default=0.6, help="lognormal sigma of lengths")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--attn", choices=["sdpa", "eager", "flash_attention_2"], default="sdpa")
    p.add_argument("--optimizer", choices=["adamw", "sgd"], default="adamw")
    p.add_argument("--grad-checkpointing", action="store_true")
    p.add_argument(
        "--peak-tflops",
        type=float,
        default=None,
        help="peak dense FLOPs of the device in TFLOPs (default: looked up on GPU)",
    )
    p.add_argument("--arms", default="packed,padded", help="comma list of arms to run")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    args = p.parse_args(argv)
    if args.dtype is None:
        args.dtype = "bfloat16" if args.device == "cuda" else "float32"
    if args.batch_tokens < args.max_length:
        p.error("--batch-tokens must be at least --max-length")
    return args


def benchmark(args: argparse.Namespace) -> Report:
    shape = resolve_shape(args)
    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: no CUDA GPU is visible to torch here (use --device cpu)")
    device = torch.device(args.device)
    device_name, peak = peak_tflops(device, args.peak_tflops)
    rows_per_step = args.batch_tokens // args.max_length
    rng = np.random.default_rng(args.seed)
    # A little under steps * batch_tokens, so bfd fills exactly steps * rows_per_step rows.
    target = int(args.steps * rows_per_step * args.max_length * 0.97)
    docs = make_documents(
        rng, target, args.doc_median, args.doc_sigma, args.max_length, shape["vocab"]
    )
    rows = pack_rows(docs, args.max_length)
    steps = math.ceil(len(rows) / rows_per_step)
    packed = [
        packed_batch(rows[i * rows_per_step : (i + 1) * rows_per_step], pad_id=0)
        for i in range(steps)
    ]
    per_step = np.array_split(np.arange(len(docs)), steps)
    padded = [padded_batch([docs[j] for j in idx], pad_id=0) for idx in per_step]

    probe = build_model(shape, args.attn, args.seed)
    report = Report(
        shape=shape,
        params_matmul=matmul_params(probe),
        device=args.device,
        device_name=device_name,
        dtype=args.dtype,
        attn=args.attn,
        max_length=args.max_length,
        batch_tokens=args.batch_tokens,
        seed=args.seed,
        peak_tflops=peak,
    )
    del probe
    wanted = [a.strip() for a in args.arms.split(",") if a.strip()]
    arms = {"packed": packed, "padded": padded}
    for name in wanted:
        result = run_arm(name, arms[name], len(docs), args, shape, device)
        if peak:
            result.mfu = 6 * report.params_matmul * result.real_tokens_per_s / (peak * 1e12)
        report.arms.append(result)
    by_name = {a.name: a for a in report.arms}
    if "packed" in by_name and "padded" in by_name:
        report.ratio_packed_over_padded = (
            by_name["packed"].real_tokens_per_s / by_name["padded"].real_tokens_per_s
        )
    return report


def format_report(report: Report) -> str:
    s = report.shape
    lines = [
        f"model: Qwen2 random weights, hidden {s['hidden']}, {s['layers']} layers, "
        f"{s['heads']}/{s['kv_heads']} heads, intermediate {s['intermediate']}, "
        f"vocab {s['vocab']}; {report.params_matmul / 1e6:,.1f}M matmul params",
        f"device: {report.device_name} ({report.dtype}, attn {report.attn}); "
        f"max_length {report.max_length}, batch_tokens {report.batch_tokens}, seed {report.seed}"
        + (f", peak {report.peak_tflops:g} TFLOPs" if report.peak_tflops else ""),
        "",
    ]
    header = ["arm", "steps", "docs", "real tok", "padded tok", "waste %", "seconds", "real tok/s"]
    show_mfu = any(a.mfu is not None for a in report.arms)
    show_mem = any(a.peak_memory_gb is not None for a in report.arms)
    header += ["MFU %"] * show_mfu + ["peak GB"] * show_mem
    table = [header]
    for a in report.arms:
        row = [
            a.name,
            str(a.steps),
            str(a.docs),
            f"{a.real_tokens:,}",
            f"{a.padded_tokens:,}",
            f"{a.waste_pct:.1f}",
            f"{a.seconds:.2f}",
            f"{a.real_tokens_per_s:,.0f}",
        ]
        if show_mfu:
            row.append(f"{100 * a.mfu:.1f}" if a.mfu is not None else "-")
        if show_mem:
            row.append(f"{a.peak_memory_gb:.1f}" if a.peak_memory_gb is not None else "-")
        table.append(row)
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    for r in table:
        lines.append(
            "  ".join(
                c.rjust(w) if i else c.ljust(w)
                for i, (c, w) in enumerate(zip(r, widths, strict=True))
            )
        )
    if not math.isnan(report.ratio_packed_over_padded):
        lines += ["", f"packed / padded real tokens/s: {report.ratio_packed_over_padded:.2f}x"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> Report:
    args = parse_args(argv)
    report = benchmark(args)
    print(json.dumps(report.to_dict(), indent=2) if args.json else format_report(report))
    return report


if __name__ == "__main__":
    main()
