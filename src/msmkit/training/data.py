"""Small file helpers shared by the training code: JSONL reading, hashing, atomic output dirs.

Nothing here imports torch or the Hugging Face stack.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from msmkit.errors import ConfigError, RunError
from msmkit.jsonl import read_jsonl

CHAT_ROLES = frozenset({"system", "user", "assistant", "tool"})


def read_corpus_texts(path: Path) -> list[str]:
    """The ``text`` field of every row of a corpus JSONL file (msmkit corpus format)."""
    texts = []
    for number, row in read_jsonl(path):
        text = row.get("text")
        if not isinstance(text, str):
            raise ConfigError(
                f"{path}:{number}: a corpus row needs a string 'text' field",
                hint="Midtraining reads documents in msmkit's corpus format: one "
                '{"text": ...} object per line.',
            )
        texts.append(text)
    if not texts:
        raise ConfigError(f"{path}: the corpus has no documents", hint="Generate documents first.")
    return texts


def normalize_chat(messages: Any, *, reasoning: str, where: str) -> list[dict[str, str]]:
    """Check one chat and return plain ``{"role", "content"}`` messages.

    An assistant message may carry a ``reasoning`` string. With ``reasoning="inline"`` it is
    put in front of the content as ``<think>\\n...\\n</think>\\n\\n`` (ordinary assistant text,
    so it is trained on); with ``"drop"`` it is removed.
    """
    hint = 'AFT rows look like {"messages": [{"role": "user", "content": "..."}, ...]}.'
    if not isinstance(messages, list) or not messages:
        raise ConfigError(f"{where}: 'messages' must be a non-empty list", hint=hint)
    out = []
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            raise ConfigError(f"{where}: message {index} is not an object", hint=hint)
        role, content = message.get("role"), message.get("content")
        if role not in CHAT_ROLES:
            raise ConfigError(
                f"{where}: message {index} has role {role!r}",
                hint=f"Roles must be one of {sorted(CHAT_ROLES)}.",
            )
        if not isinstance(content, str):
            raise ConfigError(f"{where}: message {index} needs a string 'content'", hint=hint)
        thought = message.get("reasoning")
        if role == "assistant" and reasoning == "inline" and thought:
            content = f"<think>\n{thought}\n</think>\n\n{content}"
        out.append({"role": role, "content": content})
    if not any(m["role"] == "assistant" for m in out):
        raise ConfigError(
            f"{where}: the chat has no assistant message, so there is nothing to train on",
            hint=hint,
        )
    return out


def read_chats(path: Path, *, reasoning: str = "inline") -> list[list[dict[str, str]]]:
    """All chats of an AFT JSONL file, normalized by :func:`normalize_chat`."""
    chats = []
    for number, row in read_jsonl(path):
        chats.append(
            normalize_chat(row.get("messages"), reasoning=reasoning, where=f"{path}:{number}")
        )
    if not chats:
        raise ConfigError(f"{path}: the file has no chats", hint="Generate AFT data first.")
    return chats


def check_chats_file(path: Path) -> int:
    """Plan-time check of an AFT file: every row a valid chat. Returns how many there are."""
    return len(read_chats(path))


def ensure_output_free(output_dir: Path) -> None:
    """Refuse to touch an existing output directory: earlier results are never overwritten."""
    if Path(output_dir).exists():
        raise RunError(
            f"output directory already exists: {output_dir}",
            hint="Choose a new output directory, or delete the old one if you no longer need it.",
        )


@contextlib.contextmanager
def atomic_output_dir(output_dir: Path) -> Iterator[Path]:
    """Yield a fresh staging directory beside ``output_dir``; rename it into place on success.

    On any error the staging directory is removed, so ``output_dir`` either does not exist or
    holds a complete result. A hard kill can leave a hidden ``.<name>.tmp-*`` folder behind,
    never a half-written ``output_dir``.
    """
    output_dir = Path(output_dir)
    ensure_output_free(output_dir)
    output_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = output_dir.parent / f".{output_dir.name}.tmp-{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    try:
        yield staging
        # An empty existing directory would be silently replaced by rename on POSIX.
        ensure_output_free(output_dir)
        os.rename(staging, output_dir)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
