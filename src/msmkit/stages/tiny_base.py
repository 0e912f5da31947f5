"""``tiny-base``: a random-weight tiny model whose tokenizer is trained on the run's texts.

It consumes every corpus of the run (slots ``corpus-0``, ``corpus-1``, ...) and every AFT set
(``chats-0``, ...), so its fingerprint changes when any of them does.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from msmkit.components import Estimate, Options
from msmkit.stagekit import StageContext


class TinyBaseOptions(Options):
    settings: dict[str, Any] = Field(default_factory=dict, description="TinyModelSettings")


class TinyBaseKind:
    name = "tiny-base"
    description = "Build a random-weight tiny model offline (tests and demos)"
    version = "1"
    Options: ClassVar[type[Options]] = TinyBaseOptions
    consumes: ClassVar[dict[str, str]] = {"corpus*": "corpus", "chats*": "chats"}
    produces: ClassVar[str] = "model"
    resumable: ClassVar[bool] = False

    def label(self, options: TinyBaseOptions) -> str:
        return "build tiny base model"

    def validate(self, options: TinyBaseOptions) -> None:
        from msmkit.training.tiny import TinyModelSettings

        TinyModelSettings.model_validate(options.settings)

    def estimate(self, options: TinyBaseOptions, upstream: dict[str, Estimate]) -> Estimate:
        from msmkit.training.estimate import params_from_config
        from msmkit.training.tiny import TinyModelSettings

        s = TinyModelSettings.model_validate(options.settings)
        params = params_from_config(
            {
                "hidden_size": s.hidden_size,
                "num_hidden_layers": s.num_layers,
                "vocab_size": s.vocab_size,
                "intermediate_size": s.intermediate_size,
                "num_attention_heads": s.num_heads,
                "num_key_value_heads": s.num_kv_heads,
            }
        )
        return Estimate("tiny-base", extra={"params": params})

    def run(self, ctx: StageContext) -> dict[str, Any]:
        from msmkit.corpus import read_corpus
        from msmkit.jsonl import read_jsonl
        from msmkit.training.tiny import TinyModelSettings, build_tiny_model

        texts: list[str] = []
        for slot, up in sorted(ctx.inputs.items()):
            if slot.startswith("corpus"):
                texts += [d.text for d in read_corpus(up.path("corpus"))]
            else:
                for _, row in read_jsonl(up.path("data")):
                    texts += [str(m.get("content", "")) for m in row.get("messages", [])]
        settings = TinyModelSettings.model_validate(ctx.options.settings)
        build_tiny_model(ctx.dir / "model", texts, settings)
        return {"model": "model"}
