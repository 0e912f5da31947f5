"""Turning documents and chats into training rows, and counting their tokens.

Midtraining rows are tokenized here (``[bos] + tokens + [eos]``) and handed to TRL
pre-tokenized; AFT rows stay chat messages that TRL renders. The counts taken before and
after TRL prepares the dataset prove that packing kept every document token.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from msmkit.components import TrainJob
from msmkit.errors import OptionError, RunError
from msmkit.jsonl import read_jsonl
from msmkit.training.data import normalize_chat, read_chats, read_corpus_texts
from msmkit.training.sources import SOURCE_SUFFIX, as_source, load_texts
from msmkit.training.trl.mixing import mix_documents, pick_mix
from msmkit.training.trl.options import TRLOptions
from msmkit.training.trl.templates import doc_bos_id, prepare_aft_template, resolve_doc_eos

if TYPE_CHECKING:
    from datasets import Dataset
    from transformers import PreTrainedTokenizerBase

log = logging.getLogger("msmkit.training")


def tokenize_documents(
    tokenizer: PreTrainedTokenizerBase, texts: list[str], eos: str
) -> list[list[int]]:
    """``[bos] + tokens + [eos]`` per document; the BOS per family (see ``doc_bos_id``)."""
    eos_id = tokenizer.convert_tokens_to_ids(eos)
    bos_id = doc_bos_id(tokenizer)
    prefix = [] if bos_id is None else [bos_id]
    encoded = tokenizer(texts, add_special_tokens=False, verbose=False)["input_ids"]
    return [[*prefix, *ids, eos_id] for ids in encoded]


def read_documents(data: Path) -> list[str]:
    """A midtraining job's documents: msmkit corpus JSONL, or any source (see ``sources``)."""
    path = Path(data)
    if path.suffix == ".jsonl" and not path.name.endswith(SOURCE_SUFFIX):
        return read_corpus_texts(path)
    return load_texts(as_source(path))


def document_rows(
    ids: list[list[int]], prefix_ids: list[int], has_bos: bool
) -> tuple[list[dict[str, list[int]]], int]:
    """Rows ``[bos] + prefix + body + [eos]`` with the prefix's labels -100; and the number of
    masked tokens. Packing keeps every token, masked or not."""
    start = 1 if has_bos else 0
    mask = [-100] * len(prefix_ids)
    rows = [
        {
            "input_ids": [*row[:start], *prefix_ids, *row[start:]],
            "labels": [*row[:start], *mask, *row[start:]],
        }
        for row in ids
    ]
    return rows, len(prefix_ids) * len(ids)


def chats_from_messages(raw: list[Any], reasoning: str, where: str) -> list[list[dict[str, str]]]:
    """Normalized chats from raw ``messages`` values (as ``read_aft_chats`` reads a file)."""
    chats = []
    for index, messages in enumerate(raw):
        mode = "drop" if reasoning == "field" else reasoning
        chat = normalize_chat(messages, reasoning=mode, where=f"{where}: chat {index}")
        if reasoning == "field":
            for message, original in zip(chat, messages, strict=True):
                thought = original.get("reasoning")
                if message["role"] == "assistant" and isinstance(thought, str) and thought:
                    message["reasoning_content"] = thought
        chats.append(chat)
    return chats


def read_aft_chats(path: Path, reasoning: str) -> list[list[dict[str, str]]]:
    """AFT chats with ``reasoning`` applied; ``field`` keeps an assistant message's
    reasoning as its ``reasoning_content`` for the chat template to render."""
    if reasoning != "field":
        return read_chats(path, reasoning=reasoning)
    chats = read_chats(path, reasoning="drop")
    for chat, (_, row) in zip(chats, read_jsonl(path), strict=True):
        for message, raw in zip(chat, row["messages"], strict=True):
            thought = raw.get("reasoning")
            if message["role"] == "assistant" and isinstance(thought, str) and thought:
                message["reasoning_content"] = thought
    return chats


def chat_token_counts(
    tokenizer: PreTrainedTokenizerBase, chats: list[list[dict[str, str]]], template: str | None
) -> tuple[int, int]:
    total = trainable = 0
    for chat in chats:
        out = tokenizer.apply_chat_template(
            chat,
            tokenize=True,
            return_dict=True,
            return_assistant_tokens_mask=True,
            chat_template=template,
        )
        total += len(out["input_ids"])
        trainable += sum(out["assistant_masks"])
    return total, trainable


def estimate_doc_tokens(tokenizer, texts: list[str], sample: int = 256) -> tuple[int, str]:
    picked = texts[:: max(1, len(texts) // sample)][:sample]
    picked_tokens = sum(len(ids) + 1 for ids in tokenizer(picked, verbose=False)["input_ids"])
    if len(picked) == len(texts):
        return picked_tokens, "token count is exact"
    ratio = picked_tokens / max(1, sum(len(t) + 1 for t in picked))
    tokens = round(ratio * sum(len(t) + 1 for t in texts))
    return tokens, f"tokens estimated from {len(picked)} of {len(texts)} documents"


def estimate_chat_tokens(tokenizer, chats, sample: int = 256) -> tuple[int, str]:
    picked = chats[:: max(1, len(chats) // sample)][:sample]
    total = sum(
        len(tokenizer.apply_chat_template(chat, tokenize=True, return_dict=True)["input_ids"])
        for chat in picked
    )
    if len(picked) == len(chats):
        return total, "token count is exact"
    return round(total * len(chats) / len(picked)), (
        f"tokens estimated from {len(picked)} of {len(chats)} chats"
    )


def packed_counts(dataset: Dataset) -> dict[str, int]:
    """Tokens, trainable tokens and segments in a prepared (packed or not) TRL dataset."""
    import pyarrow.compute as pc

    table = dataset.data
    labels = pc.list_flatten(table.column("labels"))
    counts = {
        "rows": dataset.num_rows,
        "tokens": int(pc.sum(pc.list_value_length(table.column("input_ids"))).as_py() or 0),
        "trainable_tokens": int(pc.sum(pc.not_equal(labels, -100)).as_py() or 0),
    }
    if "seq_lengths" in table.column_names:
        counts["segments"] = int(pc.sum(pc.list_value_length(table.column("seq_lengths"))).as_py())
    return counts


def build_dataset(
    job: TrainJob, options: TRLOptions, tokenizer: PreTrainedTokenizerBase
) -> tuple[Dataset, dict[str, Any]]:
    """The rows TRL trains on, with the token counts taken before TRL prepares them."""
    from datasets import Dataset

    info: dict[str, Any] = {}
    if job.stage == "midtrain":
        texts = read_documents(job.data)
        eos = resolve_doc_eos(tokenizer, options.doc_eos)
        ids = tokenize_documents(tokenizer, texts, eos)
        prefix = prefix_ids(tokenizer, options.doc_prefix)
        rows, masked = document_rows(ids, prefix, doc_bos_id(tokenizer) is not None)
        own = sum(len(row["input_ids"]) for row in rows)
        mixed, record = mix_documents(
            lambda batch: tokenize_documents(tokenizer, batch, eos), options, own, job.seed
        )
        rows += [{"input_ids": row, "labels": list(row)} for row in mixed]
        n = own + sum(len(row) for row in mixed)
        info.update(rows=len(rows), doc_eos=eos, tokens_before=n, trainable_before=n - masked)
        if options.doc_prefix:
            info["doc_prefix"] = {"text": options.doc_prefix, "tokens": len(prefix)}
    else:
        chats = read_aft_chats(job.data, options.reasoning)
        template, source = prepare_aft_template(tokenizer, options)
        total, trainable = chat_token_counts(tokenizer, chats, template)
        counts: dict[int, tuple[int, int]] = {}

        def lengths(batch: list[list[dict[str, str]]]) -> list[int]:
            for chat in batch:
                counts[id(chat)] = chat_token_counts(tokenizer, [chat], template)
            return [counts[id(chat)][0] for chat in batch]

        mixed, record = pick_mix(
            "aft",
            options,
            total,
            job.seed,
            lambda raw: chats_from_messages(raw, options.reasoning, "mix_chats"),
            lengths,
        )
        chats = chats + mixed
        total += sum(counts[id(c)][0] for c in mixed)
        trainable += sum(counts[id(c)][1] for c in mixed)
        rows = [{"messages": chat} for chat in chats]
        info.update(
            rows=len(rows),
            chat_template=source,
            tokens_before=total,
            trainable_before=trainable,
        )
    if record is not None:
        info["mix"] = record
    return Dataset.from_list(rows), info


def prefix_ids(tokenizer: PreTrainedTokenizerBase, prefix: str | None) -> list[int]:
    if not prefix:
        return []
    ids = tokenizer(prefix, add_special_tokens=False, verbose=False)["input_ids"]
    if not ids:
        raise OptionError(
            f"doc_prefix {prefix!r} is no tokens for this tokenizer", loc=("doc_prefix",)
        )
    return list(ids)


def check_counts(
    job: TrainJob, info: dict[str, Any], after: dict[str, int], max_length: int | None = None
) -> None:
    lost = info["trainable_before"] - after["trainable_tokens"]
    if lost == 0:
        return
    if job.stage == "midtrain":
        raise RunError(
            f"packing dropped {lost} of {info['trainable_before']} document tokens",
            hint="This is a bug: msmkit packs with bfd_split/wrapped, which should keep every "
            "token. Please report it with the manifest options.",
        )
    if after["rows"] == 0 or after["trainable_tokens"] == 0:
        raise OptionError(
            f"every chat loses all its assistant tokens at max_length {max_length}",
            loc=("sft", "max_length"),
            hint="Raise sft.max_length above the length of your chats.",
        )
    message = (
        f"{lost} of {info['trainable_before']} assistant tokens are cut by max_length "
        f"({info['rows'] - after['rows']} chats dropped entirely)"
    )
    warnings.warn(message + "; raise sft.max_length to keep them", stacklevel=3)
    log.warning(message)
