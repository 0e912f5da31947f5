"""Token policy checks that need only a tokenizer: chat templates (AFT) and end tokens.

AFT trains with ``assistant_only_loss=True``, so the chat template must mark assistant turns
with ``{% generation %}`` (or be one TRL knows a training version of) and must put the
end-of-turn token inside the mark. Midtraining ends every document with an EOS token that
must not be a chat end-of-turn token.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from msmkit.errors import OptionError
from msmkit.training.trl.options import TRLOptions

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

# Chat end-of-turn tokens that should not end a *document*, and what to use instead.
TURN_END_TOKENS = frozenset({"<|im_end|>", "<|eot_id|>", "<end_of_turn>", "<|end|>"})
DOC_END_TOKENS = ("<|endoftext|>", "<|end_of_text|>")
CHAT_TURN_END = "<|im_end|>"

TEMPLATE_PATH_LOC = ("sft", "chat_template_path")


def resolve_doc_eos(tokenizer: PreTrainedTokenizerBase, doc_eos: str | None) -> str:
    """The token that ends each document (see ``TRLOptions.doc_eos``)."""
    vocab = tokenizer.get_vocab()
    if doc_eos is not None:
        if doc_eos not in vocab:
            raise OptionError(
                f"doc_eos {doc_eos!r} is not a token of this tokenizer",
                loc=("doc_eos",),
                hint=f"Pick a token the tokenizer has, e.g. its eos token {tokenizer.eos_token!r}.",
            )
        return doc_eos
    eos = tokenizer.eos_token
    if eos is None or eos in TURN_END_TOKENS:
        for candidate in DOC_END_TOKENS:
            if candidate in vocab:
                return candidate
    if eos is None:
        raise OptionError(
            "the tokenizer has no eos token to end documents with",
            loc=("doc_eos",),
            hint="Set the trl option doc_eos to a token of this tokenizer.",
        )
    return eos


def chat_template_file(options: TRLOptions) -> Path | None:
    """The ``sft.chat_template_path`` override, checked to be a .jinja file (no tokenizer)."""
    path = options.sft.get("chat_template_path")
    if path is None:
        return None
    file = Path(str(path)).expanduser()
    if not (file.is_file() and file.suffix in (".jinja", ".j2")):
        raise OptionError(
            f"sft.chat_template_path must be a .jinja file, got {path}",
            loc=TEMPLATE_PATH_LOC,
            hint="Write the template to a .jinja file; cloning from another tokenizer is not "
            "supported by msmkit.",
        )
    return file


def apply_chat_template_override(tokenizer: PreTrainedTokenizerBase, options: TRLOptions) -> None:
    """Honour ``sft.chat_template_path`` (a .jinja file) before the template checks."""
    file = chat_template_file(options)
    if file is not None:
        tokenizer.chat_template = file.read_text(encoding="utf-8")


def template_loc(options: TRLOptions) -> tuple[str, ...]:
    """Where a chat template problem belongs: the override if one is set, else the model."""
    return TEMPLATE_PATH_LOC if options.sft.get("chat_template_path") is not None else ()


def check_chat_template(
    tokenizer: PreTrainedTokenizerBase, loc: tuple[str, ...] = ()
) -> str | None:
    """Fail early unless assistant-only loss will work and train the end-of-turn token.

    Returns None if the tokenizer's own template is used, or TRL's training variant of a
    template it knows (TRL swaps that in itself; we only check it exists).
    """
    from trl.chat_template_utils import (
        get_training_chat_template,
        has_generation_markers,
        is_chat_template_stop_token_trained,
    )

    marker_hint = (
        "Use a chat template that wraps each assistant reply and its end-of-turn token in "
        "{% generation %}...{% endgeneration %}, e.g. via sft.chat_template_path=<file.jinja>."
    )
    if not tokenizer.chat_template:
        raise OptionError(
            "the model's tokenizer has no chat template, which AFT needs",
            loc=loc,
            hint=marker_hint,
        )
    template = None
    if not has_generation_markers(tokenizer.chat_template):
        try:
            template = get_training_chat_template(tokenizer)
        except ValueError:
            raise OptionError(
                "the chat template has no {% generation %} markers and TRL knows no training "
                "version of it, so assistant-only loss cannot find the assistant tokens",
                loc=loc,
                hint=marker_hint,
            ) from None
    if not is_chat_template_stop_token_trained(tokenizer, chat_template=template):
        raise OptionError(
            "the chat template leaves the assistant's end-of-turn token out of the "
            "{% generation %} block, so the model would never learn to stop",
            loc=loc,
            hint=marker_hint,
        )
    return template


def check_aft_template(tokenizer: PreTrainedTokenizerBase, options: TRLOptions) -> str | None:
    """The template override, then the template checks; see :func:`check_chat_template`."""
    apply_chat_template_override(tokenizer, options)
    return check_chat_template(tokenizer, template_loc(options))


def check_sft_eos_token(tokenizer: PreTrainedTokenizerBase, options: TRLOptions) -> None:
    """A user ``sft.eos_token`` must be a token of the tokenizer (TRL checks only at init)."""
    eos = options.sft.get("eos_token")
    if eos is not None and eos not in tokenizer.get_vocab():
        raise OptionError(
            f"sft.eos_token {eos!r} is not a token of this tokenizer",
            loc=("sft", "eos_token"),
            hint="Leave it unset: AFT stops at <|im_end|> when the tokenizer has it.",
        )


def aft_eos_token(stage: str, options: TRLOptions, tokenizer) -> str | None:
    """AFT stops at end of turn: use <|im_end|> as eos when the tokenizer has it."""
    if stage != "aft" or "eos_token" in options.sft:
        return None
    return CHAT_TURN_END if CHAT_TURN_END in tokenizer.get_vocab() else None
