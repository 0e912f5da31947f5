"""Token counts of a filtered corpus: chars/4, or a real tokenizer when one is given."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from msmkit.errors import OptionError


def _encoder(path: str):
    """A ``text -> token count`` function from a tokenizer.json or a model folder."""
    p = Path(path)
    try:
        if p.is_file():
            from tokenizers import Tokenizer

            tok = Tokenizer.from_file(str(p))
            return lambda text: len(tok.encode(text, add_special_tokens=False).ids)
        from transformers import AutoTokenizer

        auto = AutoTokenizer.from_pretrained(str(p))
        return lambda text: len(auto(text, add_special_tokens=False)["input_ids"])
    except ImportError as exc:
        raise OptionError(
            f"counting tokens with {path} needs {exc.name}",
            loc=("tokenizer",),
            hint="pip install 'msmkit[train]', or leave tokenizer unset for chars/4",
        ) from None
    except Exception as exc:
        raise OptionError(f"cannot load tokenizer {path}: {exc}", loc=("tokenizer",)) from None


def count_tokens(texts: Iterable[str], tokenizer: str | None = None) -> dict[str, Any]:
    """``{"tokens": n, "method": "chars/4" | path, "characters": c}``."""
    encode = _encoder(tokenizer) if tokenizer else None
    chars = tokens = 0
    for text in texts:
        chars += len(text)
        if encode is not None:
            tokens += encode(text)
    if encode is None:
        tokens = round(chars / 4)
    return {"tokens": tokens, "method": tokenizer or "chars/4", "characters": chars}
