"""Where a base model comes from, and loading its tokenizer and weights."""

from __future__ import annotations

import json
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from msmkit.errors import ModelPathError

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

_HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?$")


@dataclass(frozen=True)
class ModelRef:
    """Where a base model comes from: a local model dir, a local adapter dir, or a hub id."""

    kind: Literal["local", "adapter", "hub"]
    path: str
    revision: str | None = None  # a hub id's pinned revision (``org/name@rev``)

    @property
    def hub_kwargs(self) -> dict[str, str]:
        return {"revision": self.revision} if self.revision else {}


def resolve_model_ref(base_model: str) -> ModelRef:
    """Classify ``base_model`` without loading anything; bad local paths fail here."""
    text = str(base_model).strip()
    path = Path(text).expanduser()
    if path.exists():
        if path.is_dir() and (path / "config.json").is_file():
            return ModelRef("local", str(path.resolve()))
        if path.is_dir() and (path / "adapter_config.json").is_file():
            return ModelRef("adapter", str(path.resolve()))
        raise ModelPathError(
            f"{text} is not a model directory (no config.json)",
            hint="Point base_model at a directory saved with save_pretrained, or a hub id.",
        )
    hub, _, revision = text.partition("@")
    if _HUB_ID.match(hub) and ".." not in hub:
        return ModelRef("hub", hub, revision or None)
    raise ModelPathError(
        f"model path does not exist: {text}",
        hint="Check the path, run the stage that produces it, or use a hub id like 'org/name'.",
    )


def _hub_error(ref_path: str, exc: Exception) -> ModelPathError:
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return ModelPathError(
        f"{ref_path!r} is not a local directory and could not be loaded from the hub: {first_line}",
        hint="Check the id and your network or HF_TOKEN, or download the model and pass its "
        "local directory.",
    )


def load_hub_config(hub_id: str, revision: str | None = None) -> None:
    from transformers import AutoConfig

    try:
        AutoConfig.from_pretrained(hub_id, **({"revision": revision} if revision else {}))
    except Exception as exc:  # hub, network and parse errors all mean "unusable"
        raise _hub_error(hub_id, exc) from None


def adapter_base(adapter_dir: str) -> str:
    config = json.loads((Path(adapter_dir) / "adapter_config.json").read_text(encoding="utf-8"))
    base = config.get("base_model_name_or_path")
    if not base:
        raise ModelPathError(
            f"adapter {adapter_dir} does not name its base model",
            hint="Set base_model_name_or_path in adapter_config.json.",
        )
    return base


def tokenizer_source(ref: ModelRef) -> str:
    """Where the tokenizer loads from: the model dir, or an adapter's base if it has none."""
    if ref.kind == "adapter" and not (Path(ref.path) / "tokenizer_config.json").is_file():
        return adapter_base(ref.path)
    return ref.path


def load_tokenizer(ref: ModelRef) -> PreTrainedTokenizerBase:
    from transformers import AutoTokenizer

    source = tokenizer_source(ref)
    try:
        extra = ref.hub_kwargs if source == ref.path else {}
        return AutoTokenizer.from_pretrained(source, **extra)
    except Exception as exc:
        if ref.kind == "hub":
            raise _hub_error(ref.path, exc) from None
        raise ModelPathError(
            f"cannot load a tokenizer from {source}: {exc}",
            hint="The model directory needs its tokenizer files (save_pretrained the tokenizer).",
        ) from None


def load_model(ref: ModelRef, init_kwargs: dict[str, Any]):
    """Load the model with ``from_pretrained``; an adapter dir is loaded trainable on its base."""
    from transformers import AutoModelForCausalLM

    source = adapter_base(ref.path) if ref.kind == "adapter" else ref.path
    try:
        extra = ref.hub_kwargs if ref.kind == "hub" else {}
        model = AutoModelForCausalLM.from_pretrained(source, **extra, **init_kwargs)
    except Exception as exc:
        if ref.kind == "hub" or not Path(source).exists():
            raise _hub_error(source, exc) from None
        raise ModelPathError(f"cannot load the model in {source}: {exc}") from None
    if ref.kind == "adapter":
        from peft import PeftModel

        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*")
            model = PeftModel.from_pretrained(model, ref.path, is_trainable=True)
    return model
