"""The ``trl`` backend's plan-time check without importing torch, trl or peft.

``msmkit plan`` checks every ``sft`` and ``lora`` key against the cached field schemas of
``trl.SFTConfig`` and ``peft.LoraConfig`` (:mod:`msmkit.schemas`, keyed by the installed
versions), the value ranges, the attention kernel, the mixed-in data and the template file,
all in milliseconds. ``msmkit run`` then builds the real configs (``TRLBackend.validate``)
before any stage starts, so nothing the libraries refuse surfaces mid-run.
"""

from __future__ import annotations

from typing import Any

from msmkit.schemas import cached, dataclass_fields, dist_versions
from msmkit.training.trl.options import DEFAULT_SFT, MSMKIT_SFT_KEYS, TRLOptions

TRAIN_LIBRARIES = ("trl", "transformers", "torch", "accelerate", "peft")


def sft_fields() -> dict[str, str]:
    def build() -> dict[str, Any]:
        from trl import SFTConfig

        from msmkit.training.trl.fields import lenient_portable

        return dataclass_fields(SFTConfig, lenient=lenient_portable)

    return cached("trl-sftconfig", dist_versions(*TRAIN_LIBRARIES), build)["fields"]


def lora_fields() -> dict[str, str]:
    def build() -> dict[str, Any]:
        from peft import LoraConfig

        from msmkit.training.trl.fields import lenient_portable

        return dataclass_fields(LoraConfig, lenient=lenient_portable)

    return cached("peft-loraconfig", dist_versions("peft"), build)["fields"]


def quick_check(stage: str, options: Any, base_model: str | None) -> None:
    """Every check of ``TRLBackend.validate`` that needs no library import and no model."""
    from msmkit.training.trl.configs import check_lora, check_ranges, check_user_sft
    from msmkit.training.trl.options import check_stage
    from msmkit.training.trl.recipes import effective_options

    opts: TRLOptions = effective_options(options, base_model)
    check_stage(stage)
    check_user_sft(opts, sft_fields())
    user = {k: v for k, v in opts.sft.items() if k not in MSMKIT_SFT_KEYS}
    check_ranges({**DEFAULT_SFT, **user})
    check_stage_options(stage, opts)
    if opts.lora is not None:
        check_lora(opts.lora, lora_fields())


def check_stage_options(stage: str, options: TRLOptions) -> None:
    """The checks that need neither a model nor the training libraries: the attention
    kernel, the mixed-in data, options of the other stage, the AFT template file."""
    from msmkit.errors import OptionError
    from msmkit.training.trl.attention import check_attention
    from msmkit.training.trl.mixing import check_mix
    from msmkit.training.trl.templates import chat_template_file

    check_attention(options)
    check_mix(stage, options)
    if stage == "aft" and options.doc_prefix is not None:
        raise OptionError(
            "doc_prefix is a midtraining option (a masked prefix of each document)",
            loc=("doc_prefix",),
            hint="Remove it from the AFT options.",
        )
    if stage == "aft":
        chat_template_file(options)
