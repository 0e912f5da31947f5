"""Token policy checks that need only a tokenizer: chat templates (AFT) and end tokens.

AFT trains with ``assistant_only_loss=True``, so the chat template must mark assistant turns
with ``{% generation %}`` (or be one TRL knows a training version of) and must put the
end-of-turn token inside the mark. Midtraining ends every document with an EOS token that
must not be a chat end-of-turn token.

Families are told apart by their special tokens (:func:`detect_family`): ``llama3`` has
``<|eot_id|>``, ``chatml`` (Qwen) has ``<|im_end|>``. Each has a shipped training template
(``chat_templates/*.jinja``), an AFT end-of-turn, and a document EOS/BOS policy.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

from msmkit.errors import OptionError
from msmkit.training.trl.options import TRLOptions

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

# Chat end-of-turn tokens that should not end a *document*, and what to use instead.
TURN_END_TOKENS = frozenset({"<|im_end|>", "<|eot_id|>", "<end_of_turn>", "<|end|>"})
DOC_END_TOKENS = ("<|endoftext|>", "<|end_of_text|>")
CHAT_TURN_END = "<|im_end|>"

TEMPLATE_PATH_LOC = ("sft", "chat_template_path")

Family = Literal["llama3", "chatml", "unknown"]
TEMPLATE_DIR = Path(__file__).parent / "chat_templates"
SHIPPED_TEMPLATES = ("llama3", "qwen2.5", "qwen3")
# Per family: the AFT end-of-turn, the document EOS and the document BOS (None: no BOS).
TURN_END = {"llama3": "<|eot_id|>", "chatml": "<|im_end|>"}
FAMILY_DOC_EOS = {"llama3": "<|end_of_text|>", "chatml": "<|endoftext|>"}
FAMILY_DOC_BOS: dict[str, str | None] = {"llama3": "<|begin_of_text|>", "chatml": None}


def detect_family(tokenizer: PreTrainedTokenizerBase) -> Family:
    """``llama3`` if the vocab has ``<|eot_id|>``, ``chatml`` if ``<|im_end|>``, else unknown."""
    vocab = tokenizer.get_vocab()
    if "<|eot_id|>" in vocab:
        return "llama3"
    if "<|im_end|>" in vocab:
        return "chatml"
    return "unknown"


def family_template_name(tokenizer: PreTrainedTokenizerBase) -> str | None:
    """The shipped template for the tokenizer's family: ChatML with think tokens is Qwen3."""
    family = detect_family(tokenizer)
    if family == "llama3":
        return "llama3"
    if family == "chatml":
        vocab = tokenizer.get_vocab()
        return "qwen3" if "<think>" in vocab and "</think>" in vocab else "qwen2.5"
    return None


def shipped_chat_template(name: str) -> str:
    """The text of a shipped training template (``llama3``, ``qwen2.5``, ``qwen3``)."""
    if name not in SHIPPED_TEMPLATES:
        raise OptionError(
            f"no shipped chat template {name!r}",
            loc=("chat_template",),
            hint="Use one of: " + ", ".join(SHIPPED_TEMPLATES),
        )
    return (TEMPLATE_DIR / f"{name}.jinja").read_text(encoding="utf-8")


def doc_bos_id(tokenizer: PreTrainedTokenizerBase) -> int | None:
    """The id put before each document: llama3 ``<|begin_of_text|>``, chatml none; other
    families get the tokenizer's BOS only if it adds one itself."""
    family = detect_family(tokenizer)
    if family in FAMILY_DOC_BOS:
        bos = FAMILY_DOC_BOS[family]
        if bos is None or bos not in tokenizer.get_vocab():
            return None
        return tokenizer.convert_tokens_to_ids(bos)
    bos_id = tokenizer.bos_token_id
    if bos_id is None:
        return None
    probe = tokenizer("a", add_special_tokens=True)["input_ids"]
    return bos_id if probe[:1] == [bos_id] else None


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
    family_eos = FAMILY_DOC_EOS.get(detect_family(tokenizer))
    if family_eos is not None and family_eos in vocab:
        return family_eos
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


def apply_chat_template_override(tokenizer: PreTrainedTokenizerBase, options: TRLOptions) -> str:
    """Choose the AFT template before the checks; returns where it came from.

    ``sft.chat_template_path`` wins. Otherwise ``chat_template``: ``keep`` leaves the model's
    template, a family name installs that shipped template, and ``auto`` keeps the model's
    template only if it has ``{% generation %}`` markers, else installs the shipped one of
    the detected family (an unknown family keeps the model's, which the checks then refuse).
    """
    from trl.chat_template_utils import has_generation_markers

    file = chat_template_file(options)
    if file is not None:
        tokenizer.chat_template = file.read_text(encoding="utf-8")
        return f"file {file}"
    choice = options.chat_template
    if choice == "auto":
        own = tokenizer.chat_template
        if own and has_generation_markers(own):
            return "model's own"
        choice = family_template_name(tokenizer) or "keep"
    if choice == "keep":
        return "model's own"
    tokenizer.chat_template = shipped_chat_template(choice)
    return f"msmkit {choice}"


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


def prepare_aft_template(
    tokenizer: PreTrainedTokenizerBase, options: TRLOptions
) -> tuple[str | None, str]:
    """Choose and check the AFT template: (TRL's training variant or None, its source)."""
    source = apply_chat_template_override(tokenizer, options)
    loc = template_loc(options) or (("chat_template",) if source.startswith("msmkit") else ())
    template = check_chat_template(tokenizer, loc)
    if template is not None:
        source = "trl training variant"
    text = template or tokenizer.chat_template or ""
    if options.reasoning == "field" and "reasoning_content" not in text:
        raise OptionError(
            "reasoning: field passes reasoning as the messages' reasoning_content, but the "
            f"chat template ({source}) never reads it, so the reasoning would be lost",
            loc=("reasoning",),
            hint="Use reasoning: inline, or a template that renders reasoning_content "
            "(chat_template: qwen3).",
        )
    return template, source


def check_aft_template(tokenizer: PreTrainedTokenizerBase, options: TRLOptions) -> str | None:
    """The template choice, then the template checks; see :func:`check_chat_template`."""
    return prepare_aft_template(tokenizer, options)[0]


def check_sft_eos_token(tokenizer: PreTrainedTokenizerBase, options: TRLOptions) -> None:
    """A user ``sft.eos_token`` must be a token of the tokenizer (TRL checks only at init)."""
    eos = options.sft.get("eos_token")
    if eos is not None and eos not in tokenizer.get_vocab():
        raise OptionError(
            f"sft.eos_token {eos!r} is not a token of this tokenizer",
            loc=("sft", "eos_token"),
            hint="Leave it unset: AFT stops at the family's end-of-turn (<|eot_id|> for "
            "Llama 3, <|im_end|> for ChatML) when the tokenizer has it.",
        )


def aft_eos_token(stage: str, options: TRLOptions, tokenizer) -> str | None:
    """AFT stops at end of turn: the family's end-of-turn token (see :data:`TURN_END`)."""
    if stage != "aft" or "eos_token" in options.sft:
        return None
    return TURN_END.get(detect_family(tokenizer))
