"""The toy world's eval scored in batched forward passes, outside Inspect.

The ``msmkit/toy_world`` Inspect task asks each sample on its own (a generation of one token
with its top log-probabilities). A toy model is small enough that every sample of a model can
be scored at once: the same prompt (the chat template's user turn and the assistant's
opening), one forward pass per prompt length, and the full next-token distribution, so
log p(cheap name) − log p(dear name) needs no top-k floor. The task's ``batched`` solver
uses :func:`model_outputs` on the model Inspect's ``hf`` provider has loaded, so the eval log
holds the same outputs a generation would have given; ``benchmarks/toy_seed_time.py``
compares the paths on one checkpoint (time and agreement).
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


def model_outputs(model: Any, tokenizer: Any, samples: list[Any], top: int) -> dict[str, Any]:
    """Inspect ``ModelOutput`` per sample id: the most likely next token and the ``top``
    alternatives with their log-probabilities at the answer position (what a one-token
    generation with ``logprobs`` returns), from one forward pass per prompt length."""
    import torch
    from inspect_ai.model import (
        ChatCompletionChoice,
        ChatMessageAssistant,
        Logprob,
        Logprobs,
        ModelOutput,
        TopLogprob,
    )

    from msmkit.toyworld.pretrain import _last_logprobs

    name = str(getattr(getattr(model, "config", None), "name_or_path", "") or "toyworld")
    outputs = {}
    rows = _last_logprobs(model, tokenizer, prompts(tokenizer, samples))
    for sample, lp in zip(samples, rows, strict=True):
        values, ids = torch.topk(lp, k=min(top, lp.shape[-1]))
        tokens = tokenizer.convert_ids_to_tokens(ids.tolist())
        alternatives = [
            TopLogprob(token=t, logprob=float(v)) for t, v in zip(tokens, values, strict=True)
        ]
        best = alternatives[0]
        position = Logprob(token=best.token, logprob=best.logprob, top_logprobs=alternatives)
        outputs[str(sample.id)] = ModelOutput(
            model=name,
            choices=[
                ChatCompletionChoice(
                    message=ChatMessageAssistant(content=best.token, model=name),
                    stop_reason="max_tokens",
                    logprobs=Logprobs(content=[position]),
                )
            ],
            completion=best.token,
            metadata={"scored_by": "msmkit.toyworld.scoring (batched forward pass)"},
        )
    return outputs


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
