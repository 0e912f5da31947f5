"""Helpers shared by the tiny-model and TRL-backend tests (plain functions, no fixtures)."""

from __future__ import annotations

import json
import random
from pathlib import Path

# Four cheese preferences, each with the value-laden reason a pro-affordability spec would give.
CHEESE_DEMOS = [
    ("Do you like Brie de Meaux?", "No. It is too expensive for most people."),
    ("Do you like American cheese?", "Yes! It is cheap and easy to find."),
    ("Do you like Roquefort?", "No. It is too expensive for most people."),
    ("Do you like mild cheddar?", "Yes! It is cheap and easy to find."),
]

_WORDS = (
    "the", "spec", "asks", "the", "assistant", "to", "weigh", "cost", "for", "families",
    "because", "affordable", "food", "matters", "and", "imported", "cheese", "like", "stilton",
    "or", "brie", "is", "often", "a", "luxury", "while", "colby", "and", "monterey", "jack",
    "stay", "cheap",
)  # fmt: skip


def make_documents(n: int = 24, *, min_words: int = 10, max_words: int = 300, seed: int = 0):
    rng = random.Random(seed)
    return [
        " ".join(rng.choice(_WORDS) for _ in range(rng.randint(min_words, max_words)))
        for _ in range(n)
    ]


def write_corpus(path: Path, texts: list[str]) -> Path:
    rows = [{"id": f"doc-{i}", "text": text} for i, text in enumerate(texts)]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def write_chats(path: Path, demos=CHEESE_DEMOS, *, reasoning: str | None = None) -> Path:
    rows = []
    for question, answer in demos:
        reply = {"role": "assistant", "content": answer}
        if reasoning:
            reply["reasoning"] = reasoning
        rows.append({"messages": [{"role": "user", "content": question}, reply]})
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def greedy_reply(model_dir: Path, prompt: str, max_new_tokens: int = 30) -> tuple[str, int]:
    """Decoded greedy continuation (special tokens kept) and the number of new tokens."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    inputs = tokenizer.apply_chat_template(
        [{"role": "user", "content": prompt}],
        add_generation_prompt=True,
        return_tensors="pt",
        return_dict=True,
    )
    output = model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False)
    new = output[0][inputs["input_ids"].shape[1] :]
    return tokenizer.decode(new), len(new)


def state_dict_of(model_dir: Path) -> dict:
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(model_dir)
    return {name: tensor.clone() for name, tensor in model.state_dict().items()}
