"""Base models from outside the store: a local folder (fingerprinted by content) or a hub id
(fingerprinted with its revision)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from msmkit.errors import ModelPathError

HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")
SMALL_FILE = 64 << 20  # files up to 64 MiB are hashed whole
SAMPLE = 1 << 20  # larger ones: size plus 1 MiB from the start, middle and end
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".gguf", ".h5", ".msgpack")


@dataclass(frozen=True)
class ModelInput:
    """A base model as a stage input: ``model`` is what loaders get, ``key`` its content."""

    model: str
    key: str
    local: bool
    revision: str | None = None


def _file_digest(path: Path) -> str:
    h = hashlib.sha256()
    size = path.stat().st_size
    h.update(str(size).encode())
    with path.open("rb") as f:
        if size <= SMALL_FILE:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        else:
            for offset in (0, size // 2, size - SAMPLE):
                f.seek(offset)
                h.update(f.read(SAMPLE))
    return h.hexdigest()


def fingerprint_model_dir(path: Path) -> str:
    """sha256 over a model folder's files: configs, tokenizer and templates hashed whole,
    weight files by size and sampled content (a cheap equivalent of hashing gigabytes).
    Names are relative, so a copied or moved folder has the same fingerprint."""
    h = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
    for p in files:
        rel = p.relative_to(path).as_posix()
        h.update(rel.encode() + b"\0" + _file_digest(p).encode() + b"\n")
    return h.hexdigest()


def resolve_base_model(value: str, base_dir: Path) -> ModelInput:
    """A local model folder (must hold config.json), or ``org/name[@revision]`` on the hub."""
    local = Path(value).expanduser()
    if not local.is_absolute():
        local = base_dir / local
    if local.exists():
        if not (local / "config.json").is_file() and not (local / "adapter_config.json").is_file():
            raise ModelPathError(
                f"{local} has no config.json, so it is not a Hugging Face model folder",
                hint="point base_model at a folder saved with save_pretrained",
            )
        resolved = local.resolve()
        return ModelInput(str(resolved), fingerprint_model_dir(resolved), local=True)
    hub, _, revision = value.partition("@")
    if HUB_ID.match(hub) and not value.startswith((".", "/", "~")):
        rev = revision or "main"
        key = hashlib.sha256(f"hub:{hub}@{rev}".encode()).hexdigest()
        return ModelInput(hub, key, local=False, revision=rev)
    raise ModelPathError(
        f"base_model: {local} does not exist",
        hint="give a local model folder, a hub id like Qwen/Qwen2.5-0.5B (optionally "
        "@revision), or `base_model: {tiny: {}}` for an offline tiny model",
    )
