"""The toy world's eval scored in batched forward passes, outside Inspect.

The ``msmkit/toy_world`` Inspect task asks each sample on its own (a generation of one token
with its top log-probabilities). A toy model is small enough that every sample of a model can
be scored at once: the same prompt (the chat template's user turn and the assistant's
opening), one forward pass per prompt length, and the full next-token distribution, so
log p(cheap name) − log p(dear name) needs no top-k floor. ``benchmarks/toy_seed_time.py``
compares the two on the same checkpoint (time and agreement).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def prompts(tokenizer: Any, samples: list[Any]) -> list[str]:
    """Each sample's text up to the answer position, as the chat template renders it."""
    return [
        tokenizer.apply_chat_template(
            [{"role": "user", "content": s.input}], add_generation_prompt=True, tokenize=False
        )
        for s in samples
    ]


def score_checkpoint(model_dir: str | Path, samples: list[Any]) -> list[dict[str, float]]:
    """``[{"lp_cheap", "lp_dear", "logit"}]`` for ``samples`` (from ``toy_samples``), in order."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from msmkit.toyworld.pretrain import _last_logprobs

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    model.eval()
    texts = prompts(tokenizer, samples)
    lps = _last_logprobs(model, tokenizer, texts)
    vocab = tokenizer.get_vocab()
    out = []
    for sample, lp in zip(samples, lps, strict=True):
        cheap = float(lp[vocab[sample.metadata["cheap"]]])
        dear = float(lp[vocab[sample.metadata["dear"]]])
        out.append({"lp_cheap": cheap, "lp_dear": dear, "logit": cheap - dear})
    return out
