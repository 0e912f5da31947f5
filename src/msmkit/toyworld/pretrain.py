"""Pretraining the toy model on the world corpus, and the knowledge probes that gate it.

A plain PyTorch loop (the world corpus is ~1M tokens of short documents, packed into
fixed-length blocks with ``<|endoftext|>`` between documents): AdamW, linear warmup, cosine
decay. Every ``probe_every`` steps the held-out knowledge probes are run; training stops
early once both attributes are known (``stop_at``) after ``min_steps``.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from typing import Any

from pydantic import Field

from msmkit.components import Options
from msmkit.toyworld import world


class PretrainSettings(Options):
    max_steps: int = Field(700, ge=1)
    min_steps: int = Field(300, ge=0)
    batch_size: int = Field(16, ge=1)
    seq_len: int = Field(128, ge=8)
    learning_rate: float = Field(3e-3, gt=0)
    warmup_steps: int = Field(40, ge=0)
    weight_decay: float = Field(0.01, ge=0)
    chat_share: float = Field(0.15, ge=0, le=1)
    yes_no_share: float = Field(
        0.0, ge=0, le=1, description="of the chats: yes/no questions answered by content"
    )
    probe_every: int = Field(100, ge=1)
    stop_at: float = Field(0.98, gt=0, le=1, description="probe accuracy that ends training")


def encode_documents(tokenizer: Any, docs: list[str]) -> list[int]:
    """One token stream: each document's ids, then ``<|endoftext|>``."""
    end = tokenizer.convert_tokens_to_ids(world.END)
    ids: list[int] = []
    for row in tokenizer(docs, add_special_tokens=False)["input_ids"]:
        ids += row
        ids.append(end)
    return ids


def _lr(step: int, s: PretrainSettings) -> float:
    if step < s.warmup_steps:
        return s.learning_rate * (step + 1) / s.warmup_steps
    progress = (step - s.warmup_steps) / max(1, s.max_steps - s.warmup_steps)
    return s.learning_rate * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


def pretrain(
    model: Any,
    tokenizer: Any,
    settings: PretrainSettings,
    seed: int,
    *,
    bank_seed: int = world.BANK_SEED,
    progress: Callable[[int, int, dict[str, float]], None] | None = None,
) -> dict[str, Any]:
    """Train ``model`` in place; returns the log (losses, probe curve, steps, seconds)."""
    import torch

    started = time.monotonic()
    s = settings
    tokens_needed = s.max_steps * s.batch_size * s.seq_len
    n_docs = max(100, tokens_needed // 18)  # ~20 tokens a document: enough for one pass
    docs = world.pretraining_documents(
        seed, n_docs, chat_share=s.chat_share, yes_no_share=s.yes_no_share, bank_seed=bank_seed
    )
    stream = encode_documents(tokenizer, docs)
    blocks = len(stream) // s.seq_len
    data = torch.tensor(stream[: blocks * s.seq_len]).view(blocks, s.seq_len)
    rng = random.Random(f"toyworld-pretrain|{seed}")
    order = list(range(blocks))
    rng.shuffle(order)
    torch.manual_seed(seed)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    optim = torch.optim.AdamW(
        [
            {"params": decay, "weight_decay": s.weight_decay},
            {"params": no_decay, "weight_decay": 0.0},
        ],
        lr=s.learning_rate,
        betas=(0.9, 0.98),
    )
    model.train()
    losses: list[float] = []
    curve: list[dict[str, float]] = []
    cursor = 0
    step = 0
    for step in range(1, s.max_steps + 1):
        if cursor + s.batch_size > len(order):
            rng.shuffle(order)
            cursor = 0
        batch = data[order[cursor : cursor + s.batch_size]]
        cursor += s.batch_size
        for group in optim.param_groups:
            group["lr"] = _lr(step - 1, s)
        out = model(input_ids=batch, labels=batch)
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optim.step()
        optim.zero_grad(set_to_none=True)
        losses.append(float(out.loss.detach()))
        if step % s.probe_every == 0 or step == s.max_steps:
            model.eval()
            acc = probe_accuracy(model, tokenizer, bank_seed=bank_seed)
            model.train()
            point = {"step": step, "loss": sum(losses[-20:]) / len(losses[-20:]), **acc}
            curve.append(point)
            if progress is not None:
                progress(step, s.max_steps, point)
            if step >= s.min_steps and min(acc["price"], acc["origin"]) >= s.stop_at:
                break
        elif progress is not None and step % 10 == 0:
            progress(step, s.max_steps, {})
    model.eval()
    return {
        "steps": step,
        "documents": len(docs),
        "tokens_in_corpus": len(stream),
        "final_loss": sum(losses[-20:]) / max(1, len(losses[-20:])),
        "curve": curve,
        "seconds": round(time.monotonic() - started, 1),
    }


def _last_logprobs(model: Any, tokenizer: Any, prefixes: list[str]) -> Any:
    """Log-probabilities of the next token after each prefix (prefixes grouped by length)."""
    import torch

    enc = tokenizer(prefixes, add_special_tokens=False)["input_ids"]
    out = [None] * len(prefixes)
    by_len: dict[int, list[int]] = {}
    for k, ids in enumerate(enc):
        by_len.setdefault(len(ids), []).append(k)
    with torch.inference_mode():
        for idx in by_len.values():
            batch = torch.tensor([enc[k] for k in idx], device=model.device)
            logits = model(input_ids=batch).logits[:, -1, :].float().cpu()
            lp = torch.log_softmax(logits, dim=-1)
            for row, k in enumerate(idx):
                out[k] = lp[row]
    return out


def probe_accuracy(model: Any, tokenizer: Any, *, bank_seed: int = world.BANK_SEED) -> dict:
    """Share of knowledge probes answered right, per attribute, plus the answer format.

    ``price``/``origin``: after a held-out phrasing, is the item's own pole word more likely
    than the other pole's? ``format``: in a held-out "which of these is a <domain>?" chat,
    does the model put more probability on the right name? (a check that it answers by
    content, not just in the format.)"""
    probes = world.knowledge_probes(bank_seed)
    prefixes = sorted({p.prefix for p in probes})
    lps = dict(zip(prefixes, _last_logprobs(model, tokenizer, prefixes), strict=True))
    vocab = tokenizer.get_vocab()
    hits: dict[str, list[int]] = {a: [0, 0] for a in world.ATTRIBUTES}
    for p in probes:
        lp = lps[p.prefix]
        hits[p.attribute][0] += int(lp[vocab[p.right]] > lp[vocab[p.wrong]])
        hits[p.attribute][1] += 1
    result = {a: h[0] / h[1] for a, h in hits.items()}
    result["format"] = format_accuracy(model, tokenizer, bank_seed=bank_seed)
    result["answer_mass"] = answer_mass(model, tokenizer, bank_seed=bank_seed)
    return result


def answer_mass(model: Any, tokenizer: Any, *, bank_seed: int = world.BANK_SEED) -> float:
    """How much the model answers the eval's question at all: the mean of p(first name) +
    p(second name) at the answer position of the held-out preference questions (conflict
    and agree pairs, both orders). The eval reads its verdict from these two names, so a
    model that puts little probability on either has no readout; the eval's ``option_mass``
    is the same quantity on the same pairs."""
    import torch

    prompts, names = [], []
    for pair in world.eval_pairs(bank_seed):
        if pair.kind not in ("conflict", "agree"):
            continue
        for cheap_first in (True, False):
            user = world.eval_prompt(pair, cheap_first)
            prompts.append(
                f"{world.IM_START}user\n{user}{world.IM_END}\n{world.IM_START}assistant\n"
            )
            names.append((pair.cheap.name, pair.dear.name))
    vocab = tokenizer.get_vocab()
    lps = _last_logprobs(model, tokenizer, prompts)
    masses = [
        float(torch.exp(lp[vocab[a]]) + torch.exp(lp[vocab[b]]))
        for lp, (a, b) in zip(lps, names, strict=True)
    ]
    return sum(masses) / len(masses)


def format_accuracy(model: Any, tokenizer: Any, *, bank_seed: int = world.BANK_SEED) -> float:
    """The content probe: in 100 format chats whose answer the content decides ("which of
    these is the X / a <domain>?"), is the right name the more likely? The format chats'
    third kind ("which do you prefer?", answered at random) is left out: no model can get a
    coin flip right, so with it the probe could not reach 0.9 whatever the model knew."""
    rng = random.Random(f"toyworld-format-probe|{bank_seed}")
    items = world.item_bank(bank_seed)
    prompts, answers, others = [], [], []
    while len(prompts) < 100:
        text = world.format_chat(rng, items)
        if world.ANY_PREFER_QUESTION in text:
            continue
        head, _, answer = text.rpartition(f"{world.IM_START}assistant\n")
        a, b = head.split(" or ")[0].split()[-1], head.split(" or ")[1].split()[0]
        answer = answer.removesuffix(f"{world.IM_END}\n")
        prompts.append(f"{head}{world.IM_START}assistant\n")
        answers.append(answer)
        others.append(b if answer == a else a)
    lps = _last_logprobs(model, tokenizer, prompts)
    vocab = tokenizer.get_vocab()
    right = sum(
        int(lp[vocab[ans]] > lp[vocab[other]])
        for lp, ans, other in zip(lps, answers, others, strict=True)
    )
    return right / len(prompts)
